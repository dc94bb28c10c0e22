"""Choosing the password through the single-use link of the "mot de passe" mail: the page asks
the identity's secret question as a second check (or has it chosen when there is none yet), and
five wrong answers lock the identity's links."""

import html
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
from tests.workflows.test_comptes import AGENT, EXAMPLE, USAGER, document
from tests.workflows.test_identites import QUESTIONS, creer_identite
from workflows import comptes, identites

PHRASE = "cheval correct agrafe batterie"
QUESTION = EXAMPLE["utilisateur"]["question_secrete"]  # chosen in the account request
REPONSE = EXAMPLE["utilisateur"]["reponse"]  # "Jules Ferry"
BLOQUE = "Ce lien est bloqué : la réponse à la question secrète a été refusée 5 fois."


def _validated(make_app, tmp_path, **settings):
    """A validated account request: (app, path of the link of its "mot de passe" mail)."""
    app = make_app(
        MAIL_FILE_DIR=str(tmp_path / "mails"),
        REDIS_URL="",
        SITE_URL="http://testserver",
        **settings,
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


@pytest.fixture
def link(make_app, tmp_path):
    return _validated(make_app, tmp_path)


def page_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def tag(page: str, element: str, name: str) -> str:
    """The opening tag of the ``element`` named ``name`` (attributes in any order)."""
    return re.search(rf'<{element}\b[^>]*\bname="{name}"[^>]*>', page).group(0)


def post(client, path, reponse=REPONSE, mot_de_passe=PHRASE, confirmation=None, **extra):
    data = {
        "reponse": reponse,
        "mot_de_passe": mot_de_passe,
        "confirmation": mot_de_passe if confirmation is None else confirmation,
        **extra,
    }
    return client.post(path, data={k: v for k, v in data.items() if v is not None})


def stored(app) -> Utilisateur:
    with app.app_context():
        utilisateur = db.session.scalars(select(Utilisateur)).one()
        db.session.expunge(utilisateur)
        return utilisateur


def test_the_link_asks_the_question_chosen_in_the_request_with_the_password(link):
    app, path = link
    response = app.test_client().get(path)
    assert response.status_code == 200
    page = page_of(response)
    assert "Choisir votre mot de passe" in page
    assert "répondez d'abord à la question secrète choisie lors de votre demande" in page
    # The question is the label of the answer field, which comes first.
    label = f'<label class="fr-label" for="reponse">Votre réponse à la question « {QUESTION} »'
    assert label in page
    assert page.index('name="reponse"') < page.index('name="mot_de_passe"')
    assert 'autocomplete="off"' in tag(page, "input", "reponse")
    assert 'autocomplete="new-password"' in tag(page, "input", "mot_de_passe")
    assert "<select" not in page  # nothing to choose: the question is the identity's
    assert '<meta name="referrer" content="no-referrer">' in page
    assert 'href="/support"' in page


def test_the_right_answer_and_a_good_password_are_stored_and_the_link_dies(link):
    app, path = link
    with app.app_context():
        other = comptes.lien_mot_de_passe(db.session.scalars(select(Utilisateur)).one())
        db.session.commit()
    other_path = other[0].removeprefix("http://testserver")
    client = app.test_client()
    response = post(client, path, reponse="  jules   FERRY ")
    assert response.status_code == 303
    utilisateur = stored(app)
    assert utilisateur.password_hash.startswith("$argon2id$")
    assert motdepasse.verify_secret(utilisateur.password_hash, PHRASE)[0]
    with app.app_context():
        operations = db.session.scalars(select(AuditEvent.operation)).all()
    assert operations.count("choisir_mot_de_passe") == 1
    assert identites.ECHEC_REPONSE not in operations
    for dead in (path, other_path):  # this link and every other link of the identity
        assert client.get(dead).status_code == 410
    again = post(client, path, mot_de_passe=PHRASE + " bis")
    assert again.status_code == 410
    signed_in = client.post(
        "/connexion", data={"identifiant": utilisateur.identifiant, "mot_de_passe": PHRASE}
    )
    assert signed_in.status_code == 303


def test_a_wrong_answer_is_refused_in_french_next_to_the_field(link):
    app, path = link
    response = post(app.test_client(), path, reponse="Victor Hugo")
    assert response.status_code == 422
    page = page_of(response)
    messages = re.search(r'id="reponse-messages"[^>]*>(.*?)</div>', page, re.S).group(1)
    assert "Cette réponse ne correspond pas à celle de votre question secrète." in messages
    assert "Il vous reste 4 essais avant le blocage de ce lien." in messages
    assert "Victor Hugo" not in page and PHRASE not in page  # secrets are never sent back
    assert stored(app).password_hash is None
    assert app.test_client().get(path).status_code == 200  # the link still works


def test_a_weak_password_is_refused_in_french_next_to_the_field(link):
    app, path = link
    response = post(app.test_client(), path, mot_de_passe="azerty")
    assert response.status_code == 422
    page = page_of(response)
    assert "au moins 12 caractères" in page
    assert "ne correspond pas" not in page  # the answer was right: not a failure
    assert stored(app).password_hash is None
    with app.app_context():
        assert (
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.operation == identites.ECHEC_REPONSE)
            ).all()
            == []
        )


def test_an_empty_answer_is_asked_for(link):
    app, path = link
    response = post(app.test_client(), path, reponse="")
    assert response.status_code == 422
    assert "Saisissez la réponse à votre question secrète." in page_of(response)
    assert stored(app).password_hash is None


def test_five_wrong_answers_lock_the_link_even_for_the_right_answer(link):
    app, path = link
    client = app.test_client()
    statuses = [post(client, path, reponse=f"Mauvaise {n}").status_code for n in range(5)]
    assert statuses == [422] * 4 + [429]
    for response in (post(client, path), app.test_client().get(path)):
        assert response.status_code == 429
        page = page_of(response)
        assert "Lien bloqué" in page
        assert BLOQUE in page
        assert "contactez le support technique" in page
        assert 'href="/support"' in page
        assert 'name="reponse"' not in page
    assert stored(app).password_hash is None
    # A new link for the same identity is locked too.
    with app.app_context():
        lien, _ = comptes.lien_mot_de_passe(db.session.scalars(select(Utilisateur)).one())
        db.session.commit()
    fresh = app.test_client().get(lien.removeprefix("http://testserver"))
    assert fresh.status_code == 429


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
    assert "plus valide : il a déjà servi ou a expiré" in page_of(expired)
    assert "Contactez le support technique" in page_of(expired)
    # the same answer whether the link existed or not: no oracle on which links exist
    assert expired.get_data(as_text=True) == unknown.get_data(as_text=True).replace(
        *_nonce_pair(unknown, expired)
    )
    assert post(client, "/mot-de-passe/inconnu").status_code == 410


def _nonce_pair(first, second):
    """The per-request CSP nonces of two pages, to compare the pages without them."""

    def pick(response):
        return re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)

    return pick(first), pick(second)


def test_the_link_needs_the_csrf_token(make_app, tmp_path):
    app, path = _validated(make_app, tmp_path, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    refused = post(client, path)
    assert refused.status_code == 400
    assert "Session expirée" in page_of(refused)
    assert stored(app).password_hash is None
    page = client.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert post(client, path, csrf_token=token).status_code == 303


def test_posts_on_the_link_are_throttled_per_client(make_app, tmp_path):
    app, path = _validated(
        make_app, tmp_path, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://"
    )
    client = app.test_client()
    # Weak passwords with the right answer: refused, but not counted as wrong answers.
    statuses = [post(client, path, mot_de_passe="azerty").status_code for _ in range(21)]
    assert statuses == [422] * 20 + [429]
    assert post(client, path).status_code == 429
    assert stored(app).password_hash is None


# --- an identity added by a référent chooses its secret question on the link page --------------


@pytest.fixture
def sans_question(make_app, tmp_path):
    """An identity with no secret question yet (added by a référent) and its link's path."""
    app = make_app(REDIS_URL="", SITE_URL="http://testserver")
    with app.app_context():
        utilisateur = creer_identite(question=None)
        utilisateur.password_hash = None
        lien, _ = comptes.lien_mot_de_passe(utilisateur)
        db.session.commit()
    return app, lien.removeprefix("http://testserver")


def test_the_link_asks_to_choose_a_question_from_the_list_of_the_request_form(sans_question):
    app, path = sans_question
    page = app.test_client().get(path).get_data(as_text=True)
    assert "Choisissez aussi votre question secrète" in page
    select_tag = tag(page, "select", "question_secrete")
    assert 'class="fr-select"' in select_tag
    assert len(QUESTIONS) == 6
    for value, label in QUESTIONS:
        assert f'<option value="{html.escape(value)}">{html.escape(label)}</option>' in page
    assert 'autocomplete="off"' in tag(page, "input", "reponse")


def test_a_missing_question_keeps_the_password_unchosen_and_what_was_typed(sans_question):
    app, path = sans_question
    response = post(app.test_client(), path, reponse="Médor")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Choisissez votre question secrète." in page
    assert 'value="Médor"' in page
    assert PHRASE not in page  # passwords are never sent back
    other = post(app.test_client(), path, reponse="Médor", question_secrete="Inventée ?")
    assert other.status_code == 422
    assert "Choisissez une des valeurs proposées." in page_of(other)
    short = post(app.test_client(), path, reponse="Rex", question_secrete=QUESTIONS[0][0])
    assert short.status_code == 422
    assert "Ce champ doit contenir au moins 4 caractère(s)." in page_of(short)
    utilisateur = stored(app)
    assert (utilisateur.password_hash, utilisateur.question_secrete) == (None, None)


def test_the_chosen_question_is_stored_with_its_answer_hashed(sans_question):
    app, path = sans_question
    client = app.test_client()
    response = post(client, path, reponse=" Médor ", question_secrete=QUESTIONS[0][0])
    assert response.status_code == 303
    utilisateur = stored(app)
    assert utilisateur.question_secrete == QUESTIONS[0][0]
    assert "dor" not in utilisateur.reponse_hash.lower()
    assert motdepasse.verify_secret(utilisateur.reponse_hash, "medor")[0]
    assert motdepasse.verify_secret(utilisateur.password_hash, PHRASE)[0]
    assert client.get(path).status_code == 410
