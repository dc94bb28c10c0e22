"""« Demandes de création de compte » in the back-office (issue #6 items 2, 7, 8, 9): access
per role, UD scoping on every URL, tabs, filters, search, the detail page (form labels, SIRENE
differences), « Je prends », Valider and Rejeter one by one and in bulk (audit rows and
mails), CSRF on every POST, CSV and XLSX exports neutralised against formula injection."""

from __future__ import annotations

import copy
import csv
import html
import io
import json
import re
import threading
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import delete, func, select

from backoffice.exports import neutraliser
from backoffice.vues import demandes as vue
from extensions import db
from models.agents import DEPARTEMENT, AgentDepartement
from models.audit import AuditEvent
from models.comptes import DemandeCompte, DemandeState, Etablissement
from models.notification import Notification
from models.sirene import SireneEtablissement
from tests.backoffice.conftest import ADMIN, ASP, PHRASE, UD, connecter, creer
from tests.browser.conftest import ARTEFACTS, _browser_available
from tests.browser.conftest import page as navigateur  # noqa: F401 (the Chromium fixture)
from tests.factories import siret
from workflows import comptes
from workflows.journal import Acteur

ROOT = Path(__file__).resolve().parents[2]
EXEMPLE = json.loads(
    (ROOT / "forms/examples/demande-creation-compte.json").read_text(encoding="utf-8")
)
USAGER = Acteur("usager", "demandeur@exemple.fr")
BASE = "/backoffice/demandes/"
FORMULE = '=HYPERLINK("https://attaquant.example/","Cliquez")'


# --- helpers -----------------------------------------------------------------------------------


def _page(reponse) -> str:
    return html.unescape(reponse.get_data(as_text=True))


def _client(app, email, role, departements=""):
    client = app.test_client()
    connecter(client, creer(app, email, role, departements))
    return client


def deposer(app, numero, code_postal="44500", denomination=None, courriel=None, **champs):
    """File a request through the real workflow; return its id."""
    document = copy.deepcopy(EXEMPLE)
    document["etablissement"]["siret"] = siret(numero)
    document["etablissement"]["code_postal"] = code_postal
    document["etablissement"]["denomination"] = denomination or f"ENTREPRISE {numero}"
    document["etablissement"].update(champs)
    document["utilisateur"]["courriel"] = courriel or f"contact{numero}@exemple.fr"
    with app.app_context():
        return comptes.demander_compte(document, 2, USAGER).id


def demande(app, demande_id) -> DemandeCompte:
    with app.app_context():
        ligne = db.session.get(DemandeCompte, demande_id)
        db.session.expunge(ligne)
        return ligne


def evenements(app, demande_id, operation):
    with app.app_context():
        return db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.object_type == "demande_compte",
                AuditEvent.object_id == str(demande_id),
                AuditEvent.operation == operation,
            )
        ).all()


def courriels(app):
    with app.app_context():
        return [(n.recipient, n.template) for n in db.session.scalars(select(Notification))]


def nombre(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def vieillir(app, demande_id, instant: datetime):
    with app.app_context():
        db.session.get(DemandeCompte, demande_id).created_at = instant
        db.session.commit()


def sirets_listes(page: str) -> list[str]:
    """The SIRETs of the list's rows, in order."""
    return re.findall(r'<td class="col-siret">\s*(\d{14})\s*</td>', page)


@pytest.fixture
def asp(app):
    return _client(app, ASP, "asp")


@pytest.fixture
def ud(app):
    """An Agent UD covering the 44 only."""
    return _client(app, UD, "ud", "44")


@pytest.fixture
def trois(app):
    """Three pending requests, oldest first: Loire-Atlantique (44), Paris (75), 44 again."""
    ids = [
        deposer(app, 11, "44500", "BOULANGERIE DU PORT", "alice@exemple.fr"),
        deposer(app, 12, "75011", "GARAGE PARISIEN", "bob@exemple.fr"),
        deposer(app, 13, "44000", "LIBRAIRIE NANTAISE", "chloe@exemple.fr"),
    ]
    for rang, demande_id in enumerate(ids):
        vieillir(app, demande_id, datetime(2026, 3, 10 + rang, 9, 0, tzinfo=UTC))
    return ids


# --- access -------------------------------------------------------------------------------------

URLS = [
    ("GET", BASE),
    ("GET", BASE + "?etat=toutes"),
    ("GET", BASE + "details/?id=1"),
    ("GET", BASE + "export/csv/"),
    ("GET", BASE + "export/xlsx/"),
    ("GET", BASE + "miennes/"),
    ("POST", BASE + "1/prendre"),
    ("POST", BASE + "1/liberer"),
    ("POST", BASE + "1/valider"),
    ("POST", BASE + "1/rejeter"),
    ("POST", BASE + "action/"),
    ("POST", BASE + "rejet-groupe/"),
]


@pytest.mark.parametrize("methode, url", URLS)
def test_anonymous_requests_are_sent_to_the_sign_in_page(app, methode, url):
    deposer(app, 11)
    reponse = app.test_client().open(url, method=methode)
    assert reponse.status_code == 302
    assert reponse.headers["Location"].startswith("/backoffice/connexion")
    with app.app_context():
        assert db.session.get(DemandeCompte, 1).state == DemandeState.A_TRAITER


def test_an_agent_half_way_through_its_sign_in_reaches_no_page(app):
    deposer(app, 11)
    creer(app, ASP, "asp")
    client = app.test_client()
    client.post("/backoffice/connexion", data={"email": ASP, "mot_de_passe": PHRASE})
    for methode, url in URLS:
        reponse = client.open(url, method=methode)
        assert reponse.status_code == 302, url
        assert reponse.headers["Location"].endswith("/backoffice/connexion/code"), url


@pytest.mark.parametrize(
    "email, role, departements",
    [(ADMIN, "administrateur", ""), (ASP, "asp", ""), (UD, "ud", "44")],
)
def test_every_role_reaches_the_queue_in_french_and_its_tile(app, email, role, departements):
    deposer(app, 11)
    client = _client(app, email, role, departements)
    page = _page(client.get(BASE))
    assert client.get(BASE).status_code == 200
    for texte in (
        "Demandes de création de compte",
        "À traiter",
        "Validées",
        "Rejetées",
        "Toutes",
        "Déposée le",
        "SIRET",
        "Dénomination",
        "Département",
        "Courriel du contact",
        "État",
        "Prise en charge par",
        "Traitée le",
        "Liste (1)",
        "Exporter",
        "Ajouter un filtre",
        "SIRET, SIREN, dénomination ou courriel",
        "Je prends",
        "Valider",
        "Rejeter",
        "ENTREPRISE 11",
    ):
        assert texte in page, texte
    for anglais in ("Search", "Add Filter", "With selected", ">List (", "Export CSV"):
        assert anglais not in page, anglais
    tableau = _page(client.get("/backoffice/"))
    assert "Demandes de création de compte à traiter" in tableau
    assert 'href="/backoffice/demandes/"' in tableau


def test_the_queue_is_read_only_for_flask_admin_s_own_forms(app, asp, trois):
    assert asp.get(BASE + "new/").status_code == 302
    assert asp.get(BASE + f"edit/?id={trois[0]}").status_code == 302
    asp.post(BASE + "delete/", data={"id": trois[0]})
    assert nombre(app, DemandeCompte) == 3


# --- list: tabs, order, filters, search, count -------------------------------------------------


def test_the_default_tab_lists_pending_requests_oldest_first(app, asp, trois):
    with app.app_context():
        comptes.valider_demande_compte(trois[1], Acteur("agent", ASP))
    page = _page(asp.get(BASE))
    assert sirets_listes(page) == [siret(11), siret(13)]
    assert 'aria-current="page">À traiter<' in page
    assert sirets_listes(_page(asp.get(BASE + "?etat=validee"))) == [siret(12)]
    assert sirets_listes(_page(asp.get(BASE + "?etat=rejetee"))) == []
    toutes = _page(asp.get(BASE + "?etat=toutes"))
    assert sirets_listes(toutes) == [siret(n) for n in (11, 12, 13)]
    assert "Liste (3)" in toutes  # no condition at all: the count still reads the table
    # newest first on demand (the sort link of « Déposée le »)
    assert sirets_listes(_page(asp.get(BASE + "?sort=0&desc=1"))) == [siret(13), siret(11)]
    # an unknown tab is the default one
    assert sirets_listes(_page(asp.get(BASE + "?etat=nimporte"))) == [siret(11), siret(13)]


def test_filters_by_departement_date_state_and_assignment(app, asp, trois):
    assert sirets_listes(_page(asp.get(BASE + "?flt0_departement=75"))) == [siret(12)]
    entre = "?etat=toutes&flt0_depot_entre=2026-03-11+to+2026-03-12"
    assert sirets_listes(_page(asp.get(BASE + entre))) == [siret(12), siret(13)]
    assert sirets_listes(_page(asp.get(BASE + "?flt0_depot_depuis=2026-03-12"))) == [siret(13)]
    assert sirets_listes(_page(asp.get(BASE + "?flt0_depot_jusqu_au=2026-03-11"))) == [
        siret(11),
        siret(12),
    ]
    with app.app_context():
        comptes.rejeter_demande_compte(trois[0], Acteur("agent", ASP), "Motif")
    # an « État » filter replaces the tab
    page = _page(asp.get(BASE + "?flt3_etat=rejetee&flt5_departement=44&search=boulangerie"))
    assert sirets_listes(page) == [siret(11)]
    assert "Le filtre « État » remplace les onglets." in page
    assert "aria-current" not in page
    # a tab drops the « État » filter, keeps the others and the search
    onglet = re.search(r'href="([^"]+)">Validées<', page).group(1).replace("&amp;", "&")
    assert "flt3_etat" not in onglet
    assert "etat=validee" in onglet and "flt5_departement=44" in onglet
    assert "search=boulangerie" in onglet
    asp.post(BASE + f"{trois[2]}/prendre")
    assert sirets_listes(_page(asp.get(BASE + "?flt0_prise_en_charge=moi"))) == [siret(13)]
    assert sirets_listes(_page(asp.get(BASE + "?flt0_prise_en_charge=personne"))) == [siret(12)]
    # a filter value that makes no sense is refused with a message, not a 500
    page = _page(asp.get(BASE + "?flt0_depot_entre=2026-03-12+to+2026-03-01"))
    assert len(sirets_listes(page)) == 2


def test_the_date_filters_count_in_paris_days(app, asp):
    tard = deposer(app, 21)
    # 23:30 UTC on 9 March is 00:30 on 10 March in Paris
    vieillir(app, tard, datetime(2026, 3, 9, 23, 30, tzinfo=UTC))
    assert sirets_listes(_page(asp.get(BASE + "?flt0_depot_depuis=2026-03-10"))) == [siret(21)]
    assert sirets_listes(_page(asp.get(BASE + "?flt0_depot_jusqu_au=2026-03-09"))) == []


RECHERCHES = [
    (siret(12), [12]),
    (" ".join(re.findall(".{1,3}", siret(12))), [12]),  # typed with spaces
    (siret(13)[:9], [13]),  # a SIREN
    ("boulangerie", [11]),
    ("librairie nantaise", [13]),
    ("NANTAISE librairie", [13]),
    ("bob@exemple.fr", [12]),
    ("chloe", [13]),
    ("exemple.fr", [11, 12, 13]),
    ("%", []),  # LIKE wildcards are searched for, not obeyed
    ("_", []),
    ("garage boulangerie", []),
]


def test_the_search_box(app, asp, trois):
    for recherche, attendus in RECHERCHES:
        page = _page(asp.get(BASE, query_string={"search": recherche}))
        assert sirets_listes(page) == [siret(n) for n in attendus], recherche


def test_the_count_is_capped_beyond_the_threshold(app, asp, trois, monkeypatch):
    monkeypatch.setattr(vue, "PLAFOND_COMPTE", 2)
    page = _page(asp.get(BASE))
    assert "Liste (plus de 2)" in page
    assert "Plus de 2 demandes" in page
    assert len(sirets_listes(page)) == 3  # the rows themselves are all there
    assert "Liste (1)" in _page(asp.get(BASE + "?flt0_departement=75"))
    # the dashboard's count stays exact on SQLite (PostgreSQL: an estimate beyond the cap)
    tableau = _page(asp.get("/backoffice/"))
    assert re.search(r"Demandes de création de compte à traiter</h2>\s*<p[^>]*>3</p>", tableau)


def test_the_filters_are_indexed_and_offered_in_french(app, asp, ud, trois):
    page = _page(asp.get(BASE))
    donnees = re.search(r'id="filter-groups-data" class="d-none">(.*?)</div>', page, re.S)
    groupes = json.loads(donnees.group(1))
    assert {
        nom: [(f["arg"], f["operation"]) for f in filtres] for nom, filtres in groupes.items()
    } == {
        "Date de dépôt": [
            ("depot_entre", "entre"),
            ("depot_depuis", "à partir du"),
            ("depot_jusqu_au", "jusqu'au"),
        ],
        "Département": [("departement", "est")],
        "État": [("etat", "est")],
        "Prise en charge": [("prise_en_charge", "par")],
    }
    assert groupes["État"][0]["options"] == [
        ["a_traiter", "À traiter"],
        ["validee", "Validée"],
        ["rejetee", "Rejetée"],
    ]
    assert [c for c, _ in groupes["Département"][0]["options"]] == list(vue.DEPARTEMENTS)
    page_ud = _page(ud.get(BASE))
    groupes = json.loads(
        re.search(r'id="filter-groups-data" class="d-none">(.*?)</div>', page_ud, re.S).group(1)
    )
    assert groupes["Département"][0]["options"] == [["44", "44"]]
    assert all(DEPARTEMENT.match(code) for code in vue.DEPARTEMENTS)
    assert len(vue.DEPARTEMENTS) == 96 + 14  # metropolitan, overseas
    # every filter and sort has an index whose first columns serve it
    index = {i.name: [c.name for c in i.columns] for i in DemandeCompte.__table__.indexes}
    assert index["ix_demande_compte_state_created"] == ["state", "created_at"]
    assert index["ix_demande_compte_created"] == ["created_at"]
    assert index["ix_demande_compte_departement_state_created"] == [
        "departement",
        "state",
        "created_at",
    ]
    assert index["ix_demande_compte_assigned_state_created"][0] == "assigned_to_id"
    assert index["ix_demande_compte_siret"] == ["siret"]
    assert index["ix_demande_compte_denomination_trgm"] == ["denomination"]
    assert index["ix_demande_compte_courriel_trgm"] == ["courriel"]


def test_search_columns_are_copied_from_the_document(app):
    demande_id = deposer(app, 11, denomination="Café É", courriel="Marie.Dupont@Exemple.FR")
    ligne = demande(app, demande_id)
    assert (ligne.denomination, ligne.courriel) == ("Café É", "marie.dupont@exemple.fr")


# --- UD scoping on every URL ---------------------------------------------------------------------


def test_an_agent_ud_sees_its_departements_only(app, ud, trois):
    page = _page(ud.get(BASE + "?etat=toutes"))
    assert sirets_listes(page) == [siret(11), siret(13)]
    assert "Liste (2)" in page and "GARAGE PARISIEN" not in page
    assert sirets_listes(_page(ud.get(BASE + "?flt0_departement=75"))) == []
    assert sirets_listes(_page(ud.get(BASE, query_string={"search": siret(12)}))) == []
    assert ud.get(BASE + f"details/?id={trois[0]}").status_code == 200
    tableau = _page(ud.get("/backoffice/"))
    assert re.search(r"à traiter</h2>\s*<p[^>]*>2</p>", tableau)


def test_an_agent_ud_without_departement_sees_nothing(app, trois):
    client = _client(app, UD, "ud", "44")
    with app.app_context():
        db.session.execute(delete(AgentDepartement))
        db.session.commit()
    assert sirets_listes(_page(client.get(BASE + "?etat=toutes"))) == []
    assert client.get(BASE + f"details/?id={trois[0]}").status_code == 404


@pytest.mark.parametrize("action", ["prendre", "liberer", "valider", "rejeter"])
def test_an_agent_ud_cannot_reach_a_foreign_request_by_its_url(app, ud, trois, action):
    etranger = trois[1]  # the 75
    assert ud.get(BASE + f"details/?id={etranger}").status_code == 404
    assert ud.get(BASE + "details/?id=999999").status_code == 404  # missing: the same answer
    assert ud.get(BASE + "details/?id=abc").status_code == 404
    reponse = ud.post(BASE + f"{etranger}/{action}", data={"motif": "doublon", "precisions": "x"})
    assert reponse.status_code == 404
    assert "Page non trouvée" in _page(reponse)
    ligne = demande(app, etranger)
    assert (ligne.state, ligne.assigned_to_id) == (DemandeState.A_TRAITER, None)
    assert evenements(app, etranger, "prendre_demande_compte") == []
    assert courriels(app) == []


@pytest.mark.parametrize("action", ["prendre", "valider"])
def test_bulk_actions_skip_foreign_requests(app, ud, trois, action):
    reponse = ud.post(
        BASE + "action/",
        data={"action": action, "rowid": [str(trois[1]), str(trois[0])], "url": BASE},
        follow_redirects=True,
    )
    page = _page(reponse)
    assert "1 demande introuvable dans votre périmètre : ignorée." in page
    assert demande(app, trois[1]).state == DemandeState.A_TRAITER
    assert demande(app, trois[1]).assigned_to_id is None
    propre = demande(app, trois[0])
    assert propre.state == DemandeState.VALIDEE or propre.assigned_to_id is not None


def test_bulk_rejection_skips_foreign_requests(app, ud, trois):
    seule = ud.post(
        BASE + "action/",
        data={"action": "rejeter", "rowid": [str(trois[1])]},
        follow_redirects=True,
    )
    assert "Aucune demande de votre périmètre n'est sélectionnée." in _page(seule)
    confirmation = _page(
        ud.post(BASE + "action/", data={"action": "rejeter", "rowid": [str(t) for t in trois]})
    )
    assert "Rejeter 2 demandes" in confirmation and "GARAGE PARISIEN" not in confirmation
    reponse = ud.post(
        BASE + "rejet-groupe/",
        data={"rowid": [str(trois[1]), str(trois[0])], "motif": "doublon"},
        follow_redirects=True,
    )
    assert "1 demande rejetée." in _page(reponse)
    assert demande(app, trois[1]).state == DemandeState.A_TRAITER
    assert demande(app, trois[0]).state == DemandeState.REJETEE


@pytest.mark.parametrize("format_", ["csv", "xlsx"])
def test_exports_are_scoped(app, ud, trois, format_):
    reponse = ud.get(BASE + f"export/{format_}/?etat=toutes")
    assert reponse.status_code == 200
    lignes = lire_export(reponse, format_)
    assert [ligne[2] for ligne in lignes[1:]] == [siret(11), siret(13)]
    with app.app_context():
        # the streamed rows were read in a session that was closed (no transaction left open)
        assert db.engine.pool.checkedout() == 0


# --- detail page ---------------------------------------------------------------------------------


def test_the_detail_shows_the_form_labels_and_the_sirene_differences(app, asp):
    demande_id = deposer(
        app, 11, "44500", "Boulangerie du Port", type_voie="RUE", extension_voie="B"
    )
    with app.app_context():
        db.session.add(
            SireneEtablissement(
                siret=siret(11),
                siren=siret(11)[:9],
                denomination="BOULANGERIE DU PORT",  # same but for case: no difference
                type_voie="AV",
                indice_repetition="B",
                libelle_voie="LA PLAGES",
                complement_adresse="FACE HOTEL ROYAL",
                code_postal="44500",
                libelle_commune="La Baule-Escoublac",  # same but for case and hyphen
                etat_administratif="F",
            )
        )
        db.session.commit()
    reponse = asp.get(BASE + f"details/?id={demande_id}")
    assert reponse.status_code == 200
    page = _page(reponse)
    for texte in (
        "Création de compte d'accès à l'extranet Activité Partielle",  # the form's title
        "version 2",
        "Information établissement",
        "Dénomination de l'établissement",
        "N° de Siret",
        "Compte utilisateur à créer",
        "Question secrète",
        "Extension de voie",
        "bis",  # the option's label, not its code
        "Répertoire SIRENE",
        "Historique",
        "Dépôt de la demande",
        "Motif du rejet",
        "Établissement fermé",  # a standard reason's short label
        "Je prends",
        "Valider la demande",
        "Rejeter la demande",
    ):
        assert texte in page, texte
    comparaison = page[page.index("comparaison-sirene") :]
    ecarts = re.findall(r'<tr class="table-warning ecart">\s*<th[^>]*>([^<]+)', comparaison)
    assert [e.strip() for e in ecarts] == ["Type de voie", "État administratif"]
    assert "Fermé" in comparaison and "Avenue" in comparaison and "Rue" in comparaison
    assert "2 écarts avec le répertoire SIRENE" in page
    assert "Jules Ferry" not in page  # the secret answer was never stored in clear


def test_the_detail_of_a_request_absent_from_sirene_says_so(app, asp):
    demande_id = deposer(app, 11)
    page = _page(asp.get(BASE + f"details/?id={demande_id}"))
    assert "Ce SIRET est absent du répertoire SIRENE local" in page


def test_the_detail_falls_back_to_property_names_for_an_unknown_version(app, asp):
    demande_id = deposer(app, 11)
    with app.app_context():
        db.session.get(DemandeCompte, demande_id).form_version = 1
        db.session.commit()
    page = _page(asp.get(BASE + f"details/?id={demande_id}"))
    assert "La version 1 du formulaire « demande-creation-compte » n'est plus disponible" in page
    assert "Etablissement" in page and "Denomination" in page and "Code postal" in page
    assert "Dénomination de l'établissement" not in page


def test_libelles_de_walks_the_definition_tree(app):
    with app.test_request_context():
        libelles = vue.libelles_de("demande-creation-compte", 2)
        assert libelles.connue
        assert libelles.titre(("etablissement", "siret")) == "N° de Siret"
        assert libelles.titre(("utilisateur",)) == "Compte utilisateur à créer"
        assert libelles.valeur(("etablissement", "type_voie"), "BD") == "Boulevard"
        assert libelles.valeur(("etablissement", "fax"), None) == "—"
        inconnue = vue.libelles_de("demande-creation-compte", 99)
        assert not inconnue.connue
        assert inconnue.titre(("etablissement", "code_postal")) == "Code postal"
        assert not vue.libelles_de("formulaire-absent", 1).connue
        sections = vue.sections_de(
            {"b": 1, "etablissement": {"ville": "Nantes", "siret": "1"}, "liste": [{"x": True}]},
            libelles,
        )
        assert [s.titre for s in sections] == [None, "Information établissement"]
        assert [ligne.libelle for ligne in sections[0].lignes] == ["B", "Liste n° 1 › X"]
        assert [ligne.libelle for ligne in sections[1].lignes] == ["N° de Siret", "Ville"]


# --- « Je prends » ---------------------------------------------------------------------------------


def test_je_prends_assigns_the_request_and_is_journaled(app, trois):
    asp = _client(app, ASP, "asp")
    admin = _client(app, ADMIN, "administrateur")
    premiere = trois[0]
    reponse = asp.post(BASE + f"{premiere}/prendre", follow_redirects=True)
    assert "Vous avez pris en charge cette demande." in _page(reponse)
    assert "Vous prenez en charge cette demande" in _page(reponse)
    with app.app_context():
        ligne = db.session.get(DemandeCompte, premiere)
        assert ligne.assigned_to.email == ASP and ligne.assigned_at is not None
    assert "moi" in _page(asp.get(BASE))
    # taken over by another agent: the journal says from whom
    admin.post(BASE + f"{premiere}/prendre")
    (reprise,) = [
        e for e in evenements(app, premiere, "prendre_demande_compte") if e.actor == ADMIN
    ]
    assert reprise.details == {"agent": ADMIN, "precedent": ASP}
    assert f"Prise en charge par {ADMIN}" in _page(asp.get(BASE + f"details/?id={premiere}"))
    # the holder gives it back
    admin.post(BASE + f"{premiere}/liberer")
    assert demande(app, premiere).assigned_to_id is None
    assert len(evenements(app, premiere, "liberer_demande_compte")) == 1
    # a decided request cannot be taken
    with app.app_context():
        comptes.valider_demande_compte(premiere, Acteur("agent", ASP))
    page = _page(asp.post(BASE + f"{premiere}/prendre", follow_redirects=True))
    assert "Cette demande a déjà été traitée (état : Validée)." in page
    assert demande(app, premiere).assigned_to_id is None
    # the dashboard counts the requests an agent holds
    asp.post(BASE + f"{trois[2]}/prendre")
    tableau = _page(asp.get("/backoffice/"))
    assert re.search(r"Demandes que j'ai prises en charge</h2>\s*<p[^>]*>1</p>", tableau)
    miennes = asp.get(BASE + "miennes/")
    assert miennes.status_code == 302
    assert sirets_listes(_page(asp.get(miennes.headers["Location"]))) == [siret(13)]


def test_bulk_je_prends(app, asp, trois):
    reponse = asp.post(
        BASE + "action/",
        data={"action": "prendre", "rowid": [str(i) for i in trois], "url": BASE},
        follow_redirects=True,
    )
    assert "3 demandes prises en charge." in _page(reponse)
    assert len(evenements(app, trois[1], "prendre_demande_compte")) == 1


# --- Valider -----------------------------------------------------------------------------------


def test_valider_creates_the_account_journals_and_queues_the_mails(app, asp, trois):
    reponse = asp.post(BASE + f"{trois[0]}/valider", data={"url": BASE}, follow_redirects=True)
    page = _page(reponse)
    assert "Demande validée : le compte de « BOULANGERIE DU PORT »" in page
    assert sirets_listes(page) == [siret(12), siret(13)]  # back on the list
    ligne = demande(app, trois[0])
    assert ligne.state == DemandeState.VALIDEE and ligne.decided_by == ASP
    (evenement,) = evenements(app, trois[0], "valider_demande_compte")
    assert (evenement.actor_type, evenement.actor) == ("agent", ASP)
    assert (evenement.state_from, evenement.state_to) == ("a_traiter", "validee")
    assert nombre(app, Etablissement, Etablissement.siret == siret(11)) == 1
    assert sorted(courriels(app)) == [
        ("alice@exemple.fr", "habilitation"),
        ("alice@exemple.fr", "identifiant"),
        ("alice@exemple.fr", "mot_de_passe"),
    ]
    # twice: « déjà traitée », nothing more
    page = _page(asp.post(BASE + f"{trois[0]}/valider", follow_redirects=True))
    assert "Cette demande a déjà été traitée (état : Validée)." in page
    assert len(courriels(app)) == 3
    assert "Validée le" in page and f"par {ASP}" in page


def test_valider_reports_a_rule_of_the_workflow(app, asp):
    demande_id = deposer(app, 11)
    with app.app_context():
        db.session.add(
            Etablissement(
                siret=siret(11),
                denomination="DÉJÀ LÀ",
                libelle_voie="rue",
                code_postal="44500",
                ville="La Baule",
                departement="44",
                courriel="x@exemple.fr",
                telephone="+33240000000",
            )
        )
        db.session.commit()
    page = _page(asp.post(BASE + f"{demande_id}/valider", follow_redirects=True))
    assert "Validation impossible : Un compte existe déjà pour ce SIRET." in page
    assert demande(app, demande_id).state == DemandeState.A_TRAITER


def test_bulk_valider(app, asp, trois):
    with app.app_context():
        comptes.rejeter_demande_compte(trois[2], Acteur("agent", ADMIN), "Motif")
    reponse = asp.post(
        BASE + "action/",
        data={"action": "valider", "rowid": [str(i) for i in trois], "url": BASE},
        follow_redirects=True,
    )
    page = _page(reponse)
    assert "2 demandes validées." in page
    assert "1 demande déjà traitée : ignorée." in page
    for demande_id in trois[:2]:
        assert demande(app, demande_id).state == DemandeState.VALIDEE
        assert len(evenements(app, demande_id, "valider_demande_compte")) == 1
    assert demande(app, trois[2]).state == DemandeState.REJETEE
    destinataires = {
        destinataire for destinataire, modele in courriels(app) if modele == "identifiant"
    }
    assert destinataires == {"alice@exemple.fr", "bob@exemple.fr"}


# --- Rejeter -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "donnees, message",
    [
        ({}, "Choisissez le motif du rejet"),
        ({"motif": ""}, "Choisissez le motif du rejet"),
        ({"motif": "invente"}, "Choisissez le motif du rejet"),
        ({"motif": "autre", "precisions": "   "}, "Précisez le motif du rejet"),
        ({"motif": "doublon", "precisions": "x" * 1501}, "1 500 caractères au plus."),
    ],
)
def test_rejeter_needs_a_reason(app, asp, donnees, message):
    demande_id = deposer(app, 11)
    reponse = asp.post(BASE + f"{demande_id}/rejeter", data=donnees)
    assert reponse.status_code == 200
    page = _page(reponse)
    assert "Le rejet n'a pas été enregistré : indiquez son motif." in page
    assert message in page
    assert demande(app, demande_id).state == DemandeState.A_TRAITER
    assert evenements(app, demande_id, "rejeter_demande_compte") == []
    assert courriels(app) == []


def test_rejeter_with_a_standard_reason_and_details(app, asp):
    demande_id = deposer(app, 11, courriel="alice@exemple.fr")
    reponse = asp.post(
        BASE + f"{demande_id}/rejeter",
        data={"motif": "etablissement_ferme", "precisions": "Cessation au 01/02/2026."},
        follow_redirects=True,
    )
    assert "Demande rejetée" in _page(reponse)
    ligne = demande(app, demande_id)
    motif = "L'établissement est fermé selon le répertoire SIRENE.\n\nPrécisions : Cessation au 01/02/2026."
    assert (ligne.state, ligne.motif_rejet, ligne.decided_by) == (DemandeState.REJETEE, motif, ASP)
    (evenement,) = evenements(app, demande_id, "rejeter_demande_compte")
    assert evenement.details == {"motif": motif} and evenement.actor == ASP
    with app.app_context():
        (mail,) = db.session.scalars(select(Notification)).all()
        assert (mail.recipient, mail.template) == ("alice@exemple.fr", "demande_compte_rejetee")
        assert mail.context["motif"] == motif
    page = _page(asp.get(BASE + f"details/?id={demande_id}"))
    assert "Rejetée le" in page and "Cessation au 01/02/2026." in page
    assert "Rejeter la demande" not in page and "Je prends" not in page


def test_rejeter_with_another_reason_sends_the_details_alone(app, asp):
    demande_id = deposer(app, 11)
    asp.post(
        BASE + f"{demande_id}/rejeter", data={"motif": "autre", "precisions": "  Pièce illisible. "}
    )
    assert demande(app, demande_id).motif_rejet == "Pièce illisible."


def test_bulk_rejection_asks_the_reason_on_a_confirmation_page(app, asp, trois):
    reponse = asp.post(
        BASE + "action/",
        data={"action": "rejeter", "rowid": [str(trois[0]), str(trois[2])], "url": BASE},
    )
    assert reponse.status_code == 200
    page = _page(reponse)
    assert "Rejeter 2 demandes" in page
    assert "BOULANGERIE DU PORT" in page and "LIBRAIRIE NANTAISE" in page
    assert "GARAGE PARISIEN" not in page
    assert "Motif du rejet" in page and 'name="rowid"' in page
    assert [d.state for d in map(lambda i: demande(app, i), trois)] == [DemandeState.A_TRAITER] * 3
    # without a reason: nothing happens, the page comes back with the message
    sans = asp.post(BASE + "rejet-groupe/", data={"rowid": [str(trois[0]), str(trois[2])]})
    assert "Aucun rejet n'a été enregistré : indiquez son motif." in _page(sans)
    assert "Choisissez le motif du rejet" in _page(sans)
    assert courriels(app) == []
    reponse = asp.post(
        BASE + "rejet-groupe/",
        data={
            "rowid": [str(trois[0]), str(trois[2])],
            "motif": "informations_discordantes",
            "url": BASE,
        },
        follow_redirects=True,
    )
    assert "2 demandes rejetées." in _page(reponse)
    for demande_id in (trois[0], trois[2]):
        assert demande(app, demande_id).state == DemandeState.REJETEE
        assert len(evenements(app, demande_id, "rejeter_demande_compte")) == 1
    assert sorted(courriels(app)) == [
        ("alice@exemple.fr", "demande_compte_rejetee"),
        ("chloe@exemple.fr", "demande_compte_rejetee"),
    ]
    assert demande(app, trois[1]).state == DemandeState.A_TRAITER


# --- CSRF on every POST -------------------------------------------------------------------------

JETON = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def _jeton(page: str) -> str:
    trouve = JETON.search(page)
    assert trouve, "no csrf_token in the page"
    return trouve.group(1)


@pytest.fixture
def csrf_app(make_app):
    return make_app(WTF_CSRF_ENABLED=True)


def _connecter_avec_jetons(client, agent):
    page = _page(client.get("/backoffice/connexion"))
    client.post(
        "/backoffice/connexion",
        data={"email": agent.email, "mot_de_passe": PHRASE, "csrf_token": _jeton(page)},
    )
    page = _page(client.get("/backoffice/connexion/code"))
    reponse = client.post(
        "/backoffice/connexion/code", data={"code": agent.code(), "csrf_token": _jeton(page)}
    )
    assert reponse.status_code == 303


@pytest.mark.parametrize(
    "chemin, donnees, verifier",
    [
        ("{id}/prendre", {}, lambda d: d.assigned_to_id is not None),
        ("{id}/valider", {}, lambda d: d.state == DemandeState.VALIDEE),
        ("{id}/rejeter", {"motif": "doublon"}, lambda d: d.state == DemandeState.REJETEE),
        ("action/", {"action": "valider", "rowid": "{id}"}, lambda d: d.state == "validee"),
        ("action/", {"action": "prendre", "rowid": "{id}"}, lambda d: d.assigned_to_id),
        ("rejet-groupe/", {"rowid": "{id}", "motif": "doublon"}, lambda d: d.state == "rejetee"),
    ],
)
def test_every_post_needs_the_csrf_token(csrf_app, chemin, donnees, verifier):
    demande_id = deposer(csrf_app, 11)
    client = csrf_app.test_client()
    _connecter_avec_jetons(client, creer(csrf_app, ASP, "asp"))
    url = BASE + chemin.format(id=demande_id)
    donnees = {k: v.format(id=demande_id) for k, v in donnees.items()}
    sans = client.post(url, data=donnees)
    assert sans.status_code == 400
    assert "Session expirée" in _page(sans)
    assert not verifier(demande(csrf_app, demande_id))
    assert courriels(csrf_app) == []
    page = _page(client.get(BASE + f"details/?id={demande_id}"))
    avec = client.post(url, data={**donnees, "csrf_token": _jeton(page)})
    assert avec.status_code in (200, 302), _page(avec)
    assert verifier(demande(csrf_app, demande_id))


def test_liberer_needs_the_csrf_token(csrf_app):
    demande_id = deposer(csrf_app, 11)
    client = csrf_app.test_client()
    _connecter_avec_jetons(client, creer(csrf_app, ASP, "asp"))
    page = _page(client.get(BASE + f"details/?id={demande_id}"))
    client.post(BASE + f"{demande_id}/prendre", data={"csrf_token": _jeton(page)})
    assert demande(csrf_app, demande_id).assigned_to_id is not None
    assert client.post(BASE + f"{demande_id}/liberer").status_code == 400
    assert demande(csrf_app, demande_id).assigned_to_id is not None
    client.post(BASE + f"{demande_id}/liberer", data={"csrf_token": _jeton(page)})
    assert demande(csrf_app, demande_id).assigned_to_id is None


def test_the_pages_carry_csrf_tokens_and_no_inline_script_or_style(csrf_app):
    demande_id = deposer(csrf_app, 11)
    client = csrf_app.test_client()
    _connecter_avec_jetons(client, creer(csrf_app, ASP, "asp"))
    liste = client.get(BASE).get_data(as_text=True)
    detail = client.get(BASE + f"details/?id={demande_id}").get_data(as_text=True)
    page = client.post(
        BASE + "action/",
        data={"action": "rejeter", "rowid": str(demande_id), "csrf_token": _jeton(liste)},
    ).get_data(as_text=True)
    assert "Rejeter 1 demande" in html.unescape(page)
    for contenu in (liste, detail, page):
        assert 'name="csrf_token"' in contenu
        assert "<style" not in contenu and " style=" not in contenu
        assert not re.search(r"\son[a-z]+=", contenu)
    assert detail.count('name="csrf_token"') == 4  # je prends, valider, rejeter, sign-out


# --- exports -------------------------------------------------------------------------------------


def lire_export(reponse, format_) -> list[list[str]]:
    if format_ == "csv":
        texte = reponse.get_data().decode("utf-8")
        assert texte.startswith("\ufeff")
        return list(csv.reader(io.StringIO(texte[1:]), delimiter=";"))
    classeur = openpyxl.load_workbook(io.BytesIO(reponse.get_data()))
    feuille = classeur.active
    for ligne in feuille.iter_rows():
        for cellule in ligne:
            assert cellule.data_type != "f", cellule.value  # no formula anywhere
    return [
        ["" if v is None else str(v) for v in ligne]
        for ligne in feuille.iter_rows(values_only=True)
    ]


@pytest.mark.parametrize("format_", ["csv", "xlsx"])
def test_exports_neutralise_formulas_and_speak_french(app, asp, format_):
    deposer(app, 11, denomination=FORMULE, courriel="alice@exemple.fr")
    deposer(app, 12, denomination="@SOMME(A1:A9)", telephone="+33240000000")
    reponse = asp.get(BASE + f"export/{format_}/")
    assert reponse.status_code == 200
    assert "attachment" in reponse.headers["Content-Disposition"]
    assert "demandes-creation-compte_" in reponse.headers["Content-Disposition"]
    lignes = lire_export(reponse, format_)
    assert lignes[0] == [
        "N°",
        "Déposée le",
        "SIRET",
        "Dénomination",
        "Département",
        "Personne à contacter",
        "Courriel du contact",
        "Téléphone du contact",
        "État",
        "Prise en charge par",
        "Traitée le",
        "Traitée par",
        "Motif du rejet",
    ]
    premiere, seconde = lignes[1], lignes[2]
    assert premiere[3] == "'" + FORMULE
    assert seconde[3] == "'@SOMME(A1:A9)"
    assert premiere[2] == siret(11) and premiere[4] == "44" and premiere[8] == "À traiter"
    assert premiere[5] == "test apart" and premiere[6] == "alice@exemple.fr"
    assert premiere[7] == "'+33550505050"  # a phone number starts with + too
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", premiere[1])


def test_exports_follow_the_tab_the_filters_and_the_search(app, asp, trois):
    with app.app_context():
        comptes.valider_demande_compte(trois[1], Acteur("agent", ASP))
    assert [ligne[2] for ligne in lire_export(asp.get(BASE + "export/csv/"), "csv")[1:]] == [
        siret(11),
        siret(13),
    ]
    validees = lire_export(asp.get(BASE + "export/csv/?etat=validee"), "csv")[1:]
    assert [(ligne[2], ligne[8], ligne[11]) for ligne in validees] == [(siret(12), "Validée", ASP)]
    cherche = lire_export(asp.get(BASE + "export/csv/?search=librairie"), "csv")[1:]
    assert [ligne[2] for ligne in cherche] == [siret(13)]


@pytest.mark.parametrize(
    "valeur, attendu",
    [
        ("=1+1", "'=1+1"),
        ("+33612345678", "'+33612345678"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("\n=1", "'\n=1"),
        ("  =1+1", "'  =1+1"),
        ("BOULANGERIE = PAIN", "BOULANGERIE = PAIN"),
        ("", ""),
        (None, None),
        (42, 42),
        (-3, -3),
    ],
)
def test_neutraliser(valeur, attendu):
    assert neutraliser(valeur) == attendu


# --- in a real Chromium, under the CSP -----------------------------------------------------------


VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || e.sample || ""));
});
"""


@pytest.fixture
def serveur(make_app):
    from werkzeug.serving import make_server

    app = make_app(WTF_CSRF_ENABLED=True)
    agent = creer(app, ASP, "asp")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}", agent
    server.shutdown()
    thread.join(timeout=5)


@pytest.mark.browser
@pytest.mark.skipif(not _browser_available(), reason="Playwright or Chromium not installed")
def test_an_agent_works_the_queue_in_chromium(serveur, navigateur):  # noqa: F811
    """Sign in with TOTP, filter the queue, take a request, validate it from its page, reject
    two others in bulk with a reason: no CSP violation. Screenshots: backoffice-demandes-*."""
    app, base, agent = serveur
    onglet = navigateur
    ids = [
        deposer(app, 11, "44500", "BOULANGERIE DU PORT", "alice@exemple.fr"),
        deposer(app, 12, "75011", "GARAGE PARISIEN", "bob@exemple.fr"),
        deposer(app, 13, "44000", "LIBRAIRIE NANTAISE", "chloe@exemple.fr"),
    ]
    with app.app_context():
        db.session.add(
            SireneEtablissement(
                siret=siret(11),
                siren=siret(11)[:9],
                denomination="BOULANGERIE DU PORT SARL",
                libelle_voie="LA PLAGES",
                code_postal="44500",
                libelle_commune="LA BAULE-ESCOUBLAC",
            )
        )
        db.session.commit()
    console = []
    onglet.on("console", lambda message: console.append(message.text))
    onglet.on("dialog", lambda dialog: dialog.accept())
    onglet.add_init_script(VIOLATIONS)

    onglet.goto(f"{base}{BASE}")
    onglet.fill("#email", ASP)
    onglet.fill("#mot_de_passe", PHRASE)
    onglet.get_by_role("button", name="Continuer").click()
    onglet.fill("#code", agent.code())
    onglet.get_by_role("button", name="Se connecter").click()
    onglet.wait_for_url(f"{base}{BASE}")
    assert onglet.locator("td.col-siret").count() == 3
    capture(onglet, "01-file")

    # A filter from « Ajouter un filtre »: département 44.
    onglet.get_by_text("Ajouter un filtre").click()
    onglet.locator("a.filter", has_text="Département").click()
    onglet.locator("#filter_form select.filter-val").select_option("44", force=True)
    onglet.locator("#filter_form button[type=submit]").click(force=True)
    onglet.wait_for_url(re.compile(r".*flt\d+_departement=44.*"))
    assert onglet.locator("td.col-siret").count() == 2

    # The request's page: « Je prends », then « Valider la demande ».
    onglet.get_by_role("link", name="BOULANGERIE DU PORT").click()
    onglet.wait_for_url(re.compile(r".*/details/.*"))
    assert "Écart" in onglet.inner_text("main")  # the dénomination differs from SIRENE
    onglet.get_by_role("button", name="Je prends").click()
    onglet.wait_for_load_state("load")
    assert "Vous avez pris en charge cette demande." in onglet.inner_text("main")
    capture(onglet, "02-detail")
    onglet.get_by_role("button", name="Valider la demande").click()
    onglet.wait_for_load_state("load")
    assert "Demande validée" in onglet.inner_text("main")
    assert demande(app, ids[0]).state == DemandeState.VALIDEE
    capture(onglet, "03-validee")

    # Bulk: select the two others, « Rejeter », the confirmation page asks the reason.
    onglet.goto(f"{base}{BASE}")
    for case in onglet.locator("input.action-checkbox").all():
        case.check()
    onglet.get_by_role("button", name="Avec la sélection").click()
    onglet.get_by_text("Rejeter", exact=True).click()
    onglet.wait_for_load_state("load")
    assert "Rejeter 2 demandes" in onglet.inner_text("main")
    onglet.get_by_role("button", name="Rejeter ces demandes").click()
    onglet.wait_for_load_state("load")
    assert "Choisissez le motif du rejet" in onglet.inner_text("main")
    onglet.select_option("#motif", "informations_discordantes")
    capture(onglet, "04-rejet-groupe")
    onglet.get_by_role("button", name="Rejeter ces demandes").click()
    onglet.wait_for_load_state("load")
    assert "2 demandes rejetées." in onglet.inner_text("main")
    assert [demande(app, i).state for i in ids[1:]] == [DemandeState.REJETEE] * 2

    violations = onglet.evaluate("window.__violations")
    refus = [texte for texte in console if "Content Security Policy" in texte]
    assert violations == [] and refus == [], (violations, refus)


def capture(onglet, nom: str) -> None:
    onglet.screenshot(path=str(ARTEFACTS / f"backoffice-demandes-{nom}.png"), full_page=True)


def test_xlsx_text_cells_are_never_formulas_even_unneutralised():
    from openpyxl import Workbook

    from backoffice.exports import _cellule

    classeur = Workbook(write_only=True)
    feuille = classeur.create_sheet("Essai")
    feuille.append([_cellule(feuille, v) for v in ("=1+1", None, "", "a\x00b\x07c", 12)])
    tampon = io.BytesIO()
    classeur.save(tampon)
    lu = openpyxl.load_workbook(io.BytesIO(tampon.getvalue())).active
    (ligne,) = lu.iter_rows()
    assert [c.value for c in ligne] == ["=1+1", None, None, "abc", 12]  # XML-forbidden: dropped
    assert ligne[0].data_type == "s"  # text, not a formula


def test_exports_are_capped_per_format(app, asp, trois, monkeypatch):
    monkeypatch.setattr(vue.VueDemandes, "export_max_rows", 2)
    monkeypatch.setattr(vue.VueDemandes, "export_max_lignes_xlsx", 1)
    assert len(lire_export(asp.get(BASE + "export/csv/"), "csv")) == 1 + 2
    assert len(lire_export(asp.get(BASE + "export/xlsx/"), "xlsx")) == 1 + 1
    page = _page(asp.get(BASE))
    assert "Exporter en CSV, 2 lignes au plus" in page
    assert "Exporter en XLSX (Excel), 1 lignes au plus" in page
