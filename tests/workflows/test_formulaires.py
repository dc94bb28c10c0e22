"""Submissions of standalone forms: filing (journal row, acknowledgement mail when the form asks
for an email), « marquer comme traitée » and « rouvrir » with their journal rows and refusals."""

from __future__ import annotations

import json
from email import message_from_bytes
from email.policy import default as email_policy
from pathlib import Path

import pytest
from sqlalchemy import select

from extensions import db
from forms.registry import build_registry
from models.audit import AuditEvent
from models.notification import Notification
from models.submission import Submission, SubmissionState
from workflows import formulaires
from workflows.journal import Acteur

ROOT = Path(__file__).resolve().parents[2]
TEST_SCHEMAS = ROOT / "tests" / "schemas"
EXEMPLE = json.loads(
    (TEST_SCHEMAS / "examples" / "inscription-atelier.json").read_text(encoding="utf-8")
)
AGENT = Acteur("agent", "agent.asp@asp.localhost")
HOSTILE = "<script>alert(1)</script>"


def definition(properties: dict, form_id="sondage", version=1, **racine):
    """A checked standalone definition (the real loader), for the workflow alone."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://activite-partielle.localhost/formulaires/{form_id}",
        "x-version": version,
        "x-standalone": True,
        "title": "Sondage de satisfaction",
        "type": "object",
        "properties": properties,
        **racine,
    }
    return build_registry({form_id: schema})[form_id]


COURRIEL = {"type": "string", "title": "Votre courriel", "format": "email"}
AVIS = {"type": "string", "title": "Votre avis", "maxLength": 2000}


@pytest.fixture
def mails_app(make_app, tmp_path):
    """Embedded mode (jobs run after the commit), mails written as .eml files."""
    app = make_app(
        MAIL_SERVER="",
        MAIL_FILE_DIR=str(tmp_path / "mails"),
        REDIS_URL="",
        FORMS_SCHEMAS_DIR=str(TEST_SCHEMAS),
    )
    with app.app_context():
        yield app


def mails(app):
    folder = Path(app.config["MAIL_FILE_DIR"])
    return [
        message_from_bytes(p.read_bytes(), policy=email_policy)
        for p in sorted(folder.glob("*.eml"))
    ]


def corps(message, sous_type: str) -> str:
    return message.get_body(preferencelist=(sous_type,)).get_content()


def journal(submission_id) -> list[tuple]:
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == "soumission")
        .where(AuditEvent.object_id == str(submission_id))
        .order_by(AuditEvent.id)
    )
    return [(e.operation, e.actor_type, e.actor, e.state_from, e.state_to) for e in events]


def accuses() -> list[Notification]:
    return list(
        db.session.scalars(select(Notification).where(Notification.template == "soumission_recue"))
    )


# --- filing -------------------------------------------------------------------------------------


def test_a_submission_is_filed_recue_with_its_version_and_journaled(mails_app):
    atelier = mails_app.extensions["forms"]["inscription-atelier"]
    submission = formulaires.deposer_soumission(atelier, dict(EXEMPLE))
    db.session.expire_all()
    stored = db.session.get(Submission, submission.id)
    assert stored.state is SubmissionState.RECUE
    assert (stored.form_id, stored.form_version) == ("inscription-atelier", 3)
    assert stored.data == EXEMPLE
    assert "boulangerie gerard" in stored.texte  # searchable: lower case, no accents
    assert journal(stored.id) == [
        ("deposer_soumission", "usager", EXEMPLE["courriel"], None, "recue")
    ]


def test_the_acknowledgement_goes_to_the_email_typed_with_title_and_reference(mails_app):
    atelier = mails_app.extensions["forms"]["inscription-atelier"]
    submission = formulaires.deposer_soumission(atelier, dict(EXEMPLE))
    (accuse,) = accuses()
    assert accuse.recipient == EXEMPLE["courriel"]
    assert accuse.idempotency_key == f"soumission-recue-{submission.id}"
    assert accuse.context["reference"] == submission.reference
    assert accuse.context["titre_formulaire"] == "Inscription à un atelier d'information"
    # sent after the commit (embedded mode): a real mail, text and HTML
    (message,) = mails(mails_app)
    assert message["To"] == EXEMPLE["courriel"]
    assert submission.reference in message["Subject"]
    assert "Inscription à un atelier d'information" in message["Subject"]
    texte = corps(message, "plain")
    assert f"{submission.reference}" in texte
    assert "Boulangerie Gérard" not in texte
    assert submission.reference in corps(message, "html")


def test_no_acknowledgement_when_the_form_asks_no_email_or_it_is_left_empty(mails_app):
    sans_courriel = definition({"avis": AVIS})
    formulaires.deposer_soumission(sans_courriel, {"avis": "Très bien"})
    facultatif = definition({"avis": AVIS, "courriel": COURRIEL}, form_id="facultatif")
    formulaires.deposer_soumission(facultatif, {"avis": "Bien"})
    formulaires.deposer_soumission(facultatif, {"avis": "Bien", "courriel": ""})
    assert accuses() == []
    assert mails(mails_app) == []
    assert db.session.query(Submission).count() == 3


def test_the_email_of_the_form_is_its_first_top_level_email_question():
    collegue = {
        "type": "object",
        "title": "Un collègue",
        "properties": {"courriel": {**COURRIEL, "title": "Courriel du collègue"}},
    }
    formulaire = definition(
        {
            "collegue": collegue,
            "avis": AVIS,
            "courriel": COURRIEL,
            "secours": {**COURRIEL, "title": "Courriel de secours"},
        }
    )
    document = {
        "collegue": {"courriel": "collegue@example.fr"},
        "courriel": "moi@example.fr",
        "secours": "secours@example.fr",
    }
    assert formulaires.adresse_accuse(formulaire, document) == "moi@example.fr"
    # the form's order (x-ui order) decides, not the order of the JSON
    ordonne = definition(
        {
            "courriel": COURRIEL,
            "secours": {**COURRIEL, "title": "Secours", "x-ui": {"order": -1}},
        }
    )
    assert formulaires.adresse_accuse(ordonne, document) == "secours@example.fr"
    # an email asked only inside a section never receives the acknowledgement
    assert formulaires.adresse_accuse(definition({"collegue": collegue}), document) is None


def test_the_acknowledgement_never_repeats_what_the_visitor_typed(mails_app):
    # The address is unverified: echoing free text would make the form a mail relay.
    formulaire = definition({"courriel": COURRIEL, "avis": AVIS})
    formulaires.deposer_soumission(
        formulaire,
        {"courriel": "moi@example.fr", "avis": HOSTILE + " Achetez sur https://spam.test"},
    )
    (accuse,) = accuses()
    assert set(accuse.context) == {"reference", "titre_formulaire"}
    (message,) = mails(mails_app)
    for partie in ("plain", "html"):
        texte = corps(message, partie)
        assert "spam.test" not in texte and "alert(1)" not in texte


def test_a_rolled_back_filing_queues_no_mail(mails_app, monkeypatch):
    formulaire = definition({"courriel": COURRIEL})

    def panne(*args, **kwargs):
        raise RuntimeError("base indisponible")

    monkeypatch.setattr(formulaires.outbox, "commit", panne)
    with pytest.raises(RuntimeError):
        formulaires.deposer_soumission(formulaire, {"courriel": "moi@example.fr"})
    db.session.rollback()
    assert db.session.query(Submission).count() == 0
    assert accuses() == [] and mails(mails_app) == []


# --- handling -----------------------------------------------------------------------------------


def test_marquer_traitee_then_rouvrir_are_journaled_with_the_agent(mails_app):
    submission = formulaires.deposer_soumission(definition({"avis": AVIS}), {"avis": "Bien"})
    formulaires.marquer_traitee(submission.id, AGENT)
    assert db.session.get(Submission, submission.id).state is SubmissionState.TRAITEE
    assert db.session.get(Submission, submission.id).updated_at is not None
    formulaires.rouvrir(submission.id, AGENT)
    assert db.session.get(Submission, submission.id).state is SubmissionState.RECUE
    assert journal(submission.id)[1:] == [
        ("marquer_soumission_traitee", "agent", AGENT.label, "recue", "traitee"),
        ("rouvrir_soumission", "agent", AGENT.label, "traitee", "recue"),
    ]


def test_a_transition_from_the_wrong_state_is_refused_and_journals_nothing(mails_app):
    submission = formulaires.deposer_soumission(definition({"avis": AVIS}), {"avis": "Bien"})
    with pytest.raises(formulaires.TransitionInterdite, match="déjà reçue"):
        formulaires.rouvrir(submission.id, AGENT)
    formulaires.marquer_traitee(submission.id, AGENT)
    with pytest.raises(formulaires.TransitionInterdite, match="déjà traitée"):
        formulaires.marquer_traitee(submission.id, AGENT)
    with pytest.raises(formulaires.TransitionInterdite, match="n'existe pas"):
        formulaires.marquer_traitee(submission.id + 1000, AGENT)
    assert [ligne[0] for ligne in journal(submission.id)] == [
        "deposer_soumission",
        "marquer_soumission_traitee",
    ]
