"""Issue #7's journey in a real Chromium: an Administrateur adds an optional question
« Numéro de TVA intracommunautaire » with help text to the account-creation request in the
structured editor, previews the draft, publishes it after the summary of changes; a new
visitor sees the question on the public form and answers it; the agent sees the answer in the
request's detail, while a request filed before the change still shows with the labels of its
own version. Screenshots are kept in ``tests/artefacts/``; axe-core checks the public pages.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from extensions import db
from models.comptes import DemandeCompte
from tests.backoffice.conftest import ADMIN, creer
from tests.backoffice.conftest import PHRASE as PHRASE_AGENT
from tests.browser import test_parcours_creation_compte as parcours_compte
from tests.browser.conftest import ARTEFACTS
from workflows import comptes, definitions
from workflows.journal import Acteur

pytestmark = pytest.mark.browser
parcours = parcours_compte.parcours  # the live app mailing a real SMTP server (fixture)
check_accessibility = parcours_compte.check_accessibility
CODE = parcours_compte.CODE

ROOT = Path(__file__).resolve().parents[2]
COMPTE = "demande-creation-compte"
TVA = "Numéro de TVA intracommunautaire"
AIDE = "Facultatif : il commence par FR et figure sur vos factures."
ANCIENNE_SIRET = "96285287700019"
NOUVELLE_SIRET = "00578096000042"


def capture(page, name: str) -> None:
    page.screenshot(path=str(ARTEFACTS / f"low-code-{name}.png"), full_page=True)


def deposer_avant_changement(app) -> tuple[int, int]:
    """A request filed with the shipped version, before any change (as the public form does)."""
    document = json.loads(
        (ROOT / "forms" / "examples" / f"{COMPTE}.json").read_text(encoding="utf-8")
    )
    document["etablissement"]["siret"] = ANCIENNE_SIRET
    with app.app_context():
        definitions.synchroniser_fichiers()
        version = app.extensions["forms"][COMPTE].version
        demande = comptes.demander_compte(
            document, version, Acteur("usager", document["utilisateur"]["courriel"])
        )
        return demande.id, version


def test_an_administrator_adds_a_question_that_the_public_then_answers(parcours, page):
    app, base, _smtp = parcours
    ancienne_id, ancienne_version = deposer_avant_changement(app)
    agent = creer(app)
    page.on("dialog", lambda dialog: dialog.accept())

    # The Administrateur signs in with password and TOTP.
    page.goto(f"{base}/backoffice/connexion")
    page.fill("#email", ADMIN)
    page.fill("#mot_de_passe", PHRASE_AGENT)
    page.get_by_role("button", name="Continuer").click()
    page.wait_for_url(f"{base}/backoffice/connexion/code")
    page.fill("#code", agent.code())
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{base}/backoffice/")

    # « Formulaires »: open a draft of the account-creation request.
    page.goto(f"{base}/backoffice/formulaires/")
    capture(page, "01-formulaires")
    page.goto(f"{base}/backoffice/formulaires/{COMPTE}/")
    page.get_by_role("button", name="Modifier ce formulaire (ouvrir un brouillon)").click()
    page.get_by_role(
        "link", name="+ Ajouter une question dans « Information établissement »"
    ).click()

    # The question, without writing any JSON.
    page.fill("#libelle", TVA)
    page.select_option("#type", "texte")
    page.fill("#aide", AIDE)
    assert not page.locator("#obligatoire").is_checked()
    capture(page, "02-question")
    page.get_by_role("button", name="Ajouter la question").click()
    page.wait_for_url(f"{base}/backoffice/formulaires/{COMPTE}/**")
    assert TVA in page.inner_text("main")
    capture(page, "03-brouillon")

    # Preview: the draft as the public will see it; nothing is public yet.
    page.goto(f"{base}/backoffice/formulaires/{COMPTE}/apercu")
    assert TVA in page.inner_text("main") and AIDE in page.inner_text("main")
    capture(page, "04-apercu")
    with app.app_context():
        servie = json.dumps(app.extensions["forms"][COMPTE].schema, ensure_ascii=False)
        assert TVA not in servie

    # Publish: the summary of changes, then the confirmation.
    page.goto(f"{base}/backoffice/formulaires/{COMPTE}/publier")
    resume = page.inner_text("#changements")
    assert "Question ajoutée" in resume and TVA in resume
    capture(page, "05-publier")
    page.get_by_role("button", name="Publier cette version").click()
    page.wait_for_url(f"{base}/backoffice/formulaires/{COMPTE}/versions")
    assert f"Version {ancienne_version + 1} publiée" in page.inner_text("main")
    capture(page, "06-versions")

    # A new visitor: CRÉER MON ESPACE shows the new question, with its help text.
    visiteur = page.context.browser.new_context().new_page()
    visiteur.set_default_timeout(10_000)
    visiteur.goto(f"{base}/creer-mon-espace/")
    visiteur.fill("#siret", NOUVELLE_SIRET)
    visiteur.fill("#code", CODE)
    visiteur.locator("#cgu").check(force=True)
    visiteur.get_by_role("button", name="Valider").click()
    visiteur.wait_for_url(f"{base}/creer-mon-espace/demande")
    question = visiteur.get_by_label(TVA)
    assert question.is_visible()
    assert AIDE in visiteur.inner_text("main")
    check_accessibility(visiteur, "low-code-07-formulaire-public")
    question.fill("FR40303265045")
    visiteur.fill("#etablissement-courriel", "contact@sit-labaule.fr")
    visiteur.fill("#etablissement-courriel__confirmation", "contact@sit-labaule.fr")
    visiteur.fill("#etablissement-telephone", "02 40 60 00 00")
    visiteur.fill("#utilisateur-nom", "Gérard")
    visiteur.fill("#utilisateur-prenom", "Mathilde")
    visiteur.fill("#utilisateur-telephone", "06 12 34 56 78")
    visiteur.fill("#utilisateur-courriel", "mathilde.gerard@sit-labaule.fr")
    visiteur.fill("#utilisateur-courriel__confirmation", "mathilde.gerard@sit-labaule.fr")
    visiteur.select_option(
        "#utilisateur-question_secrete", "Quel était le nom de votre école primaire ?"
    )
    visiteur.fill("#utilisateur-reponse", "Jules Ferry")
    visiteur.get_by_role("button", name="Envoyer").click()
    visiteur.wait_for_url(f"{base}/creer-mon-espace/confirmation")

    with app.app_context():
        nouvelle = db.session.scalar(
            select(DemandeCompte).where(DemandeCompte.siret == NOUVELLE_SIRET)
        )
        assert nouvelle.form_version == ancienne_version + 1
        assert "FR40303265045" in json.dumps(nouvelle.data)
        nouvelle_id = nouvelle.id

    # The agent sees the answer, labelled, in the new request's detail...
    page.goto(f"{base}/backoffice/demandes/details/?id={nouvelle_id}")
    donnees = page.inner_text("main")
    assert TVA in donnees and "FR40303265045" in donnees
    assert f"version {ancienne_version + 1}" in donnees
    capture(page, "08-detail-nouvelle-demande")

    # ... and the request filed before the change keeps the labels of its own version.
    page.goto(f"{base}/backoffice/demandes/details/?id={ancienne_id}")
    donnees = page.inner_text("main")
    assert f"version {ancienne_version}." in donnees
    assert TVA not in donnees
    assert "Dénomination" in donnees or "Raison sociale" in donnees
    capture(page, "09-detail-ancienne-demande")
