"""The progressive enhancement of schema-built forms, in a real browser."""

import pytest

from tests.browser.conftest import ARTEFACTS

pytestmark = pytest.mark.browser


def test_a_conditional_question_appears_only_when_its_condition_holds(live_server, page):
    page.goto(f"{live_server}/formulaires/adresse-test")
    telephone = page.locator("#telephone")
    assert telephone.is_hidden()
    page.click("label[for=rappel-0]")
    assert telephone.is_visible()
    page.click("label[for=rappel-1]")
    assert telephone.is_hidden()


def test_the_ville_list_follows_the_postal_code(live_server, page):
    page.goto(f"{live_server}/formulaires/adresse-test")
    page.fill("#code_postal", "44500")
    page.locator("#ville option[value='LA BAULE ESCOUBLAC']").wait_for(state="attached")
    assert page.locator("#ville").input_value() == "LA BAULE ESCOUBLAC"
    page.screenshot(path=str(ARTEFACTS / "formulaire-ville-du-code-postal.png"), full_page=True)


def test_an_invalid_form_focuses_its_error_summary_and_keeps_what_was_typed(live_server, page):
    page.goto(f"{live_server}/formulaires/adresse-test")
    page.fill("#code_postal", "44500")
    page.click("label[for=rappel-0]")
    page.get_by_role("button", name="Envoyer").click()
    page.wait_for_selector("#resume-erreurs")
    assert page.evaluate("document.activeElement.id") == "resume-erreurs"
    assert "Téléphone pour vous rappeler : Ce champ est obligatoire." in page.inner_text(
        "#resume-erreurs"
    )
    assert page.locator("#code_postal").input_value() == "44500"
    assert page.locator("#telephone").is_visible()
    page.screenshot(path=str(ARTEFACTS / "formulaire-erreurs.png"), full_page=True)


def test_a_valid_form_is_filed_and_acknowledged_with_a_reference(live_server, page):
    page.goto(f"{live_server}/formulaires/adresse-test")
    page.fill("#code_postal", "44500")
    page.locator("#ville option[value='LA BAULE ESCOUBLAC']").wait_for(state="attached")
    page.click("label[for=rappel-1]")
    page.get_by_role("button", name="Envoyer").click()
    page.wait_for_selector(".app-reference")
    assert "/formulaires/adresse-test/confirmation/" in page.url
