"""The https path of the sender: the POST goes to the address given (no second DNS look-up) while TLS checks the
certificate for the URL's host name (SNI); a certificate for another name is refused."""
from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from wallet.webhooks import destinations, sender


def _cert(name: str, key: Any, issuer: x509.Name, issuer_key: Any, ca: bool) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
               .issuer_name(issuer).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(hours=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[dict[str, Any]]:
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test webhook CA")])
    ca = _cert("Test webhook CA", ca_key, ca_name, ca_key, ca=True)
    leaf = _cert("hooks.example.org", key, ca_name, ca_key, ca=False)
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    got: list[tuple[str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            got.append((self.headers["Host"], self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp_path / "leaf.pem", tmp_path / "key.pem")
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = ssl.create_default_context(cadata=ca.public_bytes(serialization.Encoding.PEM).decode())
    try:
        yield {"port": server.server_port, "context": client, "got": got}
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


def test_https_to_the_checked_address_with_the_hosts_certificate(tls_receiver: dict[str, Any]) -> None:
    port = tls_receiver["port"]
    dest = destinations.check_url(f"https://hooks.example.org:{port}/in", (f"hooks.example.org:{port}",))
    out = sender.post(dest, [ipaddress.ip_address("127.0.0.1")], b'{"a":1}', {"Wallet-Signature": "t=1,v1=00"},
                      context=tls_receiver["context"])
    assert (out.status, out.error, out.delivered) == (204, None, True)
    assert tls_receiver["got"] == [(f"hooks.example.org:{port}", b'{"a":1}')]


def test_a_certificate_for_another_name_is_refused(tls_receiver: dict[str, Any]) -> None:
    port = tls_receiver["port"]
    dest = destinations.check_url(f"https://other.example.org:{port}/in", (f"other.example.org:{port}",))
    out = sender.post(dest, [ipaddress.ip_address("127.0.0.1")], b"{}", {}, context=tls_receiver["context"])
    assert out.status is None and out.error.startswith("connect: TLS certificate not valid for the host")
    assert tls_receiver["got"] == []
