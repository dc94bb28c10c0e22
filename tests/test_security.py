"""HTTP security headers, CSP nonce, caching, HSTS and proxy handling (reliability §1.12)."""

import re

import pytest

from security import HSTS

EXPECTED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
CSP_DIRECTIVES = [
    "default-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
]


def assert_security_headers(response):
    for name, value in EXPECTED_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.request.path)
    csp = response.headers["Content-Security-Policy"]
    for directive in CSP_DIRECTIVES:
        assert directive in csp.split("; "), (directive, csp)
    assert re.search(r"script-src 'self' 'nonce-[A-Za-z0-9_-]{20,}'", csp)
    permissions = response.headers["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()"):
        assert feature in permissions


def parameterless_get_rules(app):
    return [
        rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static"
    ]


def csp_nonce_of(response):
    return re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)


def test_every_parameterless_get_route_sends_the_security_headers(app, client):
    rules = parameterless_get_rules(app)
    assert any(rule.endpoint == "pages.accueil" for rule in rules)
    for rule in rules:
        response = client.get(rule.rule)
        assert response.status_code < 500, rule.rule
        assert_security_headers(response)


def test_not_found_page_sends_the_security_headers(client):
    response = client.get("/cette-page-n-existe-pas")
    assert response.status_code == 404
    assert_security_headers(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_internal_error_page_sends_the_security_headers(make_app):
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.get("/_test/panne")
    def panne():
        raise RuntimeError("boom")

    response = app.test_client().get("/_test/panne")
    assert response.status_code == 500
    assert_security_headers(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_json_responses_send_the_security_headers(client):
    response = client.get("/inconnu", headers={"Accept": "application/json"})
    assert response.is_json
    assert_security_headers(response)


def test_static_files_send_the_security_headers_and_a_long_public_cache(client):
    response = client.get("/static/dsfr/dsfr.min.css")
    assert response.status_code == 200
    assert_security_headers(response)
    assert response.headers["Cache-Control"] == "public, max-age=31536000"
    response.close()


def test_dynamic_html_pages_are_not_stored_by_caches(client):
    response = client.get("/")
    assert response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"


def test_every_script_of_a_page_carries_the_nonce_of_the_csp_header(client):
    response = client.get("/")
    nonce = csp_nonce_of(response)
    scripts = re.findall(r"<script\b[^>]*>", response.get_data(as_text=True))
    assert len(scripts) >= 2
    for tag in scripts:
        assert f'nonce="{nonce}"' in tag, tag


def test_csp_nonce_changes_at_every_request(client):
    nonces = {csp_nonce_of(client.get("/")) for _ in range(3)}
    assert len(nonces) == 3


def test_dsfr_scripts_are_loaded_as_a_module_and_nomodule_pair(client):
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'<script type="module" src="/static/dsfr/dsfr\.module\.min\.js\?v=\w+"', html)
    assert re.search(r'<script nomodule src="/static/dsfr/dsfr\.nomodule\.min\.js\?v=\w+"', html)


def test_static_urls_carry_a_content_fingerprint(app):
    with app.test_request_context():
        url = app.jinja_env.globals["asset_url"]("css/app.css")
    assert re.fullmatch(r"/static/css/app\.css\?v=[0-9a-f]{12}", url)


def test_hsts_is_absent_without_secure_cookies(client):
    assert "Strict-Transport-Security" not in client.get("/").headers


@pytest.mark.parametrize("path", ["/", "/static/dsfr/dsfr.min.css", "/introuvable"])
def test_hsts_is_sent_on_every_response_when_session_cookies_are_secure(make_app, path):
    app = make_app(SESSION_COOKIE_SECURE=True)
    response = app.test_client().get(path)
    assert response.headers["Strict-Transport-Security"] == HSTS
    assert HSTS == "max-age=31536000; includeSubDomains"
    response.close()


def _scheme_and_address_route(app):
    from flask import request

    @app.get("/_test/client")
    def client_info():
        return f"{request.scheme} {request.remote_addr}"


def test_forwarded_headers_are_trusted_when_proxy_hops_are_configured(make_app):
    app = make_app(PROXY_FIX_HOPS=1)
    _scheme_and_address_route(app)
    response = app.test_client().get(
        "/_test/client",
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"},
    )
    assert response.get_data(as_text=True) == "https 203.0.113.7"


def test_forwarded_headers_are_ignored_without_proxy_hops(make_app):
    app = make_app()
    _scheme_and_address_route(app)
    response = app.test_client().get(
        "/_test/client",
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"},
    )
    assert response.get_data(as_text=True) == "http 127.0.0.1"


def test_missing_static_file_is_not_cached(client):
    response = client.get("/static/dsfr/absent.css")
    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "no-store"
    assert_security_headers(response)
