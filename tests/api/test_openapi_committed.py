"""The committed OpenAPI document (docs/openapi.json) is the one the schemas generate: `make openapi` after
changing an endpoint, and review the diff like code."""
from __future__ import annotations

import json
from pathlib import Path

from wallet.openapi import spec

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_openapi_is_current() -> None:
    generated = json.loads(json.dumps(spec(), sort_keys=True, ensure_ascii=False))
    committed = json.loads(COMMITTED.read_text())
    assert generated == committed, "docs/openapi.json is stale: run `make openapi` and commit it"
