"""« Journal »: access per role (the UD denied), read-only, newest first, a public operation's
state change with who, when, from and to, each filter, the details shown escaped, and the
CSV/XLSX exports with formulas neutralised."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import openpyxl
import pytest
from sqlalchemy import func, select

from backoffice.vues import journal as vue_journal
from extensions import db
from models.audit import AuditEvent
from tests.backoffice.conftest import ADMIN, ASP, UD, connecter, creer
from workflows import comptes
from workflows.journal import Acteur, journaliser

ROOT = Path(__file__).resolve().parents[2]
DEMANDE = json.loads(
    (ROOT / "forms/examples/demande-creation-compte.json").read_text(encoding="utf-8")
)
OBJET = re.compile(r"(Demande de création de compte|Établissement|Demande d'assistance) n° (\S+)")
URLS = [
    ("GET", "/backoffice/journal/"),
    ("GET", "/backoffice/journal/?flt0_operation_equals=demander_compte"),
    ("GET", "/backoffice/journal/details/?id=1"),
    ("GET", "/backoffice/journal/export/csv/"),
    ("GET", "/backoffice/journal/export/xlsx/"),
    ("GET", "/backoffice/journal/new/"),
    ("GET", "/backoffice/journal/edit/?id=1"),
    ("POST", "/backoffice/journal/new/"),
    ("POST", "/backoffice/journal/delete/"),
    ("POST", "/backoffice/journal/action/"),
]


def page(reponse) -> str:
    return html.unescape(reponse.get_data(as_text=True))


def client_de(app, email=ASP, role="asp", departements=""):
    client = app.test_client()
    connecter(client, creer(app, email, role, departements))
    return client


def evenement(app, quand: datetime | None = None, **valeurs) -> int:
    """One journal row (``quand`` in UTC); returns its id."""
    with app.app_context():
        acteur = Acteur(valeurs.pop("actor_type", "agent"), valeurs.pop("actor", ADMIN))
        event = journaliser(
            acteur,
            valeurs.pop("operation", "clore_assistance"),
            valeurs.pop("object_type", "demande_assistance"),
            valeurs.pop("object_id", 1),
            **valeurs,
        )
        if quand is not None:
            event.occurred_at = quand
        db.session.commit()
        return event.id


def lignes(texte: str) -> list[str]:
    """The rows of the list, as text, in their order."""
    corps = texte.split("<tbody>", 1)[-1] if "<tbody>" in texte else texte
    return [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", tr)).strip() for tr in corps.split("<tr")[2:]
    ]


def cles_filtres(app) -> dict[str, str]:
    """{filter object name: its URL key}, as the view computes them."""
    vue = next(
        v for v in app.extensions["admin"][0]._views if isinstance(v, vue_journal.VueJournal)
    )
    return {
        nom: vue.cle_filtre(getattr(vue_journal, nom))
        for nom in dir(vue_journal)
        if nom.startswith("FILTRE_")
    }


# --- access -------------------------------------------------------------------------------------


@pytest.mark.parametrize("methode, url", URLS)
def test_anonymous_requests_are_sent_to_the_sign_in_page(app, methode, url):
    reponse = app.test_client().open(url, method=methode)
    assert reponse.status_code == 302
    assert reponse.headers["Location"].startswith("/backoffice/connexion")


@pytest.mark.parametrize("methode, url", URLS)
def test_an_agent_ud_is_denied_the_journal(app, methode, url):
    evenement(app)
    client = client_de(app, UD, "ud", "44")
    reponse = client.open(url, method=methode)
    assert reponse.status_code == 403
    assert "Accès refusé" in page(reponse)


@pytest.mark.parametrize("email, role", [(ASP, "asp"), (ADMIN, "administrateur")])
def test_asp_and_administrators_read_the_journal(app, email, role):
    event_id = evenement(app, details={"a": 1})
    client = client_de(app, email, role)
    texte = page(client.get("/backoffice/journal/"))
    entetes = re.findall(r'<th class="column-header[^"]*">\s*(?:<a [^>]*>\s*)?([^<]+?)\s*<', texte)
    assert entetes == [
        "Date",
        "Acteur",
        "Opération",
        "Objet",
        "État avant",
        "État après",
        "Détails",
    ]
    assert "Demande d'assistance close" in texte
    assert client.get(f"/backoffice/journal/details/?id={event_id}").status_code == 200
    assert 'href="/backoffice/journal/"' in page(client.get("/backoffice/"))


def test_the_journal_is_read_only(app):
    event_id = evenement(app, operation="clore_assistance")
    client = client_de(app, ADMIN, "administrateur")
    texte = page(client.get("/backoffice/journal/"))
    assert "/backoffice/journal/new/" not in texte
    assert "/backoffice/journal/edit/" not in texte
    assert "/backoffice/journal/delete/" not in texte
    assert client.get("/backoffice/journal/new/").status_code == 302
    assert client.get(f"/backoffice/journal/edit/?id={event_id}").status_code == 302
    client.post("/backoffice/journal/delete/", data={"id": event_id})
    client.post("/backoffice/journal/new/", data={"operation": "x", "object_type": "y"})
    client.post(f"/backoffice/journal/edit/?id={event_id}", data={"operation": "falsifie"})
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent.operation)
            .where(AuditEvent.actor == ADMIN)
            .where(AuditEvent.object_type == "demande_assistance")
        ).all()
        assert rows == ["clore_assistance"]


# --- content ------------------------------------------------------------------------------------


def test_a_public_state_change_appears_with_who_when_from_and_to(make_app, tmp_path):
    app = make_app(MAIL_SERVER="", MAIL_FILE_DIR=str(tmp_path / "mails"), REDIS_URL="")
    with app.app_context():
        demande = comptes.demander_compte(DEMANDE, 1, Acteur("usager", "apart.test@yopmail.com"))
        demande_id = demande.id
        comptes.rejeter_demande_compte(demande_id, Acteur("agent", ASP), "SIRET inconnu")
        quand = db.session.scalar(
            select(AuditEvent.occurred_at).where(AuditEvent.operation == "demander_compte")
        )
    client = client_de(app)
    texte = page(client.get("/backoffice/journal/"))
    rangs = lignes(texte)
    depot = next(r for r in rangs if "Demande de création de compte déposée" in r)
    heure = quand.astimezone(vue_journal.PARIS).strftime("%d/%m/%Y %H:%M")
    assert heure in depot  # when, in Paris time
    assert "Usager apart.test@yopmail.com" in depot  # who
    assert f"Demande de création de compte n° {demande_id}" in depot  # what
    assert "— À traiter" in depot  # from nothing to « à traiter »
    rejet = next(r for r in rangs if "Demande de création de compte rejetée" in r)
    assert f"Agent {ASP}" in rejet and "À traiter Rejetée" in rejet
    assert rangs.index(rejet) < rangs.index(depot)  # newest first


def test_the_newest_events_come_first(app):
    evenement(app, datetime(2026, 3, 1, 9, tzinfo=UTC), object_id="ancien")
    evenement(app, datetime(2026, 3, 3, 9, tzinfo=UTC), object_id="recent")
    evenement(app, datetime(2026, 3, 2, 9, tzinfo=UTC), object_id="milieu")
    texte = page(client_de(app).get("/backoffice/journal/"))
    ordre = [m.group(2) for r in lignes(texte) if (m := OBJET.search(r))]
    assert ordre == ["recent", "milieu", "ancien"]
    assert "01/03/2026 10:00:00" in texte  # 9:00 UTC is 10:00 in Paris in winter


def test_details_are_shown_readably_and_escaped(app):
    event_id = evenement(
        app,
        details={
            "message": "<script>alert('x')</script>\nsuite",
            "long": "é" * 400,
            "liste": [1, "<b>"],
        },
    )
    client = client_de(app)
    brut = client.get("/backoffice/journal/").get_data(as_text=True)
    assert "<script>alert(" not in brut and "<b>" not in brut
    assert (
        '<li><span class="text-muted">message :</span> '
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; suite</li>"
    ) in brut
    assert '<li><span class="text-muted">liste :</span> [1, &#34;&lt;b&gt;&#34;]</li>' in brut
    assert "é" * 199 + "…" in brut and "é" * 200 not in brut  # cut in the list
    detail = client.get(f"/backoffice/journal/details/?id={event_id}").get_data(as_text=True)
    assert '<pre class="small mb-0 text-break">{\n  &#34;liste&#34;: [\n    1,' in detail
    assert "é" * 400 in detail  # whole on the row's page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;\\nsuite" in detail
    assert "<script>alert(" not in detail


# --- filters ------------------------------------------------------------------------------------


def test_each_filter_narrows_the_list(app):
    cles = cles_filtres(app)
    evenement(
        app,
        datetime(2026, 1, 10, 12, tzinfo=UTC),
        object_type="demande_compte",
        object_id=7,
        operation="demander_compte",
        actor_type="usager",
        actor="u@exemple.fr",
    )
    evenement(
        app,
        datetime(2026, 1, 20, 12, tzinfo=UTC),
        object_type="demande_compte",
        object_id=8,
        operation="rejeter_demande_compte",
        actor_type="agent",
        actor=ASP,
    )
    evenement(
        app,
        datetime(2026, 1, 31, 23, 30, tzinfo=UTC),
        object_type="etablissement",
        object_id=7,
        operation="modifier_etablissement",
        actor_type="usager",
        actor="u@exemple.fr",
    )
    client = client_de(app, ADMIN, "administrateur")

    def objets(**filtres) -> list[str]:
        args = {f"flt{rang}_{cles[nom]}": v for rang, (nom, v) in enumerate(filtres.items())}
        texte = page(client.get("/backoffice/journal/", query_string=args))
        return sorted(f"{m.group(1)} {m.group(2)}" for r in lignes(texte) if (m := OBJET.search(r)))

    c7, c8, e7 = (
        "Demande de création de compte 7",
        "Demande de création de compte 8",
        "Établissement 7",
    )
    assert objets() == [c7, c8, e7]
    assert objets(FILTRE_TYPE_OBJET="demande_compte", FILTRE_ID_OBJET="7") == [c7]
    assert objets(FILTRE_ID_OBJET="7") == [c7, e7]
    assert objets(FILTRE_OPERATION="rejeter_demande_compte") == [c8]
    assert objets(FILTRE_ACTEUR="u@exemple.fr") == [c7, e7]
    assert objets(FILTRE_TYPE_ACTEUR="agent", FILTRE_TYPE_OBJET="demande_compte") == [c8]
    assert objets(FILTRE_DEPUIS="2026-01-15") == [c8, e7]
    assert objets(FILTRE_JUSQUAU="2026-01-20") == [c7, c8]
    # Days are Paris days: 23:30 UTC on 31 January is 1 February in Paris.
    assert objets(FILTRE_DEPUIS="01/02/2026") == [e7]
    assert objets(FILTRE_DEPUIS="2026-01-11", FILTRE_JUSQUAU="2026-01-31") == [c8]


def test_a_malformed_date_is_refused_with_a_message(app):
    cles = cles_filtres(app)
    client = client_de(app)
    texte = page(
        client.get("/backoffice/journal/", query_string={f"flt0_{cles['FILTRE_DEPUIS']}": "hier"})
    )
    assert "hier" in texte and "alert-danger" in texte


def test_an_object_links_to_its_history(app):
    evenement(app, object_type="demande_assistance", object_id=42)
    evenement(app, object_type="demande_assistance", object_id=43)
    client = client_de(app)
    texte = client.get("/backoffice/journal/").get_data(as_text=True)
    lien = html.unescape(
        re.search(r'<a href="([^"]+)" title="Historique de cet objet">[^<]* n° 42<', texte).group(1)
    )
    cles = cles_filtres(app)
    assert parse_qs(urlsplit(lien).query) == {
        f"flt0_{cles['FILTRE_TYPE_OBJET']}": ["demande_assistance"],
        f"flt1_{cles['FILTRE_ID_OBJET']}": ["42"],
    }
    historique = page(client.get(lien))
    assert "n° 42" in historique and "n° 43" not in historique


def test_filter_keys_are_readable(app):
    assert cles_filtres(app) == {
        "FILTRE_TYPE_OBJET": "type_dobjet_equals",
        "FILTRE_ID_OBJET": "n_de_lobjet_equals",
        "FILTRE_ACTEUR": "acteur_equals",
        "FILTRE_TYPE_ACTEUR": "type_dacteur_equals",
        "FILTRE_OPERATION": "operation_equals",
        "FILTRE_DEPUIS": "date_depuis_le",
        "FILTRE_JUSQUAU": "date_jusquau",
    }


def test_filter_labels_are_french(app):
    texte = page(client_de(app).get("/backoffice/journal/"))
    groupes = json.loads(
        re.search(r'id="filter-groups-data" class="d-none">(.*?)</div>', texte, re.S).group(1)
    )
    assert sorted(groupes) == sorted(
        ["Type d'objet", "N° de l'objet", "Acteur", "Type d'acteur", "Opération", "Date"]
    )
    operations = [o["operation"] for o in groupes["Date"]]
    assert operations == ["depuis le", "jusqu'au"]
    assert ["demander_compte", "Demande de création de compte déposée"] in groupes["Opération"][0][
        "options"
    ]


# --- exports ------------------------------------------------------------------------------------


PIEGES = {
    "actor": '=HYPERLINK("https://pirate.example","Cliquez")',
    "object_id": "+33123",
    "details": {"denomination": "@SUM(A1:A9)", "note": "-2+3"},
}


def test_the_csv_export_neutralises_formulas_and_follows_the_filters(app):
    evenement(
        app,
        actor_type="usager",
        actor=PIEGES["actor"],
        object_id=PIEGES["object_id"],
        details=PIEGES["details"],
        operation="demander_assistance",
    )
    evenement(app, operation="clore_assistance", object_id="autre")
    client = client_de(app)
    cles = cles_filtres(app)
    reponse = client.get(
        "/backoffice/journal/export/csv/",
        query_string={f"flt0_{cles['FILTRE_OPERATION']}": "demander_assistance"},
    )
    assert reponse.status_code == 200
    assert reponse.headers["Content-Disposition"].startswith("attachment; filename=journal_")
    contenu = reponse.get_data(as_text=True).lstrip("\ufeff")
    entete, *rangs = list(csv.reader(io.StringIO(contenu), delimiter=";"))
    assert entete == [
        "Date",
        "Type d'acteur",
        "Acteur",
        "Opération",
        "Type d'objet",
        "N° de l'objet",
        "État avant",
        "État après",
        "Détails",
    ]
    assert len(rangs) == 1  # the filter applies to the export
    (rang,) = rangs
    assert rang[1] == "Usager"
    assert rang[2] == "'" + PIEGES["actor"]
    assert rang[3] == "Demande d'assistance déposée"
    assert rang[5] == "'+33123"
    assert json.loads(rang[8]) == PIEGES["details"]  # JSON text: starts with « { », harmless
    for cellule in rang:
        assert cellule[:1] not in ("=", "+", "-", "@"), cellule


def test_the_xlsx_export_neutralises_formulas(app):
    evenement(
        app,
        actor_type="usager",
        actor=PIEGES["actor"],
        object_id=PIEGES["object_id"],
        state_to="=1+1",
    )
    client = client_de(app, ADMIN, "administrateur")
    reponse = client.get("/backoffice/journal/export/xlsx/")
    assert reponse.status_code == 200
    classeur = openpyxl.load_workbook(io.BytesIO(reponse.data))
    feuille = classeur.active
    valeurs = [[c.value for c in rang] for rang in feuille.iter_rows()]
    assert valeurs[0][2] == "Acteur"
    rang = next(r for r in valeurs[1:] if r[2] and "HYPERLINK" in r[2])
    assert rang[2] == "'" + PIEGES["actor"]
    assert rang[5] == "'+33123"
    assert rang[7] == "'=1+1"
    for ligne in feuille.iter_rows():
        for cellule in ligne:
            assert cellule.data_type != "f", cellule.value


def test_the_export_is_capped(app, monkeypatch):
    with app.app_context():
        for rang in range(5):
            journaliser(Acteur("agent", ADMIN), "clore_assistance", "demande_assistance", rang)
        db.session.commit()
        total = db.session.scalar(select(func.count()).select_from(AuditEvent))
    vue = next(
        v for v in app.extensions["admin"][0]._views if isinstance(v, vue_journal.VueJournal)
    )
    monkeypatch.setattr(vue, "export_max_rows", 3)
    reponse = client_de(app).get("/backoffice/journal/export/csv/")
    assert total > 3
    assert len(reponse.get_data(as_text=True).strip().splitlines()) == 1 + 3
