"""« Mes établissements » and the fiche établissement, as a signed-in user sees them."""

import html
import re

import pytest
from sqlalchemy import select

from extensions import db
from models.comptes import Etablissement, Habilitation, Role, Utilisateur
from models.notification import Notification
from tests import factories


@pytest.fixture
def monde(make_app, tmp_path):
    """Establishment A (référent Mathilde, user Paul) and B (référent Bruno)."""
    app = make_app(MAIL_SERVER="", MAIL_FILE_DIR=str(tmp_path / "mails"), REDIS_URL="")
    with app.app_context():
        a = factories.etablissement(12345678, "Boulangerie Gérard")
        b = factories.etablissement(87654321, "Garage Martin", code_postal="75011")
        mathilde = factories.identite("mgerard", "GERARD", "Mathilde")
        paul = factories.identite("pdurand", "DURAND", "Paul")
        bruno = factories.identite("bmartin", "MARTIN", "Bruno")
        factories.habiliter(mathilde, a, Role.REFERENT)
        paul_a = factories.habiliter(paul, a)
        bruno_b = factories.habiliter(bruno, b, Role.REFERENT)
        db.session.commit()
        ids = {"a": a.siret, "b": b.siret, "paul_a": paul_a.id, "bruno_b": bruno_b.id}
    app.ids = ids
    return app


def client_of(app, identifiant):
    client = app.test_client()
    assert factories.sign_in(client, identifiant).status_code == 303
    return client


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def habilitation(app, identifiant, siret):
    with app.app_context():
        return db.session.scalar(
            select(Habilitation)
            .join(Habilitation.utilisateur)
            .join(Habilitation.etablissement)
            .where(Utilisateur.identifiant == identifiant, Etablissement.siret == siret)
        )


# -- Mes établissements ---------------------------------------------------------------------


def test_signing_in_leads_to_my_establishments(monde):
    client = monde.test_client()
    response = factories.sign_in(client, "mgerard")
    assert response.headers["Location"] == "/mes-etablissements"
    page = text(client.get("/mes-etablissements"))
    assert "Boulangerie Gérard" in page
    assert "Garage Martin" not in page
    assert "Personne référente" in page


def test_a_page_that_asked_for_sign_in_is_reached_after_it(monde):
    client = monde.test_client()
    fiche = f"/etablissements/{monde.ids['a']}"
    response = client.get(fiche)
    assert response.status_code == 302 and "/connexion?next=" in response.headers["Location"]
    assert factories.sign_in(client, "mgerard", next_url=fiche).headers["Location"] == fiche


@pytest.mark.parametrize(
    "next_url", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"]
)
def test_sign_in_never_sends_to_another_site(monde, next_url):
    response = factories.sign_in(monde.test_client(), "mgerard", next_url=next_url)
    assert response.headers["Location"] == "/mes-etablissements"


def test_my_establishments_are_paginated_and_searchable(monde):
    with monde.app_context():
        mathilde = db.session.scalar(
            select(Utilisateur).where(Utilisateur.identifiant == "mgerard")
        )
        for number in range(1, 45):
            factories.habiliter(mathilde, factories.etablissement(number, f"Client {number:03d}"))
        db.session.commit()
    client = client_of(monde, "mgerard")

    first = text(client.get("/mes-etablissements"))
    assert "45 établissements." in first
    assert first.count('href="/etablissements/') == 20
    assert 'href="/mes-etablissements?page=2"' in first
    last = text(client.get("/mes-etablissements?page=3"))
    assert last.count('href="/etablissements/') == 5
    assert client.get("/mes-etablissements?page=4").status_code == 404

    found = text(client.get("/mes-etablissements?q=client 007"))
    assert "1 établissement trouvé pour « client 007 »" in found
    assert "Client 007" in found and "Client 008" not in found
    by_siret = text(client.get(f"/mes-etablissements?q={monde.ids['a'][:9]}"))
    assert "Boulangerie Gérard" in by_siret and "Client 001" not in by_siret
    nothing = text(client.get("/mes-etablissements?q=boucherie"))
    assert "Aucun de vos établissements ne correspond à « boucherie »" in nothing


def test_an_identity_without_establishment_is_invited_to_create_one(monde):
    with monde.app_context():
        factories.identite("seul", "SEUL", "Sam")
        db.session.commit()
    page = text(client_of(monde, "seul").get("/mes-etablissements"))
    assert "Aucun établissement" in page and 'href="/creer-mon-espace/"' in page


# -- the fiche ------------------------------------------------------------------------------


def test_the_fiche_shows_the_data_the_referent_read_only_and_the_users(monde):
    page = text(client_of(monde, "pdurand").get(f"/etablissements/{monde.ids['a']}"))
    assert "Information établissement" in page
    assert "Compte principal utilisateur (Personne à contacter)" in page
    for ident, value in (
        ("referent-nom", "GERARD"),
        ("referent-prenom", "Mathilde"),
        ("referent-courriel", "mgerard@exemple.fr"),
    ):
        assert re.search(
            rf'<input class="fr-input" id="{ident}" value="{value}" readonly disabled>', page
        )
    assert "DURAND" in page and "(vous)" in page
    assert "02 40 00 00 00" in page  # the telephone as people read it
    # Paul is a user: he can edit the data but not manage the users.
    assert "Modifier les informations" in page
    assert "Ajouter un utilisateur" not in page
    assert "Changer de personne référente" not in page
    assert "Seule la personne référente peut ajouter ou retirer des utilisateurs." in page


def test_the_referent_sees_the_user_management_actions(monde):
    page = text(client_of(monde, "mgerard").get(f"/etablissements/{monde.ids['a']}"))
    assert "Ajouter un utilisateur" in page
    assert "Changer de personne référente" in page
    assert f"/utilisateurs/{monde.ids['paul_a']}/retirer" in page


def test_editing_the_fiche_saves_it_and_ignores_a_posted_siret(monde):
    client = client_of(monde, "pdurand")
    url = f"/etablissements/{monde.ids['a']}/modifier"
    form = text(client.get(url))
    assert 'value="Boulangerie Gérard"' in form
    assert "Le numéro SIRET ne peut pas être modifié." in form
    response = client.post(url, data=fiche_post(monde, denomination="Boulangerie Gérard et fils"))
    assert response.status_code == 303
    assert response.headers["Location"] == f"/etablissements/{monde.ids['a']}"
    page = text(client.get(response.headers["Location"]))
    assert "Les informations de l'établissement ont été enregistrées." in page
    with monde.app_context():
        row = db.session.scalar(select(Etablissement).where(Etablissement.siret == monde.ids["a"]))
        assert row.denomination == "Boulangerie Gérard et fils"


def test_a_wrong_fiche_is_shown_again_with_french_messages_and_what_was_typed(monde):
    client = client_of(monde, "pdurand")
    url = f"/etablissements/{monde.ids['a']}/modifier"
    response = client.post(url, data=fiche_post(monde, denomination="Nouveau nom", telephone="12"))
    assert response.status_code == 422
    page = text(response)
    assert 'value="Nouveau nom"' in page
    assert "Téléphone" in page and "numéro de téléphone" in page.lower()
    with monde.app_context():
        row = db.session.scalar(select(Etablissement).where(Etablissement.siret == monde.ids["a"]))
        assert row.denomination == "Boulangerie Gérard"


def fiche_post(app, **changes):
    values = {
        "etablissement-denomination": "Boulangerie Gérard",
        "etablissement-siret": "00000000000000",  # tampering: ignored
        "etablissement-libelle_voie": "rue de la Paix",
        "etablissement-code_postal": "44000",
        "etablissement-ville": "Nantes",
        "etablissement-courriel": "contact12345678@exemple.fr",
        "etablissement-courriel__confirmation": "contact12345678@exemple.fr",
        "etablissement-telephone": "02 40 00 00 00",
    }
    values.update({f"etablissement-{key}": value for key, value in changes.items()})
    return values


def test_the_referent_hands_over_from_the_fiche(monde):
    client = client_of(monde, "mgerard")
    url = f"/etablissements/{monde.ids['a']}/referent"
    page = text(client.get(url))
    assert "Paul DURAND" in page and "Mathilde GERARD" not in page
    refused = client.post(url, data={"habilitation": str(monde.ids["bruno_b"])})
    assert refused.status_code == 422
    assert "Choisissez la nouvelle personne référente parmi les utilisateurs." in text(refused)
    response = client.post(url, data={"habilitation": str(monde.ids["paul_a"])})
    assert response.status_code == 303
    assert "Paul DURAND est désormais la personne référente" in text(
        client.get(response.headers["Location"])
    )
    assert habilitation(monde, "pdurand", monde.ids["a"]).role == Role.REFERENT
    # Mathilde is now a plain user: the référent pages are closed to her.
    assert client.get(url).status_code == 403


def test_the_referent_adds_a_new_person_who_receives_its_credential_mails(monde):
    client = client_of(monde, "mgerard")
    url = f"/etablissements/{monde.ids['a']}/utilisateurs/ajouter"
    assert "Ajouter un utilisateur" in text(client.get(url))
    data = {
        "utilisateur-nom": "LEROY",
        "utilisateur-prenom": "Chloé",
        "utilisateur-courriel": "chloe.leroy@exemple.fr",
        "utilisateur-courriel__confirmation": "chloe.leroi@exemple.fr",
    }
    mistyped = client.post(url, data=data)
    assert mistyped.status_code == 422
    assert 'value="LEROY"' in text(mistyped)
    data["utilisateur-courriel__confirmation"] = "chloe.leroy@exemple.fr"
    response = client.post(url, data=data)
    assert response.status_code == 303
    assert "Chloé LEROY a été ajouté(e)" in text(client.get(response.headers["Location"]))
    with monde.app_context():
        templates = db.session.scalars(
            select(Notification.template)
            .where(Notification.recipient == "chloe.leroy@exemple.fr")
            .order_by(Notification.id)
        ).all()
    assert templates == ["identifiant", "mot_de_passe", "utilisateur_ajoute"]


def test_adding_someone_already_there_says_so_next_to_the_form(monde):
    client = client_of(monde, "mgerard")
    response = client.post(
        f"/etablissements/{monde.ids['a']}/utilisateurs/ajouter",
        data={
            "utilisateur-nom": "DURAND",
            "utilisateur-prenom": "Paul",
            "utilisateur-courriel": "pdurand@exemple.fr",
            "utilisateur-courriel__confirmation": "pdurand@exemple.fr",
        },
    )
    assert response.status_code == 422
    assert "Paul DURAND a déjà accès à cet établissement." in text(response)


def test_the_referent_removes_a_user_after_confirming(monde):
    client = client_of(monde, "mgerard")
    url = f"/etablissements/{monde.ids['a']}/utilisateurs/{monde.ids['paul_a']}/retirer"
    assert "Retirer l'accès de Paul DURAND" in text(client.get(url))
    response = client.post(url)
    assert response.status_code == 303
    assert not habilitation(monde, "pdurand", monde.ids["a"]).actif
    # The removed user no longer sees the establishment at all.
    paul = monde.test_client()
    factories.sign_in(paul, "pdurand")
    assert paul.get(f"/etablissements/{monde.ids['a']}").status_code == 404


def test_the_referent_cannot_remove_themself(monde):
    mathilde_a = habilitation(monde, "mgerard", monde.ids["a"])
    client = client_of(monde, "mgerard")
    response = client.post(f"/etablissements/{monde.ids['a']}/utilisateurs/{mathilde_a.id}/retirer")
    assert response.status_code == 422
    assert "désignez d'abord une autre personne référente" in text(response)


# -- isolation, roles, CSRF -----------------------------------------------------------------


def urls_of(ids, siret_key, habilitation_key):
    siret = ids[siret_key]
    return [
        ("get", f"/etablissements/{siret}"),
        ("get", f"/etablissements/{siret}/modifier"),
        ("post", f"/etablissements/{siret}/modifier"),
        ("get", f"/etablissements/{siret}/referent"),
        ("post", f"/etablissements/{siret}/referent"),
        ("get", f"/etablissements/{siret}/utilisateurs/ajouter"),
        ("post", f"/etablissements/{siret}/utilisateurs/ajouter"),
        ("get", f"/etablissements/{siret}/utilisateurs/{ids[habilitation_key]}/retirer"),
        ("post", f"/etablissements/{siret}/utilisateurs/{ids[habilitation_key]}/retirer"),
    ]


def test_a_user_of_a_gets_404_on_every_url_of_b(monde):
    client = client_of(monde, "mgerard")
    for method, url in urls_of(monde.ids, "b", "bruno_b"):
        assert getattr(client, method)(url).status_code == 404, (method, url)
    # ... and a user of B cannot reach A's user through B's URLs.
    bruno = client_of(monde, "bmartin")
    mixed = f"/etablissements/{monde.ids['b']}/utilisateurs/{monde.ids['paul_a']}/retirer"
    assert bruno.get(mixed).status_code == 404
    assert bruno.post(mixed).status_code == 404
    assert habilitation(monde, "pdurand", monde.ids["a"]).actif
    assert "Garage Martin" not in text(client.get("/mes-etablissements?q=garage"))


def test_an_unknown_siret_is_404_like_another_tenants(monde):
    client = client_of(monde, "mgerard")
    assert client.get("/etablissements/00000000000000").status_code == 404


def test_a_user_who_is_not_referent_gets_403_on_the_referent_pages(monde):
    client = client_of(monde, "pdurand")
    for method, url in urls_of(monde.ids, "a", "paul_a")[3:]:
        assert getattr(client, method)(url).status_code == 403, (method, url)
    assert habilitation(monde, "pdurand", monde.ids["a"]).actif


def test_every_page_needs_a_signed_in_user(monde):
    client = monde.test_client()
    for method, url in [("get", "/mes-etablissements"), *urls_of(monde.ids, "a", "paul_a")]:
        response = getattr(client, method)(url)
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/connexion?next=")


def test_every_post_needs_the_csrf_token(make_app, monde):
    app = make_app(WTF_CSRF_ENABLED=True, MAIL_SERVER="", REDIS_URL="")
    app.ids = monde.ids
    client = app.test_client()
    page = client.get("/connexion").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/connexion",
        data={"identifiant": "mgerard", "mot_de_passe": factories.PHRASE, "csrf_token": token},
    )
    assert response.status_code == 303
    for method, url in urls_of(monde.ids, "a", "paul_a"):
        if method == "post":
            assert client.post(url).status_code == 400, url
    assert habilitation(monde, "pdurand", monde.ids["a"]).actif
    assert habilitation(monde, "mgerard", monde.ids["a"]).role == Role.REFERENT
