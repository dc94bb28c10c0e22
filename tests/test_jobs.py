"""Jobs run in embedded mode without Redis, and through a real Redis queue with a worker."""

import os

import pytest
from rq import SimpleWorker

import jobs


def record_marker(path: str) -> str:
    """A job: proves it ran, with an application context."""
    from flask import current_app

    with open(path, "w") as handle:
        handle.write(current_app.config["SITE_NAME"])
    return "done"


def test_embedded_mode_runs_a_job_at_once_without_redis(make_app, tmp_path):
    app = make_app(REDIS_URL="")
    marker = tmp_path / "ran"
    with app.app_context():
        job = jobs.queue("default").enqueue(record_marker, str(marker))
    assert job.is_finished
    assert marker.read_text() == "Activité partielle"


def test_unknown_queue_names_are_refused(app_context):
    with pytest.raises(ValueError):
        jobs.queue("emails-typo")


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs the real Redis of REDIS_URL")
def test_a_job_queued_on_real_redis_is_run_by_a_worker_with_an_app_context(make_app, tmp_path):
    app = make_app(REDIS_URL=os.environ["REDIS_URL"])
    marker = tmp_path / "ran"
    with app.app_context():
        queue = jobs.queue("default")
        queue.empty()
        job = queue.enqueue(record_marker, str(marker))
        assert not job.is_finished
        SimpleWorker([queue], connection=queue.connection, job_class=jobs.AppContextJob).work(
            burst=True
        )
    assert marker.read_text() == "Activité partielle"
    assert job.get_status(refresh=True) == "finished"
