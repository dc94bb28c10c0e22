"""« Soumissions » in the back-office: access per role, the list's filters and search, the detail
with the labels of the version filed, « Marquer comme traitée » / « Rouvrir » journaled and
protected by CSRF, the dashboard tile, CSV and XLSX exports neutralised against formula
injection with one column per property across the versions of a form."""

from __future__ import annotations

import copy
import csv
import html
import io
import json
import re
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from flask import current_app
from PIL import Image
from sqlalchemy import select, update
from werkzeug.datastructures import FileStorage

from backoffice.vues import soumissions as vue
from extensions import db
from forms import uploads
from forms.registry import build_registry
from models.audit import AuditEvent
from models.submission import Submission, SubmissionState
from models.types import utcnow
from tests.backoffice.conftest import ADMIN, ASP, PHRASE, UD, connecter, creer
from workflows import formulaires
from workflows.journal import Acteur

ROOT = Path(__file__).resolve().parents[2]
TEST_SCHEMAS = ROOT / "tests" / "schemas"
EXEMPLE = json.loads(
    (TEST_SCHEMAS / "examples" / "inscription-atelier.json").read_text(encoding="utf-8")
)
ATELIER = "inscription-atelier"
BASE = "/backoffice/soumissions/"
FORMULE = '=HYPERLINK("https://pirate.example/","Cliquez")'
JETON = re.compile(
    r'name="csrf_token" value="([^"]+)"|name="csrf_token" type="hidden" value="([^"]+)"'
)


@pytest.fixture
def bo_app(make_app, tmp_path):
    """The test folder of definitions (a standalone form), embedded mode, mails as files."""
    return make_app(
        FORMS_SCHEMAS_DIR=str(TEST_SCHEMAS),
        MAIL_SERVER="",
        MAIL_FILE_DIR=str(tmp_path / "mails"),
        REDIS_URL="",
    )


def page(reponse) -> str:
    return html.unescape(reponse.get_data(as_text=True))


def client_de(app, email=ASP, role="asp", departements=""):
    client = app.test_client()
    connecter(client, creer(app, email, role, departements))
    return client


def deposer(app, il_y_a=timedelta(0), form_id=ATELIER, **modifs) -> tuple[int, str]:
    """File a submission through the workflow; ``il_y_a`` ages it. (id, reference)."""
    with app.app_context():
        definition = current_app.extensions["forms"][form_id]
        document = {**copy.deepcopy(EXEMPLE), **modifs} if form_id == ATELIER else modifs
        submission = formulaires.deposer_soumission(definition, document)
        if il_y_a:
            db.session.execute(
                update(Submission)
                .where(Submission.id == submission.id)
                .values(created_at=utcnow() - il_y_a)
            )
            db.session.commit()
        return submission.id, submission.reference


def etat(app, submission_id) -> SubmissionState:
    with app.app_context():
        return SubmissionState(db.session.get(Submission, submission_id).state)


def journal(app, submission_id) -> list[tuple]:
    with app.app_context():
        return [
            (e.operation, e.actor, e.state_from, e.state_to)
            for e in db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.object_type == "soumission")
                .where(AuditEvent.object_id == str(submission_id))
                .order_by(AuditEvent.id)
            )
        ]


def references(texte: str) -> list[str]:
    return re.findall(r">([A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4})</a>", texte)


def lire_export(reponse, format_) -> list[list[str]]:
    assert reponse.status_code == 200
    assert "attachment" in reponse.headers["Content-Disposition"]
    if format_ == "csv":
        texte = reponse.get_data().decode("utf-8")
        assert texte.startswith("\ufeff")
        return list(csv.reader(io.StringIO(texte[1:]), delimiter=";"))
    feuille = openpyxl.load_workbook(io.BytesIO(reponse.get_data())).active
    for ligne in feuille.iter_rows():
        for cellule in ligne:
            assert cellule.data_type != "f", cellule.value  # no formula anywhere
    return [
        ["" if v is None else str(v) for v in ligne]
        for ligne in feuille.iter_rows(values_only=True)
    ]


# --- access -------------------------------------------------------------------------------------


def urls(submission_id: int) -> list[tuple[str, str]]:
    return [
        ("GET", BASE),
        ("GET", BASE + "recues/"),
        ("GET", BASE + f"details/?id={submission_id}"),
        ("GET", BASE + f"{submission_id}/piece-jointe/{'0' * 32}"),
        ("POST", BASE + f"{submission_id}/traiter"),
        ("POST", BASE + f"{submission_id}/rouvrir"),
        ("GET", BASE + "export/csv/"),
        ("GET", BASE + "export/xlsx/"),
        ("GET", BASE + "new/"),
        ("GET", BASE + f"edit/?id={submission_id}"),
        ("POST", BASE + "delete/"),
    ]


def test_anonymous_requests_are_sent_to_the_sign_in_page(bo_app):
    submission_id, _ = deposer(bo_app)
    for methode, url in urls(submission_id):
        reponse = bo_app.test_client().open(url, method=methode)
        assert reponse.status_code == 302, url
        assert reponse.headers["Location"].startswith("/backoffice/connexion"), url
    assert etat(bo_app, submission_id) is SubmissionState.RECUE


def test_an_agent_ud_gets_403_everywhere_and_no_tile(bo_app):
    submission_id, _ = deposer(bo_app)
    client = client_de(bo_app, UD, "ud", "44")
    for methode, url in urls(submission_id):
        reponse = client.open(url, method=methode)
        assert reponse.status_code == 403, url
    assert etat(bo_app, submission_id) is SubmissionState.RECUE
    accueil = page(client.get("/backoffice/"))
    assert "Soumissions reçues" not in accueil and BASE not in accueil


@pytest.mark.parametrize("email, role", [(ASP, "asp"), (ADMIN, "administrateur")])
def test_asp_and_administrators_see_the_list_the_detail_and_the_tile(bo_app, email, role):
    submission_id, reference = deposer(bo_app)
    client = client_de(bo_app, email, role)
    liste = page(client.get(BASE))
    assert references(liste) == [reference]
    assert "Inscription à un atelier d'information" in liste and "Reçue" in liste
    detail = page(client.get(BASE + f"details/?id={submission_id}"))
    assert f"Soumission {reference}" in detail
    assert "Formulaire « Inscription à un atelier d'information », version 3" in detail
    for libelle in ("Nom du contact", "Raison sociale", "Salariés n° 1 › Nom du salarié"):
        assert libelle in detail
    assert "Boulangerie Gérard" in detail and "Oui" in detail
    assert f"Accusé de réception à {EXEMPLE['courriel']}" in detail
    assert "Soumission déposée" in detail and "Marquer comme traitée" in detail
    assert "Soumissions reçues" in page(client.get("/backoffice/"))
    assert client.get(BASE + "details/?id=999999").status_code == 404


# --- list: filters and search -------------------------------------------------------------------


def test_the_list_filters_by_form_state_and_date_newest_first(bo_app):
    _, vieille = deposer(bo_app, il_y_a=timedelta(days=40), nom="Ancienne")
    _, recente = deposer(bo_app, il_y_a=timedelta(hours=1))
    traitee_id, traitee = deposer(bo_app)
    with bo_app.app_context():
        formulaires.marquer_traitee(traitee_id, Acteur("agent", ASP))
    client = client_de(bo_app)
    assert references(page(client.get(BASE))) == [traitee, recente, vieille]
    assert references(page(client.get(BASE + "?flt0_etat=recue"))) == [recente, vieille]
    assert references(page(client.get(BASE + "?flt0_etat=traitee"))) == [traitee]
    assert references(page(client.get(BASE + f"?flt0_formulaire={ATELIER}"))) == [
        traitee,
        recente,
        vieille,
    ]
    assert references(page(client.get(BASE + "?flt0_formulaire=autre-formulaire"))) == []
    jour = (utcnow() - timedelta(days=40)).strftime("%Y-%m-%d")
    assert references(page(client.get(BASE + f"?flt0_depot_jusqu_au={jour}"))) == [vieille]
    # the « Formulaire » filter offers the standalone definitions
    liste = page(client.get(BASE))
    assert "Formulaire" in liste and ATELIER in liste
    # the tile's link: the submissions « reçue »
    suite = client.get(BASE + "recues/", follow_redirects=True)
    assert references(page(suite)) == [recente, vieille]


def test_the_search_finds_a_reference_or_words_of_the_answers(bo_app):
    _, premiere = deposer(
        bo_app, entreprise={"raison_sociale": "Boulangerie Gérard", "effectif": 3}
    )
    _, seconde = deposer(bo_app, entreprise={"raison_sociale": "Café du Port", "effectif": 8})
    client = client_de(bo_app)

    def cherche(terme):
        return references(page(client.get(BASE, query_string={"search": terme})))

    assert cherche(seconde) == [seconde]
    assert cherche(seconde.lower().replace("-", "")) == [seconde]  # any case, dashes optional
    assert cherche("GERARD boulangerie") == [premiere]  # words, case and accents aside
    assert cherche("cafe") == [seconde]
    assert cherche("100%_") == []
    assert "Aucune soumission ne correspond à cette recherche." in page(
        client.get(BASE, query_string={"search": "introuvable"})
    )


# --- detail -------------------------------------------------------------------------------------


def test_an_unknown_version_is_shown_with_the_current_labels_and_a_note(bo_app):
    submission_id, _ = deposer(bo_app)
    with bo_app.app_context():
        db.session.get(Submission, submission_id).form_version = 1
        db.session.commit()
    detail = page(client_de(bo_app).get(BASE + f"details/?id={submission_id}"))
    assert "libellés de la version actuelle (version 3)" in detail
    assert "Nom du contact" in detail


def test_an_attachment_of_the_submission_can_be_downloaded_and_only_it(bo_app):
    with bo_app.app_context():
        image = io.BytesIO()
        Image.new("RGB", (4, 4), "red").save(image, "PNG")
        image.seek(0)
        fichier = uploads.store(
            FileStorage(image, filename="plan d'accès.png"), {"mime-types": ["image/png"]}
        )
        jeton, contenu = fichier.token, uploads.path_of(fichier).read_bytes()
    submission_id, _ = deposer(bo_app, justificatif=jeton)
    autre_id, _ = deposer(bo_app)
    client = client_de(bo_app)
    detail = page(client.get(BASE + f"details/?id={submission_id}"))
    url = BASE + f"{submission_id}/piece-jointe/{jeton}"
    assert f'href="{url}">plan d\'accès.png</a>' in detail
    telechargement = client.get(url)
    assert telechargement.status_code == 200 and telechargement.data == contenu
    assert "attachment" in telechargement.headers["Content-Disposition"]
    # another submission's page does not serve it
    assert client.get(BASE + f"{autre_id}/piece-jointe/{jeton}").status_code == 404


# --- actions ------------------------------------------------------------------------------------


def test_marquer_traitee_then_rouvrir_from_the_detail_are_journaled(bo_app):
    submission_id, reference = deposer(bo_app)
    client = client_de(bo_app)
    reponse = client.post(BASE + f"{submission_id}/traiter")
    assert reponse.status_code == 303
    suite = page(client.get(reponse.headers["Location"]))
    assert f"Soumission {reference} marquée comme traitée." in suite
    assert "Rouvrir" in suite and "Marquée comme traitée" in suite
    assert etat(bo_app, submission_id) is SubmissionState.TRAITEE
    # twice: refused, nothing journaled
    suite = page(client.post(BASE + f"{submission_id}/traiter", follow_redirects=True))
    assert "Impossible de marquer comme traitée cette soumission : elle est déjà traitée." in suite
    client.post(BASE + f"{submission_id}/rouvrir")
    assert etat(bo_app, submission_id) is SubmissionState.RECUE
    assert journal(bo_app, submission_id) == [
        ("deposer_soumission", EXEMPLE["courriel"], None, "recue"),
        ("marquer_soumission_traitee", ASP, "recue", "traitee"),
        ("rouvrir_soumission", ASP, "traitee", "recue"),
    ]
    # the return address is kept within the back-office
    reponse = client.post(
        BASE + f"{submission_id}/traiter", data={"url": "https://ailleurs.example/"}
    )
    assert "ailleurs.example" not in reponse.headers["Location"]


def test_the_dashboard_counts_the_submissions_recues(bo_app):
    premiere, _ = deposer(bo_app)
    deposer(bo_app)
    client = client_de(bo_app, ADMIN, "administrateur")

    def tuile() -> str:
        texte = page(client.get("/backoffice/"))
        trouve = re.search(r"Soumissions reçues</h2>\s*<p[^>]*>([^<]+)</p>", texte)
        assert trouve, "no tile"
        assert 'href="/backoffice/soumissions/recues/"' in texte
        return trouve.group(1).strip()

    assert tuile() == "2"
    client.post(BASE + f"{premiere}/traiter")
    assert tuile() == "1"


def _jeton(texte: str) -> str:
    trouve = JETON.search(texte)
    assert trouve, "no csrf_token in the page"
    return trouve.group(1) or trouve.group(2)


def test_every_action_needs_the_csrf_token(make_app, tmp_path):
    app = make_app(
        WTF_CSRF_ENABLED=True,
        FORMS_SCHEMAS_DIR=str(TEST_SCHEMAS),
        MAIL_SERVER="",
        MAIL_FILE_DIR=str(tmp_path / "m"),
        REDIS_URL="",
    )
    submission_id, _ = deposer(app)
    agent = creer(app, ASP, "asp")
    client = app.test_client()
    texte = page(client.get("/backoffice/connexion"))
    client.post(
        "/backoffice/connexion",
        data={"email": agent.email, "mot_de_passe": PHRASE, "csrf_token": _jeton(texte)},
    )
    texte = page(client.get("/backoffice/connexion/code"))
    client.post(
        "/backoffice/connexion/code", data={"code": agent.code(), "csrf_token": _jeton(texte)}
    )
    for action in ("traiter", "rouvrir"):
        reponse = client.post(BASE + f"{submission_id}/{action}")
        assert reponse.status_code == 400, action
    assert etat(app, submission_id) is SubmissionState.RECUE
    assert [ligne[0] for ligne in journal(app, submission_id)] == ["deposer_soumission"]
    detail = page(client.get(BASE + f"details/?id={submission_id}"))
    reponse = client.post(BASE + f"{submission_id}/traiter", data={"csrf_token": _jeton(detail)})
    assert reponse.status_code == 303
    assert etat(app, submission_id) is SubmissionState.TRAITEE


# --- exports ------------------------------------------------------------------------------------


@pytest.mark.parametrize("format_", ["csv", "xlsx"])
def test_exports_neutralise_formulas_with_one_column_per_question(bo_app, format_):
    deposer(bo_app, nom=FORMULE, entreprise={"raison_sociale": "@SOMME(A1:A9)", "effectif": 12})
    client = client_de(bo_app)
    lignes = lire_export(client.get(BASE + f"export/{format_}/?flt0_formulaire={ATELIER}"), format_)
    entete, ligne = lignes[0], lignes[1]
    assert entete[:5] == ["Référence", "Déposée le", "Formulaire", "Version", "État"]
    assert entete[-1] == "Autres réponses"
    colonnes = dict(zip(entete, ligne, strict=True))
    assert colonnes["Nom du contact"] == "'" + FORMULE
    assert colonnes["Entreprise › Raison sociale"] == "'@SOMME(A1:A9)"
    assert colonnes["Entreprise › Effectif"] == "12"
    assert colonnes["Atelier"] == "paie"
    assert colonnes["J'accepte les conditions de participation"] == "Oui"
    assert colonnes["Salariés › Nom du salarié"] == "Durand"
    assert colonnes["Formulaire"] == "Inscription à un atelier d'information"
    assert colonnes["État"] == "Reçue" and colonnes["Version"] == "3"
    assert colonnes["Autres réponses"] == ""


def test_an_export_of_every_form_sums_each_submission_up(bo_app):
    deposer(bo_app, nom=FORMULE)
    lignes = lire_export(client_de(bo_app).get(BASE + "export/csv/"), "csv")
    assert lignes[0][-1] == "Réponses"
    assert "Nom du contact : " + FORMULE in lignes[1][-1]
    assert "Entreprise › Raison sociale : Boulangerie Gérard" in lignes[1][-1]


def _definition(version: int, properties: dict):
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://activite-partielle.localhost/formulaires/sondage",
        "x-version": version,
        "x-standalone": True,
        "title": "Sondage",
        "type": "object",
        "properties": properties,
    }
    return build_registry({"sondage": schema})["sondage"]


def test_the_columns_of_several_versions_are_their_union_titled_by_the_newest():
    v1 = _definition(
        1,
        {
            "avis": {"type": "string", "title": "Votre avis"},
            "note": {"type": "integer", "title": "Note"},
            "retire": {"type": "string", "title": "Question retirée"},
        },
    )
    v2 = _definition(
        2,
        {
            "note": {"type": "integer", "title": "Note sur 10"},
            "avis": {"type": "string", "title": "Votre avis détaillé"},
            "contact": {
                "type": "object",
                "title": "Contact",
                "properties": {"nom": {"type": "string", "title": "Note"}},
            },
        },
    )
    assert vue.colonnes_des_versions([v1, v2]) == [
        (("note",), "Note sur 10"),
        (("avis",), "Votre avis détaillé"),
        (("contact", "nom"), "Contact › Note"),
        (("retire",), "Question retirée"),
    ]
    assert vue.colonnes_des_versions([v1]) == [
        (("avis",), "Votre avis"),
        (("note",), "Note"),
        (("retire",), "Question retirée"),
    ]
    # two paths with the same title are told apart by their technical name
    v3 = _definition(
        3, {"a": {"type": "string", "title": "Nom"}, "b": {"type": "string", "title": "Nom"}}
    )
    assert vue.colonnes_des_versions([v3]) == [(("a",), "Nom (a)"), (("b",), "Nom (b)")]


def test_a_form_created_and_republished_in_the_backoffice_exports_every_version(bo_app):
    """Item 5 end to end: a form created without code, published, answered, changed and
    published again; the export has one column per property across both versions, each
    submission's answers labelled by its own version."""
    from workflows import definitions

    admin = Acteur("agent", ADMIN)
    choix = {
        "type": "string",
        "title": "Satisfaction",
        "oneOf": [{"const": "oui", "title": "Satisfait"}, {"const": "non", "title": "Déçu"}],
        "x-ui": {"order": 1},  # pinned, as the editor does (JSONB keeps no key order)
    }
    with bo_app.app_context():
        definitions.creer_definition("sondage-atelier", "Sondage après l'atelier", admin)
        brouillon = definitions.brouillon("sondage-atelier")
        schema = copy.deepcopy(brouillon.schema)
        schema["properties"] = {
            "satisfaction": choix,
            "commentaire": {
                "type": "string",
                "title": "Commentaire",
                "maxLength": 500,
                "x-ui": {"order": 2},
            },
        }
        definitions.enregistrer_brouillon("sondage-atelier", schema, admin)
        definitions.publier("sondage-atelier", admin)
        premiere = current_app.extensions["forms"]["sondage-atelier"]
        assert premiere.standalone and premiere.version == 1
    deposer(bo_app, form_id="sondage-atelier", satisfaction="non", commentaire="Trop court")
    with bo_app.app_context():
        definitions.ouvrir_brouillon("sondage-atelier", admin)
        schema = copy.deepcopy(definitions.brouillon("sondage-atelier").schema)
        schema["properties"]["satisfaction"]["title"] = "Êtes-vous satisfait ?"
        schema["properties"]["satisfaction"]["oneOf"][1]["title"] = "Pas satisfait"
        del schema["properties"]["commentaire"]
        schema["properties"]["suggestion"] = {
            "type": "string",
            "title": "Une suggestion",
            "x-ui": {"order": 2},
        }
        definitions.enregistrer_brouillon("sondage-atelier", schema, admin)
        definitions.publier("sondage-atelier", admin)
        assert current_app.extensions["forms"]["sondage-atelier"].version == 2
    deposer(bo_app, form_id="sondage-atelier", satisfaction="oui", suggestion="Plus long")
    client = client_de(bo_app)
    lignes = lire_export(client.get(BASE + "export/csv/?flt0_formulaire=sondage-atelier"), "csv")
    entete = lignes[0]
    assert entete[5:] == [
        "Êtes-vous satisfait ?",
        "Une suggestion",
        "Commentaire",
        "Autres réponses",
    ]
    par_version = {ligne[3]: dict(zip(entete, ligne, strict=True)) for ligne in lignes[1:]}
    assert par_version["1"]["Êtes-vous satisfait ?"] == "Déçu"  # the label of version 1
    assert par_version["1"]["Commentaire"] == "Trop court"
    assert par_version["1"]["Une suggestion"] == ""
    assert par_version["2"]["Êtes-vous satisfait ?"] == "Satisfait"
    assert par_version["2"]["Une suggestion"] == "Plus long"
    # the detail of the first submission keeps the questions as they were asked
    with bo_app.app_context():
        v1_id = db.session.scalar(
            select(Submission.id).where(
                Submission.form_id == "sondage-atelier", Submission.form_version == 1
            )
        )
    detail = page(client.get(BASE + f"details/?id={v1_id}"))
    assert "version 1" in detail and "Satisfaction" in detail and "Déçu" in detail
    assert "Êtes-vous satisfait ?" not in detail


# --- in a real browser ---------------------------------------------------------------------------


@pytest.mark.browser
def test_an_agent_handles_a_submission_in_chromium(make_app, tmp_path):
    """Under the application's CSP, with CSRF on: from the dashboard tile to the list, filter on
    the form, open a submission, mark it as handled; no CSP violation, no serious accessibility
    fault; screenshots as artefacts."""
    import threading

    from werkzeug.serving import make_server

    from tests.backoffice.test_navigateur import VIOLATIONS, _axe
    from tests.browser.conftest import ARTEFACTS, CHROMIUM, _browser_available

    if not _browser_available():
        pytest.skip("Playwright or Chromium not installed")
    from playwright.sync_api import sync_playwright

    app = make_app(
        WTF_CSRF_ENABLED=True,
        FORMS_SCHEMAS_DIR=str(TEST_SCHEMAS),
        MAIL_SERVER="",
        MAIL_FILE_DIR=str(tmp_path / "m"),
        REDIS_URL="",
    )
    submission_id, reference = deposer(app)
    deposer(app, il_y_a=timedelta(days=2), nom="Paul Durand")
    agent = creer(app, ASP, "asp")
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
            onglet.set_default_timeout(10_000)
            console = []
            onglet.on("console", lambda message: console.append(message.text))
            onglet.add_init_script(VIOLATIONS)

            onglet.goto(f"{base}/backoffice/")
            onglet.fill("#email", ASP)
            onglet.fill("#mot_de_passe", PHRASE)
            onglet.get_by_role("button", name="Continuer").click()
            onglet.fill("#code", agent.code())
            onglet.get_by_role("button", name="Se connecter").click()
            onglet.wait_for_url(f"{base}/backoffice/")
            # the tile's link is stretched over the whole card
            onglet.locator(".tuile", has_text="Soumissions reçues").click()
            onglet.wait_for_url(re.compile(r".*/backoffice/soumissions/\?flt0_etat=recue"))
            assert reference in onglet.inner_text("main")
            _axe(onglet, "soumissions-liste")
            onglet.screenshot(
                path=str(ARTEFACTS / "backoffice-soumissions-1-liste.png"), full_page=True
            )

            onglet.get_by_role("link", name=reference).click()
            onglet.wait_for_url(re.compile(r".*/backoffice/soumissions/details/.*"))
            texte = onglet.inner_text("main")
            assert "Entreprise" in texte and "Boulangerie Gérard" in texte
            _axe(onglet, "soumissions-detail")
            onglet.get_by_role("button", name="Marquer comme traitée").click()
            onglet.wait_for_load_state("load")
            assert f"Soumission {reference} marquée comme traitée." in onglet.inner_text("main")
            onglet.screenshot(
                path=str(ARTEFACTS / "backoffice-soumissions-2-traitee.png"), full_page=True
            )
            assert etat(app, submission_id) is SubmissionState.TRAITEE

            violations = onglet.evaluate("window.__violations")
            refus = [t for t in console if "Content Security Policy" in t]
            assert violations == [] and refus == [], (violations, refus)
            navigateur.close()
    finally:
        serveur.shutdown()
        fil.join(timeout=5)


@pytest.mark.parametrize(
    ("format_", "url"),
    [("csv", f"export/csv/?flt0_formulaire={ATELIER}"), ("xlsx", "export/xlsx/")],
)
def test_an_export_reads_the_attachments_names_once_per_batch_of_rows(bo_app, format_, url):
    from sqlalchemy import event

    with bo_app.app_context():
        jetons = []
        for numero in range(4):
            image = io.BytesIO()
            Image.new("RGB", (4, 4), "red").save(image, "PNG")
            image.seek(0)
            fichier = uploads.store(
                FileStorage(image, filename=f"plan {numero}.png"), {"mime-types": ["image/png"]}
            )
            jetons.append(fichier.token)
        moteur = db.engine
    for jeton in jetons:
        deposer(bo_app, justificatif=jeton)
    client = client_de(bo_app)
    lectures = []

    def noter(conn, cursor, statement, parameters, context, executemany):
        if re.search(r"\bFROM upload\b", statement):
            lectures.append(statement)

    event.listen(moteur, "before_cursor_execute", noter)
    try:
        lignes = lire_export(client.get(BASE + url), format_)
    finally:
        event.remove(moteur, "before_cursor_execute", noter)

    texte = "\n".join(";".join(ligne) for ligne in lignes)
    for numero in range(4):
        assert f"plan {numero}.png" in texte
    assert len(lectures) == 1, lectures
