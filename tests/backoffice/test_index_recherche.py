"""Every search, filter and sort of the back-office lists is served by an index on PostgreSQL
(issue #6 item 9; migration 0010_index_recherche).

PostgreSQL only (skipped on SQLite, which holds no such volumes). The tables are filled with
thousands of rows by the benchmark's own generator (``bench.backoffice_demandes.charger_comptes``:
below 30,000 rows per table, so that ``ANALYZE`` reads them whole and the plans do not depend on a
sample), then each list page is requested as an agent would, through the real view; every
SELECT the request sends to a large table is explained (``EXPLAIN (FORMAT JSON)``, with the
request's own parameters) and must read it through an index — no ``Seq Scan`` — and the index
made for that search, filter or sort must be among those read.

Exempt: a statement with neither ``WHERE`` nor ``LIMIT`` (the support queue's counts of a whole
table read every row whatever the plan).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select, text

from bench.backoffice_demandes import DEBUT_COMPTES, DUREE_COMPTES, SQL_COMPTES, charger_comptes
from extensions import db
from models.comptes import Etablissement, Utilisateur
from tests.backoffice.conftest import ASP, UD, connecter, creer

ETABLISSEMENTS = 20_000
GRANDES_TABLES = {
    "etablissement",
    "utilisateur",
    "habilitation",
    "audit_event",
    "demande_assistance",
    "demande_compte",
}
INDEX = ("Index Scan", "Index Only Scan", "Bitmap Index Scan")


@pytest.fixture
def base(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("index plans: PostgreSQL only")
    asp = creer(app, ASP, role="asp")
    ud = creer(app, UD, role="ud", departements="13,75")
    with app.app_context():
        with db.engine.begin() as connexion:
            charger_comptes(connexion, ETABLISSEMENTS, tuple(SQL_COMPTES))
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connexion:
            for table in GRANDES_TABLES:
                connexion.execute(text(f"VACUUM ANALYZE {table}"))
    clients = {}
    for agent in (asp, ud):
        clients[agent.email] = app.test_client()
        connecter(clients[agent.email], agent)
    return app, clients


def noeuds(plan: dict):
    yield plan
    for enfant in plan.get("Plans", []):
        yield from noeuds(enfant)


def plans_de_la_page(app, client, url: str) -> list[tuple[str, list[dict]]]:
    """(SQL, plan nodes) of every SELECT on a large table sent while serving ``url``."""
    envoyees = []

    def garder(conn, cursor, statement, parameters, context, executemany):
        envoyees.append((statement, parameters))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", garder)
        try:
            reponse = client.get(url)
        finally:
            event.remove(db.engine, "before_cursor_execute", garder)
        assert reponse.status_code == 200, (url, reponse.status_code)
        resultat = []
        with db.engine.connect() as connexion:
            for sql, parametres in envoyees:
                tables = re.findall(r"\bFROM (\w+)|\bJOIN (\w+)", sql)
                noms = {t for paire in tables for t in paire if t} & GRANDES_TABLES
                if not sql.lstrip().upper().startswith("SELECT") or not noms:
                    continue
                if not re.search(r"\b(WHERE|LIMIT)\b", sql):
                    continue
                plan = connexion.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql, parametres)
                resultat.append((sql, list(noeuds(plan.scalar()[0]["Plan"]))))
    assert resultat, f"no query of a large table for {url}"
    return resultat


def sequentiels(plan: list[dict]) -> list[str]:
    """The large tables a plan reads sequentially."""
    return [
        n["Relation Name"]
        for n in plan
        if n["Node Type"] == "Seq Scan" and n["Relation Name"] in GRANDES_TABLES
    ]


def index_lus(plan: list[dict]) -> set[str]:
    return {n["Index Name"] for n in plan if n["Node Type"] in INDEX}


def verifier(app, client, url: str, attendus: set[str]) -> None:
    """No sequential scan of a large table, and every index of ``attendus`` read."""
    lus = set()
    for sql, plan in plans_de_la_page(app, client, url):
        assert not sequentiels(plan), f"{url}: Seq Scan on {sequentiels(plan)}\n{sql}"
        lus |= index_lus(plan)
    assert attendus <= lus, f"{url}: {sorted(attendus - lus)} not used (read: {sorted(lus)})"


def cle_filtre(app, endpoint: str, colonne, nom: str, operation: str | None = None) -> str:
    """The URL argument of a filter of a view (``flt0_<key>``)."""
    for vue in app.extensions["admin"][0]._views:
        if getattr(vue, "endpoint", None) != endpoint:
            continue
        for cle, (_, filtre) in vue._filter_args.items():
            if (
                filtre.column is colonne or str(filtre.column) == str(colonne)
            ) and filtre.name == nom:
                if operation is None or str(filtre.operation()) == operation:
                    return f"flt0_{cle}"
    raise LookupError((endpoint, nom, operation))


def une_semaine(app, endpoint: str, modele, nom: str) -> str:
    """The query string of « créé(e) à partir du … jusqu'au … » over one week in the first
    tenth of the rows' creation dates."""
    debut = (DEBUT_COMPTES + DUREE_COMPTES / 10).date()
    depuis = cle_filtre(app, endpoint, modele.created_at, nom, "à partir du")
    jusqua = cle_filtre(app, endpoint, modele.created_at, nom, "jusqu'au").replace("flt0", "flt1")
    return f"?{depuis}={debut}&{jusqua}={debut + timedelta(days=6)}"


def test_the_check_tells_a_sequential_scan_from_an_index_scan(base):
    """The same table, a column without an index (the town) and one with (the SIRET)."""
    app, _ = base
    with app.app_context(), db.engine.connect() as connexion:

        def plan(sql: str) -> list[dict]:
            resultat = connexion.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql).scalar()
            return list(noeuds(resultat[0]["Plan"]))

        sans_index = plan("SELECT id FROM etablissement WHERE ville = 'VILLE 13'")
        avec_index = plan("SELECT id FROM etablissement WHERE siret = '12345678901234'")
    assert sequentiels(sans_index) == ["etablissement"]
    assert not sequentiels(avec_index)
    assert index_lus(avec_index) & {"uq_etablissement_siret", "ix_etablissement_siret_prefixe"}


def test_the_etablissements_list_reads_an_index_for_each_search_filter_and_sort(base):
    app, clients = base
    asp = clients[ASP]
    with app.app_context():
        milieu = db.session.scalar(select(Etablissement).where(Etablissement.id == 12_345))
        siret = milieu.siret
    b = "/backoffice/etablissements/"
    verifier(app, asp, b, {"ix_etablissement_created"})
    verifier(app, asp, b + f"?search={siret[:9]}", {"ix_etablissement_siret_prefixe"})
    verifier(app, asp, b + f"?search={siret}", set())
    verifier(app, asp, b + "?search=plomberie+legrand", {"ix_etablissement_denomination_trgm"})
    verifier(app, asp, b + "?sort=0", {"uq_etablissement_siret"})
    verifier(app, asp, b + "?sort=1", {"ix_etablissement_denomination"})
    verifier(app, asp, b + "?sort=4", {"ix_etablissement_departement"})
    departement = cle_filtre(app, "bo_etablissements", Etablissement.departement, "Département")
    verifier(app, asp, b + f"?{departement}=13", set())
    verifier(
        app,
        asp,
        b + une_semaine(app, "bo_etablissements", Etablissement, "Créé"),
        {"ix_etablissement_created"},
    )
    verifier(app, clients[UD], b, set())


def test_the_utilisateurs_list_reads_an_index_for_each_search_filter_and_sort(base):
    app, clients = base
    asp = clients[ASP]
    with app.app_context():
        identifiant = db.session.scalar(
            select(Utilisateur.identifiant).where(Utilisateur.id == 7_531)
        )
    b = "/backoffice/utilisateurs/"
    prefixes = {
        "ix_utilisateur_identifiant_prefixe",
        "ix_utilisateur_nom_prefixe",
        "ix_utilisateur_prenom_prefixe",
        "ix_utilisateur_courriel_prefixe",
    }
    verifier(app, asp, b, {"ix_utilisateur_created"})
    verifier(app, asp, b + f"?search={identifiant}", prefixes)
    verifier(app, asp, b + "?search=legrand+sophie", set())
    verifier(app, asp, b + "?sort=0", {"uq_utilisateur_identifiant"})
    verifier(app, asp, b + "?sort=1", {"ix_utilisateur_nom"})
    actif = cle_filtre(app, "bo_utilisateurs", Utilisateur.actif, "Active")
    verifier(app, asp, b + f"?{actif}=0", {"ix_utilisateur_actif_created"})
    identifiant_filtre = cle_filtre(app, "bo_utilisateurs", Utilisateur.identifiant, "Identifiant")
    verifier(app, asp, b + f"?{identifiant_filtre}={identifiant}", set())
    departement = cle_filtre(
        app, "bo_utilisateurs", Utilisateur.id, "Département d'un établissement"
    )
    verifier(app, asp, b + f"?{departement}=13", set())
    verifier(
        app,
        asp,
        b + une_semaine(app, "bo_utilisateurs", Utilisateur, "Créée"),
        {"ix_utilisateur_created"},
    )
    verifier(app, clients[UD], b, set())


def test_the_habilitations_list_reads_an_index_for_each_search_filter_and_sort(base):
    from models.comptes import Habilitation

    app, clients = base
    asp = clients[ASP]
    with app.app_context():
        siret = db.session.scalar(select(Etablissement.siret).where(Etablissement.id == 4_321))
        identifiant = db.session.scalar(
            select(Utilisateur.identifiant).where(Utilisateur.id == 2_468)
        )
    b = "/backoffice/habilitations/"
    verifier(app, asp, b, {"ix_habilitation_created"})
    verifier(app, asp, b + "?sort=2", {"ix_habilitation_role_created"})
    verifier(app, asp, b + "?sort=3", {"ix_habilitation_actif_created"})
    role = cle_filtre(app, "bo_habilitations", Habilitation.role, "Rôle")
    verifier(app, asp, b + f"?{role}=utilisateur", {"ix_habilitation_role_created"})
    actif = cle_filtre(app, "bo_habilitations", Habilitation.actif, "Active")
    verifier(app, asp, b + f"?{actif}=0", {"ix_habilitation_actif_created"})
    verifier(
        app,
        asp,
        b + f"?search={siret[:10]}",
        {"ix_etablissement_siret_prefixe", "ix_habilitation_etablissement_id"},
    )
    verifier(
        app,
        asp,
        b + f"?search={identifiant}",
        {"ix_utilisateur_identifiant_prefixe", "uq_habilitation_utilisateur_etablissement"},
    )
    departement = cle_filtre(app, "bo_habilitations", Habilitation.etablissement_id, "Département")
    verifier(app, asp, b + f"?{departement}=13", set())
    siret_filtre = cle_filtre(app, "bo_habilitations", Habilitation.etablissement_id, "SIRET")
    verifier(app, asp, b + f"?{siret_filtre}={siret}", {"ix_habilitation_etablissement_id"})
    verifier(
        app,
        asp,
        b + une_semaine(app, "bo_habilitations", Habilitation, "Créée"),
        {"ix_habilitation_created"},
    )
    verifier(app, clients[UD], b, set())


def test_the_journal_reads_an_index_for_each_filter(base):
    from backoffice.vues import journal

    app, clients = base
    asp = clients[ASP]
    with app.app_context():
        vue = journal._vue()
        cle = {f: f"flt0_{vue.cle_filtre(f)}" for f in journal.VueJournal.column_filters}
    b = "/backoffice/journal/"
    jour = (DEBUT_COMPTES + DUREE_COMPTES / 2).date()
    verifier(app, asp, b, {"ix_audit_event_occurred_at"})
    verifier(
        app, asp, b + f"?{cle[journal.FILTRE_ACTEUR]}=agent7@asp.localhost",
        {"ix_audit_event_actor_occurred"},
    )  # fmt: skip
    verifier(
        app, asp, b + f"?{cle[journal.FILTRE_OPERATION]}=retirer_utilisateur",
        {"ix_audit_event_operation_occurred"},
    )  # fmt: skip
    verifier(
        app,
        asp,
        b + f"?{cle[journal.FILTRE_TYPE_OBJET]}=habilitation"
        f"&{cle[journal.FILTRE_ID_OBJET].replace('flt0', 'flt1')}=1234",
        {"ix_audit_event_object"},
    )
    verifier(app, asp, b + f"?{cle[journal.FILTRE_ID_OBJET]}=1234", {"ix_audit_event_object"})
    verifier(app, asp, b + f"?{cle[journal.FILTRE_TYPE_ACTEUR]}=systeme", set())
    verifier(
        app,
        asp,
        b + f"?{cle[journal.FILTRE_DEPUIS]}={jour}"
        f"&{cle[journal.FILTRE_JUSQUAU].replace('flt0', 'flt1')}={jour + timedelta(days=2)}",
        {"ix_audit_event_occurred_at"},
    )


def test_the_support_queue_reads_an_index_for_each_tab_and_search(base):
    app, clients = base
    asp = clients[ASP]
    b = "/backoffice/assistance/"
    verifier(app, asp, b, {"ix_demande_assistance_state_created"})  # the count of the tab
    verifier(app, asp, b + "?etat=toutes", {"ix_demande_assistance_created"})
    verifier(
        app, asp, b + "?etat=toutes&search=demandeur1234", {"ix_demande_assistance_recherche_trgm"}
    )
    verifier(app, asp, b + "?etat=toutes&search=demandeur1234%40free.fr", set())


def test_the_account_requests_queue_keeps_an_index_without_ix_demande_compte_departement(base):
    """0010 dropped the index of ``departement`` alone: the composite one leading with it
    serves the UD's scope and the filter."""
    app, clients = base
    b = "/backoffice/demandes/"
    verifier(
        app,
        clients[ASP],
        b + "?flt0_etat=validee&flt1_departement=13",
        {"ix_demande_compte_departement_state_created"},
    )
    verifier(app, clients[UD], b, set())
    verifier(app, clients[ASP], b + "?etat=toutes&search=plomberie+legrand", set())
