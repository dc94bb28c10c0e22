"""Drafts of forms in steps, operation by operation: each write takes the write lock first,
filing deletes the draft or files nothing, and attaching a draft to an identity happens
only as she chose it."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from extensions import db
from models.audit import AuditEvent
from models.brouillon import BrouillonFormulaire
from models.comptes import Utilisateur
from models.submission import Submission
from models.types import utcnow
from tests import factories
from workflows import brouillons
from workflows.journal import Acteur

TEST_SCHEMAS = str(Path(__file__).resolve().parents[2] / "tests" / "schemas")
FORM = "demande-en-etapes"
DOCUMENT = {"objet": "Baisse d'activité", "demandeur": {"nom": "Gérard"}}
MATHILDE = Acteur("usager", "mgerard")


@pytest.fixture
def app(make_app):
    return make_app(FORMS_SCHEMAS_DIR=TEST_SCHEMAS, REDIS_URL="")


@pytest.fixture
def contexte(app):
    with app.app_context():
        yield app


def definition(app):
    return app.extensions["forms"].get(FORM)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def nouveau(app, utilisateur_id=None) -> int:
    brouillon, _jeton = brouillons.creer_brouillon(definition(app), DOCUMENT, 2, utilisateur_id)
    return brouillon.id


def mathilde() -> int:
    factories.identite("mgerard", "GERARD", "Mathilde")
    db.session.commit()
    return db.session.scalar(select(Utilisateur.id))


# Each operation, run by a session whose read transaction began before another connection
# committed: without begin_write() first, SQLite refuses the write at once ("database is
# locked", the snapshot being stale). Each comes with the check of its effect.
def brouillon(brouillon_id):
    return db.session.get(BrouillonFormulaire, brouillon_id)


OPERATIONS = {
    "creer": (
        lambda app, b, u: brouillons.creer_brouillon(definition(app), DOCUMENT, 1, None),
        lambda b_id, u: count(BrouillonFormulaire) == 3,
    ),
    "enregistrer": (
        lambda app, b, u: brouillons.enregistrer_brouillon(b, DOCUMENT, 3),
        lambda b_id, u: brouillon(b_id).etape == 3,
    ),
    "mettre_a_jour_version": (
        lambda app, b, u: brouillons.mettre_a_jour_version(definition(app), b),
        lambda b_id, u: brouillon(b_id).form_version == 1,
    ),
    "supprimer": (
        lambda app, b, u: brouillons.supprimer_brouillon(b.id),
        lambda b_id, u: brouillon(b_id) is None,
    ),
    "deposer": (
        lambda app, b, u: brouillons.deposer_brouillon(definition(app), b.id, DOCUMENT),
        lambda b_id, u: brouillon(b_id) is None and count(Submission) == 1,
    ),
    "rattacher": (
        lambda app, b, u: brouillons.rattacher(b.id, u, None, MATHILDE),
        lambda b_id, u: brouillon(b_id).utilisateur_id == u,
    ),
    "purger": (
        lambda app, b, u: brouillons.purger_brouillons_expires(utcnow() + timedelta(days=99)),
        lambda b_id, u: count(BrouillonFormulaire) == 0,
    ),
}


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_write_takes_the_write_lock_before_writing(contexte, operation):
    app = contexte
    action, effet = OPERATIONS[operation]
    utilisateur = mathilde()
    brouillon_id, autre_id = nouveau(app), nouveau(app)
    db.session.execute(
        update(BrouillonFormulaire)
        .where(BrouillonFormulaire.id == brouillon_id)
        .values(form_version=0)
    )
    db.session.commit()

    lu = db.session.get(BrouillonFormulaire, brouillon_id)  # a read transaction
    assert db.session().in_transaction()
    with db.engine.begin() as other:  # another request commits meanwhile
        other.execute(
            update(BrouillonFormulaire).where(BrouillonFormulaire.id == autre_id).values(etape=3)
        )
    action(app, lu, utilisateur)  # no "database is locked"
    db.session.remove()
    assert effet(brouillon_id, utilisateur)


def test_filing_deletes_the_draft_and_files_in_one_transaction_with_journal_rows(contexte):
    app = contexte
    brouillon_id = nouveau(app)
    submission_id = brouillons.deposer_brouillon(definition(app), brouillon_id, DOCUMENT).id
    db.session.remove()
    assert count(BrouillonFormulaire) == 0 and count(Submission) == 1
    operations = set(db.session.scalars(select(AuditEvent.operation)))
    assert operations == {"deposer_soumission", "deposer_brouillon"}
    assert brouillons.brouillon_depose(brouillon_id)
    assert not brouillons.brouillon_depose(brouillon_id + 1)
    assert db.session.get(Submission, submission_id).data == DOCUMENT


def test_filing_a_draft_already_gone_files_nothing(contexte):
    app = contexte
    brouillon_id = nouveau(app)
    brouillons.deposer_brouillon(definition(app), brouillon_id, DOCUMENT)
    with pytest.raises(brouillons.BrouillonDejaDepose):
        brouillons.deposer_brouillon(definition(app), brouillon_id, DOCUMENT)
    db.session.remove()
    assert count(Submission) == 1


def test_two_simultaneous_filings_of_one_draft_file_one_submission(app):
    with app.app_context():
        brouillon_id = nouveau(app)
    outcomes = []
    barrier = threading.Barrier(2)

    def file_one():
        with app.app_context():
            brouillon = db.session.get(BrouillonFormulaire, brouillon_id)  # both read it
            barrier.wait()
            try:
                brouillons.deposer_brouillon(definition(app), brouillon.id, DOCUMENT)
                outcomes.append("déposé")
            except brouillons.BrouillonDejaDepose:
                outcomes.append("déjà envoyé")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=file_one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["déjà envoyé", "déposé"]
    with app.app_context():
        assert count(Submission) == 1 and count(BrouillonFormulaire) == 0


def test_attaching_replaces_only_the_draft_she_was_shown(contexte):
    app = contexte
    utilisateur = mathilde()
    anonyme, sien = nouveau(app), nouveau(app, utilisateur)
    with pytest.raises(brouillons.ChoixPerime):
        brouillons.rattacher(anonyme, utilisateur, None, MATHILDE)
    with pytest.raises(brouillons.ChoixPerime):
        brouillons.rattacher(anonyme, utilisateur, anonyme, MATHILDE)
    assert db.session.get(BrouillonFormulaire, anonyme).utilisateur_id is None
    assert db.session.get(BrouillonFormulaire, sien).utilisateur_id == utilisateur

    brouillons.rattacher(anonyme, utilisateur, sien, MATHILDE)
    db.session.remove()
    rows = db.session.execute(
        select(BrouillonFormulaire.id, BrouillonFormulaire.utilisateur_id)
    ).all()
    assert rows == [(anonyme, utilisateur)]
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.operation == "rattacher_brouillon")
    ).one()
    assert (event.actor_type, event.actor, event.object_id) == ("usager", "mgerard", str(anonyme))
    assert event.details == {"form_id": FORM, "remplace": sien}


def test_a_draft_already_someones_or_expired_cannot_be_attached(contexte):
    app = contexte
    utilisateur = mathilde()
    sien = nouveau(app, utilisateur)
    with pytest.raises(brouillons.BrouillonIndisponible):
        brouillons.rattacher(sien, utilisateur, sien, MATHILDE)
    expire = nouveau(app)
    db.session.execute(
        update(BrouillonFormulaire)
        .where(BrouillonFormulaire.id == expire)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    with pytest.raises(brouillons.BrouillonIndisponible):
        brouillons.rattacher(expire, utilisateur, sien, MATHILDE)
    assert count(AuditEvent) == 0


def test_saving_a_draft_deleted_meanwhile_says_it_is_gone(contexte):
    app = contexte
    brouillon_id = nouveau(app)
    brouillon = db.session.get(BrouillonFormulaire, brouillon_id)
    with db.engine.begin() as other:
        other.execute(
            BrouillonFormulaire.__table__.delete().where(BrouillonFormulaire.id == brouillon_id)
        )
    with pytest.raises(brouillons.BrouillonIndisponible):
        brouillons.enregistrer_brouillon(brouillon, DOCUMENT, 3)
