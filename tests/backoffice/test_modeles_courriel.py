"""« Modèles de courriel » in the back-office: administrators only (403 for ASP and UD), the
list, the editor with the placeholders of the mail, a refused draft shown again with its
messages, the preview with sample data (escaped), publish / discard / restore with their
journal rows, CSRF on each POST."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from extensions import db
from mailer import outbox, render
from mailer.catalogue import TEMPLATES
from models.audit import AuditEvent
from models.modeles_courriel import EtatModele, ModeleCourrielVersion
from tests.backoffice.conftest import ADMIN, ASP, PHRASE, UD, connecter, creer
from tests.mailer.conftest import IDENTIFIANT_CONTEXT, eml_files, read_eml

BASE = "/backoffice/modeles-courriel"
HOSTILE = "<script>alert(1)</script>"
JETON = re.compile(
    r'name="csrf_token" value="([^"]+)"|name="csrf_token" type="hidden" value="([^"]+)"'
)
SUJET = "{{ site_name }} : votre identifiant {{ identifiant }}"
CORPS = "Votre identifiant pour {{ denomination }} est {{ identifiant }}."


@pytest.fixture
def bo_app(make_app, tmp_path):
    """Embedded mode, mails written as .eml files in a folder of the test."""
    return make_app(MAIL_SERVER="", MAIL_FILE_DIR=str(tmp_path / "mails"), REDIS_URL="")


def page(reponse) -> str:
    return html.unescape(reponse.get_data(as_text=True))


def client_de(app, email=ADMIN, role="administrateur", departements=""):
    client = app.test_client()
    connecter(client, creer(app, email, role, departements))
    return client


def versions(app, modele="identifiant") -> list[tuple]:
    with app.app_context():
        return [
            (v.version, v.etat.value, v.sujet)
            for v in db.session.scalars(
                select(ModeleCourrielVersion)
                .where(ModeleCourrielVersion.modele == modele)
                .order_by(ModeleCourrielVersion.id)
            )
        ]


def journal(app) -> list[tuple]:
    with app.app_context():
        return [
            (e.operation, e.object_type, e.object_id, e.actor, e.state_from, e.state_to, e.details)
            for e in db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.object_type == "modele_courriel")
                .order_by(AuditEvent.id)
            )
        ]


def enregistrer(client, sujet=SUJET, corps=CORPS, suite="editeur", modele="identifiant"):
    return client.post(
        f"{BASE}/{modele}/brouillon", data={"sujet": sujet, "corps": corps, "suite": suite}
    )


# --- access ---------------------------------------------------------------------------------


@pytest.mark.parametrize("email, role, departements", [(ASP, "asp", ""), (UD, "ud", "44")])
def test_asp_and_ud_agents_get_403_on_every_page_and_action(bo_app, email, role, departements):
    client = client_de(bo_app, email, role, departements)
    for methode, url in [
        ("GET", f"{BASE}/"),
        ("GET", f"{BASE}/identifiant/"),
        ("GET", f"{BASE}/identifiant/apercu"),
        ("POST", f"{BASE}/identifiant/brouillon"),
        ("POST", f"{BASE}/identifiant/publier"),
        ("POST", f"{BASE}/identifiant/abandonner"),
        ("POST", f"{BASE}/identifiant/versions/1/restaurer"),
    ]:
        reponse = client.open(url, method=methode, data={"sujet": "x", "corps": "y"})
        assert reponse.status_code == 403, url
    assert versions(bo_app) == []
    assert "Modèles de courriel" not in page(client.get("/backoffice/"))


def test_without_a_session_the_pages_redirect_to_the_sign_in(bo_app):
    reponse = bo_app.test_client().get(f"{BASE}/")
    assert reponse.status_code == 302
    assert reponse.headers["Location"].startswith("/backoffice/connexion")


# --- list and editor ------------------------------------------------------------------------


def test_the_list_shows_every_mail_with_its_version_and_draft(bo_app):
    client = client_de(bo_app)
    texte = page(client.get(f"{BASE}/"))
    assert "Modèles de courriel" in texte
    assert texte.count('data-modele="') == len(TEMPLATES)
    assert TEMPLATES["identifiant"].description in texte
    assert "Fichiers livrés" in texte
    enregistrer(client)
    client.post(f"{BASE}/identifiant/publier")
    enregistrer(client, corps="Nouveau brouillon {{ identifiant }}")
    ligne = re.search(r'<tr data-modele="identifiant">.*?</tr>', page(client.get(f"{BASE}/")), re.S)
    assert "Version 1" in ligne.group(0) and "Brouillon" in ligne.group(0)


def test_the_editor_starts_from_the_shipped_files_and_lists_the_placeholders(bo_app):
    client = client_de(bo_app)
    texte = page(client.get(f"{BASE}/dap_acceptee/"))
    assert "Contenu des fichiers livrés" in texte
    assert (
        'value="{{ site_name }} : décision d\'autorisation de votre demande n° {{ numero_dap }}"'
        in texte
    )
    assert "- Période autorisée : du {{ periode_debut }} au {{ periode_fin }}" in texte
    for nom, description in [
        ("heures_autorisees", "Nombre d'heures autorisées"),
        ("site_url", "Adresse du site"),
    ]:
        assert f'data-inserer="{{{{ {nom} }}}}"' in texte
        assert description in texte
    assert "{{ motif }}" not in texte  # not a placeholder of this mail
    assert client.get(f"{BASE}/inconnu/").status_code == 404


def test_a_refused_draft_is_shown_again_with_its_messages_and_nothing_is_saved(bo_app):
    client = client_de(bo_app)
    corps = "Bonjour\n{{ ''.__class__ }}\n{% for x in siret %}{{ x }}{% endfor %}\n{{ motif }}"
    reponse = enregistrer(client, corps=corps)
    assert reponse.status_code == 422
    texte = page(reponse)
    assert "Le brouillon n'a pas été enregistré" in texte
    assert "Texte, ligne 2 : « {{ ''.__class__ }} » est refusé" in texte
    assert "l'instruction « {% for x in siret %} » n'est pas autorisée" in texte
    assert "« {{ motif }} » n'est pas une variable de ce courriel" in texte
    assert corps in texte  # what was typed is kept
    assert versions(bo_app) == [] and journal(bo_app) == []


# --- preview --------------------------------------------------------------------------------


def test_the_preview_renders_the_draft_with_sample_data_escaped(bo_app):
    client = client_de(bo_app)
    reponse = enregistrer(
        client, corps=f"Texte {HOSTILE} pour {{{{ denomination }}}}.", suite="apercu"
    )
    assert reponse.status_code == 303
    assert reponse.headers["Location"].endswith(f"{BASE}/identifiant/apercu")
    brut = client.get(f"{BASE}/identifiant/apercu").get_data(as_text=True)
    assert "<script>alert(1)" not in brut
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in brut
    texte = html.unescape(brut)
    assert "Activité partielle : votre identifiant AP0012345" in texte  # the sample values
    assert "Texte <script>alert(1)</script> pour SOCIETE IMMOBILIERE TOURISTIQUE." in texte
    assert "Bonjour Mathilde GERARD," in texte  # the shipped frame, in the text part
    assert "Brouillon" in texte


def test_a_published_version_can_be_previewed_and_an_unknown_one_is_404(bo_app):
    client = client_de(bo_app)
    enregistrer(client)
    client.post(f"{BASE}/identifiant/publier")
    texte = page(client.get(f"{BASE}/identifiant/apercu?version=1"))
    assert "Version 1" in texte and "Votre identifiant pour SOCIETE IMMOBILIERE" in texte
    assert client.get(f"{BASE}/identifiant/apercu?version=7").status_code == 404
    texte = page(client.get(f"{BASE}/test/apercu"))  # no draft, no version: the shipped files
    assert "Fichiers livrés" in texte and "Activité partielle : message de test" in texte


# --- publish, discard, restore ----------------------------------------------------------------


def test_publish_discard_and_restore_are_journalled_and_used_by_the_next_mails(bo_app, tmp_path):
    client = client_de(bo_app)
    assert enregistrer(client).status_code == 303
    reponse = client.post(f"{BASE}/identifiant/publier")
    assert reponse.status_code == 303
    assert "Version 1 publiée" in page(client.get(reponse.headers["Location"]))

    enregistrer(client, sujet="Deuxième {{ identifiant }}")
    client.post(f"{BASE}/identifiant/publier")
    enregistrer(client, sujet="Abandonné {{ identifiant }}")
    client.post(f"{BASE}/identifiant/abandonner")
    reponse = client.post(f"{BASE}/identifiant/versions/1/restaurer")
    assert "Version 1 restaurée : publiée à nouveau comme version 3" in page(
        client.get(reponse.headers["Location"])
    )
    assert versions(bo_app) == [
        (1, "publiee", SUJET),
        (2, "publiee", "Deuxième {{ identifiant }}"),
        (3, "publiee", SUJET),
    ]
    assert journal(bo_app) == [
        ("enregistrer_brouillon_courriel", "modele_courriel", "identifiant", ADMIN, None, "brouillon", {}),
        ("publier_modele_courriel", "modele_courriel", "identifiant", ADMIN, "brouillon", "publiee", {"version": 1}),
        ("enregistrer_brouillon_courriel", "modele_courriel", "identifiant", ADMIN, None, "brouillon", {}),
        ("publier_modele_courriel", "modele_courriel", "identifiant", ADMIN, "brouillon", "publiee", {"version": 2}),
        ("enregistrer_brouillon_courriel", "modele_courriel", "identifiant", ADMIN, None, "brouillon", {}),
        ("abandonner_brouillon_courriel", "modele_courriel", "identifiant", ADMIN, "brouillon", None, {}),
        ("restaurer_modele_courriel", "modele_courriel", "identifiant", ADMIN, "publiee", "publiee", {"version": 3, "restauree_de": 1}),
    ]  # fmt: skip

    with bo_app.app_context():
        notification = outbox.notifier("a@exemple.fr", "identifiant", IDENTIFIANT_CONTEXT)
        outbox.commit()
        assert render.subject_of(notification) == "Activité partielle : votre identifiant alefevre"
    [mail] = eml_files(tmp_path / "mails")
    assert read_eml(mail)["Subject"] == "Activité partielle : votre identifiant alefevre"

    texte = page(client.get(f"{BASE}/identifiant/"))
    assert "Restauration de la version 1" in texte
    reponse = client.post(f"{BASE}/identifiant/versions/3/restaurer")
    assert "déjà la version en vigueur" in page(client.get(reponse.headers["Location"]))
    reponse = client.post(f"{BASE}/identifiant/publier")
    assert "n'a pas de brouillon à publier" in page(client.get(reponse.headers["Location"]))


# --- CSRF -----------------------------------------------------------------------------------


def _jeton(texte: str) -> str:
    trouve = JETON.search(texte)
    assert trouve, "no csrf_token in the page"
    return trouve.group(1) or trouve.group(2)


def test_every_action_needs_the_csrf_token(make_app, tmp_path):
    app = make_app(
        WTF_CSRF_ENABLED=True, MAIL_SERVER="", MAIL_FILE_DIR=str(tmp_path / "m"), REDIS_URL=""
    )
    agent = creer(app)
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
    with app.app_context():  # one published version and a draft, for every action to apply
        from workflows import modeles_courriel as operations
        from workflows.journal import Acteur

        operations.enregistrer_brouillon("identifiant", SUJET, CORPS, Acteur("agent", ADMIN))
        operations.publier_brouillon("identifiant", Acteur("agent", ADMIN))
        operations.enregistrer_brouillon("identifiant", "Deux", "Deux", Acteur("agent", ADMIN))
    avant = versions(app)
    for action in ("brouillon", "publier", "abandonner", "versions/1/restaurer"):
        reponse = client.post(
            f"{BASE}/identifiant/{action}", data={"sujet": "Autre", "corps": "Autre"}
        )
        assert reponse.status_code == 400, action
        assert "Votre session a expiré ou le formulaire n'est plus valide." in page(reponse)
    assert versions(app) == avant

    editeur = page(client.get(f"{BASE}/identifiant/"))
    jetons = {m.group(1) or m.group(2) for m in JETON.finditer(editeur)}
    assert len(jetons) == 1  # every form of the page carries the session's token
    assert editeur.count('name="csrf_token"') == editeur.count('method="post"') >= 3
    reponse = client.post(f"{BASE}/identifiant/publier", data={"csrf_token": jetons.pop()})
    assert reponse.status_code == 303
    assert versions(app)[-1] == (2, EtatModele.PUBLIEE.value, "Deux")


# --- in a real browser ----------------------------------------------------------------------


@pytest.mark.browser
def test_editing_previewing_and_publishing_in_chromium_under_the_csp(make_app, tmp_path):
    """Insert a placeholder by clicking it, save and preview, publish (confirmed): with CSRF
    on and no CSP violation. Screenshots in ``tests/artefacts/backoffice-modeles-*.png``."""
    import threading

    from werkzeug.serving import make_server

    from tests.browser.conftest import _browser_available

    if not _browser_available():
        pytest.skip("Playwright or Chromium not installed")
    from playwright.sync_api import sync_playwright

    from tests.backoffice.test_navigateur import VIOLATIONS
    from tests.browser.conftest import ARTEFACTS, CHROMIUM

    app = make_app(
        WTF_CSRF_ENABLED=True, MAIL_SERVER="", MAIL_FILE_DIR=str(tmp_path / "m"), REDIS_URL=""
    )
    agent = creer(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    ARTEFACTS.mkdir(exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            onglet = browser.new_page()
            console = []
            onglet.on("console", lambda message: console.append(message.text))
            onglet.on("dialog", lambda dialog: dialog.accept())
            onglet.add_init_script(VIOLATIONS)
            onglet.goto(f"{base}/backoffice/connexion")
            onglet.fill("#email", ADMIN)
            onglet.fill("#mot_de_passe", PHRASE)
            onglet.get_by_role("button", name="Continuer").click()
            onglet.wait_for_url(f"{base}/backoffice/connexion/code")
            onglet.fill("#code", agent.code())
            onglet.get_by_role("button", name="Se connecter").click()
            onglet.wait_for_url(f"{base}/backoffice/")

            onglet.goto(f"{base}{BASE}/")
            onglet.locator('tr[data-modele="habilitation"] a', has_text="Modifier").click()
            onglet.wait_for_url(f"{base}{BASE}/habilitation/")
            onglet.fill("#sujet", "Votre habilitation pour ")
            onglet.locator("#sujet").press("End")
            onglet.locator('[data-inserer="{{ denomination }}"]').click()
            assert onglet.input_value("#sujet") == "Votre habilitation pour {{ denomination }}"
            onglet.screenshot(
                path=str(ARTEFACTS / "backoffice-modeles-editeur.png"), full_page=True
            )
            onglet.get_by_role("button", name="Enregistrer et prévisualiser").click()
            onglet.wait_for_url(f"{base}{BASE}/habilitation/apercu")
            assert onglet.inner_text(".apercu-sujet") == (
                "Votre habilitation pour SOCIETE IMMOBILIERE TOURISTIQUE"
            )
            assert "Bonjour Mathilde GERARD," in onglet.inner_text(".apercu-texte")
            onglet.screenshot(path=str(ARTEFACTS / "backoffice-modeles-apercu.png"), full_page=True)

            onglet.get_by_role("link", name="Retour à l'éditeur").click()
            onglet.get_by_role("button", name="Publier le brouillon").click()
            onglet.wait_for_url(f"{base}{BASE}/habilitation/")
            assert "Version 1 publiée" in onglet.inner_text("body")
            violations = onglet.evaluate("window.__violations")
            browser.close()
    finally:
        server.shutdown()
        thread.join(timeout=5)
    refus = [texte for texte in console if "Content Security Policy" in texte]
    assert violations == [] and refus == [], (violations, refus)
    assert versions(app, "habilitation") == [
        (1, "publiee", "Votre habilitation pour {{ denomination }}")
    ]
