"""« Formulaires »: preview a draft as the public sees it, publish it after the checks and the
summary, discard it, restore an older version; Administrateur only, CSRF on every POST."""

import html
import json
import re

import pytest
from flask import current_app

from models.audit import AuditEvent
from tests.backoffice.conftest import ADMIN, ASP, UD, connecter, creer
from workflows import definitions
from workflows.journal import Acteur

SUPPORT = "demande-support"
AGENT = Acteur("agent", ADMIN)
JETON = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def app(make_app):
    return make_app(FORMS_REFRESH_SECONDS=0)


def page(reponse) -> str:
    return html.unescape(reponse.get_data(as_text=True))


def client_de(app, email=ADMIN, role="administrateur", departements=""):
    client = app.test_client()
    connecter(client, creer(app, email, role, departements))
    return client


def brouillon_avec_question(app, titre="Numéro de dossier"):
    with app.app_context():
        schema = json.loads(json.dumps(current_app.extensions["forms"][SUPPORT].schema))
        schema["properties"]["dossier"] = {
            "type": "string",
            "title": titre,
            "description": "Facultatif : le numéro d'un dossier déjà ouvert.",
            "maxLength": 20,
        }
        definitions.enregistrer_brouillon(SUPPORT, schema, AGENT)


def served(app):
    with app.app_context():
        return current_app.extensions["forms"][SUPPORT]


URLS = [
    ("GET", f"/backoffice/formulaires/{SUPPORT}/apercu"),
    ("POST", f"/backoffice/formulaires/{SUPPORT}/apercu"),
    ("GET", f"/backoffice/formulaires/{SUPPORT}/publier"),
    ("POST", f"/backoffice/formulaires/{SUPPORT}/publier"),
    ("POST", f"/backoffice/formulaires/{SUPPORT}/abandonner"),
    ("GET", f"/backoffice/formulaires/{SUPPORT}/versions"),
    ("POST", f"/backoffice/formulaires/{SUPPORT}/versions/1/restaurer"),
]


@pytest.mark.parametrize(("role", "email", "departements"), [("asp", ASP, ""), ("ud", UD, "44")])
@pytest.mark.parametrize(("method", "url"), URLS)
def test_other_roles_get_403_on_every_publication_url(app, role, email, departements, method, url):
    brouillon_avec_question(app)
    client = client_de(app, email, role, departements)
    assert client.open(url, method=method).status_code == 403
    assert served(app).version == 1


@pytest.mark.parametrize(("method", "url"), URLS)
def test_anonymous_visitors_are_sent_to_the_sign_in_page(app, method, url):
    reponse = app.test_client().open(url, method=method)
    assert reponse.status_code in (302, 303)
    assert "/backoffice/connexion" in reponse.headers["Location"]


def test_the_preview_renders_the_draft_with_the_public_dsfr_templates(app):
    brouillon_avec_question(app)
    reponse = client_de(app).get(f"/backoffice/formulaires/{SUPPORT}/apercu")
    texte = page(reponse)
    assert reponse.status_code == 200
    assert "Aperçu du brouillon" in texte
    assert "Numéro de dossier" in texte
    assert "fr-input" in texte  # DSFR inputs, as on the public form
    assert "Facultatif : le numéro d'un dossier déjà ouvert." in texte


def test_submitting_the_preview_shows_errors_and_stores_nothing(app):
    from sqlalchemy import func, select

    from extensions import db
    from models.assistance import DemandeAssistance

    brouillon_avec_question(app)
    client = client_de(app)
    reponse = client.post(
        f"/backoffice/formulaires/{SUPPORT}/apercu", data={"dossier": "x" * 25, "courriel": "non"}
    )
    assert reponse.status_code == 422
    assert "20 caractères" in page(reponse) or "caractères" in page(reponse)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DemandeAssistance)) == 0


def test_the_publish_page_summarises_the_changes_then_publishes_on_confirmation(app):
    brouillon_avec_question(app)
    client = client_de(app)
    texte = page(client.get(f"/backoffice/formulaires/{SUPPORT}/publier"))
    assert "Question ajoutée" in texte and "Numéro de dossier" in texte

    reponse = client.post(f"/backoffice/formulaires/{SUPPORT}/publier")

    assert reponse.status_code == 303
    assert served(app).version == 2
    assert "dossier" in served(app).schema["properties"]
    with app.app_context():
        from sqlalchemy import select

        from extensions import db

        operations = db.session.scalars(
            select(AuditEvent.operation).where(AuditEvent.object_id == SUPPORT)
        ).all()
        assert "formulaire_publie" in operations


def test_a_draft_dropping_a_bound_question_shows_why_and_publishes_nothing(app):
    with app.app_context():
        schema = json.loads(json.dumps(current_app.extensions["forms"][SUPPORT].schema))
        del schema["properties"]["siret"]
        schema["required"] = [name for name in schema.get("required", []) if name != "siret"]
        definitions.enregistrer_brouillon(SUPPORT, schema, AGENT)
    client = client_de(app)

    texte = page(client.get(f"/backoffice/formulaires/{SUPPORT}/publier"))
    assert "ne peut pas être publié" in texte
    assert "(siret) est lue par l'application" in texte
    assert 'id="confirmer-publication"' not in texte

    client.post(f"/backoffice/formulaires/{SUPPORT}/publier")
    assert served(app).version == 1


def test_discarding_keeps_the_served_version(app):
    brouillon_avec_question(app)
    reponse = client_de(app).post(f"/backoffice/formulaires/{SUPPORT}/abandonner")
    assert reponse.status_code == 303
    with app.app_context():
        assert definitions.brouillon(SUPPORT) is None
    assert served(app).version == 1


def test_the_versions_page_restores_an_older_version_under_a_new_number(app):
    with app.app_context():
        definitions.synchroniser_fichiers()
    brouillon_avec_question(app)
    client = client_de(app)
    client.post(f"/backoffice/formulaires/{SUPPORT}/publier")
    texte = page(client.get(f"/backoffice/formulaires/{SUPPORT}/versions"))
    assert "en ligne" in texte and "fichier livré" in texte

    reponse = client.post(f"/backoffice/formulaires/{SUPPORT}/versions/1/restaurer")

    assert reponse.status_code == 303
    assert served(app).version == 3
    assert "dossier" not in served(app).schema["properties"]


def test_every_publication_post_needs_the_csrf_token(make_app):
    app = make_app(FORMS_REFRESH_SECONDS=0, WTF_CSRF_ENABLED=True)
    with app.app_context():
        definitions.synchroniser_fichiers()
    brouillon_avec_question(app)
    agent = creer(app)
    client = app.test_client()
    jeton = JETON.search(page(client.get("/backoffice/connexion"))).group(1)
    client.post(
        "/backoffice/connexion",
        data={
            "email": agent.email,
            "mot_de_passe": "cheval correct agrafe batterie",
            "csrf_token": jeton,
        },
    )
    jeton = JETON.search(page(client.get("/backoffice/connexion/code"))).group(1)
    client.post("/backoffice/connexion/code", data={"code": agent.code(), "csrf_token": jeton})

    for _, url in [u for u in URLS if u[0] == "POST"]:
        reponse = client.post(url, data={"sujet": "x"})
        assert reponse.status_code in (400, 422), url
    assert served(app).version == 1
    with app.app_context():
        assert definitions.brouillon(SUPPORT) is not None


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def reponses_valides(**changes) -> dict:
    data = {
        "nom": "Mathilde Gérard",
        "courriel": "mathilde.gerard@example.fr",
        "courriel__confirmation": "mathilde.gerard@example.fr",
        "sujet": "connexion",
        "message": "Je n'ai pas reçu le courriel contenant mon identifiant.",
        "rappel": "false",
    }
    data.update(changes)
    return data


def fichiers_stockes(app) -> tuple[int, list]:
    from pathlib import Path

    from sqlalchemy import func, select

    from extensions import db
    from models.upload import Upload

    with app.app_context():
        lignes = db.session.scalar(select(func.count()).select_from(Upload))
        dossier = Path(current_app.config["UPLOADS_DIR"])
        return lignes, sorted(dossier.iterdir()) if dossier.exists() else []


def test_a_preview_with_an_attachment_checks_the_file_but_stores_nothing(app):
    import io

    brouillon_avec_question(app)
    client = client_de(app)
    reponse = client.post(
        f"/backoffice/formulaires/{SUPPORT}/apercu",
        data=reponses_valides(piece_jointe=(io.BytesIO(PDF), "capture.pdf")),
        content_type="multipart/form-data",
    )

    assert reponse.status_code == 200, page(reponse)
    assert "Formulaire valide" in page(reponse)
    assert fichiers_stockes(app) == (0, [])


def test_a_preview_with_an_attachment_of_the_wrong_type_says_so_and_stores_nothing(app):
    import io

    brouillon_avec_question(app)
    client = client_de(app)
    reponse = client.post(
        f"/backoffice/formulaires/{SUPPORT}/apercu",
        data=reponses_valides(piece_jointe=(io.BytesIO(b"MZ\x90\x00" + b"x" * 64), "a.pdf")),
        content_type="multipart/form-data",
    )

    assert reponse.status_code == 422
    assert "Ce type de fichier n'est pas accepté. Formats acceptés : PDF" in page(reponse)
    assert "Formulaire valide" not in page(reponse)
    assert fichiers_stockes(app) == (0, [])


def test_a_preview_with_a_too_large_attachment_says_so_and_stores_nothing(make_app):
    import io

    app = make_app(FORMS_REFRESH_SECONDS=0, UPLOAD_MAX_BYTES=1024)
    brouillon_avec_question(app)
    client = client_de(app)
    reponse = client.post(
        f"/backoffice/formulaires/{SUPPORT}/apercu",
        data=reponses_valides(piece_jointe=(io.BytesIO(PDF + b"%" * 2048), "gros.pdf")),
        content_type="multipart/form-data",
    )

    assert reponse.status_code == 422
    assert "Le fichier dépasse la taille maximale autorisée (1 ko)." in page(reponse)
    assert fichiers_stockes(app) == (0, [])
