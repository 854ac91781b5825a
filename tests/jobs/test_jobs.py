"""wallet/jobs.py: jobs run after the commit only, retry with back-off, and a real Celery worker on Redis runs
them, again after a worker is killed mid-job (acks late)."""
from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.jobs import sample_jobs  # noqa: F401 - registers the test jobs in this process too
from tests.jobs.support import ROOT, start_worker, stop_worker, wait_for
from wallet import db, jobs


def test_eager_job_runs_after_the_commit_and_never_after_a_rollback(app: Any, tmp_path: Path) -> None:
    done, undone = tmp_path / "done", tmp_path / "undone"
    with app.app_context():
        with db.transaction():
            jobs.enqueue("test.touch", str(done), "yes")
            assert not done.exists()  # not before the commit
        assert done.read_text() == "yes"
    with app.app_context(), pytest.raises(RuntimeError):
        with db.transaction():
            jobs.enqueue("test.touch", str(undone), "no")
            raise RuntimeError("the unit of work fails")
    assert not undone.exists()


def test_thread_backend_retries_with_back_off(make_app: Any, settings: Any, tmp_path: Path) -> None:
    app = make_app(jobs_backend="thread")
    path = tmp_path / "flaky"
    with app.app_context():
        jobs.enqueue("test.flaky", str(path))
    wait_for(lambda: Path(str(path) + ".done").exists(), 20)
    jobs.drain(app)
    assert Path(str(path) + ".done").read_text() == "3"  # two TryLater, then done


def test_unknown_job_is_refused(app: Any) -> None:
    with app.app_context(), pytest.raises(KeyError):
        jobs.enqueue("no.such.job")


def test_back_off_doubles_up_to_its_cap() -> None:
    job = jobs.Job("x", lambda: None, max_retries=10, backoff=2.0, backoff_max=60.0)
    assert [job.delay(n) for n in range(7)] == [2, 4, 8, 16, 32, 60, 60]


@pytest.mark.committed_db
def test_celery_worker_runs_jobs_and_takes_over_a_killed_workers_job(make_app: Any, settings: Any,
                                                                     tmp_path: Path, redis_url: str,
                                                                     database_url: str) -> None:
    queue = f"test-{uuid.uuid4().hex[:12]}"
    env = dict(os.environ, JOBS_BACKEND="celery", CELERY_BROKER_URL=redis_url, JOBS_QUEUE=queue,
               JOBS_VISIBILITY_SECONDS="5", TEST_SLOW_SECONDS="4", DATABASE_URL=database_url,
               WALLET_INSTANCE=str(settings.instance_path), PYTHONPATH=str(ROOT))
    app = make_app(jobs_backend="celery", broker_url=redis_url, jobs_queue=queue, jobs_visibility_seconds=5)
    first = start_worker("tests.jobs.worker_app:celery", env, tmp_path, "first")
    second = None
    try:
        touched, flaky, slow = tmp_path / "touched", tmp_path / "flaky", tmp_path / "slow"
        with app.app_context():
            jobs.enqueue("test.touch", str(touched), "by celery")
            jobs.enqueue("test.flaky", str(flaky))
        wait_for(touched.exists, 60)
        wait_for(Path(str(flaky) + ".done").exists, 30)
        assert Path(str(flaky) + ".done").read_text() == "3"
        # a worker killed in the middle of a job: the job is delivered again, to the next worker
        with app.app_context():
            jobs.enqueue("test.slow", str(slow))
        starts = Path(str(slow) + ".starts")
        wait_for(starts.exists, 30)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
        assert not Path(str(slow) + ".ends").exists()
        second = start_worker("tests.jobs.worker_app:celery", env, tmp_path, "second")
        wait_for(lambda: Path(str(slow) + ".ends").exists(), 60)
        assert len(starts.read_text().split()) == 2
        assert Path(str(slow) + ".ends").read_text().split() == [str(second.pid)]
    finally:
        stop_worker(first)
        stop_worker(second)


def test_jobs_sweep_hands_over_batch_items_and_webhook_deliveries(app: Any) -> None:
    result = app.test_cli_runner().invoke(args=["jobs", "sweep", "--older-than", "0"])
    assert result.exit_code == 0, result.output
    assert "0 batch items and 0 webhook deliveries handed to the workers (eager)" in result.output


def test_a_backing_service_down_is_tried_again_not_logged_as_a_crash(make_app: Any, tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(jobs_backend="thread")
    path = tmp_path / "down"
    with app.app_context():
        jobs.enqueue("test.backing_service_down", str(path))
    wait_for(lambda: Path(str(path) + ".done").exists(), 20)
    jobs.drain(app)
    assert Path(str(path) + ".done").read_text() == "2"
    assert not [r for r in caplog.records if r.exc_info]  # a warning that it runs again, no traceback
