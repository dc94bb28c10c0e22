"""Public static pages, the base layout and the DSFR assets."""

import re
from html import unescape
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOOTER_LINKS = {
    "/mentions-legales": "Mentions légales",
    "/cgu": "Conditions générales d'utilisation",
    "/accessibilite": "Accessibilité : non conforme",
    "/support": "Contacter le support technique",
}
PAGES = [
    ("/", "Accueil - Activité partielle", "<h1>Activité partielle</h1>"),
    ("/mentions-legales", "Mentions légales - Activité partielle", "<h1>Mentions légales</h1>"),
    (
        "/cgu",
        "Conditions générales d'utilisation - Activité partielle",
        "<h1>Conditions générales d'utilisation</h1>",
    ),
    (
        "/accessibilite",
        "Déclaration d'accessibilité - Activité partielle",
        "<h1>Déclaration d'accessibilité</h1>",
    ),
    (
        "/support",
        "Contacter le support technique - Activité partielle",
        "<h1>Contacter le support technique</h1>",
    ),
    (
        "/simulateur",
        "Simulateur d'indemnisation - Activité partielle",
        "<h1>Simulation de l'indemnisation de l'employeur en cas d'activité partielle</h1>",
    ),
]


def html_of(response):
    """The page's HTML with character references resolved, to compare with French text."""
    return unescape(response.get_data(as_text=True))


@pytest.mark.parametrize(("path", "title", "heading"), PAGES)
def test_page_renders_with_its_french_title_heading_and_footer_links(client, path, title, heading):
    response = client.get(path)
    assert response.status_code == 200
    html = html_of(response)
    assert f"<title>{title}</title>" in html
    assert heading in html
    for href, label in FOOTER_LINKS.items():
        assert re.search(rf'href="{href}">{re.escape(label)}</a>', html), (href, label)


def test_layout_is_french_with_skip_links_and_a_main_landmark(client):
    html = html_of(client.get("/"))
    assert '<html lang="fr" data-fr-scheme="system"' in html
    assert '<a class="fr-link" href="#contenu">Aller au contenu</a>' in html
    assert '<a class="fr-link" href="#footer">Aller au pied de page</a>' in html
    assert '<main id="contenu" role="main"' in html
    assert 'id="footer"' in html


def test_header_shows_the_configured_site_name(make_app):
    app = make_app(SITE_NAME="Chômage partiel")
    html = html_of(app.test_client().get("/support"))
    assert '<p class="fr-header__service-title">Chômage partiel</p>' in html
    assert "<title>Contacter le support technique - Chômage partiel</title>" in html


def test_state_brand_block_is_absent_by_default(client):
    html = html_of(client.get("/"))
    assert "fr-logo" not in html
    assert "République<br>Française" not in html
    assert '<html lang="fr" data-fr-scheme="system" class="app-neutre">' in html
    assert "Demandes d'autorisation et d'indemnisation" in html
    assert "Marianne" not in html
    assert "dsfr/favicon/" not in html


def test_state_brand_block_is_shown_when_the_service_is_a_state_service(make_app):
    app = make_app(DSFR_MARQUE_ETAT=True)
    html = html_of(app.test_client().get("/"))
    assert '<p class="fr-logo">République<br>Française</p>' in html
    assert "app-neutre" not in html
    assert "/static/dsfr/favicon/favicon.svg" in html


def _rules_naming_dsfr_fonts(css):
    """Selectors of the DSFR rules (not @font-face) whose font-family names Marianne or Spectral."""
    selectors = set()
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        selector = selector.strip()
        if selector.startswith("@") or "@font-face" in selector:
            continue
        if re.search(r"font-family:\s*(Marianne|Spectral)", body):
            selectors.update(part.strip() for part in selector.split(","))
    return selectors


def test_app_css_overrides_every_dsfr_rule_that_would_download_marianne():
    dsfr_css = (ROOT / "static/dsfr/dsfr.min.css").read_text()
    app_css = (ROOT / "static/css/app.css").read_text()
    selectors = _rules_naming_dsfr_fonts(dsfr_css)
    assert {"body", "input", "select", "textarea"} <= selectors
    for selector in selectors:
        assert f"html.app-neutre {selector}" in app_css, selector


def test_dsfr_assets_are_served_from_the_application(client):
    for path in (
        "/static/dsfr/dsfr.min.css",
        "/static/dsfr/dsfr.module.min.js",
        "/static/dsfr/dsfr.nomodule.min.js",
        "/static/dsfr/utility/icons/icons.min.css",
        "/static/dsfr/icons/system/close-line.svg",
        "/static/css/app.css",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        response.close()
    version = (ROOT / "static/dsfr/VERSION").read_text().strip()
    response = client.get("/static/dsfr/dsfr.min.css")
    assert f"DSFR v{version}" in response.get_data(as_text=True)[:300]
    response.close()


def test_every_file_referenced_by_the_shipped_dsfr_css_is_shipped():
    for css_path in ("static/dsfr/dsfr.min.css", "static/dsfr/utility/icons/icons.min.css"):
        css_file = ROOT / css_path
        for url in re.findall(r"url\(([^)\"']+)\)", css_file.read_text()):
            if url.startswith("data:"):
                continue
            if url.endswith(".woff"):
                # Fallback after the woff2 file in each @font-face; only woff2 is shipped.
                url += "2"
            assert (css_file.parent / url).resolve().is_file(), (css_path, url)


def test_home_page_presents_the_service_and_the_help_block(client):
    html = html_of(client.get("/"))
    assert "Besoin d'aide ?" in html
    assert "Consultez notre base documentaire ou contactez le support technique." in html
    assert '<h2 id="formulaires-en-ligne">Formulaires en ligne</h2>' in html
    assert 'href="/simulateur"' in html


def test_home_page_links_every_standalone_form(app, client):
    definitions = [
        SimpleNamespace(id="demande-information", title="Demande d'information"),
        SimpleNamespace(id="reclamation", title="Réclamation"),
    ]
    app.extensions["forms"] = SimpleNamespace(standalone=lambda: definitions)
    html = html_of(client.get("/"))
    assert (
        '<a class="fr-link" href="/formulaires/demande-information">Demande d\'information</a>'
        in html
    )
    assert '<a class="fr-link" href="/formulaires/reclamation">Réclamation</a>' in html


def test_home_page_lists_the_forms_of_the_real_registry(app, client):
    html = html_of(client.get("/"))
    for definition in app.extensions["forms"].standalone():
        assert f'href="/formulaires/{definition.id}"' in html


def test_home_page_shows_no_form_list_without_a_forms_engine(app, client):
    app.extensions.pop("forms", None)
    response = client.get("/")
    assert response.status_code == 200
    assert "Aucun formulaire en ligne n'est disponible pour le moment." in html_of(response)


def test_support_page_shows_the_configured_support_address(make_app):
    app = make_app(SUPPORT_EMAIL="assistance@exemple.fr")
    html = html_of(app.test_client().get("/support"))
    assert '<a href="mailto:assistance@exemple.fr">assistance@exemple.fr</a>' in html
    assert "Consultez notre base documentaire ou contactez le support technique." in html


def test_simulator_page_announces_that_it_is_coming_soon(client):
    html = html_of(client.get("/simulateur"))
    assert "Bientôt disponible" in html
    assert (
        "Estimez le montant remboursé par l'État au titre d'une période d'activité "
        "partielle des salariés" in html
    )


def test_accessibility_statement_says_non_compliant_without_audit(client):
    html = html_of(client.get("/accessibilite"))
    assert "<strong>non conforme</strong>" in html
    assert re.search(r"aucun audit de\s+conformité n'a encore été réalisé", html)


def test_legal_notice_says_it_is_not_the_official_service(client):
    html = html_of(client.get("/mentions-legales"))
    assert "n'est pas le service officiel" in html
    assert "À compléter par l'exploitant" in html


def test_terms_of_use_have_numbered_articles(client):
    html = html_of(client.get("/cgu"))
    articles = re.findall(r"<h2>Article (\d+) – ", html)
    assert articles == [str(n) for n in range(1, len(articles) + 1)]
    assert 6 <= len(articles) <= 10


def test_health_check_answers_ok_in_plain_text(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == "ok"


def test_flashed_messages_are_shown_as_dsfr_alerts(app, client):
    from flask import flash, redirect

    @app.get("/_test/flash")
    def flash_then_redirect():
        flash("Votre demande a bien été transmise.", "success")
        flash("Le code postal est inconnu.", "error")
        flash("Message sans catégorie <b>échappé</b>")
        return redirect("/")

    raw = client.get("/_test/flash", follow_redirects=True).get_data(as_text=True)
    html = html_of_raw = raw
    assert re.search(
        r'class="fr-alert fr-alert--success fr-alert--sm"[^>]*>\s*<p>Votre demande a bien été transmise\.</p>',
        html,
    )
    assert re.search(
        r'fr-alert--error fr-alert--sm" role="alert">\s*<p>Le code postal est inconnu\.</p>', html
    )
    assert "fr-alert--info fr-alert--sm" in html
    assert "&lt;b&gt;échappé&lt;/b&gt;" in html_of_raw
