"""Standalone form posts are rate limited per client address."""

from pathlib import Path

TEST_SCHEMAS = str(Path(__file__).resolve().parents[2] / "tests" / "schemas")
URL = "/formulaires/inscription-atelier"  # a standalone definition of the test folder


def test_too_many_posts_from_one_address_get_429_with_retry_after(make_app):
    app = make_app(
        FORMS_SCHEMAS_DIR=TEST_SCHEMAS,
        RATELIMIT_ENABLED=True,
        RATELIMIT_FORMS="2 per minute",
        RATELIMIT_STORAGE_URI="memory://",
    )
    client = app.test_client()
    statuses = [client.post(URL, data={"nom": "x"}).status_code for _ in range(3)]
    assert statuses[:2] == [422, 422]
    assert statuses[2] == 429
    limited = client.post(URL, data={"nom": "x"})
    assert "Retry-After" in limited.headers
    assert "Trop de requêtes" in limited.get_data(as_text=True)


def test_an_unknown_or_non_standalone_form_is_not_served(client):
    assert client.get("/formulaires/inconnu").status_code == 404
    # the account request is filed through its own journey, never as a bare standalone form
    assert client.get("/formulaires/demande-creation-compte").status_code == 404
    # the support request is filed at /aide/assistance, never as a bare standalone form
    assert client.get("/formulaires/demande-support").status_code == 404


def test_a_confirmation_page_needs_the_exact_reference_of_that_form(make_app):
    client = make_app(FORMS_SCHEMAS_DIR=TEST_SCHEMAS).test_client()
    assert client.get(URL + "/confirmation/AAAA-BBBB-CCCC").status_code == 404
