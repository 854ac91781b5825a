"""S3 back-ends for the storage tests: one description of a server (moto or a real one) that makes stores."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

from wallet.storage import S3Store


@dataclass(frozen=True)
class S3Backend:
    name: str
    endpoint_url: str
    access_key: str
    secret_key: str
    region: str
    real: bool  # enforces signatures (a real S3 server, not moto)

    def store(self, bucket: str, **overrides: Any) -> S3Store:
        opts: dict[str, Any] = {
            "endpoint_url": self.endpoint_url,
            "region": self.region,
            "access_key": self.access_key,
            "secret_key": self.secret_key,
        }
        opts.update(overrides)
        return S3Store(bucket, **opts)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
