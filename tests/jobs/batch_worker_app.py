"""A Celery worker for tests/jobs/test_batch_worker.py: the wallet's app with the test's own settings (pickled by
the test: its master key, blob store, database and trust roots), and a hook that notes each item it decides and
can sleep inside the item's transaction (after the push and the item's outcome, before the commit), so the test
kills it there."""
from __future__ import annotations

import os
import pickle
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from wallet import create_app
from wallet.documents import batches
from wallet.jobs import celery_app

settings = pickle.loads(Path(os.environ["TEST_SETTINGS_PICKLE"]).read_bytes())  # noqa: S301 - the test's own file
settings = replace(settings, jobs_backend="celery", broker_url=os.environ["CELERY_BROKER_URL"],
                   jobs_queue=os.environ["JOBS_QUEUE"], jobs_visibility_seconds=5)
_decide = batches._decide


def _noted_decide(sess: Any, item_id: str, *args: Any, **kwargs: Any) -> None:
    _decide(sess, item_id, *args, **kwargs)
    with open(os.environ["TEST_DECIDED_LOG"], "a") as f:
        f.write(f"{os.getpid()} {item_id}\n")
    time.sleep(float(os.environ.get("TEST_DECIDE_SLEEP", "0")))


batches._decide = _noted_decide
flask_app = create_app(settings)
celery = celery_app(flask_app)
