"""The back-office's error pages: every 4xx and 5xx under /backoffice, an unknown URL included,
in its own look (Bootstrap 4, no DSFR), in French, with the application's security headers;
the public side keeps its DSFR pages."""

from __future__ import annotations

import html
import re

import pytest
from flask_admin import expose

from backoffice.securite import TOUS_LES_ROLES, VueAgent
from security import content_security_policy
from tests.backoffice.conftest import UD, connecter, creer

SECRET = "détail interne à ne jamais montrer"


class VueEnPanne(VueAgent):
    roles_autorises = TOUS_LES_ROLES

    @expose("/")
    def index(self):
        raise RuntimeError(SECRET)


@pytest.fixture
def app_panne(make_app):
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    app.extensions["admin"][0].add_view(VueEnPanne(name="En panne", endpoint="en_panne"))
    return app


def _page(reponse) -> str:
    return html.unescape(reponse.get_data(as_text=True))


def page_backoffice(reponse, code: int, titre: str) -> str:
    """Assert the back-office error page of ``code``, its headers; return its text."""
    assert reponse.status_code == code
    texte = _page(reponse)
    assert '<html lang="fr">' in texte
    assert f"<title>{titre} - Activité partielle — back-office</title>" in texte
    assert "bootstrap4/css/bootstrap.min.css" in texte and "dsfr" not in texte.lower()
    assert f"Erreur {code}" in texte
    csp = reponse.headers["Content-Security-Policy"]
    assert csp == content_security_policy(re.search(r"'nonce-([^']+)'", csp).group(1))
    assert reponse.headers["X-Frame-Options"] == "DENY"
    assert reponse.headers["X-Content-Type-Options"] == "nosniff"
    assert reponse.headers["Referrer-Policy"] == "same-origin"
    assert reponse.headers["Cache-Control"] == "no-store"
    return texte


def test_an_unknown_back_office_url_gets_the_back_office_404(app):
    client = app.test_client()
    texte = page_backoffice(client.get("/backoffice/nimporte/quoi"), 404, "Page non trouvée")
    assert "Cette page n'existe pas ou n'est plus disponible." in texte
    assert "Se connecter au back-office" in texte  # anonymous: no dashboard to go back to
    page_backoffice(client.post("/backoffice/nimporte"), 404, "Page non trouvée")

    connecter(client, creer(app))
    texte = page_backoffice(client.get("/backoffice/nimporte"), 404, "Page non trouvée")
    assert "Retour au tableau de bord" in texte


def test_a_missing_row_gets_the_back_office_404(app):
    client = app.test_client()
    connecter(client, creer(app))
    reponse = client.get("/backoffice/etablissements/999999/")
    page_backoffice(reponse, 404, "Page non trouvée")


def test_the_public_side_keeps_its_dsfr_pages(app):
    reponse = app.test_client().get("/nimporte")
    assert reponse.status_code == 404
    assert "dsfr" in _page(reponse).lower() and "back-office" not in _page(reponse)


def test_a_role_without_access_gets_the_back_office_403(app):
    client = app.test_client()
    connecter(client, creer(app, UD, "ud", "44"))
    texte = page_backoffice(client.get("/backoffice/agents/"), 403, "Accès refusé")
    assert "Votre rôle ne vous donne pas accès à cette page." in texte
    assert "Retour au tableau de bord" in texte


def test_a_wrong_method_gets_the_back_office_405_with_its_allow_header(app):
    reponse = app.test_client().put("/backoffice/connexion")
    page_backoffice(reponse, 405, "Méthode non autorisée")
    assert "POST" in reponse.headers["Allow"]


def test_a_crash_gets_the_back_office_500_without_its_details(app_panne):
    client = app_panne.test_client()
    connecter(client, creer(app_panne))
    texte = page_backoffice(client.get("/backoffice/en_panne/"), 500, "Erreur inattendue")
    assert "Le service rencontre un problème" in texte
    assert SECRET not in texte and "RuntimeError" not in texte and "Traceback" not in texte


def test_a_public_crash_keeps_the_dsfr_500(app_panne):
    @app_panne.get("/panne-publique")
    def panne():
        raise RuntimeError(SECRET)

    reponse = app_panne.test_client().get("/panne-publique")
    assert reponse.status_code == 500
    assert "back-office" not in _page(reponse) and SECRET not in _page(reponse)
