"""docs/integrators.md's webhook section works as written: its `verify` snippet accepts a real delivery signed
with the secret `set-webhook` printed, and refuses a changed body, another secret and an old timestamp."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from tests.webhooks.conftest import Receiver
from tests.webhooks.test_webhooks import publish, secret_of, set_webhook
from wallet.webhooks import sender

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrators.md"


def snippet() -> Any:
    [code] = [b for b in re.findall(r"^```python\n(.*?)^```", DOC.read_text(), re.S | re.M) if "def verify(" in b]
    namespace: dict[str, Any] = {}
    exec(compile(code, "integrators.md", "exec"), namespace)  # noqa: S102 - the page's own snippet
    return namespace["verify"]


def test_the_pages_verify_accepts_a_real_delivery(app: Any, agencies: Any, receiver: Receiver) -> None:
    verify = snippet()
    secret = secret_of(set_webhook(app, "MJ", receiver.url))
    batch = type("Batch", (), {"id": "c" * 32, "agency_id": agencies["MJ"]["id"], "total": 203, "accepted": 200,
                               "rejected": 3})()
    publish(app, "batch.completed", batch=batch)
    [got] = receiver.requests
    header = got.headers["wallet-signature"]
    assert verify(secret, header, got.body)
    assert json.loads(got.body)["data"]["accepted"] == 200
    assert not verify(secret, header, got.body.replace(b"200", b"201"))
    assert not verify(secret.replace("whsec_", "whsec_x"), header, got.body)
    assert not verify(secret, "t=abc,v1=00", got.body) and not verify(secret, "", got.body)
    old = int(time.time()) - 3600
    assert not verify(secret, sender.signature(secret, got.body, old), got.body)
