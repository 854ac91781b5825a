"""The Procfile's ``worker:`` process: ``celery -A wallet.worker:celery worker``. The Flask app is created once; every
job (wallet/jobs.py) runs in an app context of its own."""
from __future__ import annotations

from typing import Any

from celery import signals

from wallet import create_app
from wallet.jobs import celery_app

flask_app = create_app()
celery = celery_app(flask_app)


@signals.setup_logging.connect
def _keep_our_logging(**_kwargs: Any) -> None:
    """The app configured logging already (LOG_FORMAT=json: wallet/logs.py, with each job's request id); a
    receiver here keeps Celery from replacing it. With text logs Celery's own set-up is kept."""
    if flask_app.config["WALLET_SETTINGS"].log_format != "json":
        import logging  # noqa: PLC0415

        logging.basicConfig(level=logging.INFO, format="[%(asctime)s: %(levelname)s/%(processName)s] %(message)s")
