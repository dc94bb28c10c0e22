"""The back-office in a real Chromium, under the application's CSP: enrolment by QR code,
sign-in with TOTP, a bulk action (the overridden action menu), a filter, sign-out — with no
CSP violation reported and no serious accessibility fault on the sign-in pages.

Screenshots are kept in ``tests/artefacts/backoffice-*.png``.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pyotp
import pytest
from werkzeug.serving import make_server

from extensions import db
from models.agents import Agent
from tests.backoffice.conftest import ADMIN, PHRASE, creer
from tests.backoffice.test_csrf_et_entetes import VueAvecAction
from tests.browser.conftest import ARTEFACTS, _browser_available, page  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not _browser_available(), reason="Playwright or Chromium not installed"),
]

AXE = Path(__file__).resolve().parents[1] / "browser" / "vendor" / "axe-core" / "axe.min.js"
VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || e.sample || ""));
});
"""


@pytest.fixture
def serveur(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    app.extensions["admin"][0].add_view(
        VueAvecAction(Agent, db, name="Avec action", endpoint="avec_action")
    )
    agent = creer(app, enrole=False)
    creer(app, "paul.leroy@asp.localhost", "asp")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}", agent
    server.shutdown()
    thread.join(timeout=5)


def _axe(onglet, nom: str) -> None:
    onglet.evaluate(AXE.read_text(encoding="utf-8"))
    resultats = json.loads(
        onglet.evaluate(
            "axe.run(document, {resultTypes: ['violations']})"
            ".then(r => JSON.stringify(r.violations))"
        )
    )
    graves = [
        (v["id"], [n["target"] for n in v["nodes"]][:5])
        for v in resultats
        if v["impact"] in ("serious", "critical")
    ]
    assert graves == [], f"{nom}: {graves}"


def _capture(onglet, nom: str) -> None:
    onglet.screenshot(path=str(ARTEFACTS / f"backoffice-{nom}.png"), full_page=True)


def test_enrolment_sign_in_bulk_action_and_filter_under_the_csp(serveur, page):  # noqa: F811
    app, base, agent = serveur
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.on("dialog", lambda dialog: dialog.accept())
    page.add_init_script(VIOLATIONS)

    # Anonymous: the dashboard sends to the sign-in page.
    page.goto(f"{base}/backoffice/")
    page.wait_for_url(f"{base}/backoffice/connexion?next=/backoffice/")
    _axe(page, "connexion")
    _capture(page, "01-connexion")
    page.fill("#email", ADMIN)
    page.fill("#mot_de_passe", PHRASE)
    page.get_by_role("button", name="Continuer").click()

    # First sign-in: the enrolment page and its QR code.
    page.wait_for_url(f"{base}/backoffice/enrolement")
    assert page.locator("figure.qr svg").is_visible()
    _axe(page, "enrolement")
    _capture(page, "02-enrolement")
    page.fill("#code", pyotp.TOTP(agent.secret).now())
    page.get_by_role("button", name="Activer et me connecter").click()

    # The dashboard (the next= of the first request).
    page.wait_for_url(f"{base}/backoffice/")
    assert "Double authentification activée" in page.inner_text("main")
    assert "Agents actifs" in page.inner_text("main")
    _axe(page, "tableau-de-bord")
    _capture(page, "03-tableau-de-bord")

    # A bulk action through the overridden "Avec la sélection" menu (CSRF on).
    page.goto(f"{base}/backoffice/avec_action/")
    page.locator("input.action-checkbox").first.check()
    page.get_by_role("button", name="Avec la sélection").click()
    page.get_by_text("Marquer", exact=True).click()
    page.wait_for_load_state("load")
    with app.app_context():
        noms = db.session.scalars(db.select(Agent.nom)).all()
    assert "MARQUÉ" in noms
    _capture(page, "04-action-groupee")

    # The Agents list and a filter added from "Ajouter un filtre".
    page.goto(f"{base}/backoffice/agents/")
    page.get_by_text("Ajouter un filtre").click()
    page.locator("a.filter", has_text="Rôle").click()
    assert page.locator("#filter_form select.filter-op").count() == 1
    assert page.url == f"{base}/backoffice/agents/"
    _capture(page, "05-agents")

    # Sign-out (a POST with its CSRF token).
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{base}/backoffice/connexion")
    assert "Vous êtes déconnecté(e)." in page.inner_text("main")

    violations = page.evaluate("window.__violations")
    refus = [texte for texte in console if "Content Security Policy" in texte]
    assert violations == [] and refus == [], (violations, refus)
