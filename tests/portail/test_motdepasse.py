"""Choosing the password through the single-use link of the "mot de passe" mail."""

import re
from datetime import timedelta
from email import message_from_bytes

import pytest
from sqlalchemy import select, update

from extensions import db
from identites import motdepasse
from models.audit import AuditEvent
from models.comptes import JetonMotDePasse, Utilisateur
from models.types import utcnow
from tests.workflows.test_comptes import AGENT, USAGER, document
from workflows import comptes


@pytest.fixture
def link(make_app, tmp_path):
    """A validated account; returns (app, path of the link from the mail)."""
    app = make_app(
        MAIL_FILE_DIR=str(tmp_path / "mails"), REDIS_URL="", SITE_URL="http://testserver"
    )
    with app.app_context():
        demande = comptes.demander_compte(document(), 1, USAGER)
        comptes.valider_demande_compte(demande.id, AGENT)
    mail = next(p for p in (tmp_path / "mails").glob("*mot_de_passe.eml"))
    message = message_from_bytes(mail.read_bytes())
    text = next(
        part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_type() == "text/plain"
    )
    return app, re.search(r"http://testserver(/mot-de-passe/[A-Za-z0-9_-]+)", text).group(1)


def test_the_link_shows_the_form_with_its_expiry(link):
    app, path = link
    response = app.test_client().get(path)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Choisir votre mot de passe" in page
    assert 'autocomplete="new-password"' in page


def test_a_weak_password_is_refused_in_french_next_to_the_field(link):
    app, path = link
    response = app.test_client().post(
        path, data={"mot_de_passe": "azerty", "confirmation": "azerty"}
    )
    assert response.status_code == 422
    assert "au moins 12 caractères" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(Utilisateur)).one().password_hash is None


def test_a_good_password_is_stored_hashed_once_and_the_link_dies(link):
    app, path = link
    client = app.test_client()
    phrase = "cheval correct agrafe batterie"
    response = client.post(path, data={"mot_de_passe": phrase, "confirmation": phrase})
    assert response.status_code == 303
    with app.app_context():
        utilisateur = db.session.scalars(select(Utilisateur)).one()
        assert utilisateur.password_hash.startswith("$argon2id$")
        assert motdepasse.verify_secret(utilisateur.password_hash, phrase)[0]
        assert (
            db.session.scalars(select(AuditEvent.operation)).all().count("choisir_mot_de_passe")
            == 1
        )
    assert client.get(path).status_code == 410
    again = client.post(
        path, data={"mot_de_passe": phrase + " bis", "confirmation": phrase + " bis"}
    )
    assert again.status_code == 410


def test_an_expired_or_unknown_link_is_refused_with_one_message(link):
    app, path = link
    with app.app_context():
        db.session.execute(
            update(JetonMotDePasse).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    client = app.test_client()
    expired = client.get(path)
    unknown = client.get("/mot-de-passe/inconnu")
    assert expired.status_code == unknown.status_code == 410
    assert "plus valide : il a déjà servi ou a expiré" in expired.get_data(as_text=True)
    # the same answer whether the link existed or not: no oracle on which links exist
    assert expired.get_data(as_text=True) == unknown.get_data(as_text=True).replace(
        *_nonce_pair(unknown, expired)
    )


def _nonce_pair(first, second):
    """The per-request CSP nonces of two pages, to compare the pages without them."""

    def pick(response):
        return re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)

    return pick(first), pick(second)
