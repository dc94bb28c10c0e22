"""Support requests: filing, the support's answer, closing and reopening, and the refusals."""

import json
from email import message_from_bytes
from email.policy import default as email_policy
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import func, select

from extensions import db
from models.assistance import AssistanceState, DemandeAssistance
from models.audit import AuditEvent
from models.notification import Notification
from workflows import assistance
from workflows.journal import Acteur

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = json.loads((ROOT / "forms/examples/demande-support.json").read_text(encoding="utf-8"))
USAGER = Acteur("usager", EXAMPLE["courriel"])
AGENT = Acteur("agent", "agent.asp@asp.localhost")
REPONSE = "Bonjour,\nVotre identifiant vous a été renvoyé.\n\nCordialement"


@pytest.fixture
def mails_app(make_app, tmp_path):
    app = make_app(MAIL_SERVER="", MAIL_FILE_DIR=str(tmp_path / "mails"), REDIS_URL="")
    with app.app_context():
        yield app


def mails(app):
    folder = Path(app.config["MAIL_FILE_DIR"])
    return [
        message_from_bytes(p.read_bytes(), policy=email_policy)
        for p in sorted(folder.glob("*.eml"))
    ]


def deposer(document=None) -> DemandeAssistance:
    definition = current_app.extensions["forms"]["demande-support"]
    return assistance.demander_assistance(definition, document or dict(EXAMPLE), USAGER)


def journal(demande_id) -> list[tuple[str, str | None, str | None]]:
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == "demande_assistance")
        .where(AuditEvent.object_id == str(demande_id))
        .order_by(AuditEvent.id)
    )
    return [(e.operation, e.state_from, e.state_to) for e in events]


def notifications(template) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification).where(Notification.template == template).order_by(Notification.id)
        )
    )


def state_of(demande_id) -> AssistanceState:
    db.session.expire_all()
    return AssistanceState(db.session.get(DemandeAssistance, demande_id).state)


def test_filing_stores_the_document_with_its_form_and_acknowledges_with_the_reference(mails_app):
    demande = deposer()
    assert demande.state == AssistanceState.OUVERTE
    assert (demande.form_id, demande.form_version) == ("demande-support", 1)
    assert demande.data == EXAMPLE
    assert (demande.courriel, demande.siret, demande.sujet) == (
        EXAMPLE["courriel"],
        EXAMPLE["siret"],
        EXAMPLE["sujet"],
    )
    assert journal(demande.id) == [("demander_assistance", None, "ouverte")]
    (ack,) = notifications("assistance_recue")
    assert ack.recipient == EXAMPLE["courriel"]
    assert ack.context == {"reference": demande.reference}  # nothing the visitor typed
    (mail,) = mails(mails_app)
    assert demande.reference in mail["Subject"]
    text = mail.get_body(("plain",)).get_content()
    assert "Madame, Monsieur," in text
    assert demande.reference in text
    assert EXAMPLE["message"] not in text


def test_the_document_is_copied_not_shared(mails_app):
    document = dict(EXAMPLE)
    demande = deposer(document)
    document["message"] = "modifié après coup"
    assert demande.data["message"] == EXAMPLE["message"]


def test_answering_mails_the_message_and_moves_the_request_to_repondue(mails_app):
    demande = deposer()
    answered = assistance.repondre_assistance(demande.id, AGENT, f"  {REPONSE}  ")
    assert answered.state == AssistanceState.REPONDUE
    assert journal(demande.id)[-1] == ("repondre_assistance", "ouverte", "repondue")
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.operation == "repondre_assistance")
    ).one()
    assert (event.actor_type, event.actor) == ("agent", "agent.asp@asp.localhost")
    assert event.details == {"message": REPONSE}
    (answer,) = notifications("reponse_support")
    assert answer.recipient == EXAMPLE["courriel"]
    assert answer.context == {"reference": demande.reference, "message": REPONSE}
    mail = next(m for m in mails(mails_app) if "réponse" in m["Subject"])
    assert demande.reference in mail["Subject"]
    assert "Votre identifiant vous a été renvoyé." in mail.get_body(("plain",)).get_content()


@pytest.mark.parametrize("message", ["", "   \n  ", None])
def test_an_empty_answer_is_refused_and_changes_nothing(mails_app, message):
    demande = deposer()
    with pytest.raises(assistance.AssistanceError, match="Saisissez la réponse"):
        assistance.repondre_assistance(demande.id, AGENT, message)
    assert state_of(demande.id) == AssistanceState.OUVERTE
    assert notifications("reponse_support") == []
    assert len(journal(demande.id)) == 1


def test_an_over_long_answer_is_refused(mails_app):
    demande = deposer()
    with pytest.raises(assistance.AssistanceError, match="ne doit pas dépasser 10"):
        assistance.repondre_assistance(demande.id, AGENT, "x" * (assistance.MAX_REPONSE_CHARS + 1))
    assert state_of(demande.id) == AssistanceState.OUVERTE


def test_an_answered_request_cannot_be_answered_again_until_reopened(mails_app):
    demande = deposer()
    assistance.repondre_assistance(demande.id, AGENT, REPONSE)
    with pytest.raises(assistance.TransitionInterdite) as refused:
        assistance.repondre_assistance(demande.id, AGENT, "Deuxième réponse")
    assert str(refused.value) == (
        "Impossible de répondre à cette demande d'assistance : elle a déjà reçu une réponse "
        "(état : Répondue). Rouvrez-la d'abord."
    )
    assert len(notifications("reponse_support")) == 1

    assistance.rouvrir_assistance(demande.id, AGENT)
    assistance.repondre_assistance(demande.id, AGENT, "Deuxième réponse")
    assert [n.context["message"] for n in notifications("reponse_support")] == [
        REPONSE,
        "Deuxième réponse",
    ]
    assert [op for op, _, _ in journal(demande.id)] == [
        "demander_assistance",
        "repondre_assistance",
        "rouvrir_assistance",
        "repondre_assistance",
    ]


@pytest.mark.parametrize("answered_first", [False, True])
def test_closing_works_from_ouverte_and_from_repondue_without_a_mail(mails_app, answered_first):
    demande = deposer()
    if answered_first:
        assistance.repondre_assistance(demande.id, AGENT, REPONSE)
    before = db.session.scalar(select(func.count()).select_from(Notification))
    closed = assistance.clore_assistance(demande.id, AGENT)
    assert closed.state == AssistanceState.CLOSE
    origin = "repondue" if answered_first else "ouverte"
    assert journal(demande.id)[-1] == ("clore_assistance", origin, "close")
    assert db.session.scalar(select(func.count()).select_from(Notification)) == before


def test_a_closed_request_can_be_neither_closed_nor_answered(mails_app):
    demande = deposer()
    assistance.clore_assistance(demande.id, AGENT)
    with pytest.raises(assistance.TransitionInterdite, match="elle est déjà close"):
        assistance.clore_assistance(demande.id, AGENT)
    with pytest.raises(assistance.TransitionInterdite, match=r"\(état : Close\)"):
        assistance.repondre_assistance(demande.id, AGENT, REPONSE)
    assert state_of(demande.id) == AssistanceState.CLOSE
    assert notifications("reponse_support") == []
    assert len(journal(demande.id)) == 2


def test_reopening_puts_a_closed_request_back_and_an_open_one_is_refused(mails_app):
    demande = deposer()
    with pytest.raises(assistance.TransitionInterdite, match="elle est déjà ouverte"):
        assistance.rouvrir_assistance(demande.id, AGENT)
    assistance.clore_assistance(demande.id, AGENT)
    reopened = assistance.rouvrir_assistance(demande.id, AGENT)
    assert reopened.state == AssistanceState.OUVERTE
    assert journal(demande.id)[-1] == ("rouvrir_assistance", "close", "ouverte")


@pytest.mark.parametrize(
    "operation",
    [
        lambda i: assistance.repondre_assistance(i, AGENT, REPONSE),
        lambda i: assistance.clore_assistance(i, AGENT),
        lambda i: assistance.rouvrir_assistance(i, AGENT),
    ],
)
def test_an_unknown_request_is_refused_in_french(mails_app, operation):
    with pytest.raises(assistance.TransitionInterdite, match="n'existe pas"):
        operation(4242)
