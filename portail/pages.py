"""Static public pages: home, legal pages, support, simulator placeholder, health check."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template

bp = Blueprint("pages", __name__, template_folder="templates")


def standalone_forms() -> list:
    """The standalone forms offered on the home page; empty when the forms engine is absent."""
    registry = current_app.extensions.get("forms")
    if registry is None:
        return []
    return list(registry.standalone())


@bp.get("/")
def accueil() -> str:
    return render_template("pages/accueil.html", formulaires=standalone_forms())


@bp.get("/mentions-legales")
def mentions_legales() -> str:
    return render_template("pages/mentions_legales.html")


@bp.get("/cgu")
def cgu() -> str:
    return render_template("pages/cgu.html")


@bp.get("/accessibilite")
def accessibilite() -> str:
    return render_template("pages/accessibilite.html")


@bp.get("/support")
def support() -> str:
    return render_template("pages/support.html", support_email=current_app.config["SUPPORT_EMAIL"])


@bp.get("/simulateur")
def simulateur() -> str:
    return render_template("pages/simulateur.html")


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness probe for load balancers: no database, no template."""
    return Response("ok", mimetype="text/plain")
