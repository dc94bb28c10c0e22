"""« Mon compte »: the identity's details, changing its password (which ends the other
sessions) and its secret question, both behind the current password."""

import html
import re

import pytest
from sqlalchemy import select

from extensions import db
from identites import motdepasse
from models.comptes import Utilisateur
from tests.workflows.test_identites import PHRASE, QUESTIONS, creer_identite

NOUVELLE = "une toute nouvelle phrase de passe"


def _app(make_app, tmp_path, **settings):
    app = make_app(REDIS_URL="", **settings)
    with app.app_context():
        creer_identite(
            sirets=[("00578096000042", "BOULANGERIE DU CANAL"), ("73282932000074", "CAFE")]
        )
    return app


@pytest.fixture
def app(make_app, tmp_path):
    return _app(make_app, tmp_path)


def signed_in(app, mot_de_passe=PHRASE):
    client = app.test_client()
    response = client.post(
        "/connexion", data={"identifiant": "mgerard", "mot_de_passe": mot_de_passe}
    )
    assert response.status_code == 303
    return client


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def identite(app) -> Utilisateur:
    with app.app_context():
        utilisateur = db.session.scalar(select(Utilisateur).filter_by(identifiant="mgerard"))
        db.session.expunge(utilisateur)
        return utilisateur


def change_password(client, actuel=PHRASE, nouveau=NOUVELLE, confirmation=None):
    return client.post(
        "/mon-compte/mot-de-passe",
        data={
            "mot_de_passe_actuel": actuel,
            "mot_de_passe": nouveau,
            "confirmation": nouveau if confirmation is None else confirmation,
        },
    )


def change_question(client, mot_de_passe=PHRASE, question=QUESTIONS[3][0], reponse="Éléonore"):
    return client.post(
        "/mon-compte/question-secrete",
        data={
            "question-mot_de_passe_actuel": mot_de_passe,
            "question-question_secrete": question,
            "question-reponse": reponse,
        },
    )


def test_mon_compte_needs_a_signed_in_user(app):
    for response in (
        app.test_client().get("/mon-compte"),
        change_password(app.test_client()),
        change_question(app.test_client()),
    ):
        assert response.status_code == 302
        assert "/connexion" in response.headers["Location"]


def test_the_page_shows_my_details_read_only_and_the_header_links_to_it(app):
    page = text(signed_in(app).get("/mon-compte"))
    for label, value in (
        ("Identifiant", "mgerard"),
        ("Nom", "GERARD"),
        ("Prénom", "Mathilde"),
        ("Courriel", "mathilde.gerard@exemple.fr"),
    ):
        assert f'<tr><th scope="row">{label}</th><td>{value}</td></tr>' in page
    assert 'value="mgerard"' not in page and 'name="courriel"' not in page  # nothing to edit
    assert "les 2 établissements pour lesquels vous êtes habilité(e)" in page
    assert 'href="/mon-compte">Mon compte</a>' in page
    assert 'href="/mon-compte"' not in text(app.test_client().get("/connexion"))


def test_the_question_form_shows_my_current_question_from_the_list(app):
    page = text(signed_in(app).get("/mon-compte"))
    assert f'<option selected value="{QUESTIONS[1][0]}">{QUESTIONS[1][1]}</option>' in page
    assert 'name="question-reponse"' in page


def test_a_wrong_current_password_changes_nothing_and_says_so_next_to_the_field(app):
    client = signed_in(app)
    before = identite(app).password_hash
    response = change_password(client, actuel="ce n'est pas le bon")
    assert response.status_code == 422
    page = text(response)
    assert "Le mot de passe actuel saisi n'est pas le bon." in page
    assert 'id="mot_de_passe_actuel-messages"' in page
    assert NOUVELLE not in page  # passwords are never sent back
    assert identite(app).password_hash == before


@pytest.mark.parametrize(
    "nouveau, confirmation, message",
    [
        ("azerty", None, "au moins 12 caractères"),
        ("mathilde gerard 2026", None, "ne doit pas contenir votre identifiant, votre nom"),
        (NOUVELLE, NOUVELLE + " bis", "Les deux saisies ne sont pas identiques."),
    ],
)
def test_a_new_password_must_follow_the_policy(app, nouveau, confirmation, message):
    client = signed_in(app)
    response = change_password(client, nouveau=nouveau, confirmation=confirmation)
    assert response.status_code == 422
    assert message in text(response)
    assert motdepasse.verify_secret(identite(app).password_hash, PHRASE)[0]


def test_a_password_change_ends_my_other_sessions_and_keeps_this_one(app):
    other = signed_in(app)
    client = signed_in(app)
    response = change_password(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/mon-compte"
    page = text(client.get("/mon-compte"))
    assert "Votre mot de passe a été modifié" in page
    assert "vos autres sessions ouvertes ont été fermées" in page
    assert client.get("/mes-notifications").status_code == 200
    elsewhere = other.get("/mon-compte")
    assert elsewhere.status_code == 302
    assert "/connexion" in elsewhere.headers["Location"]
    stored = identite(app).password_hash
    assert stored.startswith("$argon2id$")
    assert motdepasse.verify_secret(stored, NOUVELLE)[0]
    refused = app.test_client().post(
        "/connexion", data={"identifiant": "mgerard", "mot_de_passe": PHRASE}
    )
    assert refused.status_code == 422
    signed_in(app, NOUVELLE)


def test_changing_the_question_needs_the_password_and_keeps_what_was_typed(app):
    client = signed_in(app)
    response = change_question(client, mot_de_passe="pas le bon", reponse="Éléonore")
    assert response.status_code == 422
    page = text(response)
    assert "Le mot de passe actuel saisi n'est pas le bon." in page
    assert 'id="question-mot_de_passe_actuel-messages"' in page
    assert f'<option selected value="{QUESTIONS[3][0]}">{QUESTIONS[3][1]}</option>' in page
    assert 'value="Éléonore"' in page
    assert identite(app).question_secrete == QUESTIONS[1][0]
    missing = change_question(client, reponse="")
    assert missing.status_code == 422
    assert "Saisissez la réponse à votre question secrète." in text(missing)


def test_a_new_question_is_stored_with_its_answer_hashed(app):
    client = signed_in(app)
    response = change_question(client)
    assert response.status_code == 303
    assert "Votre question secrète et sa réponse ont été modifiées." in text(
        client.get("/mon-compte")
    )
    utilisateur = identite(app)
    assert utilisateur.question_secrete == QUESTIONS[3][0]
    assert "onore" not in utilisateur.reponse_hash
    assert motdepasse.verify_secret(utilisateur.reponse_hash, "eleonore")[0]
    assert client.get("/mes-notifications").status_code == 200  # still signed in


def test_failed_attempts_are_throttled_per_account(make_app, tmp_path):
    app = _app(make_app, tmp_path, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    client = signed_in(app)
    statuses = [change_password(client, actuel=f"mauvais {n}").status_code for n in range(11)]
    assert statuses == [422] * 10 + [429]
    response = change_password(client)
    assert response.status_code == 429
    assert "Trop d'essais infructueux sur votre compte" in text(response)
    assert motdepasse.verify_secret(identite(app).password_hash, PHRASE)[0]


def test_both_forms_need_the_csrf_token(make_app, tmp_path):
    app = _app(make_app, tmp_path, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    page = client.get("/connexion").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post(
        "/connexion",
        data={"identifiant": "mgerard", "mot_de_passe": PHRASE, "csrf_token": token},
    )
    assert client.get("/mon-compte").status_code == 200
    assert change_password(client).status_code == 400
    assert change_question(client).status_code == 400
    page = client.get("/mon-compte").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/mon-compte/question-secrete",
        data={
            "question-csrf_token": token,
            "question-mot_de_passe_actuel": PHRASE,
            "question-question_secrete": QUESTIONS[2][0],
            "question-reponse": "Jules Ferry",
        },
    )
    assert response.status_code == 303
    assert identite(app).question_secrete == QUESTIONS[2][0]
