"""Periodic maintenance: expired drafts are purged without anyone running a command, once per
period across workers."""

import os
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import entretien
import periodique
from extensions import db
from models.brouillon import BrouillonFormulaire
from models.types import utcnow


def brouillon(expires_in: timedelta, jeton: str) -> None:
    db.session.add(
        BrouillonFormulaire(
            form_id="demande-en-etapes",
            form_version=1,
            data={"nom": "Durand"},
            etape=2,
            jeton_hash=jeton * 64,
            expires_at=utcnow() + expires_in,
        )
    )
    db.session.commit()


def restants(app) -> int:
    with app.app_context():
        db.session.expire_all()
        return db.session.scalar(select(func.count()).select_from(BrouillonFormulaire))


def attendre(condition, secondes=10.0) -> bool:
    fin = time.monotonic() + secondes
    while time.monotonic() < fin:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_expired_drafts_are_purged_in_the_background_and_live_ones_kept(make_app):
    app = make_app(BROUILLONS_PURGE_SECONDES=0.2)
    with app.app_context():
        brouillon(-timedelta(minutes=1), "a")
        brouillon(timedelta(days=3), "b")
    thread = entretien.start(app)
    try:
        assert attendre(lambda: restants(app) == 1)
    finally:
        thread.stop.set()


def test_the_purge_starts_by_itself_in_embedded_mode_only(make_app):
    app = make_app(REDIS_URL="", TESTING=False, BROUILLONS_PURGE_SECONDES=3600)
    app.test_client().get("/")
    try:
        assert app.extensions["entretien"].is_alive()
    finally:
        app.extensions["entretien"].stop.set()
    assert "entretien" not in make_app(REDIS_URL="").extensions  # tests purge explicitly


def test_a_failing_task_is_logged_and_the_loop_goes_on(make_app, caplog):
    app = make_app()
    appels = []

    def tache():
        appels.append(1)
        raise RuntimeError("base indisponible")

    thread = periodique.demarrer(app, "essai:echec", 0.05, tache)
    try:
        assert attendre(lambda: len(appels) >= 3)
    finally:
        thread.stop.set()
    assert "essai:echec" in caplog.text


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs the real Redis of REDIS_URL")
def test_with_redis_one_worker_runs_the_task_per_period(make_app):
    import redis

    connexion = redis.Redis.from_url(os.environ["REDIS_URL"])
    connexion.delete("essai:election")
    app = make_app()
    appels = []
    threads = [
        periodique.demarrer(app, "essai:election", 1, lambda: appels.append(1), redis=connexion)
        for _ in range(3)
    ]
    try:
        time.sleep(1.5)  # one period has passed for all three
    finally:
        for thread in threads:
            thread.stop.set()
    assert len(appels) == 1
