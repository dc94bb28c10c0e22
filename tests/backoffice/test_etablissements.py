"""« Établissements » and « Habilitations » in the back-office: access per role, the scope of an
Agent UD on every URL, the fiche and its history, « Réaffecter le référent », deactivating a
habilitation, CSRF on every POST, and exports whose cells cannot run as formulas.

Roles: every role reads and acts; the ASP and the administrators everywhere, an Agent UD (here
the 44) within its départements, where another département's row answers 404.
"""

from __future__ import annotations

import csv
import html
import io
import re

import openpyxl
import pytest
from sqlalchemy import select

from extensions import db
from models.audit import AuditEvent
from models.comptes import DemandeCompte, DemandeState, Habilitation, Role, Utilisateur
from models.notification import Notification
from tests import factories
from tests.backoffice.conftest import ADMIN, ASP, PHRASE, UD, connecter, creer
from workflows import etablissements
from workflows.journal import Acteur, journaliser

ROLES = [("administrateur", ADMIN, ""), ("asp", ASP, ""), ("ud", UD, "44")]
FORMULE = '=HYPERLINK("https://pirate.example/","Cliquez")'


# -- the world of these tests -------------------------------------------------------------------


def peupler(app) -> dict:
    """A (44): référent Mathilde, user Paul. B (75): référent Bruno, user Paul.
    C (44, dénomination typed as a formula): référent Zoé. Returns the ids."""
    with app.app_context():
        a = factories.etablissement(12345678, "Boulangerie Gérard")
        b = factories.etablissement(87654321, "Garage Martin", code_postal="75011")
        c = factories.etablissement(11223344, FORMULE, code_postal="44100")
        mathilde = factories.identite("mgerard", "GERARD", "Mathilde")
        paul = factories.identite("pdurand", "DURAND", "Paul")
        bruno = factories.identite("bmartin", "MARTIN", "Bruno")
        zoe = factories.identite("zformule", "@SOMME(1+1)", "Zoé")
        ids = {
            "a": a.id,
            "b": b.id,
            "c": c.id,
            "siret_a": a.siret,
            "siret_b": b.siret,
            "siret_c": c.siret,
            "mathilde": mathilde.id,
            "paul": paul.id,
            "bruno": bruno.id,
            "zoe": zoe.id,
            "h_mathilde_a": factories.habiliter(mathilde, a, Role.REFERENT).id,
            "h_paul_a": factories.habiliter(paul, a).id,
            "h_bruno_b": factories.habiliter(bruno, b, Role.REFERENT).id,
            "h_paul_b": factories.habiliter(paul, b).id,
            "h_zoe_c": factories.habiliter(zoe, c, Role.REFERENT).id,
        }
        db.session.commit()
    return ids


def client_de(app, role: str, email: str, departements: str = ""):
    client = app.test_client()
    connecter(client, creer(app, email, role, departements))
    return client


@pytest.fixture
def monde(app):
    return peupler(app)


@pytest.fixture(params=ROLES, ids=[r[0] for r in ROLES])
def chaque_role(request, app, monde):
    role, email, departements = request.param
    return role, client_de(app, role, email, departements)


@pytest.fixture
def asp(app, monde):
    return client_de(app, "asp", ASP)


@pytest.fixture
def ud(app, monde):
    return client_de(app, "ud", UD, "44")


def page(reponse) -> str:
    return html.unescape(reponse.get_data(as_text=True))


def tableau(reponse) -> str:
    """The rows of the list only (not its headers' links, which repeat the search)."""
    texte = page(reponse)
    assert reponse.status_code == 200, texte
    return texte.split("model-list", 1)[1].split("</thead>", 1)[1].split("</table>", 1)[0]


def mails(app, adresse):
    with app.app_context():
        return db.session.scalars(
            select(Notification.template)
            .where(Notification.recipient == adresse)
            .order_by(Notification.id)
        ).all()


def journal(app, operation):
    with app.app_context():
        return [
            (e.actor_type, e.actor, e.object_type, e.object_id, e.state_from, e.state_to)
            for e in db.session.scalars(
                select(AuditEvent).where(AuditEvent.operation == operation).order_by(AuditEvent.id)
            )
        ]


def referent(app, etablissement_id) -> str:
    with app.app_context():
        return db.session.scalar(
            select(Utilisateur.identifiant)
            .join(Habilitation, Habilitation.utilisateur_id == Utilisateur.id)
            .where(
                Habilitation.etablissement_id == etablissement_id,
                Habilitation.role == Role.REFERENT,
                Habilitation.actif.is_(True),
            )
        )


def filtre(client, url: str, nom: str, operation: str) -> str:
    """The URL argument (``flt0_<index>``) of a list's filter, read from the page."""
    texte = page(client.get(url))
    groupes = re.search(r'id="filter-groups-data"[^>]*>(.*?)</', texte, re.S)
    import json

    donnees = json.loads(groupes.group(1))
    for index in donnees[nom]:
        if index["operation"] == operation:
            return f"flt0_{index['index']}"
    raise AssertionError(f"no filter {nom} {operation}: {donnees[nom]}")


# -- URLs ---------------------------------------------------------------------------------------


def urls(ids: dict) -> list[tuple[str, str]]:
    a, h = ids["a"], ids["h_paul_a"]
    return [
        ("GET", "/backoffice/etablissements/"),
        ("GET", "/backoffice/etablissements/?search=1234"),
        ("GET", f"/backoffice/etablissements/{a}/"),
        ("GET", "/backoffice/etablissements/export/csv/"),
        ("GET", "/backoffice/etablissements/export/xlsx/"),
        ("POST", f"/backoffice/etablissements/{a}/referent"),
        ("POST", f"/backoffice/etablissements/{a}/referent/nouveau"),
        ("GET", "/backoffice/habilitations/"),
        ("GET", "/backoffice/habilitations/export/csv/"),
        ("GET", "/backoffice/habilitations/export/xlsx/"),
        ("POST", f"/backoffice/habilitations/{h}/desactiver"),
        ("POST", "/backoffice/habilitations/action/"),
    ]


def test_anonymous_requests_are_sent_to_the_sign_in_page(app, monde):
    client = app.test_client()
    for methode, url in urls(monde):
        reponse = client.open(url, method=methode)
        assert reponse.status_code == 302, url
        assert reponse.headers["Location"].startswith("/backoffice/connexion"), url
    assert referent(app, monde["a"]) == "mgerard"
    assert journal(app, "retirer_utilisateur") == []


def test_an_agent_half_way_through_its_sign_in_is_sent_back_to_its_step(app, monde):
    creer(app, ASP, "asp")
    client = app.test_client()
    client.post("/backoffice/connexion", data={"email": ASP, "mot_de_passe": PHRASE})
    for methode, url in urls(monde):
        reponse = client.open(url, method=methode)
        assert reponse.status_code == 302, url
        assert reponse.headers["Location"].endswith("/backoffice/connexion/code"), url


def test_every_role_reads_the_lists_and_the_fiche(chaque_role, monde):
    role, client = chaque_role
    liste = tableau(client.get("/backoffice/etablissements/"))
    assert monde["siret_a"] in liste and "Boulangerie Gérard" in liste
    assert (monde["siret_b"] in liste) is (role != "ud")
    fiche = page(client.get(f"/backoffice/etablissements/{monde['a']}/"))
    for texte in ("Boulangerie Gérard", monde["siret_a"], "Réaffecter le référent", "Historique"):
        assert texte in fiche, texte
    habilitations = tableau(client.get("/backoffice/habilitations/"))
    assert "mgerard" in habilitations
    assert ("bmartin" in habilitations) is (role != "ud")


def test_the_menu_offers_the_three_lists_in_french(asp):
    texte = page(asp.get("/backoffice/"))
    for lien in (
        "/backoffice/etablissements/",
        "/backoffice/utilisateurs/",
        "/backoffice/habilitations/",
    ):
        assert lien in texte
    liste = page(asp.get("/backoffice/etablissements/"))
    for texte_ in ("Comptes", "Établissements", "SIRET", "Dénomination", "Département", "Créé le"):
        assert texte_ in liste, texte_
    assert "SIRET (ou son début), dénomination" in liste
    for anglais in ("Search", "Add Filter", "List (", "With selected"):
        assert anglais not in liste, anglais


def test_the_list_has_no_count_query_and_no_create_edit_delete(asp, app, monde):
    texte = page(asp.get("/backoffice/etablissements/"))
    assert "Liste (" not in texte  # simple pager: no COUNT(*) on a million rows
    assert asp.get("/backoffice/etablissements/new/").status_code == 302
    assert asp.get(f"/backoffice/etablissements/edit/?id={monde['a']}").status_code == 302
    asp.post("/backoffice/etablissements/delete/", data={"id": monde["a"]})
    asp.post(f"/backoffice/etablissements/edit/?id={monde['a']}", data={"denomination": "X"})
    with app.app_context():
        from models.comptes import Etablissement

        assert db.session.get(Etablissement, monde["a"]).denomination == "Boulangerie Gérard"


@pytest.mark.parametrize("vue", ["etablissements", "utilisateurs", "habilitations"])
def test_flask_admins_generic_routes_change_nothing(app, monde, vue):
    client = client_de(app, "administrateur", ADMIN)
    cle = {"etablissements": "a", "utilisateurs": "paul", "habilitations": "h_paul_a"}[vue]
    id_ = monde[cle]
    for url in (f"/backoffice/{vue}/new/", f"/backoffice/{vue}/edit/?id={id_}"):
        assert client.get(url).status_code == 302, url
    client.post(f"/backoffice/{vue}/delete/", data={"id": id_})
    client.post(f"/backoffice/{vue}/new/", data={"nom": "X", "siret": "1"})
    client.post(f"/backoffice/{vue}/edit/?id={id_}", data={"nom": "X", "actif": ""})
    client.post(f"/backoffice/{vue}/ajax/update/", data={"list_form_pk": id_, "actif": ""})
    with app.app_context():
        from models.comptes import Etablissement

        assert db.session.get(Etablissement, monde["a"]).denomination == "Boulangerie Gérard"
        assert db.session.get(Utilisateur, monde["paul"]).nom == "DURAND"
        assert db.session.get(Utilisateur, monde["paul"]).actif is True
        assert db.session.get(Habilitation, monde["h_paul_a"]).actif is True
        assert db.session.scalar(select(db.func.count()).select_from(Utilisateur)) == 4


# -- search, filters, sort ----------------------------------------------------------------------


def test_search_by_siret_start_full_siret_or_words_of_the_name(asp, monde):
    def sirets(recherche):
        liste = tableau(asp.get("/backoffice/etablissements/", query_string={"search": recherche}))
        return {s for s in (monde["siret_a"], monde["siret_b"], monde["siret_c"]) if s in liste}

    assert sirets(monde["siret_a"][:6]) == {monde["siret_a"]}
    assert sirets(" ".join([monde["siret_b"][:3], monde["siret_b"][3:]])) == {monde["siret_b"]}
    assert sirets(monde["siret_a"]) == {monde["siret_a"]}
    assert sirets("gérard boulangerie") == {monde["siret_a"]}
    assert sirets("GARAGE") == {monde["siret_b"]}
    assert sirets("%") == set()  # LIKE wildcards are searched as text
    assert sirets(monde["siret_a"][3:9]) == set()  # the SIRET is searched by its start


def test_filters_by_departement_and_by_date(asp, app, monde):
    arg = filtre(asp, "/backoffice/etablissements/", "Département", "est")
    liste = tableau(asp.get("/backoffice/etablissements/", query_string={arg: "75"}))
    assert monde["siret_b"] in liste and monde["siret_a"] not in liste
    with app.app_context():
        from datetime import UTC, datetime

        from models.comptes import Etablissement

        db.session.get(Etablissement, monde["b"]).created_at = datetime(
            2020, 3, 16, 23, 30, tzinfo=UTC
        )
        db.session.commit()
    depuis = filtre(asp, "/backoffice/etablissements/", "Créé", "à partir du")
    jusqua = filtre(asp, "/backoffice/etablissements/", "Créé", "jusqu'au")
    # 23:30 UTC on the 16th is 00:30 on the 17th in Paris
    liste = tableau(asp.get("/backoffice/etablissements/", query_string={jusqua: "2020-03-17"}))
    assert monde["siret_b"] in liste and monde["siret_a"] not in liste
    liste = tableau(asp.get("/backoffice/etablissements/", query_string={jusqua: "2020-03-16"}))
    assert monde["siret_b"] not in liste
    liste = tableau(asp.get("/backoffice/etablissements/", query_string={depuis: "2020-03-18"}))
    assert monde["siret_b"] not in liste and monde["siret_a"] in liste
    reponse = asp.get("/backoffice/etablissements/", query_string={depuis: "0001-01-01"})
    assert reponse.status_code == 200  # an absurd date is ignored, never a 500


def test_the_departement_filter_offers_the_ud_its_own_departements_only(ud, asp):
    def options(client):
        texte = page(client.get("/backoffice/etablissements/"))
        return re.search(r'id="filter-groups-data"[^>]*>(.*?)</', texte, re.S).group(1)

    assert '["44", "44"]' in options(ud) and '"75"' not in options(ud)
    assert '["75", "75"]' in options(asp) and '["2A", "2A"]' in options(asp)


def test_sorting_by_name_and_by_creation(asp, monde):
    liste = tableau(asp.get("/backoffice/etablissements/?sort=1"))
    assert liste.index("Boulangerie") < liste.index("Garage")
    liste = tableau(asp.get("/backoffice/etablissements/?sort=1&desc=1"))
    assert liste.index("Garage") < liste.index("Boulangerie")
    liste = tableau(asp.get("/backoffice/etablissements/"))  # newest first
    assert liste.index(monde["siret_c"]) < liste.index(monde["siret_a"])
    liste = tableau(asp.get("/backoffice/etablissements/?sort=5"))  # « Créé le », oldest first
    assert liste.index(monde["siret_a"]) < liste.index(monde["siret_c"])
    assert 'title="Trier par Créé le"' in page(asp.get("/backoffice/etablissements/"))


# -- the scope of an Agent UD ----------------------------------------------------------------------


def test_the_ud_reaches_nothing_of_another_departement(ud, app, monde):
    b, h_b = monde["b"], monde["h_paul_b"]
    assert ud.get(f"/backoffice/etablissements/{b}/").status_code == 404
    assert "Page non trouvée" in page(ud.get(f"/backoffice/etablissements/{b}/"))
    assert (
        ud.post(
            f"/backoffice/etablissements/{b}/referent", data={"habilitation_id": h_b}
        ).status_code
        == 404
    )
    nouveau = ud.post(
        f"/backoffice/etablissements/{b}/referent/nouveau",
        data={
            "utilisateur-nom": "X",
            "utilisateur-prenom": "Y",
            "utilisateur-courriel": "x@exemple.fr",
            "utilisateur-courriel__confirmation": "x@exemple.fr",
        },
    )
    assert nouveau.status_code == 404
    assert ud.post(f"/backoffice/habilitations/{h_b}/desactiver").status_code == 404
    ud.post("/backoffice/habilitations/action/", data={"action": "desactiver", "rowid": [str(h_b)]})
    # Flask-Admin's own routes: details are off, the record "does not exist"
    assert ud.get(f"/backoffice/etablissements/details/?id={b}").status_code == 302
    assert ud.get(f"/backoffice/habilitations/details/?id={h_b}").status_code == 302
    assert referent(app, b) == "bmartin"
    assert journal(app, "retirer_utilisateur") == []
    assert mails(app, "x@exemple.fr") == []
    with app.app_context():
        assert db.session.get(Habilitation, h_b).actif is True


def test_the_ud_cannot_reveal_another_departement_by_search_filter_or_sort(ud, monde):
    siret_b = monde["siret_b"]
    for query in (
        {"search": siret_b},
        {"search": "Garage"},
        {filtre(ud, "/backoffice/etablissements/", "Département", "est"): "75"},
        {filtre(ud, "/backoffice/etablissements/", "SIRET", "est"): siret_b},
        {"sort": "2", "desc": "1"},
        {"page": "1"},
    ):
        assert siret_b not in tableau(ud.get("/backoffice/etablissements/", query_string=query)), (
            query
        )
    for query in ({"search": siret_b}, {"search": "bmartin"}):
        liste = tableau(ud.get("/backoffice/habilitations/", query_string=query))
        assert "bmartin" not in liste and siret_b not in liste


def test_an_ud_without_departements_sees_nothing(app, monde):
    client = client_de(app, "ud", "sans.departement@dreets.localhost", "13")
    with app.app_context():
        from models.agents import AgentDepartement

        db.session.execute(AgentDepartement.__table__.delete())
        db.session.commit()
    liste = tableau(client.get("/backoffice/etablissements/"))
    assert monde["siret_a"] not in liste and monde["siret_b"] not in liste
    assert client.get(f"/backoffice/etablissements/{monde['a']}/").status_code == 404
    assert "mgerard" not in tableau(client.get("/backoffice/habilitations/"))


@pytest.mark.parametrize("vue", ["etablissements", "habilitations"])
@pytest.mark.parametrize("format_", ["csv", "xlsx"])
def test_exports_follow_the_scope(ud, asp, monde, vue, format_):
    def contenu(client):
        reponse = client.get(f"/backoffice/{vue}/export/{format_}/")
        assert reponse.status_code == 200
        return lignes_export(reponse, format_)

    texte_ud = str(contenu(ud))
    assert monde["siret_a"] in texte_ud and monde["siret_b"] not in texte_ud
    assert monde["siret_b"] in str(contenu(asp))


# -- exports ------------------------------------------------------------------------------------


def lignes_export(reponse, format_: str) -> list[list]:
    if format_ == "csv":
        texte = reponse.get_data(as_text=True).lstrip("\ufeff")
        return list(csv.reader(io.StringIO(texte), delimiter=";"))
    classeur = openpyxl.load_workbook(io.BytesIO(reponse.get_data()))
    feuille = classeur.active
    for ligne in feuille.iter_rows():
        for cellule in ligne:
            assert cellule.data_type != "f", cellule.value  # no formula in the workbook
    return [[c.value for c in ligne] for ligne in feuille.iter_rows()]


@pytest.mark.parametrize("format_", ["csv", "xlsx"])
def test_establishment_exports_neutralise_formulas(asp, monde, format_):
    reponse = asp.get("/backoffice/etablissements/export/" + format_ + "/")
    assert reponse.status_code == 200
    assert "attachment" in reponse.headers["Content-Disposition"]
    assert "etablissements_" in reponse.headers["Content-Disposition"]
    lignes = lignes_export(reponse, format_)
    assert lignes[0][:3] == ["SIRET", "Dénomination", "N°"]
    par_siret = {ligne[0]: ligne for ligne in lignes[1:]}
    assert par_siret[monde["siret_c"]][1] == "'" + FORMULE
    assert par_siret[monde["siret_a"]][1] == "Boulangerie Gérard"
    telephone = lignes[0].index("Téléphone")
    assert par_siret[monde["siret_a"]][telephone] == "'+33240000000"


@pytest.mark.parametrize("format_", ["csv", "xlsx"])
def test_habilitation_exports_neutralise_formulas(asp, monde, format_):
    lignes = lignes_export(asp.get(f"/backoffice/habilitations/export/{format_}/"), format_)
    assert lignes[0][:2] == ["Identifiant", "Nom"]
    zoe = next(ligne for ligne in lignes if ligne[0] == "zformule")
    assert zoe[1] == "'@SOMME(1+1)"
    assert zoe[5] == "'" + FORMULE
    assert "Compte principal utilisateur (Personne à contacter)" in zoe


def test_exports_follow_the_search(asp, monde):
    lignes = lignes_export(asp.get("/backoffice/etablissements/export/csv/?search=garage"), "csv")
    assert [ligne[0] for ligne in lignes[1:]] == [monde["siret_b"]]


# -- the fiche and its history ------------------------------------------------------------------


def test_the_fiche_shows_the_data_the_users_and_their_roles(asp, monde):
    texte = page(asp.get(f"/backoffice/etablissements/{monde['a']}/"))
    for attendu in ("rue de la Paix", "44000 Nantes", "contact12345678@exemple.fr", "+33240000000"):
        assert attendu in texte, attendu
    utilisateurs = texte.split('id="titre-utilisateurs"')[1].split('id="titre-referent"')[0]
    assert utilisateurs.index("Mathilde GERARD") < utilisateurs.index("Paul DURAND")
    assert "<strong>Référent</strong>" in utilisateurs
    assert f"/backoffice/habilitations/{monde['h_paul_a']}/desactiver" in utilisateurs
    assert f"/backoffice/habilitations/{monde['h_mathilde_a']}/desactiver" not in utilisateurs
    assert "Bruno" not in utilisateurs
    choix = texte.split('id="habilitation_id"')[1].split("</select>")[0]
    assert (
        f'value="{monde["h_paul_a"]}"' in choix and f'value="{monde["h_mathilde_a"]}"' not in choix
    )


def test_the_fiche_of_an_unknown_id_is_404(asp):
    assert asp.get("/backoffice/etablissements/999999/").status_code == 404
    assert (
        asp.post(
            "/backoffice/etablissements/999999/referent", data={"habilitation_id": 1}
        ).status_code
        == 404
    )
    assert asp.get("/backoffice/etablissements/abc/").status_code == 404


def test_the_history_gathers_the_establishment_its_habilitations_and_its_requests(app, asp, monde):
    agent = Acteur("agent", "quelquun@asp.localhost")
    with app.app_context():
        etablissements.retirer_utilisateur(monde["a"], monde["h_paul_a"], agent)
        etablissements.retirer_utilisateur(monde["b"], monde["h_paul_b"], agent)
        journaliser(
            agent,
            "modifier_etablissement",
            "etablissement",
            monde["a"],
            details={
                "siret": monde["siret_a"],
                "modifications": {"denomination": ["Boulangerie Gérard", "Boulangerie G."]},
            },
        )
        demande = DemandeCompte(
            siret=monde["siret_a"],
            departement="44",
            state=DemandeState.VALIDEE,
            form_id="demande-creation-compte",
            form_version=1,
            data={},
            reponse_hash="x",
        )
        db.session.add(demande)
        db.session.flush()
        journaliser(
            agent, "valider_demande_compte", "demande_compte", demande.id, state_to="validee"
        )
        journaliser(
            agent,
            "modifier_etablissement",
            "etablissement",
            monde["b"],
            details={"siret": monde["siret_b"]},
        )
        db.session.commit()
    texte = page(asp.get(f"/backoffice/etablissements/{monde['a']}/"))
    historique = texte.split('id="titre-historique"')[1]
    operations = re.findall(r'data-operation="([a-z_]+)"', historique)
    # newest first; B's rows (its habilitation, its fiche) are not A's history
    assert operations == ["valider_demande_compte", "modifier_etablissement", "retirer_utilisateur"]
    assert "Accès retiré" in historique and "Agent · quelquun@asp.localhost" in historique
    assert "denomination : Boulangerie Gérard → Boulangerie G." in historique
    assert monde["siret_b"] not in historique


def test_the_history_shows_the_200_latest_events(app, asp, monde):
    agent = Acteur("agent", "quelquun@asp.localhost")
    with app.app_context():
        for n in range(201):
            journaliser(
                agent, "modifier_etablissement", "etablissement", monde["a"], details={"n": n}
            )
        db.session.commit()
    historique = page(asp.get(f"/backoffice/etablissements/{monde['a']}/")).split(
        'id="titre-historique"'
    )[1]
    assert historique.count('data-operation="modifier_etablissement"') == 200
    assert "n : 200" in historique and "n : 0<" not in historique
    assert "Seuls les 200 événements les plus récents sont affichés." in historique


def test_the_history_reads_the_journal_through_its_index(app, asp, monde):
    """No query of the fiche reads the journal's JSON details (a full scan at scale)."""
    from sqlalchemy import event

    requetes = []

    def noter(conn, cursor, statement, parameters, context, executemany):
        requetes.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", noter)
        try:
            assert asp.get(f"/backoffice/etablissements/{monde['a']}/").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", noter)
    journal_ = [r for r in requetes if "FROM audit_event" in r]
    assert journal_, requetes
    for requete in journal_:
        assert "details" not in requete.split("WHERE", 1)[1]
        assert "audit_event.object_type" in requete


# -- « Réaffecter le référent » -----------------------------------------------------------------


@pytest.mark.parametrize("role, email, departements", ROLES, ids=[r[0] for r in ROLES])
def test_every_role_reassigns_the_referent_to_a_user_of_the_establishment(
    app, monde, role, email, departements
):
    client = client_de(app, role, email, departements)
    reponse = client.post(
        f"/backoffice/etablissements/{monde['a']}/referent",
        data={"habilitation_id": monde["h_paul_a"]},
    )
    assert reponse.status_code == 303
    assert reponse.headers["Location"].endswith(f"/backoffice/etablissements/{monde['a']}/")
    assert referent(app, monde["a"]) == "pdurand"
    assert journal(app, "changer_referent") == [
        ("agent", email, "etablissement", str(monde["a"]), "mgerard", "pdurand")
    ]
    assert mails(app, "mgerard@exemple.fr") == ["referent_reaffecte_ancien"]
    assert mails(app, "pdurand@exemple.fr") == ["referent_reaffecte_nouveau"]
    texte = page(client.get(reponse.headers["Location"]))
    assert "Paul DURAND est désormais la personne référente" in texte
    historique = texte.split('id="titre-historique"')[1]
    assert "Personne référente changée" in historique and "mgerard → pdurand" in historique


def test_the_referent_cannot_go_to_a_user_of_another_establishment(asp, app, monde):
    reponse = asp.post(
        f"/backoffice/etablissements/{monde['a']}/referent",
        data={"habilitation_id": monde["h_bruno_b"]},
        follow_redirects=True,
    )
    assert "Cet utilisateur n'a pas (ou plus) accès à cet établissement." in page(reponse)
    assert referent(app, monde["a"]) == "mgerard" and referent(app, monde["b"]) == "bmartin"
    assert journal(app, "changer_referent") == []
    reponse = asp.post(
        f"/backoffice/etablissements/{monde['a']}/referent",
        data={"habilitation_id": monde["h_mathilde_a"]},
        follow_redirects=True,
    )
    assert "est déjà la personne référente" in page(reponse)
    reponse = asp.post(f"/backoffice/etablissements/{monde['a']}/referent", follow_redirects=True)
    assert "Choisissez la nouvelle personne référente" in page(reponse)


NINA = {
    "utilisateur-nom": "NOUVEAU",
    "utilisateur-prenom": "Nina",
    "utilisateur-courriel": "nina.nouveau@exemple.fr",
    "utilisateur-courriel__confirmation": "nina.nouveau@exemple.fr",
    "utilisateur-telephone": "02 40 00 00 01",
}


@pytest.mark.parametrize("role, email, departements", ROLES, ids=[r[0] for r in ROLES])
def test_every_role_reassigns_the_referent_to_a_new_person(app, monde, role, email, departements):
    client = client_de(app, role, email, departements)
    reponse = client.post(f"/backoffice/etablissements/{monde['a']}/referent/nouveau", data=NINA)
    assert reponse.status_code == 303, page(reponse)
    with app.app_context():
        nina = db.session.scalar(
            select(Utilisateur).where(Utilisateur.courriel == NINA["utilisateur-courriel"])
        )
        assert (nina.nom, nina.prenom, nina.telephone) == ("NOUVEAU", "Nina", "+33240000001")
        identifiant = nina.identifiant
    assert referent(app, monde["a"]) == identifiant
    assert mails(app, "nina.nouveau@exemple.fr") == [
        "identifiant",
        "mot_de_passe",
        "utilisateur_ajoute",
        "referent_reaffecte_nouveau",
    ]
    assert mails(app, "mgerard@exemple.fr") == ["referent_reaffecte_ancien"]
    assert journal(app, "changer_referent") == [
        ("agent", email, "etablissement", str(monde["a"]), "mgerard", identifiant)
    ]
    assert [r[:3] for r in journal(app, "creer_utilisateur")] == [("agent", email, "utilisateur")]
    assert [r[:3] for r in journal(app, "ajouter_utilisateur")] == [
        ("agent", email, "habilitation")
    ]
    texte = page(client.get(reponse.headers["Location"]))
    assert "Nina NOUVEAU est désormais la personne référente : son identité a été créée" in texte


def test_a_new_person_form_with_errors_is_shown_again_and_writes_nothing(asp, app, monde):
    reponse = asp.post(
        f"/backoffice/etablissements/{monde['a']}/referent/nouveau",
        data={
            **NINA,
            "utilisateur-courriel__confirmation": "autre@exemple.fr",
            "utilisateur-nom": "",
        },
    )
    assert reponse.status_code == 422
    texte = page(reponse)
    assert "La nouvelle personne référente n'a pas été enregistrée" in texte
    assert 'value="Nina"' in texte  # nothing typed is lost
    assert "is-invalid" in texte
    assert referent(app, monde["a"]) == "mgerard"
    assert mails(app, "nina.nouveau@exemple.fr") == []
    assert journal(app, "creer_utilisateur") == []


def test_a_person_already_habilitated_is_refused_with_a_french_message(asp, app, monde):
    reponse = asp.post(
        f"/backoffice/etablissements/{monde['a']}/referent/nouveau",
        data={
            **NINA,
            "utilisateur-courriel": "pdurand@exemple.fr",
            "utilisateur-courriel__confirmation": "pdurand@exemple.fr",
        },
    )
    assert reponse.status_code == 422
    assert "Paul DURAND a déjà accès à cet établissement." in page(reponse)
    assert referent(app, monde["a"]) == "mgerard"
    assert mails(app, "pdurand@exemple.fr") == []


# -- « Désactiver » a habilitation -----------------------------------------------------------------


@pytest.mark.parametrize("role, email, departements", ROLES, ids=[r[0] for r in ROLES])
def test_every_role_deactivates_a_habilitation(app, monde, role, email, departements):
    client = client_de(app, role, email, departements)
    retour = f"/backoffice/etablissements/{monde['a']}/"
    reponse = client.post(
        f"/backoffice/habilitations/{monde['h_paul_a']}/desactiver", data={"retour": retour}
    )
    assert reponse.status_code == 303
    assert reponse.headers["Location"].endswith(retour)
    with app.app_context():
        assert db.session.get(Habilitation, monde["h_paul_a"]).actif is False
        assert db.session.get(Habilitation, monde["h_paul_b"]).actif is True
    assert journal(app, "retirer_utilisateur") == [
        ("agent", email, "habilitation", str(monde["h_paul_a"]), "actif", "retiree")
    ]
    assert mails(app, "pdurand@exemple.fr") == ["habilitation_retiree"]
    assert "est désactivée" in page(client.get(retour))


def test_the_referents_habilitation_is_not_deactivated(asp, app, monde):
    reponse = asp.post(
        f"/backoffice/habilitations/{monde['h_mathilde_a']}/desactiver", follow_redirects=True
    )
    assert "désignez d'abord une autre personne référente" in page(reponse)
    with app.app_context():
        assert db.session.get(Habilitation, monde["h_mathilde_a"]).actif is True
    assert journal(app, "retirer_utilisateur") == []
    assert mails(app, "mgerard@exemple.fr") == []


def test_the_return_address_is_a_back_office_path_only(asp, monde):
    reponse = asp.post(
        f"/backoffice/habilitations/{monde['h_paul_a']}/desactiver",
        data={"retour": "https://pirate.example/"},
    )
    assert reponse.headers["Location"].endswith("/backoffice/habilitations/")


def test_bulk_deactivation_skips_the_referent_and_foreign_rows(app, monde):
    client = client_de(app, "ud", UD, "44")
    ids = [monde["h_paul_a"], monde["h_mathilde_a"], monde["h_paul_b"]]
    reponse = client.post(
        "/backoffice/habilitations/action/",
        data={"action": "desactiver", "rowid": [str(i) for i in ids]},
        follow_redirects=True,
    )
    texte = page(reponse)
    assert "1 habilitation(s) désactivée(s)." in texte
    assert "mgerard" in texte and "désignez d'abord une autre personne référente" in texte
    with app.app_context():
        etats = {i: db.session.get(Habilitation, i).actif for i in ids}
    assert etats == {monde["h_paul_a"]: False, monde["h_mathilde_a"]: True, monde["h_paul_b"]: True}
    assert [r[3] for r in journal(app, "retirer_utilisateur")] == [str(monde["h_paul_a"])]


def test_the_habilitation_list_offers_deactivation_only_where_it_applies(asp, monde):
    liste = tableau(asp.get("/backoffice/habilitations/"))
    assert f"/backoffice/habilitations/{monde['h_paul_a']}/desactiver" in liste
    assert f"/backoffice/habilitations/{monde['h_mathilde_a']}/desactiver" not in liste
    assert 'data-action-groupee="desactiver"' in page(asp.get("/backoffice/habilitations/"))
    entetes = page(asp.get("/backoffice/habilitations/")).split("<thead>")[1].split("</thead>")[0]
    for colonne in ("Utilisateur", "Établissement", "Rôle", "État", "Créée le"):
        assert colonne in entetes


def test_habilitation_filters_and_search(asp, monde):
    url = "/backoffice/habilitations/"
    role = filtre(asp, url, "Rôle", "est")
    liste = tableau(asp.get(url, query_string={role: "referent"}))
    assert "mgerard" in liste and "pdurand" not in liste
    departement = filtre(asp, url, "Département", "est")
    liste = tableau(asp.get(url, query_string={departement: "75"}))
    assert "bmartin" in liste and "mgerard" not in liste
    liste = tableau(asp.get(url, query_string={"search": "pdur"}))
    assert "pdurand" in liste and "mgerard" not in liste
    liste = tableau(asp.get(url, query_string={"search": monde["siret_b"][:8]}))
    assert "bmartin" in liste and "mgerard" not in liste
    identifiant = filtre(asp, url, "Identifiant", "est")
    liste = tableau(asp.get(url, query_string={identifiant: "PDurand"}))
    assert "pdurand" in liste and "bmartin" not in liste
    active = filtre(asp, url, "Active", "est")
    assert "pdurand" not in tableau(asp.get(url, query_string={active: "0"}))
    for absurde in ({role: "chef"}, {active: "peut-être"}):
        assert asp.get(url, query_string=absurde).status_code == 200  # ignored, never a 500


# -- CSRF ---------------------------------------------------------------------------------------

JETON = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@pytest.fixture
def csrf(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    ids = peupler(app)
    agent = creer(app, ASP, "asp")
    client = app.test_client()
    texte = page(client.get("/backoffice/connexion"))
    client.post(
        "/backoffice/connexion",
        data={"email": ASP, "mot_de_passe": PHRASE, "csrf_token": JETON.search(texte).group(1)},
    )
    texte = page(client.get("/backoffice/connexion/code"))
    reponse = client.post(
        "/backoffice/connexion/code",
        data={"code": agent.code(), "csrf_token": JETON.search(texte).group(1)},
    )
    assert reponse.status_code == 303
    return app, client, ids


def test_every_post_needs_the_csrf_token(csrf):
    app, client, ids = csrf
    envois = [
        (f"/backoffice/etablissements/{ids['a']}/referent", {"habilitation_id": ids["h_paul_a"]}),
        (f"/backoffice/etablissements/{ids['a']}/referent/nouveau", NINA),
        (f"/backoffice/habilitations/{ids['h_paul_a']}/desactiver", {}),
        (
            "/backoffice/habilitations/action/",
            {"action": "desactiver", "rowid": str(ids["h_paul_a"])},
        ),
    ]
    for url, donnees in envois:
        reponse = client.post(url, data=donnees)
        assert reponse.status_code == 400, url
        assert "Votre session a expiré ou le formulaire n'est plus valide." in page(reponse)
    assert referent(app, ids["a"]) == "mgerard"
    assert journal(app, "retirer_utilisateur") == [] and journal(app, "creer_utilisateur") == []
    with app.app_context():
        assert db.session.get(Habilitation, ids["h_paul_a"]).actif is True

    # with the token of the fiche's forms, the same posts work
    fiche = page(client.get(f"/backoffice/etablissements/{ids['a']}/"))
    assert fiche.count('name="csrf_token"') >= 3
    jeton = JETON.search(fiche.split('id="titre-referent"')[1]).group(1)
    reponse = client.post(
        f"/backoffice/etablissements/{ids['a']}/referent/nouveau",
        data={**NINA, "csrf_token": jeton},
    )
    assert reponse.status_code == 303
    reponse = client.post(
        f"/backoffice/habilitations/{ids['h_paul_a']}/desactiver", data={"csrf_token": jeton}
    )
    assert reponse.status_code == 303
    with app.app_context():
        assert db.session.get(Habilitation, ids["h_paul_a"]).actif is False
    assert referent(app, ids["a"]) == "nnouveau"


def test_the_pages_carry_no_inline_script_or_handler(asp, monde):
    for url in (
        "/backoffice/etablissements/",
        f"/backoffice/etablissements/{monde['a']}/",
        "/backoffice/habilitations/",
    ):
        texte = asp.get(url).get_data(as_text=True)
        assert not re.search(r"\son[a-z]+=", texte), url
        assert " style=" not in texte, url


# -- in a real Chromium, under the CSP ------------------------------------------------------------


@pytest.mark.browser
def test_an_agent_reassigns_the_referent_in_a_real_browser(make_app):
    """Sign-in with TOTP, the establishment's fiche, « Réaffecter le référent » to a new person
    (its confirmation dialog), then to a user of the establishment; screenshots in
    tests/artefacts/backoffice-referent-*.png, no CSP violation, no serious a11y fault."""
    from tests.browser.conftest import _browser_available

    if not _browser_available():
        pytest.skip("Playwright or Chromium not installed")
    import threading

    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from tests.backoffice.test_navigateur import VIOLATIONS, _axe
    from tests.browser.conftest import ARTEFACTS, CHROMIUM

    app = make_app(WTF_CSRF_ENABLED=True)
    ids = peupler(app)
    agent = creer(app, UD, "ud", "44")
    serveur = make_server("127.0.0.1", 0, app, threaded=True)
    fil = threading.Thread(target=serveur.serve_forever, daemon=True)
    fil.start()
    base = f"http://127.0.0.1:{serveur.server_port}"
    ARTEFACTS.mkdir(exist_ok=True)
    try:
        with sync_playwright() as playwright:
            navigateur = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            onglet = navigateur.new_page()
            console = []
            onglet.on("console", lambda message: console.append(message.text))
            dialogues = []
            onglet.on("dialog", lambda d: (dialogues.append(d.message), d.accept()))
            onglet.add_init_script(VIOLATIONS)

            def capture(nom):
                onglet.screenshot(
                    path=str(ARTEFACTS / f"backoffice-referent-{nom}.png"), full_page=True
                )

            onglet.goto(f"{base}/backoffice/etablissements/")
            onglet.fill("#email", UD)
            onglet.fill("#mot_de_passe", PHRASE)
            onglet.get_by_role("button", name="Continuer").click()
            onglet.wait_for_url(f"{base}/backoffice/connexion/code")
            onglet.fill("#code", agent.code())
            onglet.get_by_role("button", name="Se connecter").click()
            onglet.wait_for_url(f"{base}/backoffice/etablissements/")
            assert ids["siret_b"] not in onglet.inner_text("main")  # the 75 is not the UD's
            capture("01-liste")

            onglet.get_by_role("link", name=ids["siret_a"]).click()
            onglet.wait_for_url(f"{base}/backoffice/etablissements/{ids['a']}/")
            _axe(onglet, "fiche-etablissement")
            capture("02-fiche")

            onglet.fill("#utilisateur-nom", "NOUVEAU")
            onglet.fill("#utilisateur-prenom", "Nina")
            onglet.fill("#utilisateur-courriel", "nina.nouveau@exemple.fr")
            onglet.fill("#utilisateur-courriel__confirmation", "nina.nouveau@exemple.fr")
            onglet.get_by_role("button", name="Créer et désigner comme référent").click()
            onglet.wait_for_load_state("load")
            assert dialogues and "désigner comme référente" in dialogues[-1]
            principal = onglet.inner_text("main")
            assert "Nina NOUVEAU est désormais la personne référente" in principal
            assert "Personne référente changée" in principal
            capture("03-nouvelle-personne")

            onglet.select_option("#habilitation_id", label="Mathilde GERARD (mgerard)")
            onglet.get_by_role("button", name="Désigner comme référent", exact=True).click()
            onglet.wait_for_load_state("load")
            assert "Mathilde GERARD est désormais la personne référente" in onglet.inner_text(
                "main"
            )
            capture("04-retour-a-mathilde")

            violations = onglet.evaluate("window.__violations")
            refus = [texte for texte in console if "Content Security Policy" in texte]
            assert violations == [] and refus == [], (violations, refus)
            navigateur.close()
    finally:
        serveur.shutdown()
        fil.join(timeout=5)
    assert referent(app, ids["a"]) == "mgerard"
    assert [r[4:] for r in journal(app, "changer_referent")] == [
        ("mgerard", "nnouveau"),
        ("nnouveau", "mgerard"),
    ]
