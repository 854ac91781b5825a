"""Demo PKI facts the signing tests check chains against: an agency CA's fingerprint, "signed through this CA"."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


def ca_fingerprint(demo_pki: dict[str, Any], code: str) -> str:
    from pathlib import Path

    from signing.trust import load_certificates

    return load_certificates(Path(demo_pki["agencies"][code]["ca"]).read_bytes())[0].sha256.hex()


def belongs_to(demo_pki: dict[str, Any], code: str) -> Callable[[Any], bool]:
    """What the wallet does: the validated chain must go through the agency's registered CA."""
    ca = ca_fingerprint(demo_pki, code)

    def check(sig: Any) -> bool:
        return ca in sig.chain_sha256[1:]

    return check
