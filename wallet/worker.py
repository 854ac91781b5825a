"""The Procfile's ``worker:`` process: ``celery -A wallet.worker:celery worker``. The Flask app is created once; every
job (wallet/jobs.py) runs in an app context of its own."""
from __future__ import annotations

from wallet import create_app
from wallet.jobs import celery_app

flask_app = create_app()
celery = celery_app(flask_app)
