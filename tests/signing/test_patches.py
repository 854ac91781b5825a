"""Importing ``signing`` changes nothing in pyHanko; the explicit start-up call installs both patches.

Checked in a fresh interpreter: the test process has long installed them (every app's ``create_app`` does).
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PROBE = textwrap.dedent("""
    import json, sys
    from pyhanko.pdf_utils import generic, xref

    def attrs():
        return [id(generic.read_hex_string_from_stream), id(xref.parse_xref_stream), id(xref.parse_xref_table),
                id(xref.XRefBuilder._read_xref_stream), id(xref.XRefBuilder._read_xref_table)]

    shipped = attrs()
    import signing, signing.sandbox, signing.validation, signing.metadata, signing.seal, signing.keys
    import signing.policy, signing.report, signing.issuance, signing.limits, signing.speedups
    after_import = attrs()
    patched_after_import = signing.pyhanko_patched()
    signing.install_pyhanko_patches()
    after_install = attrs()
    signing.install_pyhanko_patches()
    print(json.dumps({"shipped": shipped, "after_import": after_import, "after_install": after_install,
                      "again": attrs(), "patched_after_import": patched_after_import,
                      "patched": signing.pyhanko_patched()}))
""")


def _probe(code: str) -> dict[str, object]:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                          timeout=120)
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_importing_signing_patches_nothing_and_install_is_explicit_and_idempotent() -> None:
    out = _probe(_PROBE)
    assert out["after_import"] == out["shipped"]
    assert out["patched_after_import"] is False
    shipped, installed = out["shipped"], out["after_install"]
    assert isinstance(shipped, list) and isinstance(installed, list)
    assert all(a != b for a, b in zip(shipped, installed, strict=True))  # all five replaced
    assert out["again"] == installed
    assert out["patched"] is True


def test_the_xref_limits_hold_without_the_start_up_call() -> None:
    """``limits.reading`` installs the counting reader itself: a forgotten start-up call is no unbounded read."""
    out = _probe(textwrap.dedent("""
        import json
        from signing import limits
        before = limits.installed()
        with limits.reading(limits.Limits()):
            inside = limits.installed()
        print(json.dumps({"before": before, "inside": inside}))
    """))
    assert out == {"before": False, "inside": True}


def test_each_validator_process_installs_the_patches_at_start() -> None:
    """The sandbox's child entry point makes the explicit call (it says so in its ready frame)."""
    from signing.sandbox import ValidatorPool

    pool = ValidatorPool(1)
    try:
        validator = pool._start()
        assert validator.pyhanko_patched
    finally:
        pool.close()
