"""Error pages of the back-office, in its own look (Bootstrap 4), in French.

Registered on every back-office blueprint (the sign-in pages and each Flask-Admin view, see
``securite.AccesAgent.create_blueprint``) for each status code, so that they win over the
public side's application-wide DSFR handlers, which Flask consults after a blueprint's
handlers of the same code.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

TEXTES: dict[int, tuple[str, str]] = {
    400: ("Requête invalide", "La requête envoyée n'a pas pu être traitée."),
    403: ("Accès refusé", "Votre rôle ne vous donne pas accès à cette page."),
    404: ("Page non trouvée", "Cette page n'existe pas ou n'est plus disponible."),
    405: ("Méthode non autorisée", "Utilisez les liens et les boutons de la page."),
    413: ("Envoi trop volumineux", "Le formulaire envoyé est trop volumineux."),
    429: ("Trop de tentatives", "Patientez quelques minutes avant de réessayer."),
    500: (
        "Erreur inattendue",
        "Le service rencontre un problème. Réessayez plus tard ; s'il persiste, signalez-le.",
    ),
}
# The public side's wording: the same situation reads the same everywhere.
SESSION_EXPIREE = (
    "Session expirée",
    "Votre session a expiré ou le formulaire n'est plus valide. Rechargez la page et renvoyez "
    "le formulaire.",
)


def page_erreur(error: HTTPException) -> Response:
    code = error.code or 500
    if isinstance(error, CSRFError):
        titre, message = SESSION_EXPIREE
    else:
        titre, message = TEXTES.get(code, ("Erreur", "La requête n'a pas pu aboutir."))
    # A view's own French text (abort(403, description=...)) wins; never an exception's text
    # for a 500, nor Flask-Limiter's English limit.
    description = error.description
    if (
        code != 500
        and not isinstance(error, RateLimitExceeded | CSRFError)
        and description
        and description != type(error).description
    ):
        message = description
    response = current_app.make_response(
        render_template("backoffice/erreur.html", code=code, titre=titre, message=message)
    )
    response.status_code = code
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def brancher(blueprint: Blueprint) -> None:
    """Give ``blueprint`` the back-office error pages (call it before its registration)."""
    for code in TEXTES:
        blueprint.register_error_handler(code, page_erreur)
    blueprint.register_error_handler(CSRFError, page_erreur)
