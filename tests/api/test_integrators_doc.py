"""docs/integrators.md works as written: its example script, run the way the page shows against a live server
with a demo.json made from the test PKI, pushes a document (201) and replays it (200); its curl line replays
it too; and its table of problem codes is exactly what the push endpoint can answer."""
from __future__ import annotations

import ast
import inspect
import json
import re
import subprocess
import typing
from pathlib import Path
from typing import Any

from signing.issuance import IssuanceCode
from wallet import errors, validation
from wallet.agencies import auth
from wallet.demo.agencies import DEMO_AGENCIES
from wallet.documents import service, signed_metadata, views

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "integrators.md"
SCRIPT = ROOT / "docs" / "examples" / "push.py"
DEMO_BASE = "http://127.0.0.1:5000"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", DOC.read_text(), re.S | re.M)


def doc_line(prefix: str) -> str:
    return next(line for block in blocks("sh") for line in block.splitlines() if line.startswith(prefix))


def test_the_page_shows_the_script_as_it_is() -> None:
    assert SCRIPT.read_text() in blocks("python")


def demo_json(base_url: str, agencies: dict[str, Any], pki: dict[str, Any]) -> dict[str, Any]:
    """instance/demo.json as ``make run`` writes it (PRODUCT.md), for the test app and the test PKI."""
    return {"base_url": base_url, "trust_root": str(pki["root"]),
            "agencies": [{"code": a["code"], "name": a["name"], "api_key": agencies[a["code"]]["key"],
                          "types": list(a["types"]), "capabilities": list(a.get("capabilities", [])),
                          # an agency that issues no document type (the civil registry, MI) has no signing key
                          **({"pkcs12": str(pki["agencies"][a["code"]]["pkcs12"]),
                              "pkcs12_password": pki["agencies"][a["code"]]["pkcs12_password"]}
                             if a["code"] in pki["agencies"] else {})} for a in DEMO_AGENCIES],
            "citizens": [{"national_id": "AB123456", "name": "Amina El Idrissi", "password": "-", "totp_secret": "-"}]}


def test_the_example_pushes_then_replays(live_server: str, agencies: dict[str, Any], pki: dict[str, Any],
                                         tmp_path: Path) -> None:
    clone = tmp_path / "clone"  # a clone's layout, so that the page's relative paths run unchanged
    (clone / "instance").mkdir(parents=True)
    (clone / "instance" / "demo.json").write_text(json.dumps(demo_json(live_server, agencies, pki)))
    for name in (".venv", "docs"):
        (clone / name).symlink_to(ROOT / name)

    def run(line: str) -> str:
        done = subprocess.run(["bash", "-c", line], cwd=clone, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    out = run(doc_line(".venv/bin/python docs/examples/push.py")).split()
    assert out[0] == "201" and out[2] == "200" and out[1] == out[3] and re.fullmatch(r"[0-9a-f]{32}", out[1])

    curl = doc_line("curl ")
    assert DEMO_BASE in curl
    replay = json.loads(run(doc_line("KEY=") + "\n" + curl.replace(DEMO_BASE, live_server)))
    assert replay["id"] == out[1] and replay["holder_id"] == "AB123456" and replay["type"] == "criminal_record"
    assert replay["agency"] == "MJ" and replay["status"] == "valid"


# --------------------------------------------------------------------------------------------- problem codes

def raised_codes(module: Any) -> set[tuple[int, str]]:
    """(status, code) of every WalletError a module raises or returns: ``code=`` when given, else its class's."""
    found = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, (ast.Raise, ast.Return)) and isinstance(node.exc if isinstance(node, ast.Raise)
                                                                    else node.value, ast.Call):
            call = node.exc if isinstance(node, ast.Raise) else node.value
            assert isinstance(call, ast.Call)
            cls = getattr(module, call.func.id, None) if isinstance(call.func, ast.Name) else None
            if not (isinstance(cls, type) and issubclass(cls, errors.WalletError)):
                continue
            code = next((k.value for k in call.keywords if k.arg == "code"), None)
            if isinstance(code, ast.Constant):
                found.add((cls.status, code.value))
            elif code is None:
                found.add((cls.status, cls.code))
    return found


# codes those modules raise on the agency's other endpoints, never on a push
OTHER_ENDPOINTS = {(404, "not_found"), (410, "document_damaged")}


def push_codes() -> set[tuple[int, str]]:
    from_code = set().union(*(raised_codes(m) for m in (views, service, signed_metadata, validation)))
    from_code |= {(422, code) for code in typing.get_args(IssuanceCode)} | {(422, "too_complex")}
    mismatch = signed_metadata.mismatch("x", "y")
    from_code.add((mismatch.status, mismatch.code))
    from_code |= {(401, errors.BY_STATUS[401].code),  # wallet.agencies.auth: missing or wrong key
                  (400, errors.STATUS_CODES[400]),  # the form's schema (apiflask): no file part
                  (429, errors.STATUS_CODES[429]),  # the agency rate limits
                  (503, errors.STATUS_CODES[503])}  # validator busy, backing services down
    return from_code - OTHER_ENDPOINTS


def documented_codes() -> set[tuple[int, str]]:
    return {(int(status), code) for status, code in re.findall(r"^\| (\d{3}) \| `([a-z_]+)` \|", DOC.read_text(), re.M)}


def test_the_page_lists_every_code_the_push_can_answer_and_no_other() -> None:
    documented = documented_codes()
    assert len(documented) >= 18
    assert documented == push_codes(), (f"missing from docs/integrators.md: {push_codes() - documented}; "
                                        f"not answered by a push: {documented - push_codes()}")
    assert auth.NO_KEY != auth.BAD_KEY


def test_the_code_scan_sees_the_push_s_refusals() -> None:
    found = raised_codes(service)
    assert {(403, "type_not_allowed"), (409, "reference_conflict"), (415, "not_a_pdf")} <= found
    assert (413, "too_large") in raised_codes(views) and (503, "unavailable") in raised_codes(validation)
