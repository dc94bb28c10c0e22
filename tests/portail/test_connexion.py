"""Signing in, signing out, and the "Mes notifications" page."""

import html
import re

import pytest
from sqlalchemy import select

from extensions import db
from identites import motdepasse
from mailer import outbox
from models.comptes import Utilisateur

PHRASE = "cheval correct agrafe batterie"


@pytest.fixture
def identite(make_app, tmp_path):
    """An app with one identity that has chosen its password and received two mails."""
    app = make_app(
        MAIL_FILE_DIR=str(tmp_path / "mails"),
        REDIS_URL="",
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
    )
    with app.app_context():
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
        outbox.notifier("mathilde.gerard@exemple.fr", "test", {})
        outbox.notifier("quelquun.dautre@exemple.fr", "test", {})
        outbox.commit()
    return app


def sign_in(client, identifiant="mgerard", mot_de_passe=PHRASE):
    return client.post(
        "/connexion", data={"identifiant": identifiant, "mot_de_passe": mot_de_passe}
    )


def without_tokens(html: str) -> str:
    html = re.sub(r'nonce="[^"]+"', "", html)
    html = re.sub(r'(id="identifiant" name="identifiant"[^>]*value=)"[^"]*"', r"\1", html)
    return re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "", html)


def test_the_sign_in_page_has_the_seed_labels(identite):
    page = html.unescape(identite.test_client().get("/connexion").get_data(as_text=True))
    for label in (
        "Mon espace personnel",
        "Utilisateur",
        "Mot de passe",
        "Connexion",
        "Annuler",
        "Ma première connexion",
        "munissez-vous au préalable de votre SIRET",
        'href="/creer-mon-espace/"',
        "Besoin d'aide ?",
        "contactez le support technique",
        "Simulation de l'indemnisation de l'employeur en cas d'activité partielle",
        "Mentions légales",
        "Conditions générales d'utilisation",
    ):
        assert label in page


def test_a_right_pair_signs_in_and_shows_only_my_notifications(identite):
    client = identite.test_client()
    response = sign_in(client)
    assert response.status_code == 303
    page = client.get("/mes-notifications").get_data(as_text=True)
    assert "message de test" in page
    assert "mathilde.gerard@exemple.fr" in page
    assert page.count("<tr>") == 2  # header + my one mail; the other recipient's is not mine


@pytest.mark.parametrize(
    "identifiant, mot_de_passe",
    [
        ("mgerard", "mauvais mot de passe du tout"),
        ("inconnu", PHRASE),
        ("MGERARD ", "mauvais mot de passe du tout"),
    ],
)
def test_every_refusal_gives_the_same_answer(identite, identifiant, mot_de_passe):
    reference = without_tokens(
        sign_in(identite.test_client(), "personne", "rien du tout").get_data(as_text=True)
    )
    response = sign_in(identite.test_client(), identifiant, mot_de_passe)
    assert response.status_code == 422
    assert "Identifiant ou mot de passe incorrect." in response.get_data(as_text=True)
    assert without_tokens(response.get_data(as_text=True)) == reference


def test_an_identity_without_a_password_yet_cannot_sign_in(identite):
    with identite.app_context():
        db.session.scalars(select(Utilisateur)).one().password_hash = None
        db.session.commit()
    assert sign_in(identite.test_client()).status_code == 422


def test_failed_attempts_on_one_account_are_throttled_but_others_are_not(identite):
    client = identite.test_client()
    statuses = [sign_in(client, "mgerard", "mauvais mot de passe").status_code for _ in range(6)]
    assert statuses[:5] == [422] * 5
    assert statuses[5] == 429
    assert sign_in(client, "mgerard").status_code == 429  # even the right password, for a while
    assert sign_in(client, "autre", "mauvais mot de passe").status_code == 422


def test_signing_out_kills_the_session_even_for_a_copied_cookie(identite):
    client = identite.test_client()
    sign_in(client)
    stolen = client.get_cookie("session").value
    assert client.post("/deconnexion").status_code == 303
    thief = identite.test_client()
    thief.set_cookie("session", stolen)
    response = thief.get("/mes-notifications")
    assert response.status_code == 302
    assert "/connexion" in response.headers["Location"]


def test_signing_in_starts_a_fresh_session(identite):
    client = identite.test_client()
    with client.session_transaction() as before:
        before["planted"] = "by an attacker"
    sign_in(client)
    with client.session_transaction() as after:
        assert "planted" not in after


def test_mes_notifications_needs_a_signed_in_user(identite):
    response = identite.test_client().get("/mes-notifications")
    assert response.status_code == 302
    assert "/connexion" in response.headers["Location"]


def test_signing_out_needs_the_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    assert app.test_client().post("/deconnexion").status_code == 400
