"""A form in steps in a real Chromium: three pages with the DSFR stepper, an error on a page,
« Précédent » without loss, the private link, « Vérifiez vos réponses », « Modifier », filing;
a private link opened by a signed-in user asks before taking the draft into her space.
axe-core checks every page; screenshots are kept in ``tests/artefacts/``."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from extensions import db
from models.brouillon import BrouillonFormulaire
from models.comptes import Utilisateur
from models.submission import Submission
from tests import factories
from tests.browser.test_parcours_creation_compte import check_accessibility

pytestmark = pytest.mark.browser

TEST_SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


@pytest.fixture
def serveur(make_app):
    """The test definitions on a live port, CSRF on as in production."""
    app = make_app(FORMS_SCHEMAS_DIR=str(TEST_SCHEMAS), WTF_CSRF_ENABLED=True, REDIS_URL="")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def test_walking_the_three_steps_then_checking_and_sending(serveur, page):
    app, base = serveur
    page.goto(f"{base}/formulaires/demande-en-etapes")
    check_accessibility(page, "etapes-00-debut")
    page.get_by_role("link", name="Commencer").click()

    # Step 1: an error first, nothing typed lost
    assert "Étape 1 sur 3" in page.inner_text(".fr-stepper")
    page.fill("#objet", "Baisse d'activité")
    page.fill("#demandeur-nom", "G")
    page.get_by_role("button", name="Suivant").click()
    page.wait_for_selector("#resume-erreurs")
    assert page.evaluate("document.activeElement.id") == "resume-erreurs"
    assert page.locator("#objet").input_value() == "Baisse d'activité"
    check_accessibility(page, "etapes-01-erreurs")
    page.fill("#demandeur-nom", "Gérard")
    page.fill("#demandeur-courriel", "mathilde.gerard@exemple.fr")
    page.get_by_role("button", name="Suivant").click()

    # Step 2: the private link is shown once; « Précédent » keeps what was typed
    assert "Étape 2 sur 3" in page.inner_text(".fr-stepper")
    assert "Étape suivante : La période" in page.inner_text(".fr-stepper")
    lien = page.locator(".app-lien-reprise").inner_text()
    assert "/formulaires/demande-en-etapes/reprendre/" in lien
    check_accessibility(page, "etapes-02-etablissement")
    page.fill("#etablissement-siret", "732 829 320 00074")
    page.get_by_role("button", name="Précédent").click()
    assert "Étape 1 sur 3" in page.inner_text(".fr-stepper")
    assert page.locator("#demandeur-nom").input_value() == "Gérard"
    page.get_by_role("button", name="Suivant").click()
    assert page.locator("#etablissement-siret").input_value() == "73282932000074"
    page.fill("#etablissement-effectif", "12")
    page.click("label[for=etablissement-salaries_concernes-0]")
    page.fill("#etablissement-nombre_concernes", "4")
    page.get_by_role("button", name="Suivant").click()

    # Step 3
    assert "Étape 3 sur 3" in page.inner_text(".fr-stepper")
    page.fill("#periode-date_debut", "2026-12-01")
    page.click("label[for=periode-motif-1]")
    check_accessibility(page, "etapes-03-periode")
    page.get_by_role("button", name="Vérifier mes réponses").click()

    # « Vérifiez vos réponses », then « Modifier » one answer
    page.wait_for_selector("h1:has-text('Vérifiez vos réponses')")
    assert "Sinistre ou intempéries" in page.inner_text("main")
    check_accessibility(page, "etapes-04-verification")
    page.get_by_role("link", name="Modifier : Effectif").click()
    assert page.url.endswith("/etape/2?retour=verification#etablissement-effectif")
    page.fill("#etablissement-effectif", "15")
    page.get_by_role("button", name="Enregistrer et revenir à la vérification").click()
    page.wait_for_selector("h1:has-text('Vérifiez vos réponses')")
    assert "15" in page.inner_text("#etape-2")

    # The private link resumes the same draft in another browser context
    other = page.context.browser.new_context().new_page()
    other.goto(lien)
    assert "Vérifiez vos réponses" in other.inner_text("h1")
    other.close()

    page.get_by_role("button", name="Envoyer").click()
    page.wait_for_selector(".app-reference")
    assert "/formulaires/demande-en-etapes/confirmation/" in page.url
    check_accessibility(page, "etapes-05-confirmation")
    with app.app_context():
        (submission,) = db.session.scalars(select(Submission)).all()
        assert submission.data["etablissement"]["effectif"] == 15
        assert submission.data["periode"] == {"date_debut": "2026-12-01", "motif": "sinistre"}


def test_a_signed_in_user_is_asked_before_a_link_puts_a_draft_in_her_space(serveur, page):
    app, base = serveur
    with app.app_context():
        factories.identite("mgerard", "GERARD", "Mathilde")
        db.session.commit()
    # Someone fills the first page anonymously and keeps the private link.
    anonyme = page.context.browser.new_context().new_page()
    anonyme.goto(f"{base}/formulaires/demande-en-etapes/etape/1")
    anonyme.fill("#objet", "Baisse d'activité")
    anonyme.fill("#demandeur-nom", "Gérard")
    anonyme.fill("#demandeur-courriel", "mathilde.gerard@exemple.fr")
    anonyme.get_by_role("button", name="Suivant").click()
    lien = anonyme.locator(".app-lien-reprise").inner_text()
    anonyme.close()

    page.goto(f"{base}/connexion")
    page.fill("#identifiant", "mgerard")
    page.fill("#mot_de_passe", factories.PHRASE)
    page.get_by_role("button", name="Connexion").click()
    page.wait_for_load_state()

    page.goto(lien)
    assert page.inner_text("h1") == "Reprendre ce brouillon dans votre espace ?"
    assert "Demande en trois étapes" in page.inner_text("main")
    check_accessibility(page, "etapes-06-reprendre")
    page.get_by_role("link", name="Ne pas le reprendre").click()
    assert page.url.endswith("/formulaires/demande-en-etapes")
    with app.app_context():
        assert db.session.scalars(select(BrouillonFormulaire.utilisateur_id)).all() == [None]

    page.goto(lien)
    page.get_by_role("button", name="Reprendre ce brouillon").click()
    assert "Étape 2 sur 3" in page.inner_text(".fr-stepper")
    with app.app_context():
        (owner,) = db.session.scalars(select(BrouillonFormulaire.utilisateur_id)).all()
        assert db.session.get(Utilisateur, owner).identifiant == "mgerard"
