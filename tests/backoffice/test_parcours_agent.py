"""Issue #6's « Done when » in a real Chromium: an Agent ASP, made by ``flask agents create``,
signs in with its password and a TOTP code, opens « Demandes de création de compte », opens a
pending request and validates it (the page's button, CSRF token included), then goes to the
établissement that validation created and gives it a new référent created on the spot; the
history shows the change. Along the way: no CSP violation, no serious accessibility fault, a
screenshot per step (``tests/artefacts/backoffice-parcours-*.png``), and the rows behind the
pages: the validation's journal and mails, the reassignment's mails to both référents.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from extensions import db
from models.audit import AuditEvent
from models.comptes import DemandeCompte, DemandeState, Etablissement, Habilitation, Role
from models.notification import Notification
from tests.backoffice.conftest import ASP, PHRASE
from tests.backoffice.test_demandes import deposer, serveur  # noqa: F401 (live app, ASP agent)
from tests.backoffice.test_navigateur import VIOLATIONS, _axe
from tests.browser.conftest import ARTEFACTS, _browser_available
from tests.browser.conftest import page as navigateur  # noqa: F401 (the Chromium fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not _browser_available(), reason="Playwright or Chromium not installed"),
]

DEMANDEUSE = "alice.marchand@exemple.fr"
NOUVEAU = "bruno.lefort@exemple.fr"


def capture(onglet, nom: str) -> None:
    onglet.screenshot(path=str(ARTEFACTS / f"backoffice-parcours-{nom}.png"), full_page=True)


def operations(app, object_type: str, object_id) -> list[str]:
    with app.app_context():
        return db.session.scalars(
            select(AuditEvent.operation)
            .where(AuditEvent.object_type == object_type, AuditEvent.object_id == str(object_id))
            .order_by(AuditEvent.id)
        ).all()


def courriels(app, adresse: str) -> list[str]:
    with app.app_context():
        return db.session.scalars(
            select(Notification.template)
            .where(Notification.recipient == adresse)
            .order_by(Notification.id)
        ).all()


def test_an_agent_signs_in_validates_a_request_and_reassigns_the_referent(
    serveur,  # noqa: F811
    navigateur,  # noqa: F811
):
    app, base, agent = serveur
    onglet = navigateur
    demande_id = deposer(app, 31, "44500", "CONSERVERIE DE LA COTE", DEMANDEUSE)
    autre_id = deposer(app, 32, "75011", "IMPRIMERIE DU CANAL", "contact@imprimerie.fr")
    with app.app_context():
        siret = db.session.get(DemandeCompte, demande_id).siret
    console, dialogues = [], []
    onglet.on("console", lambda message: console.append(message.text))
    onglet.on("dialog", lambda d: (dialogues.append(d.message), d.accept()))
    onglet.add_init_script(VIOLATIONS)

    # 1. Sign-in: password, then the TOTP code of the URI `flask agents create` printed.
    onglet.goto(f"{base}/backoffice/")
    onglet.wait_for_url(f"{base}/backoffice/connexion?next=/backoffice/")
    _axe(onglet, "connexion")
    capture(onglet, "01-connexion")
    onglet.fill("#email", ASP)
    onglet.fill("#mot_de_passe", PHRASE)
    onglet.get_by_role("button", name="Continuer").click()
    onglet.wait_for_url(f"{base}/backoffice/connexion/code")
    onglet.fill("#code", agent.code())
    capture(onglet, "02-code")
    onglet.get_by_role("button", name="Se connecter").click()
    onglet.wait_for_url(f"{base}/backoffice/")
    assert "Vous êtes connecté(e)." in onglet.inner_text("main")
    capture(onglet, "03-tableau-de-bord")

    # 2. The queue, from the menu: both requests await a decision.
    onglet.get_by_role("link", name="Demandes de création de compte").first.click()
    onglet.wait_for_url(re.compile(r".*/backoffice/demandes/.*"))
    assert onglet.locator("td.col-siret").count() == 2
    _axe(onglet, "file")
    capture(onglet, "04-file")

    # 3. The request's page, then « Valider la demande » (a POST with its CSRF token).
    onglet.get_by_role("link", name="CONSERVERIE DE LA COTE").click()
    onglet.wait_for_url(re.compile(r".*/backoffice/demandes/details/.*"))
    assert siret in onglet.inner_text("main")
    _axe(onglet, "demande")
    capture(onglet, "05-demande")
    assert onglet.locator("form:has(button:text('Valider la demande')) input[name=csrf_token]")
    onglet.get_by_role("button", name="Valider la demande").click()
    onglet.wait_for_load_state("load")
    assert "Demande validée" in onglet.inner_text("main")
    capture(onglet, "06-validee")

    with app.app_context():
        demande = db.session.get(DemandeCompte, demande_id)
        assert demande.state == DemandeState.VALIDEE and demande.decided_by == ASP
        assert db.session.get(DemandeCompte, autre_id).state == DemandeState.A_TRAITER
        etablissement = db.session.scalars(
            select(Etablissement).where(Etablissement.siret == siret)
        ).one()
        etablissement_id = etablissement.id
        (referente,) = db.session.scalars(
            select(Habilitation).where(Habilitation.etablissement_id == etablissement_id)
        ).all()
        assert referente.role == Role.REFERENT and referente.utilisateur.courriel == DEMANDEUSE
        ancienne = referente.utilisateur
        ancienne_nom = f"{ancienne.prenom} {ancienne.nom}"
        validations = db.session.scalars(
            select(AuditEvent).where(AuditEvent.operation == "valider_demande_compte")
        ).all()
        assert [(e.actor, e.object_id, e.state_from, e.state_to) for e in validations] == [
            (ASP, str(demande_id), "a_traiter", "validee")
        ]
    assert operations(app, "etablissement", etablissement_id) == ["creer_etablissement"]
    assert courriels(app, DEMANDEUSE) == ["identifiant", "mot_de_passe", "habilitation"]

    # 4. The établissement the validation created: « Établissements », searched by SIRET.
    onglet.goto(f"{base}/backoffice/etablissements/")
    onglet.fill("input[name=search]", siret)
    onglet.keyboard.press("Enter")
    onglet.wait_for_url(re.compile(r".*search=.*"))
    onglet.get_by_role("link", name=siret).click()
    onglet.wait_for_url(f"{base}/backoffice/etablissements/{etablissement_id}/")
    principal = onglet.inner_text("main")
    assert "CONSERVERIE DE LA COTE" in principal and ancienne_nom in principal
    _axe(onglet, "etablissement")
    capture(onglet, "07-etablissement")

    # 5. « Réaffecter le référent » to a new person, created on the spot (confirmation dialog).
    onglet.fill("#utilisateur-nom", "LEFORT")
    onglet.fill("#utilisateur-prenom", "Bruno")
    onglet.fill("#utilisateur-courriel", NOUVEAU)
    onglet.fill("#utilisateur-courriel__confirmation", NOUVEAU)
    capture(onglet, "08-nouvelle-personne")
    onglet.get_by_role("button", name="Créer et désigner comme référent").click()
    onglet.wait_for_load_state("load")
    assert dialogues and "désigner comme référente" in dialogues[-1]
    principal = onglet.inner_text("main")
    assert "Bruno LEFORT est désormais la personne référente" in principal
    historique = onglet.locator("table.historique tr[data-operation=changer_referent]")
    assert historique.count() == 1
    assert "Personne référente changée" in historique.inner_text()
    _axe(onglet, "referent-change")
    capture(onglet, "09-referent-change")

    with app.app_context():
        habilitations = db.session.scalars(
            select(Habilitation)
            .where(Habilitation.etablissement_id == etablissement_id)
            .order_by(Habilitation.id)
        ).all()
        assert [(h.utilisateur.courriel, h.role) for h in habilitations] == [
            (DEMANDEUSE, Role.UTILISATEUR),
            (NOUVEAU, Role.REFERENT),
        ]
        (changement,) = db.session.scalars(
            select(AuditEvent).where(AuditEvent.operation == "changer_referent")
        ).all()
        assert changement.actor == ASP and changement.object_id == str(etablissement_id)
    assert courriels(app, DEMANDEUSE)[-1] == "referent_reaffecte_ancien"
    assert courriels(app, NOUVEAU)[-1] == "referent_reaffecte_nouveau"

    violations = onglet.evaluate("window.__violations")
    refus = [texte for texte in console if "Content Security Policy" in texte]
    assert violations == [] and refus == [], (violations, refus)
