"""The back-office speaks French in the widgets Flask-Admin ships as well: the bulk-action
alert (whose French catalogue entry says « modèle »), the date pickers of the filters
(bootstrap-daterangepicker and moment), the select2 lists; the server's strings come from
Flask-Admin's French catalogue through Flask-Babel."""

from __future__ import annotations

import html
import json
import re

import pytest

from tests.backoffice.conftest import ASP, PHRASE, connecter, creer
from tests.backoffice.test_demandes import deposer, serveur  # noqa: F401 (live app, ASP agent)
from tests.backoffice.test_navigateur import VIOLATIONS
from tests.browser.conftest import ARTEFACTS, _browser_available
from tests.browser.conftest import page as navigateur  # noqa: F401 (the Chromium fixture)

ALERTE = "Cochez au moins une ligne de la liste avant de choisir une action."
ANGLAIS = re.compile(
    r"\b(Apply|Cancel|From|To|Su|Mo|Tu|We|Th|Fr|Sa|Jan|Feb|Nov|Dec|No matches found|"
    r"Searching|Please|select|record)\b"
)


def test_the_list_pages_carry_french_texts_for_their_scripts(app):
    deposer(app, 51)
    client = app.test_client()
    connecter(client, creer(app, ASP, "asp"))
    page = html.unescape(client.get("/backoffice/demandes/").get_data(as_text=True))
    message = re.search(r'<div id="message-data" class="d-none">(.*?)</div>', page).group(1)
    assert json.loads(message) == ALERTE
    assert "backoffice-fr.js" in page
    for texte in ("Avec la sélection", "Ajouter un filtre", "Exporter", "Chercher"):
        assert texte in page
    assert "With selected" not in page and "Add Filter" not in page


@pytest.mark.browser
@pytest.mark.skipif(not _browser_available(), reason="Playwright or Chromium not installed")
def test_the_filter_widgets_and_the_action_alert_are_french_in_chromium(
    serveur,  # noqa: F811
    navigateur,  # noqa: F811
):
    app, base, agent = serveur
    onglet = navigateur
    deposer(app, 52)
    alertes = []
    onglet.on("dialog", lambda d: (alertes.append(d.message), d.dismiss()))
    onglet.add_init_script(VIOLATIONS)
    onglet.goto(f"{base}/backoffice/demandes/")
    onglet.fill("#email", ASP)
    onglet.fill("#mot_de_passe", PHRASE)
    onglet.get_by_role("button", name="Continuer").click()
    onglet.fill("#code", agent.code())
    onglet.get_by_role("button", name="Se connecter").click()
    onglet.wait_for_url(f"{base}/backoffice/demandes/")

    # A bulk action with nothing ticked.
    onglet.get_by_role("button", name="Avec la sélection").click()
    onglet.locator("[data-action-groupee]").first.click()
    onglet.wait_for_timeout(300)
    assert alertes == [ALERTE]

    # The « entre » date filter, already active when the page loads: its calendar.
    onglet.goto(f"{base}/backoffice/demandes/?flt0_depot_entre=2026-11-02+to+2026-11-08")
    onglet.locator("#filter_form input.filter-val").first.click()
    calendrier = onglet.locator(".daterangepicker").first
    calendrier.wait_for(state="visible")
    texte = calendrier.inner_text()
    assert "Appliquer" in texte and "Annuler" in texte and "DU" in texte.upper()
    jours = calendrier.locator(".calendar.left thead tr").nth(1).inner_text().split()
    assert jours == ["lu", "ma", "me", "je", "ve", "sa", "di"]
    assert "nov." in calendrier.locator(".calendar.left select.monthselect").inner_text()
    assert not ANGLAIS.search(texte), texte
    onglet.screenshot(path=str(ARTEFACTS / "backoffice-francais-calendrier.png"))

    # A select2 list (« Département ») typed into with no match.
    onglet.goto(f"{base}/backoffice/demandes/")
    onglet.get_by_text("Ajouter un filtre").click()
    onglet.locator("a.filter", has_text="Département").click()
    onglet.locator("#filter_form .select2-container").last.click()
    onglet.keyboard.type("zzz")
    liste = onglet.locator(".select2-drop-active")
    liste.wait_for(state="visible")
    onglet.wait_for_timeout(200)
    assert "Aucun résultat" in liste.inner_text()
    assert not ANGLAIS.search(liste.inner_text())
    assert onglet.evaluate("window.__violations") == []
