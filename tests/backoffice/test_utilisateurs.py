"""« Utilisateurs » (identities) in the back-office: access per role, the scope of an Agent UD
(an identity with no habilitation in its départements does not exist for it), the fiche, and
the actions: resend the identifiant, a new password link, unblock a throttled sign-in,
deactivate and reactivate; each a POST with CSRF that writes its journal row and its mail."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from extensions import db
from models.comptes import JetonMotDePasse, Utilisateur
from tests import factories
from tests.backoffice.conftest import ADMIN, ASP, PHRASE, UD, creer
from tests.backoffice.test_etablissements import (
    JETON,
    ROLES,
    client_de,
    filtre,
    journal,
    lignes_export,
    mails,
    page,
    peupler,
    tableau,
)

ACTIONS = ("identifiant", "lien-mot-de-passe", "debloquer", "desactiver", "reactiver")


@pytest.fixture
def monde(app):
    return peupler(app)


@pytest.fixture
def asp(app, monde):
    return client_de(app, "asp", ASP)


@pytest.fixture
def ud(app, monde):
    return client_de(app, "ud", UD, "44")


def etat(app, utilisateur_id):
    with app.app_context():
        u = db.session.get(Utilisateur, utilisateur_id)
        return u.actif, u.jeton_session


def urls(ids, qui="paul"):
    u = ids[qui]
    return [
        ("GET", "/backoffice/utilisateurs/"),
        ("GET", f"/backoffice/utilisateurs/{u}/"),
        ("GET", "/backoffice/utilisateurs/export/csv/"),
        ("GET", "/backoffice/utilisateurs/export/xlsx/"),
        *[("POST", f"/backoffice/utilisateurs/{u}/{action}") for action in ACTIONS],
    ]


# -- access -------------------------------------------------------------------------------------


def test_anonymous_requests_are_sent_to_the_sign_in_page(app, monde):
    client = app.test_client()
    for methode, url in urls(monde):
        reponse = client.open(url, method=methode)
        assert reponse.status_code == 302, url
        assert reponse.headers["Location"].startswith("/backoffice/connexion"), url
    assert etat(app, monde["paul"])[0] is True
    assert mails(app, "pdurand@exemple.fr") == []


@pytest.mark.parametrize("role, email, departements", ROLES, ids=[r[0] for r in ROLES])
def test_every_role_reads_the_list_and_the_fiche(app, monde, role, email, departements):
    client = client_de(app, role, email, departements)
    liste = tableau(client.get("/backoffice/utilisateurs/"))
    assert "pdurand" in liste and "mgerard" in liste
    assert ("bmartin" in liste) is (role != "ud")
    fiche = page(client.get(f"/backoffice/utilisateurs/{monde['paul']}/"))
    for texte in ("Paul DURAND", "pdurand@exemple.fr", "Habilitations", "Renvoyer l'identifiant"):
        assert texte in fiche, texte


def test_the_list_shows_no_secret_and_searches_by_identifiant_name_or_address(asp, app, monde):
    texte = page(asp.get("/backoffice/utilisateurs/"))
    for colonne in ("Identifiant", "Nom", "Prénom", "Courriel", "État", "Créée le"):
        assert colonne in texte
    assert "Identifiant, nom ou courriel (début)" in texte
    with app.app_context():
        paul = db.session.get(Utilisateur, monde["paul"])
        assert paul.password_hash not in texte and paul.reponse_hash not in texte
    for forbidden in ("password_hash", "reponse_hash", "jeton_session", "question_secrete"):
        assert forbidden not in texte

    def trouves(recherche):
        liste = tableau(asp.get("/backoffice/utilisateurs/", query_string={"search": recherche}))
        return {i for i in ("mgerard", "pdurand", "bmartin", "zformule") if i in liste}

    assert trouves("pdur") == {"pdurand"}
    assert trouves("Durand") == {"pdurand"}
    assert trouves("MARTIN bruno") == {"bmartin"}
    assert trouves("mgerard@exemple") == {"mgerard"}
    assert trouves("@SOMME") == {"zformule"}
    assert trouves("urand") == set()  # by the start: the indexes serve it
    assert trouves("_") == set()


def test_filters_of_the_list(asp, app, monde):
    url = "/backoffice/utilisateurs/"
    departement = filtre(asp, url, "Département d'un établissement", "est")
    liste = tableau(asp.get(url, query_string={departement: "75"}))
    assert "bmartin" in liste and "pdurand" in liste and "mgerard" not in liste
    with app.app_context():
        db.session.get(Utilisateur, monde["bruno"]).actif = False
        db.session.commit()
    active = filtre(asp, url, "Active", "est")
    liste = tableau(asp.get(url, query_string={active: "0"}))
    assert "bmartin" in liste and "pdurand" not in liste
    identifiant = filtre(asp, url, "Identifiant", "est")
    liste = tableau(asp.get(url, query_string={identifiant: " MGerard"}))
    assert "mgerard" in liste and "pdurand" not in liste


# -- the scope of an Agent UD -------------------------------------------------------------------


def test_an_identity_without_habilitation_in_the_departements_is_404_for_the_ud(ud, app, monde):
    for methode, url in urls(monde, "bruno"):
        if url.endswith("/utilisateurs/") or "/export/" in url:
            continue
        reponse = ud.open(url, method=methode)
        assert reponse.status_code == 404, url
    assert ud.get(f"/backoffice/utilisateurs/details/?id={monde['bruno']}").status_code == 302
    assert etat(app, monde["bruno"])[0] is True
    assert mails(app, "bmartin@exemple.fr") == []
    assert journal(app, "desactiver_utilisateur") == []
    assert journal(app, "renvoyer_identifiant") == []
    liste = tableau(ud.get("/backoffice/utilisateurs/", query_string={"search": "bmartin"}))
    assert "bmartin" not in liste
    for format_ in ("csv", "xlsx"):
        contenu = str(lignes_export(ud.get(f"/backoffice/utilisateurs/export/{format_}/"), format_))
        assert "pdurand" in contenu and "bmartin" not in contenu


def test_an_identity_only_removed_from_an_establishment_of_the_ud_stays_visible(ud, app, monde):
    from workflows import etablissements
    from workflows.journal import Acteur

    with app.app_context():
        etablissements.retirer_utilisateur(
            monde["a"], monde["h_paul_a"], Acteur("agent", "x@asp.localhost")
        )
    fiche = page(ud.get(f"/backoffice/utilisateurs/{monde['paul']}/"))
    assert "Boulangerie Gérard" in fiche and "Retirée" in fiche


def test_the_ud_sees_only_the_habilitations_within_its_departements(ud, asp, monde):
    fiche = page(ud.get(f"/backoffice/utilisateurs/{monde['paul']}/"))
    habilitations = fiche.split('id="titre-habilitations"')[1].split('id="titre-historique"')[0]
    assert "Boulangerie Gérard" in habilitations
    assert "Garage Martin" not in habilitations and monde["siret_b"] not in fiche
    assert "Et 1 habilitation(s) sur des établissements hors de vos départements." in fiche
    fiche = page(asp.get(f"/backoffice/utilisateurs/{monde['paul']}/"))
    assert "Garage Martin" in fiche and "hors de vos départements" not in fiche


def test_the_ud_deactivates_only_an_identity_wholly_within_its_departements(ud, app, monde):
    paul = monde["paul"]  # habilitated in the 44 and in the 75
    assert "Désactiver l'identité" not in page(ud.get(f"/backoffice/utilisateurs/{paul}/"))
    for action in ("desactiver", "reactiver"):
        reponse = ud.post(f"/backoffice/utilisateurs/{paul}/{action}")
        assert reponse.status_code == 403
        assert "revient à l'ASP" in page(reponse)
    assert etat(app, paul)[0] is True
    mathilde = monde["mathilde"]  # the 44 only
    reponse = ud.post(f"/backoffice/utilisateurs/{mathilde}/desactiver")
    assert reponse.status_code == 303
    assert etat(app, mathilde)[0] is False
    assert journal(app, "desactiver_utilisateur") == [
        ("agent", UD, "utilisateur", str(mathilde), "actif", "inactif")
    ]


def test_the_ud_history_does_not_name_establishments_elsewhere(app, ud, monde):
    from workflows import agents_identites
    from workflows.journal import Acteur

    with app.app_context():
        agents_identites.renvoyer_identifiant(
            monde["paul"], Acteur("agent", ASP), departements=["75"]
        )
    fiche = page(ud.get(f"/backoffice/utilisateurs/{monde['paul']}/"))
    historique = fiche.split('id="titre-historique"')[1]
    assert "Identifiant renvoyé" in historique
    assert monde["siret_b"] not in historique
    assert "(établissement hors de vos départements)" in historique


# -- actions ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role, email, departements", ROLES, ids=[r[0] for r in ROLES])
def test_every_role_resends_the_identifiant(app, monde, role, email, departements):
    client = client_de(app, role, email, departements)
    reponse = client.post(f"/backoffice/utilisateurs/{monde['paul']}/identifiant")
    assert reponse.status_code == 303
    assert reponse.headers["Location"].endswith(f"/backoffice/utilisateurs/{monde['paul']}/")
    assert mails(app, "pdurand@exemple.fr") == ["identifiant_rappel"]
    assert journal(app, "renvoyer_identifiant") == [
        ("agent", email, "utilisateur", str(monde["paul"]), None, None)
    ]
    texte = page(client.get(reponse.headers["Location"]))
    assert "L'identifiant pdurand a été renvoyé à pdurand@exemple.fr" in texte
    assert "Identifiant renvoyé" in texte.split('id="titre-historique"')[1]


def test_the_ud_resends_the_identifiant_naming_an_establishment_of_its_departements(app, monde):
    from models.notification import Notification

    client = client_de(app, "ud", UD, "75,13")
    client.post(f"/backoffice/utilisateurs/{monde['paul']}/identifiant")
    with app.app_context():
        contexte = db.session.scalar(select(Notification.context))
    assert contexte["siret"] == monde["siret_b"]


@pytest.mark.parametrize("role, email, departements", ROLES, ids=[r[0] for r in ROLES])
def test_every_role_sends_a_new_password_link(app, monde, role, email, departements):
    client = client_de(app, role, email, departements)
    reponse = client.post(f"/backoffice/utilisateurs/{monde['paul']}/lien-mot-de-passe")
    assert reponse.status_code == 303
    assert mails(app, "pdurand@exemple.fr") == ["mot_de_passe_nouveau_lien"]
    assert journal(app, "envoyer_lien_mot_de_passe") == [
        ("agent", email, "utilisateur", str(monde["paul"]), None, None)
    ]
    with app.app_context():
        assert db.session.scalar(
            select(JetonMotDePasse.id).where(JetonMotDePasse.utilisateur_id == monde["paul"])
        )
    assert "Un lien pour choisir un nouveau mot de passe a été envoyé" in page(
        client.get(reponse.headers["Location"])
    )


def test_a_deactivated_identity_gets_no_mail_and_the_agent_is_told_why(asp, app, monde):
    asp.post(f"/backoffice/utilisateurs/{monde['paul']}/desactiver")
    fiche = page(asp.get(f"/backoffice/utilisateurs/{monde['paul']}/"))
    assert "Renvoyer l'identifiant" not in fiche and "Réactiver l'identité" in fiche
    for action in ("identifiant", "lien-mot-de-passe"):
        reponse = asp.post(
            f"/backoffice/utilisateurs/{monde['paul']}/{action}", follow_redirects=True
        )
        assert "réactivez-la d'abord" in page(reponse)
    assert mails(app, "pdurand@exemple.fr") == []


@pytest.mark.parametrize("role, email, departements", ROLES, ids=[r[0] for r in ROLES])
def test_deactivation_ends_the_public_sessions_and_reactivation_restores_sign_in(
    app, monde, role, email, departements
):
    usager = app.test_client()
    assert factories.sign_in(usager, "mgerard").status_code == 303
    assert usager.get("/mes-etablissements").status_code == 200
    avant = etat(app, monde["mathilde"])[1]

    client = client_de(app, role, email, departements)
    reponse = client.post(f"/backoffice/utilisateurs/{monde['mathilde']}/desactiver")
    assert reponse.status_code == 303
    actif, jeton = etat(app, monde["mathilde"])
    assert actif is False and jeton != avant
    assert usager.get("/mes-etablissements").status_code == 302  # its session is dead
    assert factories.sign_in(app.test_client(), "mgerard").status_code == 422
    texte = page(client.get(reponse.headers["Location"]))
    assert "est désactivée" in texte and "Désactivée" in texte

    assert client.post(f"/backoffice/utilisateurs/{monde['mathilde']}/reactiver").status_code == 303
    assert etat(app, monde["mathilde"])[0] is True
    assert factories.sign_in(app.test_client(), "mgerard").status_code == 303
    assert journal(app, "desactiver_utilisateur") == [
        ("agent", email, "utilisateur", str(monde["mathilde"]), "actif", "inactif")
    ]
    assert journal(app, "reactiver_utilisateur") == [
        ("agent", email, "utilisateur", str(monde["mathilde"]), "inactif", "actif")
    ]


def test_deactivating_twice_is_refused_in_french(asp, app, monde):
    asp.post(f"/backoffice/utilisateurs/{monde['paul']}/desactiver")
    reponse = asp.post(
        f"/backoffice/utilisateurs/{monde['paul']}/desactiver", follow_redirects=True
    )
    assert "Cette identité est déjà désactivée." in page(reponse)
    assert len(journal(app, "desactiver_utilisateur")) == 1


# -- unblocking a throttled sign-in (rate limits on, memory storage) ------------------------------


@pytest.fixture
def limite(bo):
    ids = peupler(bo)
    return bo, ids


def echouer(app, identifiant, fois=5):
    client = app.test_client()
    for _ in range(fois):
        client.post("/connexion", data={"identifiant": identifiant, "mot_de_passe": "faux"})
    return client


@pytest.mark.parametrize("role, email, departements", ROLES, ids=[r[0] for r in ROLES])
def test_every_role_unblocks_a_throttled_identity(limite, role, email, departements):
    app, ids = limite
    usager = echouer(app, "pdurand")
    assert factories.sign_in(usager, "pdurand").status_code == 429
    echouer(app, "mgerard")

    client = client_de(app, role, email, departements)
    fiche = page(client.get(f"/backoffice/utilisateurs/{ids['paul']}/"))
    connexion = fiche.split('id="connexion"')[1].split("</dd>")[0]
    assert "Bloquée" in connexion and "jusqu'à" in connexion
    assert "Débloquer la connexion" in fiche

    reponse = client.post(f"/backoffice/utilisateurs/{ids['paul']}/debloquer")
    assert reponse.status_code == 303
    texte = page(client.get(reponse.headers["Location"]))
    assert "La connexion de pdurand est débloquée" in texte
    assert "Non bloquée" in texte and "Débloquer la connexion" not in texte
    assert journal(app, "debloquer_connexion") == [
        ("agent", email, "utilisateur", str(ids["paul"]), "bloquee", "debloquee")
    ]
    assert factories.sign_in(usager, "pdurand").status_code == 303
    assert factories.sign_in(app.test_client(), "mgerard").status_code == 429  # still blocked


def test_the_unblock_of_an_identity_not_blocked_says_so(limite):
    app, ids = limite
    client = client_de(app, "asp", ASP)
    assert "Débloquer la connexion" not in page(
        client.get(f"/backoffice/utilisateurs/{ids['paul']}/")
    )
    reponse = client.post(
        f"/backoffice/utilisateurs/{ids['paul']}/debloquer", follow_redirects=True
    )
    assert "n'était pas bloquée" in page(reponse)
    assert journal(app, "debloquer_connexion")[0][4:] == (None, "debloquee")


# -- CSRF ---------------------------------------------------------------------------------------


def test_every_post_needs_the_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    ids = peupler(app)
    agent = creer(app, ADMIN, "administrateur")
    client = app.test_client()
    texte = page(client.get("/backoffice/connexion"))
    client.post(
        "/backoffice/connexion",
        data={"email": ADMIN, "mot_de_passe": PHRASE, "csrf_token": JETON.search(texte).group(1)},
    )
    texte = page(client.get("/backoffice/connexion/code"))
    client.post(
        "/backoffice/connexion/code",
        data={"code": agent.code(), "csrf_token": JETON.search(texte).group(1)},
    )
    paul = ids["paul"]
    for action in ACTIONS:
        reponse = client.post(f"/backoffice/utilisateurs/{paul}/{action}")
        assert reponse.status_code == 400, action
    assert etat(app, paul)[0] is True
    assert mails(app, "pdurand@exemple.fr") == []
    for operation in ("renvoyer_identifiant", "envoyer_lien_mot_de_passe", "debloquer_connexion"):
        assert journal(app, operation) == []

    fiche = page(client.get(f"/backoffice/utilisateurs/{paul}/"))
    formulaires = re.findall(r'<form method="post" action="([^"]+)"', fiche)
    assert f"/backoffice/utilisateurs/{paul}/identifiant" in formulaires
    jeton = JETON.search(fiche.split('id="titre-actions"')[1]).group(1)
    for action in ("identifiant", "desactiver"):
        reponse = client.post(
            f"/backoffice/utilisateurs/{paul}/{action}", data={"csrf_token": jeton}
        )
        assert reponse.status_code == 303, action
    assert mails(app, "pdurand@exemple.fr") == ["identifiant_rappel"]
    assert etat(app, paul)[0] is False


# -- export -------------------------------------------------------------------------------------


@pytest.mark.parametrize("format_", ["csv", "xlsx"])
def test_the_export_neutralises_formulas_and_holds_no_secret(asp, monde, format_):
    reponse = asp.get(f"/backoffice/utilisateurs/export/{format_}/")
    assert reponse.status_code == 200
    lignes = lignes_export(reponse, format_)
    assert lignes[0] == [
        "Identifiant",
        "Nom",
        "Prénom",
        "Courriel",
        "Téléphone",
        "État",
        "Créée le",
    ]
    zoe = next(ligne for ligne in lignes if ligne[0] == "zformule")
    assert zoe[1] == "'@SOMME(1+1)"
    assert zoe[5] == "Active"
    assert "argon2" not in str(lignes)


def test_the_fiche_of_an_unknown_identity_is_404(asp):
    assert asp.get("/backoffice/utilisateurs/999999/").status_code == 404
    for action in ACTIONS:
        assert asp.post(f"/backoffice/utilisateurs/999999/{action}").status_code == 404


def test_the_pages_carry_no_inline_handler(asp, monde):
    for url in ("/backoffice/utilisateurs/", f"/backoffice/utilisateurs/{monde['paul']}/"):
        texte = asp.get(url).get_data(as_text=True)
        assert not re.search(r"\son[a-z]+=", texte), url
        assert " style=" not in texte, url
