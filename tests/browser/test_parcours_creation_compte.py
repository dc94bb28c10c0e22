"""The seed's journey end to end in a real Chromium: sign-in page → CRÉER MON ESPACE (SIRET,
security code, CGU) → the request prefilled from the directory → confirmation → validation
by the operation the back-office calls → the three mails on a real SMTP server → password
chosen through the link → sign-in → Mes établissements → Fiche établissement.

axe-core (npm ``axe-core``, committed in ``vendor/``) checks every page of the journey: no
serious or critical violation. Screenshots are kept in ``tests/artefacts/``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from extensions import db
from models.comptes import DemandeCompte
from tests.browser.conftest import ARTEFACTS
from tests.mailer.conftest import SmtpServer, free_port
from workflows import comptes
from workflows.journal import Acteur

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SEED_SIRET = "00578096000042"
CODE = "ABC123"
PHRASE = "les quatre saisons de vivaldi"
AGENT = Acteur("agent", "agent.asp@asp.localhost")


@pytest.fixture
def parcours(make_app):
    """The app on a live port (CSRF on, embedded jobs), mailing a real SMTP server."""
    smtp = SmtpServer().start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = make_app(
        WTF_CSRF_ENABLED=True,
        CAPTCHA_TEST_ANSWER=CODE,
        REDIS_URL="",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp.port,
        MAIL_TIMEOUT=2,
        MAIL_SUPPRESS_SEND=False,
        SITE_URL=base,
    )
    assert app.test_cli_runner().invoke(args=["sirene", "load-sample"]).exit_code == 0
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, base, smtp
    server.shutdown()
    thread.join(timeout=5)
    smtp.stop()


def check_accessibility(page, name: str) -> None:
    """Run axe-core on the page as it is; fail on any serious or critical violation."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    results = page.evaluate(
        "axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(r.violations))"
    )
    grave = [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in json.loads(results)
        if v["impact"] in ("serious", "critical")
    ]
    assert grave == [], f"{name}: {json.dumps(grave, ensure_ascii=False, indent=1)}"
    page.screenshot(path=str(ARTEFACTS / f"parcours-{name}.png"), full_page=True)


def wait_for_mails(smtp: SmtpServer, count: int, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while len(smtp.messages) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return smtp.messages


def body_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_the_seed_journey_from_the_sign_in_page_to_the_fiche_etablissement(parcours, page):
    app, base, smtp = parcours

    # The sign-in page and its "MA PREMIÈRE CONNEXION" block.
    page.goto(f"{base}/connexion")
    check_accessibility(page, "01-connexion")
    page.get_by_role("link", name="Créer mon espace").click()

    # Step 1: SIRET, security code, CGU.
    page.wait_for_url(f"{base}/creer-mon-espace/")
    check_accessibility(page, "02-siret")
    page.fill("#siret", SEED_SIRET)
    page.fill("#code", CODE)
    # The label holds a link to the CGU page: tick the box itself.
    page.locator("#cgu").check(force=True)
    page.get_by_role("button", name="Valider").click()

    # Step 2: the request, prefilled from the SIRENE directory.
    page.wait_for_url(f"{base}/creer-mon-espace/demande")
    assert "Vos informations ont été renseignées" in page.inner_text("main")
    assert page.locator("#etablissement-denomination").input_value() == (
        "SOCIETE IMMOBILIERE TOURISTIQUE"
    )
    check_accessibility(page, "03-demande-preremplie")
    page.fill("#etablissement-courriel", "contact@sit-labaule.fr")
    page.fill("#etablissement-courriel__confirmation", "contact@sit-labaule.fr")
    page.fill("#etablissement-telephone", "02 40 60 00 00")
    page.fill("#utilisateur-nom", "Gérard")
    page.fill("#utilisateur-prenom", "Mathilde")
    page.fill("#utilisateur-telephone", "06 12 34 56 78")
    page.fill("#utilisateur-courriel", "mathilde.gerard@sit-labaule.fr")
    page.fill("#utilisateur-courriel__confirmation", "mathilde.gerard@sit-labaule.fr")
    page.select_option(
        "#utilisateur-question_secrete", "Quel était le nom de votre école primaire ?"
    )
    page.fill("#utilisateur-reponse", "Jules Ferry")
    page.get_by_role("button", name="Envoyer").click()

    # The seed's confirmation.
    page.wait_for_url(f"{base}/creer-mon-espace/confirmation")
    assert "Votre demande de création de compte a bien été transmise" in page.inner_text("main")
    check_accessibility(page, "04-confirmation")

    # An agent validates the request (the operation the back-office calls).
    with app.app_context():
        demande = db.session.scalar(select(DemandeCompte).where(DemandeCompte.siret == SEED_SIRET))
        comptes.valider_demande_compte(demande.id, AGENT)

    # The three mails, in order, on the SMTP server: identifiant, password link, habilitation.
    messages = wait_for_mails(smtp, 3)
    assert [m["To"] for m in messages] == ["mathilde.gerard@sit-labaule.fr"] * 3
    identifiant = re.search(r"identifiant de connexion est : (\S+)", body_of(messages[0])).group(1)
    lien = re.search(rf"{re.escape(base)}/mot-de-passe/\S+", body_of(messages[1])).group(0)
    assert SEED_SIRET in body_of(messages[2])

    # The password is chosen through the single-use link.
    page.goto(lien)
    check_accessibility(page, "05-choisir-mot-de-passe")
    page.fill("#reponse", "Jules Ferry")  # the question chosen in the request
    page.fill("#mot_de_passe", PHRASE)
    page.fill("#confirmation", PHRASE)
    page.get_by_role("button", name="Enregistrer mon mot de passe").click()
    page.wait_for_selector(".fr-alert--success")

    # Sign-in, then Mes établissements and the fiche.
    page.goto(f"{base}/connexion")
    page.fill("#identifiant", identifiant)
    page.fill("#mot_de_passe", PHRASE)
    page.get_by_role("button", name="Connexion").click()
    page.wait_for_url(f"{base}/mes-etablissements")
    check_accessibility(page, "06-mes-etablissements")
    page.get_by_role("link", name="SOCIETE IMMOBILIERE TOURISTIQUE").click()

    page.wait_for_url(f"{base}/etablissements/{SEED_SIRET}")
    fiche = page.inner_text("main")
    assert "Compte principal utilisateur (Personne à contacter)" in fiche
    assert page.locator("#referent-courriel").input_value() == "mathilde.gerard@sit-labaule.fr"
    assert page.locator("#referent-courriel").is_disabled()
    check_accessibility(page, "07-fiche-etablissement")


def test_the_accessibility_check_fails_on_a_serious_violation(page):
    page.set_content('<html lang="fr"><body><main><img src="x.png"></main></body></html>')
    with pytest.raises(AssertionError, match="image-alt"):
        check_accessibility(page, "00-controle-axe")
