"""A Celery worker for tests/jobs: the wallet's own app and jobs, plus the test jobs of sample_jobs."""
from __future__ import annotations

from config.settings import Settings
from tests.jobs import sample_jobs  # noqa: F401 - registers the test jobs
from wallet import create_app
from wallet.jobs import celery_app

flask_app = create_app(Settings.from_env())
celery = celery_app(flask_app)
