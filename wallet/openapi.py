"""Print the OpenAPI document generated from the request/response schemas (``make openapi``)."""
from __future__ import annotations

import json
import os
import sys
import tempfile
from typing import Any

from config.settings import Settings
from wallet.app import create_app


def spec() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env({"WALLET_INSTANCE": tmp, "PATH": os.environ.get("PATH", "")})
        app = create_app(settings)
        with app.app_context():
            doc = app.spec  # apiflask types it `dict | str`: a dict unless SPEC_FORMAT asks for YAML text
        app.extensions["wallet.runtime"].db.dispose()
        if not isinstance(doc, dict):
            raise TypeError(f"the OpenAPI spec is {type(doc).__name__}, not a JSON object")
        return doc


if __name__ == "__main__":
    json.dump(spec(), sys.stdout, indent=2, sort_keys=True, ensure_ascii=False)
    sys.stdout.write("\n")
