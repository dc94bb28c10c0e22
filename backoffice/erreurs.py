"""Error pages of the back-office, in its own look (Bootstrap 4), in French.

Registered on every back-office blueprint (the sign-in pages and each Flask-Admin view, see
``securite.AccesAgent.create_blueprint``) for each status code, so that they win over the
public side's application-wide DSFR handlers, which Flask consults after a blueprint's
handlers of the same code.

A URL under ``/backoffice`` that matches no route (``/backoffice/nimporte-quoi``) belongs to no
blueprint: Flask asks the application's handlers only. ``brancher_application`` wraps those
(the public side's, registered before) so that such a URL gets the back-office page too, and
every other path the handler it had. The pages go through the application's ``after_request``
like any response: security headers and CSP included.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, g, render_template, request
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from backoffice import session as session_agent

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
        render_template(
            "backoffice/erreur.html",
            code=code,
            titre=titre,
            message=message,
            connecte=_connecte(code),
        )
    )
    response.status_code = code
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _connecte(code: int) -> bool:
    """Whether the page may offer the dashboard (else the sign-in page). After a 500 only what
    the request already knew: the database may be the very thing that failed."""
    if code == 500:
        etat = g.get("backoffice_etat")
        return etat is not None and etat.etape == session_agent.CONNECTE
    try:
        return session_agent.agent_connecte() is not None
    except Exception:  # never turn an error page into a 500
        current_app.logger.warning("backoffice: agent unknown on an error page", exc_info=True)
        return False


def brancher(blueprint: Blueprint) -> None:
    """Give ``blueprint`` the back-office error pages (call it before its registration)."""
    for code in TEXTES:
        blueprint.register_error_handler(code, page_erreur)
    blueprint.register_error_handler(CSRFError, page_erreur)


def brancher_application(app: Flask) -> None:
    """Give the application-wide handlers the back-office page for paths under its prefix
    (call it after the public side registered its handlers)."""
    for classe in (HTTPException, CSRFError, InternalServerError):
        code = getattr(classe, "code", None)  # Flask's key: None, 400, 500
        precedent = app.error_handler_spec[None][code].get(classe)
        app.register_error_handler(classe, _aiguiller(precedent))


def _aiguiller(precedent):
    def gerer(error: HTTPException):
        if session_agent.sous_prefixe(request.path) and (error.code or 500) >= 400:
            return page_erreur(error)
        return precedent(error) if precedent is not None else error

    return gerer
