"""« Envoyer une demande d'assistance » (/aide/assistance): the form of the demande-support
definition, its French errors, the filed request, its acknowledgement and its confirmation."""

import io
import json
import re
from email import message_from_bytes
from email.policy import default as email_policy
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import func, select

from extensions import db
from identites import motdepasse
from models.assistance import AssistanceState, DemandeAssistance
from models.audit import AuditEvent
from models.comptes import Utilisateur
from models.notification import Notification

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = json.loads((ROOT / "forms/examples/demande-support.json").read_text(encoding="utf-8"))
URL = "/aide/assistance"
PHRASE = "cheval correct agrafe batterie"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def html_of(response) -> str:
    return unescape(response.get_data(as_text=True))


def valid_post(**changes) -> dict:
    data = {
        "nom": EXAMPLE["nom"],
        "courriel": EXAMPLE["courriel"],
        "courriel__confirmation": EXAMPLE["courriel"],
        "siret": "005 780 960 00042",
        "sujet": EXAMPLE["sujet"],
        "message": EXAMPLE["message"],
        "rappel": "false",
    }
    data.update(changes)
    return data


def value_of(html: str, name: str) -> str | None:
    found = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', html)
    if found is None:
        return None
    value = re.search(r'value="([^"]*)"', found.group())
    return value.group(1) if value else ""


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def mails(app):
    folder = Path(app.config["MAIL_FILE_DIR"])
    return [
        message_from_bytes(p.read_bytes(), policy=email_policy)
        for p in sorted(folder.glob("*.eml"))
    ]


@pytest.fixture
def support(make_app, tmp_path):
    """An app whose mails are written as files, jobs run in the process (embedded mode)."""
    return make_app(MAIL_SERVER="", MAIL_FILE_DIR=str(tmp_path / "mails"), REDIS_URL="")


def test_the_page_renders_the_support_form_with_the_help_around_it(client):
    response = client.get(URL)
    assert response.status_code == 200
    html = html_of(response)
    assert "<title>Envoyer une demande d'assistance - " in html
    assert "<h1>Envoyer une demande d'assistance</h1>" in html
    assert '<form method="post" action="/aide/assistance"' in html
    for label in (
        "Nom et prénom",
        "Confirmer le courriel",
        "N° de Siret",
        "Sujet",
        "Votre message",
    ):
        assert label in html
    assert "Envoyer ma demande" in html
    assert "N'indiquez jamais votre mot de passe" in html
    assert re.search(r'class="fr-breadcrumb__link" href="/aide">Base documentaire</a>', html)


def test_an_invalid_post_keeps_what_was_typed_and_explains_in_french(support):
    typed = valid_post(courriel="pas-une-adresse", courriel__confirmation="pas-une-adresse")
    typed.pop("sujet")
    response = support.test_client().post(URL, data=typed)
    assert response.status_code == 422
    html = html_of(response)
    assert "<title>Erreur - Envoyer une demande d'assistance" in html
    assert 'id="resume-erreurs"' in html
    assert "Ce champ est obligatoire." in html
    assert "L'adresse électronique n'est pas valide" in html
    assert value_of(html, "nom") == EXAMPLE["nom"]
    assert value_of(html, "courriel") == "pas-une-adresse"
    assert EXAMPLE["message"] in html
    with support.app_context():
        assert count(DemandeAssistance) == 0
        assert count(Notification) == 0


def test_a_valid_post_files_one_request_journals_it_and_acknowledges_it(support):
    client = support.test_client()
    response = client.post(URL, data=valid_post())
    assert response.status_code == 303
    reference = re.fullmatch(
        r"/aide/assistance/confirmation/([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})",
        response.headers["Location"],
    ).group(1)
    with support.app_context():
        demande = db.session.scalars(select(DemandeAssistance)).one()
        assert demande.reference == reference
        assert demande.state == AssistanceState.OUVERTE
        assert (demande.form_id, demande.form_version) == ("demande-support", 1)
        assert (demande.courriel, demande.siret, demande.sujet) == (
            EXAMPLE["courriel"],
            "00578096000042",
            "connexion",
        )
        assert demande.data["message"] == EXAMPLE["message"]
        assert demande.data["rappel"] is False
        assert demande.utilisateur_id is None
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.object_type == "demande_assistance")
        ).one()
        assert (event.operation, event.object_id, event.state_to) == (
            "demander_assistance",
            str(demande.id),
            "ouverte",
        )
        assert (event.actor_type, event.actor) == ("usager", EXAMPLE["courriel"])
        notification = db.session.scalars(select(Notification)).one()
        assert (notification.recipient, notification.template) == (
            EXAMPLE["courriel"],
            "assistance_recue",
        )
        assert notification.context == {"reference": reference}
    (mail,) = mails(support)
    assert mail["To"] == EXAMPLE["courriel"]
    assert reference in mail["Subject"]


def test_the_confirmation_shows_the_reference_and_nothing_else_of_the_request(support):
    client = support.test_client()
    location = client.post(URL, data=valid_post()).headers["Location"]
    reference = location.rsplit("/", 1)[1]
    response = client.get(location)
    assert response.status_code == 200
    html = html_of(response)
    assert f'<strong class="app-reference">{reference}</strong>' in html
    assert "Votre demande a bien été transmise au support technique." in html
    for private in (EXAMPLE["courriel"], EXAMPLE["nom"], EXAMPLE["message"], "00578096000042"):
        assert private not in html


@pytest.mark.parametrize("reference", ["AAAA-BBBB-CCCC", "aaaa-bbbb-cccc", "1", "%2e%2e"])
def test_an_unknown_or_malformed_reference_is_not_found(client, reference):
    assert client.get(f"/aide/assistance/confirmation/{reference}").status_code == 404


def test_an_attachment_is_kept_with_the_request(support):
    data = valid_post(piece_jointe=(io.BytesIO(PDF), "capture.pdf"))
    response = support.test_client().post(URL, data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    with support.app_context():
        token = db.session.scalars(select(DemandeAssistance)).one().data["piece_jointe"]
        assert re.fullmatch(r"[0-9a-f]{32}", token)


def test_a_request_for_a_call_back_needs_a_phone_number(client):
    response = client.post(URL, data=valid_post(rappel="true"))
    assert response.status_code == 422
    assert "Ce champ est obligatoire." in html_of(response)


# -- a signed-in user -----------------------------------------------------------------------------


@pytest.fixture
def signed_in(support):
    with support.app_context():
        db.session.add(
            Utilisateur(
                identifiant="mgerard",
                nom="GERARD",
                prenom="Mathilde",
                courriel="mathilde.gerard@exemple.fr",
                question_secrete="?",
                reponse_hash="x",
                password_hash=motdepasse.hash_secret(PHRASE),
            )
        )
        db.session.commit()
    client = support.test_client()
    response = client.post("/connexion", data={"identifiant": "mgerard", "mot_de_passe": PHRASE})
    assert response.status_code == 303
    return client


def test_a_signed_in_user_finds_the_form_prefilled_with_name_and_address(signed_in):
    html = html_of(signed_in.get(URL))
    assert value_of(html, "nom") == "Mathilde GERARD"
    assert value_of(html, "courriel") == "mathilde.gerard@exemple.fr"
    assert value_of(html, "courriel__confirmation") == "mathilde.gerard@exemple.fr"


def test_an_anonymous_visitor_finds_the_form_empty(client):
    html = html_of(client.get(URL))
    assert value_of(html, "nom") in ("", None)
    assert value_of(html, "courriel") in ("", None)


def test_a_signed_in_request_is_linked_to_the_identity_and_greets_it_by_name(support, signed_in):
    data = valid_post(
        nom="Mathilde GERARD",
        courriel="mathilde.gerard@exemple.fr",
        courriel__confirmation="mathilde.gerard@exemple.fr",
    )
    assert signed_in.post(URL, data=data).status_code == 303
    with support.app_context():
        demande = db.session.scalars(select(DemandeAssistance)).one()
        utilisateur = db.session.scalars(select(Utilisateur)).one()
        assert demande.utilisateur_id == utilisateur.id
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.operation == "demander_assistance")
        ).one()
        assert event.actor == "mgerard"
        notification = db.session.scalars(
            select(Notification).where(Notification.template == "assistance_recue")
        ).one()
        assert notification.context["prenom"] == "Mathilde"
    (mail,) = [m for m in mails(support) if m["To"] == "mathilde.gerard@exemple.fr"]
    body = mail.get_body(("plain",)).get_content()
    assert "Bonjour Mathilde GERARD," in body


# -- protections ----------------------------------------------------------------------------------


def test_a_post_without_the_csrf_token_is_refused_and_files_nothing(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    response = app.test_client().post(URL, data=valid_post())
    assert response.status_code == 400
    with app.app_context():
        assert count(DemandeAssistance) == 0


def test_with_csrf_enabled_the_token_of_the_page_is_accepted(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    token = value_of(html_of(client.get(URL)), "csrf_token")
    assert token
    assert client.post(URL, data=valid_post(csrf_token=token)).status_code == 303
    with app.app_context():
        assert count(DemandeAssistance) == 1
        assert "csrf_token" not in db.session.scalars(select(DemandeAssistance)).one().data


def test_too_many_posts_from_one_address_are_refused_with_429(make_app):
    app = make_app(
        RATELIMIT_ENABLED=True, RATELIMIT_FORMS="2 per minute", RATELIMIT_STORAGE_URI="memory://"
    )
    client = app.test_client()
    statuses = [client.post(URL, data={"nom": "x"}).status_code for _ in range(3)]
    assert statuses == [422, 422, 429]
    assert client.get(URL).status_code == 200  # reading the page is not limited


def test_the_support_form_is_no_longer_a_standalone_form(client):
    assert client.get("/formulaires/demande-support").status_code == 404
    assert client.post("/formulaires/demande-support", data=valid_post()).status_code == 404
