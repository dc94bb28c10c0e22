"""« Demandes d'assistance » in the back-office: access per role, the queue's tabs, order and
search, the detail with the form's labels and the history, the actions (answer by mail, close,
reopen) with their journal rows and mails, CSRF on each POST, the dashboard tile."""

from __future__ import annotations

import html
import io
import json
import re
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as email_policy
from pathlib import Path

import pytest
from flask import current_app
from PIL import Image
from sqlalchemy import select, update
from werkzeug.datastructures import FileStorage

from extensions import db
from forms import uploads
from models.assistance import AssistanceState, DemandeAssistance
from models.audit import AuditEvent
from models.notification import Notification
from models.types import utcnow
from tests.backoffice.conftest import ADMIN, ASP, PHRASE, UD, connecter, creer
from workflows import assistance
from workflows.journal import Acteur

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = json.loads((ROOT / "forms/examples/demande-support.json").read_text(encoding="utf-8"))
REPONSE = "Bonjour,\nVotre identifiant vous a été renvoyé.\n\nCordialement"
JETON = re.compile(
    r'name="csrf_token" value="([^"]+)"|name="csrf_token" type="hidden" value="([^"]+)"'
)


@pytest.fixture
def bo_app(make_app, tmp_path):
    """Embedded mode, mails written as .eml files in a folder of the test."""
    return make_app(MAIL_SERVER="", MAIL_FILE_DIR=str(tmp_path / "mails"), REDIS_URL="")


def page(reponse) -> str:
    return html.unescape(reponse.get_data(as_text=True))


def client_de(app, email=ASP, role="asp", departements=""):
    client = app.test_client()
    connecter(client, creer(app, email, role, departements))
    return client


def deposer(app, il_y_a=timedelta(0), **modifs) -> tuple[int, str]:
    """File a request through the workflow; ``il_y_a`` ages it. Returns (id, reference)."""
    with app.app_context():
        definition = current_app.extensions["forms"]["demande-support"]
        document = {**EXAMPLE, **modifs}
        demande = assistance.demander_assistance(
            definition, document, Acteur("usager", document["courriel"])
        )
        if il_y_a:
            db.session.execute(
                update(DemandeAssistance)
                .where(DemandeAssistance.id == demande.id)
                .values(created_at=utcnow() - il_y_a)
            )
            db.session.commit()
        return demande.id, demande.reference


def etat(app, demande_id) -> AssistanceState:
    with app.app_context():
        return AssistanceState(db.session.get(DemandeAssistance, demande_id).state)


def journal(app, demande_id) -> list[tuple]:
    with app.app_context():
        return [
            (e.operation, e.actor_type, e.actor, e.state_from, e.state_to, e.details)
            for e in db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.object_type == "demande_assistance")
                .where(AuditEvent.object_id == str(demande_id))
                .order_by(AuditEvent.id)
            )
        ]


def notifications(app, modele) -> list[tuple]:
    with app.app_context():
        return [
            (n.recipient, n.context, n.state.value)
            for n in db.session.scalars(
                select(Notification)
                .where(Notification.template == modele)
                .order_by(Notification.id)
            )
        ]


def mails(app):
    dossier = Path(app.config["MAIL_FILE_DIR"])
    return [
        message_from_bytes(p.read_bytes(), policy=email_policy)
        for p in sorted(dossier.glob("*.eml"))
    ]


def references_listees(texte: str) -> list[str]:
    return re.findall(r">([A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4})</a>", texte)


# --- access -------------------------------------------------------------------------------------


def urls(demande_id: int) -> list[tuple[str, str]]:
    return [
        ("GET", "/backoffice/assistance/"),
        ("GET", "/backoffice/assistance/?etat=close&search=x"),
        ("GET", f"/backoffice/assistance/details/?id={demande_id}"),
        ("GET", f"/backoffice/assistance/{demande_id}/piece-jointe/{'0' * 32}"),
        ("POST", f"/backoffice/assistance/{demande_id}/repondre"),
        ("POST", f"/backoffice/assistance/{demande_id}/clore"),
        ("POST", f"/backoffice/assistance/{demande_id}/rouvrir"),
        ("POST", "/backoffice/assistance/action/"),
        ("POST", "/backoffice/assistance/delete/"),
        ("GET", "/backoffice/assistance/new/"),
        ("GET", f"/backoffice/assistance/edit/?id={demande_id}"),
        ("GET", "/backoffice/assistance/export/csv/"),
    ]


def test_anonymous_requests_are_sent_to_the_sign_in_page(bo_app):
    demande_id, _ = deposer(bo_app)
    for methode, url in urls(demande_id):
        reponse = bo_app.test_client().open(url, method=methode, data={"message": REPONSE})
        assert reponse.status_code == 302, url
        assert reponse.headers["Location"].startswith("/backoffice/connexion"), url
    assert etat(bo_app, demande_id) is AssistanceState.OUVERTE


def test_an_agent_ud_gets_403_everywhere(bo_app):
    demande_id, _ = deposer(bo_app)
    client = client_de(bo_app, UD, "ud", "44")
    for methode, url in urls(demande_id):
        reponse = client.open(url, method=methode, data={"message": REPONSE})
        assert reponse.status_code == 403, url
        assert "Accès refusé" in page(reponse)
    assert etat(bo_app, demande_id) is AssistanceState.OUVERTE
    assert notifications(bo_app, "reponse_support") == []
    assert "Demandes d'assistance" not in page(client.get("/backoffice/"))


@pytest.mark.parametrize("email, role", [(ASP, "asp"), (ADMIN, "administrateur")])
def test_asp_and_administrators_work_the_queue(bo_app, email, role):
    demande_id, reference = deposer(bo_app)
    client = client_de(bo_app, email, role)
    liste = page(client.get("/backoffice/assistance/"))
    assert reference in liste
    assert 'href="/backoffice/assistance/"' in page(client.get("/backoffice/"))  # the menu
    assert client.get(f"/backoffice/assistance/details/?id={demande_id}").status_code == 200


def test_the_queue_is_read_only_through_flask_admin(bo_app):
    demande_id, _ = deposer(bo_app)
    client = client_de(bo_app)
    assert client.get("/backoffice/assistance/new/").status_code == 302
    assert client.get(f"/backoffice/assistance/edit/?id={demande_id}").status_code == 302
    assert client.get("/backoffice/assistance/export/csv/").status_code == 302
    client.post("/backoffice/assistance/delete/", data={"id": demande_id})
    with bo_app.app_context():
        assert db.session.get(DemandeAssistance, demande_id) is not None


# --- the list -------------------------------------------------------------------------------------


def test_the_queue_shows_open_requests_oldest_first_with_tabs_per_state(bo_app):
    _recente, ref_recente = deposer(bo_app, courriel="recente@exemple.fr")
    _ancienne, ref_ancienne = deposer(bo_app, il_y_a=timedelta(days=3), courriel="a@exemple.fr")
    _moyenne, ref_moyenne = deposer(bo_app, il_y_a=timedelta(hours=5), courriel="m@exemple.fr")
    close, ref_close = deposer(bo_app, courriel="close@exemple.fr")
    repondue, ref_repondue = deposer(bo_app, courriel="repondue@exemple.fr")
    with bo_app.app_context():
        agent = Acteur("agent", ASP)
        assistance.clore_assistance(close, agent)
        assistance.repondre_assistance(repondue, agent, REPONSE)
    client = client_de(bo_app)

    ouvertes = page(client.get("/backoffice/assistance/"))
    assert references_listees(ouvertes) == [ref_ancienne, ref_moyenne, ref_recente]
    for texte in ("Ouvertes", "Répondues", "Closes", "Toutes", "Référence", "Déposée le"):
        assert texte in ouvertes, texte
    assert "Identifiant ou mot de passe" in ouvertes  # the subject's label, not its code
    assert re.search(
        r'class="nav-link active bg-dark"[^>]*aria-current="page">\s*Ouvertes', ouvertes
    )
    comptes = re.findall(
        r'(Ouvertes|Répondues|Closes|Toutes) <span class="badge badge-light">(\d+)', ouvertes
    )
    assert comptes == [("Ouvertes", "3"), ("Répondues", "1"), ("Closes", "1"), ("Toutes", "5")]

    assert references_listees(page(client.get("/backoffice/assistance/?etat=repondue"))) == [
        ref_repondue
    ]
    assert references_listees(page(client.get("/backoffice/assistance/?etat=close"))) == [ref_close]
    assert len(references_listees(page(client.get("/backoffice/assistance/?etat=toutes")))) == 5
    # The newest first when asked (the only sortable column: the date).
    decroissant = page(client.get("/backoffice/assistance/?sort=1&desc=1"))
    assert references_listees(decroissant) == [ref_recente, ref_moyenne, ref_ancienne]


def test_the_search_finds_a_request_by_reference_courriel_or_siret(bo_app):
    _un, ref_un = deposer(bo_app, courriel="mathilde.gerard@example.fr", siret="00578096000042")
    deux, ref_deux = deposer(bo_app, courriel="autre@exemple.fr", siret="73282932000074")
    client = client_de(bo_app)

    def cherche(terme, etat="ouverte"):
        reponse = client.get(
            "/backoffice/assistance/", query_string={"search": terme, "etat": etat}
        )
        return references_listees(page(reponse))

    assert cherche(ref_deux) == [ref_deux]
    assert cherche(ref_deux.lower()) == [ref_deux]
    assert cherche("73282932000074") == [ref_deux]
    assert cherche("732 829 320 00074") == [ref_deux]
    assert cherche("mathilde.gerard@example.fr") == [ref_un]
    assert cherche("MATHILDE.GERARD@EXAMPLE.FR") == [ref_un]
    assert cherche("exemple.fr") == [ref_deux]  # a part of an address
    assert cherche("005780") == [ref_un]  # a part of a SIRET
    assert cherche("100%_") == []
    with bo_app.app_context():
        assistance.clore_assistance(deux, Acteur("agent", ASP))
    assert cherche(ref_deux) == []  # the tab still applies
    assert cherche(ref_deux, "toutes") == [ref_deux]
    assert "Aucune demande ne correspond à cette recherche." in page(
        client.get("/backoffice/assistance/?search=introuvable@exemple.fr")
    )


# --- the detail -----------------------------------------------------------------------------------


def test_the_detail_shows_the_data_with_the_form_labels_and_the_history(bo_app):
    demande_id, reference = deposer(bo_app, message="Ligne un\nLigne <b>deux</b>")
    client = client_de(bo_app)
    reponse = client.get(f"/backoffice/assistance/details/?id={demande_id}")
    assert reponse.status_code == 200
    brut = reponse.get_data(as_text=True)
    texte = html.unescape(brut)
    for libelle, valeur in [
        ("Nom et prénom", "Mathilde Gérard"),
        ("Courriel", "mathilde.gerard@example.fr"),
        ("N° de Siret de l'établissement", "00578096000042"),
        ("Sujet", "Identifiant ou mot de passe"),
        ("Souhaitez-vous être rappelé(e) ?", "Oui"),
        ("Téléphone pour vous rappeler", "02 40 60 00 00"),
    ]:
        assert re.search(
            rf"<dt[^>]*>{re.escape(libelle)}</dt>\s*<dd[^>]*>\s*<span[^>]*>{re.escape(valeur)}</span>",
            texte,
        ), libelle
    assert "Ligne un<br>Ligne &lt;b&gt;deux&lt;/b&gt;" in brut  # escaped, lines kept
    assert "<b>deux</b>" not in brut
    assert f"Demande d'assistance {reference}" in texte
    assert "Demande déposée" in texte and f"par {EXAMPLE['courriel']}" in texte
    assert "Courriel : envoyé" in texte  # the acknowledgement, sent in embedded mode
    assert "Envoyer la réponse" in texte and "Clore sans répondre" in texte
    assert "Rouvrir" not in texte
    assert 'href="/backoffice/journal/?flt0_' in brut


def test_a_missing_request_answers_404(bo_app):
    client = client_de(bo_app)
    assert client.get("/backoffice/assistance/details/?id=999999").status_code == 404
    assert client.get("/backoffice/assistance/details/?id=abc").status_code == 404
    assert client.post("/backoffice/assistance/999999/clore").status_code == 404


def test_the_attachment_is_served_to_the_agent_only_for_its_own_request(bo_app):
    with bo_app.app_context():
        image = io.BytesIO()
        Image.new("RGB", (4, 4), "red").save(image, "PNG")
        image.seek(0)
        fichier = uploads.store(
            FileStorage(image, filename="capture écran.png"), {"mime-types": ["image/png"]}
        )
        jeton, contenu = fichier.token, uploads.path_of(fichier).read_bytes()
    demande_id, _ = deposer(bo_app, piece_jointe=jeton)
    autre_id, _ = deposer(bo_app)
    client = client_de(bo_app)
    detail = page(client.get(f"/backoffice/assistance/details/?id={demande_id}"))
    url = f"/backoffice/assistance/{demande_id}/piece-jointe/{jeton}"
    assert f'href="{url}">capture écran.png</a>' in detail
    reponse = client.get(url)
    assert reponse.status_code == 200
    assert reponse.data == contenu
    assert reponse.mimetype == "image/png"
    assert reponse.headers["Content-Disposition"].startswith("attachment")
    assert client.get(f"/backoffice/assistance/{autre_id}/piece-jointe/{jeton}").status_code == 404


# --- actions -------------------------------------------------------------------------------------


def test_answering_mails_the_message_journals_it_and_moves_the_request(bo_app):
    demande_id, reference = deposer(bo_app)
    client = client_de(bo_app)
    reponse = client.post(
        f"/backoffice/assistance/{demande_id}/repondre",
        data={"message": f"  {REPONSE}  ", "url": "/backoffice/assistance/?etat=ouverte"},
    )
    assert reponse.status_code == 303
    assert reponse.headers["Location"].startswith(
        f"/backoffice/assistance/details/?id={demande_id}&url=/backoffice/assistance/"
    )
    assert etat(bo_app, demande_id) is AssistanceState.REPONDUE
    assert journal(bo_app, demande_id)[-1] == (
        "repondre_assistance",
        "agent",
        ASP,
        "ouverte",
        "repondue",
        {"message": REPONSE},
    )
    assert notifications(bo_app, "reponse_support") == [
        (EXAMPLE["courriel"], {"reference": reference, "message": REPONSE}, "sent")
    ]
    (courriel,) = [m for m in mails(bo_app) if "réponse" in m["Subject"]]
    assert courriel["To"] == EXAMPLE["courriel"]
    assert "Votre identifiant vous a été renvoyé." in courriel.get_body(("plain",)).get_content()

    detail = page(client.get(reponse.headers["Location"]))
    assert f"Réponse envoyée à {EXAMPLE['courriel']} (demande {reference})" in detail
    assert "Réponse envoyée</strong>" in detail and f"par {ASP}" in detail
    assert "Votre identifiant vous a été renvoyé.<br><br>Cordialement" in detail
    assert "Envoyer la réponse" not in detail  # answered: reopen first
    assert "Rouvrir" in detail and "Clore" in detail


@pytest.mark.parametrize("message", ["", "   \n "])
def test_an_empty_answer_is_refused_and_the_page_says_why(bo_app, message):
    demande_id, _ = deposer(bo_app)
    client = client_de(bo_app)
    reponse = client.post(
        f"/backoffice/assistance/{demande_id}/repondre", data={"message": message}
    )
    assert reponse.status_code == 422
    assert "Saisissez la réponse : elle est envoyée par courriel au demandeur." in page(reponse)
    assert 'class="form-control is-invalid"' in page(reponse)
    assert etat(bo_app, demande_id) is AssistanceState.OUVERTE
    assert notifications(bo_app, "reponse_support") == []
    assert len(journal(bo_app, demande_id)) == 1


def test_a_too_long_answer_is_refused_and_kept(bo_app):
    demande_id, _ = deposer(bo_app)
    client = client_de(bo_app)
    trop = "x" * (assistance.MAX_REPONSE_CHARS + 1)
    reponse = client.post(f"/backoffice/assistance/{demande_id}/repondre", data={"message": trop})
    assert reponse.status_code == 422
    assert "ne doit pas dépasser 10" in page(reponse)
    assert trop in page(reponse)
    assert etat(bo_app, demande_id) is AssistanceState.OUVERTE


def test_answering_a_request_someone_else_answered_keeps_the_text(bo_app):
    demande_id, _ = deposer(bo_app)
    with bo_app.app_context():
        assistance.repondre_assistance(demande_id, Acteur("agent", ADMIN), REPONSE)
    client = client_de(bo_app)
    reponse = client.post(
        f"/backoffice/assistance/{demande_id}/repondre", data={"message": "Ma réponse à moi"}
    )
    assert reponse.status_code == 409
    texte = page(reponse)
    assert "elle a déjà reçu une réponse (état : Répondue). Rouvrez-la d'abord." in texte
    assert "Ma réponse à moi" in texte
    assert len(notifications(bo_app, "reponse_support")) == 1


def test_closing_and_reopening_are_journalled_without_mail(bo_app):
    demande_id, reference = deposer(bo_app)
    client = client_de(bo_app, ADMIN, "administrateur")
    avant = len(mails(bo_app))

    reponse = client.post(f"/backoffice/assistance/{demande_id}/clore", follow_redirects=True)
    assert f"Demande {reference} close." in page(reponse)
    assert etat(bo_app, demande_id) is AssistanceState.CLOSE
    assert journal(bo_app, demande_id)[-1][:5] == (
        "clore_assistance",
        "agent",
        ADMIN,
        "ouverte",
        "close",
    )

    again = client.post(f"/backoffice/assistance/{demande_id}/clore", follow_redirects=True)
    assert "Impossible de clore cette demande d'assistance : elle est déjà close" in page(again)
    assert len(journal(bo_app, demande_id)) == 2

    reponse = client.post(f"/backoffice/assistance/{demande_id}/rouvrir", follow_redirects=True)
    assert f"Demande {reference} rouverte : elle revient dans la file." in page(reponse)
    assert etat(bo_app, demande_id) is AssistanceState.OUVERTE
    assert journal(bo_app, demande_id)[-1][:5] == (
        "rouvrir_assistance",
        "agent",
        ADMIN,
        "close",
        "ouverte",
    )
    refus = client.post(f"/backoffice/assistance/{demande_id}/rouvrir", follow_redirects=True)
    assert "elle est déjà ouverte" in page(refus)
    assert len(mails(bo_app)) == avant
    assert notifications(bo_app, "reponse_support") == []


def test_the_return_address_must_stay_on_the_site(bo_app):
    demande_id, _ = deposer(bo_app)
    client = client_de(bo_app)
    reponse = client.post(
        f"/backoffice/assistance/{demande_id}/clore", data={"url": "https://ailleurs.example/"}
    )
    assert reponse.status_code == 303
    assert "ailleurs.example" not in reponse.headers["Location"]


# --- CSRF ----------------------------------------------------------------------------------------


def _jeton(texte: str) -> str:
    trouve = JETON.search(texte)
    assert trouve, "no csrf_token in the page"
    return trouve.group(1) or trouve.group(2)


def connecter_avec_jetons(client, agent):
    texte = page(client.get("/backoffice/connexion"))
    client.post(
        "/backoffice/connexion",
        data={"email": agent.email, "mot_de_passe": PHRASE, "csrf_token": _jeton(texte)},
    )
    texte = page(client.get("/backoffice/connexion/code"))
    reponse = client.post(
        "/backoffice/connexion/code", data={"code": agent.code(), "csrf_token": _jeton(texte)}
    )
    assert reponse.status_code == 303


def test_every_action_needs_the_csrf_token(make_app, tmp_path):
    app = make_app(
        WTF_CSRF_ENABLED=True, MAIL_SERVER="", MAIL_FILE_DIR=str(tmp_path / "m"), REDIS_URL=""
    )
    demande_id, _ = deposer(app)
    client = app.test_client()
    connecter_avec_jetons(client, creer(app, ASP, "asp"))
    for action in ("repondre", "clore", "rouvrir"):
        reponse = client.post(
            f"/backoffice/assistance/{demande_id}/{action}", data={"message": REPONSE}
        )
        assert reponse.status_code == 400, action
        assert "Votre session a expiré ou le formulaire n'est plus valide." in page(reponse)
    assert etat(app, demande_id) is AssistanceState.OUVERTE
    assert notifications(app, "reponse_support") == []

    detail = page(client.get(f"/backoffice/assistance/details/?id={demande_id}"))
    jetons = {m.group(1) or m.group(2) for m in JETON.finditer(detail)}
    assert len(jetons) == 1  # every form of the page carries the session's token
    reponse = client.post(
        f"/backoffice/assistance/{demande_id}/repondre",
        data={"message": REPONSE, "csrf_token": jetons.pop()},
    )
    assert reponse.status_code == 303
    assert etat(app, demande_id) is AssistanceState.REPONDUE


# --- dashboard -----------------------------------------------------------------------------------


def test_the_dashboard_counts_open_requests_for_asp_and_administrators(bo_app):
    deposer(bo_app)
    deposer(bo_app)
    ferme, _ = deposer(bo_app)
    with bo_app.app_context():
        assistance.clore_assistance(ferme, Acteur("agent", ASP))
    for email, role in ((ASP, "asp"), (ADMIN, "administrateur")):
        texte = page(client_de(bo_app, email, role).get("/backoffice/"))
        assert re.search(
            r"Demandes d'assistance ouvertes</h2>\s*<p[^>]*tuile-valeur\">2</p>", texte
        ), role
        assert 'href="/backoffice/assistance/"' in texte
    ud = page(client_de(bo_app, UD, "ud", "44").get("/backoffice/"))
    assert "Demandes d'assistance ouvertes" not in ud


# --- in a real browser ---------------------------------------------------------------------------


@pytest.mark.browser
def test_answering_then_reading_the_journal_and_the_jobs_in_chromium(make_app, tmp_path):
    """Under the application's CSP, with CSRF on: answer a request from its page, find the
    answer in the journal through a date filter added from the menu, then the jobs and mails
    pages; no CSP violation, no serious accessibility fault; screenshots as artefacts."""
    import threading

    from werkzeug.serving import make_server

    from tests.backoffice.test_navigateur import VIOLATIONS, _axe
    from tests.browser.conftest import ARTEFACTS, _browser_available

    if not _browser_available():
        pytest.skip("Playwright or Chromium not installed")
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM

    app = make_app(
        WTF_CSRF_ENABLED=True, MAIL_SERVER="", MAIL_FILE_DIR=str(tmp_path / "m"), REDIS_URL=""
    )
    demande_id, reference = deposer(app, message="Je n'arrive pas à me connecter.\nMerci.")
    agent = creer(app, ADMIN, "administrateur")
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
            onglet.on("dialog", lambda dialog: dialog.accept())
            onglet.add_init_script(VIOLATIONS)

            onglet.goto(f"{base}/backoffice/assistance/")
            onglet.fill("#email", ADMIN)
            onglet.fill("#mot_de_passe", PHRASE)
            onglet.get_by_role("button", name="Continuer").click()
            onglet.fill("#code", agent.code())
            onglet.get_by_role("button", name="Se connecter").click()
            onglet.wait_for_url(f"{base}/backoffice/assistance/")
            _axe(onglet, "assistance-liste")
            onglet.screenshot(
                path=str(ARTEFACTS / "backoffice-assistance-1-file.png"), full_page=True
            )

            onglet.get_by_role("link", name=reference).click()
            onglet.wait_for_url(re.compile(r".*/backoffice/assistance/details/.*"))
            _axe(onglet, "assistance-detail")
            onglet.fill("#message", REPONSE)
            onglet.get_by_role("button", name="Envoyer la réponse").click()
            onglet.wait_for_load_state("load")
            assert "Réponse envoyée à" in onglet.inner_text("main")
            onglet.screenshot(
                path=str(ARTEFACTS / "backoffice-assistance-2-repondue.png"), full_page=True
            )
            assert etat(app, demande_id) is AssistanceState.REPONDUE

            onglet.get_by_role("link", name="Voir dans le journal").click()
            onglet.wait_for_load_state("load")
            assert "Réponse à une demande d'assistance" in onglet.inner_text("main")
            onglet.goto(f"{base}/backoffice/journal/")
            onglet.get_by_text("Ajouter un filtre").click()
            onglet.locator("a.filter", has_text="Opération").click()
            # The options' <select> is hidden behind Select2's widget: set it directly.
            onglet.locator("#filter_form select.filter-val").select_option(
                "repondre_assistance", force=True
            )
            onglet.get_by_role("button", name="Appliquer").click()
            onglet.wait_for_load_state("load")
            texte = onglet.inner_text("main")
            assert "Réponse à une demande d'assistance" in texte
            assert "Demande d'assistance déposée" not in texte
            _axe(onglet, "journal")
            onglet.screenshot(path=str(ARTEFACTS / "backoffice-journal.png"), full_page=True)

            onglet.goto(f"{base}/backoffice/taches/")
            assert "Mode intégré" in onglet.inner_text("main")
            _axe(onglet, "taches")
            onglet.screenshot(path=str(ARTEFACTS / "backoffice-taches.png"), full_page=True)
            onglet.goto(f"{base}/backoffice/courriels/?etat=envoye")
            assert "Réponse du support technique" in onglet.inner_text("main")
            onglet.screenshot(path=str(ARTEFACTS / "backoffice-courriels.png"), full_page=True)

            violations = onglet.evaluate("window.__violations")
            refus = [t for t in console if "Content Security Policy" in t]
            assert violations == [] and refus == [], (violations, refus)
            navigateur.close()
    finally:
        serveur.shutdown()
        fil.join(timeout=5)
