"""« J'ai oublié mon identifiant » and « J'ai oublié mon mot de passe »: the pages never tell
whether an identity exists, mail only the right people, and are throttled. The secret question
is asked on the page of the mailed link only (tests/portail/test_motdepasse.py)."""

import html
import re
from email import message_from_bytes

import pytest
from sqlalchemy import select

from extensions import db
from identites import motdepasse
from models.comptes import Utilisateur
from models.notification import Notification
from tests.workflows.test_identites import QUESTIONS, creer_identite

ENVOI_IDENTIFIANT = "Si cette adresse correspond à un compte, vous allez recevoir un courriel"
ENVOI_LIEN = (
    "Si les informations saisies sont exactes, un courriel contenant un lien pour choisir un "
    "nouveau mot de passe vous a été envoyé"
)
NOUVELLE = "une toute nouvelle phrase de passe"


def _app(make_app, tmp_path, **settings):
    app = make_app(
        MAIL_FILE_DIR=str(tmp_path / "mails"),
        REDIS_URL="",
        SITE_URL="http://testserver",
        **settings,
    )
    with app.app_context():
        creer_identite(sirets=[("00578096000042", "BOULANGERIE DU CANAL")])
        creer_identite("pdurand", "mathilde.gerard@exemple.fr", nom="DURAND", prenom="Paul")
        creer_identite("nouveau", "nouveau@exemple.fr", question=None)
    return app


@pytest.fixture
def app(make_app, tmp_path):
    """Three identities, the last one without a secret question yet."""
    return _app(make_app, tmp_path)


@pytest.fixture
def limited(make_app, tmp_path):
    return _app(make_app, tmp_path, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")


def sent(app, template=None) -> list[Notification]:
    with app.app_context():
        query = select(Notification).order_by(Notification.id)
        if template:
            query = query.where(Notification.template == template)
        return list(db.session.scalars(query))


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def without_tokens(page: str) -> str:
    page = re.sub(r'nonce="[^"]+"', "", page)
    return re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "", page)


def step_one(client, identifiant="mgerard", courriel="mathilde.gerard@exemple.fr", **environ):
    return client.post(
        "/mot-de-passe-oublie",
        data={"identifiant": identifiant, "courriel": courriel},
        environ_base=environ,
    )


def test_the_sign_in_page_links_to_both_pages(app):
    page = text(app.test_client().get("/connexion"))
    assert '<a class="fr-link" href="/identifiant-oublie">J\'ai oublié mon identifiant</a>' in page
    assert (
        '<a class="fr-link" href="/mot-de-passe-oublie">J\'ai oublié mon mot de passe</a>' in page
    )


# --- J'ai oublié mon identifiant -------------------------------------------------------------------


def test_a_known_and_an_unknown_address_get_the_same_page(app):
    known = app.test_client().post(
        "/identifiant-oublie", data={"courriel": "Mathilde.Gerard@exemple.fr"}
    )
    unknown = app.test_client().post("/identifiant-oublie", data={"courriel": "qui@exemple.fr"})
    assert known.status_code == unknown.status_code == 200
    assert ENVOI_IDENTIFIANT in text(known)
    assert without_tokens(text(known)) == without_tokens(text(unknown))
    [mail] = sent(app)
    assert (mail.template, mail.recipient) == ("identifiants_oublies", "mathilde.gerard@exemple.fr")
    assert [c["identifiant"] for c in mail.context["comptes"]] == ["mgerard", "pdurand"]
    assert mail.context["comptes"][0]["etablissements"] == [
        {"siret": "00578096000042", "denomination": "BOULANGERIE DU CANAL"}
    ]


def test_the_mail_is_written_with_every_identifiant(app, tmp_path):
    app.test_client().post("/identifiant-oublie", data={"courriel": "mathilde.gerard@exemple.fr"})
    [eml] = (tmp_path / "mails").glob("*identifiants_oublies.eml")
    message = message_from_bytes(eml.read_bytes())
    assert message["To"] == "mathilde.gerard@exemple.fr"
    body = next(
        part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_type() == "text/plain"
    )
    assert "Identifiant : mgerard (Mathilde GERARD)" in body
    assert "Identifiant : pdurand (Paul DURAND)" in body
    assert "- BOULANGERIE DU CANAL (SIRET 00578096000042)" in body


def test_an_invalid_address_is_refused_next_to_the_field_and_kept(app):
    response = app.test_client().post("/identifiant-oublie", data={"courriel": "pas une adresse"})
    assert response.status_code == 422
    page = text(response)
    assert "L'adresse électronique n'est pas valide" in page
    assert 'value="pas une adresse"' in page
    assert sent(app) == []
    empty = app.test_client().post("/identifiant-oublie", data={"courriel": ""})
    assert "Saisissez votre adresse électronique." in text(empty)


def test_asking_again_and_again_sends_one_mail(app):
    client = app.test_client()
    for _ in range(4):
        response = client.post(
            "/identifiant-oublie", data={"courriel": "mathilde.gerard@exemple.fr"}
        )
        assert ENVOI_IDENTIFIANT in text(response)
    assert len(sent(app)) == 1


def test_one_address_is_throttled_whatever_the_client(limited):
    statuses = [
        limited.test_client()
        .post(
            "/identifiant-oublie",
            data={"courriel": "qui@exemple.fr"},
            environ_base={"REMOTE_ADDR": f"192.0.2.{n}"},
        )
        .status_code
        for n in range(6)
    ]
    assert statuses == [200] * 5 + [429]
    response = limited.test_client().post(
        "/identifiant-oublie",
        data={"courriel": "QUI@exemple.fr"},
        environ_base={"REMOTE_ADDR": "192.0.2.99"},
    )
    assert response.status_code == 429
    assert "Trop de demandes" in text(response)
    assert "Patientez une heure" in text(response)
    other = limited.test_client().post("/identifiant-oublie", data={"courriel": "a@exemple.fr"})
    assert other.status_code == 200


def test_one_client_is_throttled_whatever_the_address(limited):
    client = limited.test_client()
    statuses = [
        client.post("/identifiant-oublie", data={"courriel": f"n{n}@exemple.fr"}).status_code
        for n in range(21)
    ]
    assert statuses == [200] * 20 + [429]


# --- J'ai oublié mon mot de passe -----------------------------------------------------------------


def test_known_and_unknown_pairs_get_the_same_page_and_only_the_match_a_mail(app):
    pages = []
    for identifiant, courriel in [
        (" MGerard ", "Mathilde.Gerard@exemple.fr"),  # the match, as typed by a person
        ("mgerard", "autre@exemple.fr"),  # wrong address
        ("pdurand", "inconnu@exemple.fr"),  # wrong address for another identity
        ("inconnu", "mathilde.gerard@exemple.fr"),  # unknown identifiant
    ]:
        response = step_one(app.test_client(), identifiant, courriel)
        assert response.status_code == 200
        assert ENVOI_LIEN in text(response)
        pages.append(without_tokens(text(response)))
    assert len(set(pages)) == 1
    [mail] = sent(app)
    assert (mail.template, mail.recipient) == ("mot_de_passe", "mathilde.gerard@exemple.fr")
    assert mail.context["lien"].startswith("http://testserver/mot-de-passe/")


def test_step_one_shows_no_question_and_asks_only_the_identifiant_and_the_address(app):
    for response in (app.test_client().get("/mot-de-passe-oublie"), step_one(app.test_client())):
        page = text(response)
        assert 'name="reponse"' not in page and 'name="question_secrete"' not in page
        assert not any(label in page for _, label in QUESTIONS)
    page = text(app.test_client().get("/mot-de-passe-oublie"))
    assert 'name="identifiant"' in page and 'name="courriel"' in page
    assert "Sur la page de ce lien, vous répondrez à votre question secrète" in page
    assert app.test_client().get("/mot-de-passe-oublie/question").status_code == 404


def test_the_link_asks_the_question_then_chooses_the_password_once(app):
    client = app.test_client()
    step_one(client)
    [mail] = sent(app)
    path = mail.context["lien"].removeprefix("http://testserver")
    page = text(client.get(path))
    assert "Votre réponse à la question « Dans quelle ville êtes-vous né(e) ? »" in page
    assert "répondez d'abord à votre question secrète" in page
    wrong = client.post(
        path, data={"reponse": "Lyon", "mot_de_passe": NOUVELLE, "confirmation": NOUVELLE}
    )
    assert wrong.status_code == 422
    assert "Cette réponse ne correspond pas à celle de votre question secrète." in text(wrong)
    done = client.post(
        path,
        data={"reponse": "saint-étienne", "mot_de_passe": NOUVELLE, "confirmation": NOUVELLE},
    )
    assert done.status_code == 303
    assert client.get(path).status_code == 410
    signed_in = client.post("/connexion", data={"identifiant": "mgerard", "mot_de_passe": NOUVELLE})
    assert signed_in.status_code == 303


def test_an_identity_without_a_question_gets_a_link_that_asks_to_choose_one(app):
    step_one(app.test_client(), "nouveau", "nouveau@exemple.fr")
    [mail] = sent(app, "mot_de_passe")
    assert mail.recipient == "nouveau@exemple.fr"
    page = text(app.test_client().get(mail.context["lien"].removeprefix("http://testserver")))
    assert "Choisissez aussi votre question secrète" in page
    assert "<select" in page and 'name="question_secrete"' in page


def test_asking_again_within_the_hour_sends_one_link(app):
    client = app.test_client()
    for _ in range(3):
        assert ENVOI_LIEN in text(step_one(client))
    assert len(sent(app, "mot_de_passe")) == 1


def test_an_inactive_identity_gets_nothing(app):
    with app.app_context():
        utilisateur = db.session.scalar(select(Utilisateur).filter_by(identifiant="mgerard"))
        utilisateur.actif = False
        db.session.commit()
    assert ENVOI_LIEN in text(step_one(app.test_client()))
    assert sent(app) == []


def test_missing_fields_are_named_in_french_and_what_was_typed_is_kept(app):
    response = step_one(app.test_client(), "mgerard", "")
    assert response.status_code == 422
    page = text(response)
    assert "Saisissez votre adresse électronique." in page
    assert 'value="mgerard"' in page
    response = step_one(app.test_client(), "", "mathilde.gerard@exemple.fr")
    assert response.status_code == 422
    assert "Saisissez votre identifiant." in text(response)
    assert 'value="mathilde.gerard@exemple.fr"' in text(response)
    assert sent(app) == []


def test_an_overlong_identifiant_is_refused(app):
    response = step_one(app.test_client(), "x" * 21)
    assert response.status_code == 422
    assert "Un identifiant comporte au plus 20 caractères" in text(response)
    assert sent(app) == []


def test_step_one_is_throttled_per_identifiant_whatever_the_client(limited):
    statuses = [
        step_one(
            limited.test_client(), "mgerard", f"essai{n}@exemple.fr", REMOTE_ADDR=f"198.51.100.{n}"
        ).status_code
        for n in range(11)
    ]
    assert statuses == [200] * 10 + [429]
    refused = step_one(limited.test_client(), REMOTE_ADDR="198.51.100.50")
    assert refused.status_code == 429  # even the right pair, for a while
    assert "Trop de demandes" in text(refused)
    assert sent(limited) == []
    other = step_one(limited.test_client(), "nouveau", "nouveau@exemple.fr")
    assert other.status_code == 200


def test_step_one_is_throttled_per_client(limited):
    client = limited.test_client()
    statuses = [step_one(client, f"id{n}", "a@exemple.fr").status_code for n in range(21)]
    assert statuses == [200] * 20 + [429]


def test_five_wrong_answers_on_the_link_lock_it_and_send_to_the_support(limited):
    client = limited.test_client()
    step_one(client)
    [mail] = sent(limited)
    path = mail.context["lien"].removeprefix("http://testserver")

    def attempt(reponse):
        data = {"reponse": reponse, "mot_de_passe": NOUVELLE, "confirmation": NOUVELLE}
        return client.post(path, data=data)

    assert [attempt(f"Ville {n}").status_code for n in range(5)] == [422] * 4 + [429]
    locked = attempt("Saint-Étienne")
    assert locked.status_code == 429
    assert "contactez le support technique" in text(locked)
    with limited.app_context():
        utilisateur = db.session.scalar(select(Utilisateur).filter_by(identifiant="mgerard"))
        assert not motdepasse.verify_secret(utilisateur.password_hash, NOUVELLE)[0]


@pytest.mark.parametrize("path", ["/identifiant-oublie", "/mot-de-passe-oublie"])
def test_every_post_needs_the_csrf_token(make_app, path):
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    response = client.post(path, data={"identifiant": "x", "courriel": "x@exemple.fr"})
    assert response.status_code == 400
    assert "Session expirée" in text(response)


def test_with_the_csrf_token_the_request_works(make_app, tmp_path):
    app = _app(make_app, tmp_path, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    page = client.get("/mot-de-passe-oublie").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = {"identifiant": "mgerard", "courriel": "mathilde.gerard@exemple.fr"}
    assert sent(app) == []
    assert client.post("/mot-de-passe-oublie", data=data).status_code == 400
    response = client.post("/mot-de-passe-oublie", data={**data, "csrf_token": token})
    assert ENVOI_LIEN in text(response)
    assert len(sent(app, "mot_de_passe")) == 1
