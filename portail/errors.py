"""French error pages (DSFR layout), or ``{"erreur": ...}`` for JSON clients.

A view may pass its own French message with ``abort(403, description="...")``: it replaces the
standard text of the page. Headers carried by the exception (``Allow`` on 405,
``Retry-After`` on 429) are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError


@dataclass(frozen=True)
class ErrorText:
    titre: str
    message: str
    details: str = ""
    pictogramme: str = "error"


ERRORS: dict[int, ErrorText] = {
    400: ErrorText(
        "Requête invalide",
        "La requête envoyée n'a pas pu être traitée.",
        "Vérifiez l'adresse ou les informations saisies, puis réessayez.",
    ),
    403: ErrorText(
        "Accès refusé",
        "Vous n'avez pas les droits nécessaires pour accéder à cette page.",
        "Si vous pensez qu'il s'agit d'une erreur, contactez le support technique.",
        "padlock",
    ),
    404: ErrorText(
        "Page non trouvée",
        "La page que vous cherchez est introuvable. Excusez-nous pour la gêne occasionnée.",
        "Si vous avez tapé l'adresse web dans le navigateur, vérifiez qu'elle est correcte. "
        "La page n'est peut-être plus disponible. Dans ce cas, pour continuer votre visite, "
        "vous pouvez consulter notre page d'accueil.",
    ),
    405: ErrorText(
        "Méthode non autorisée",
        "Cette adresse n'accepte pas ce type de requête.",
        "Revenez à la page précédente et utilisez les liens et boutons de la page.",
    ),
    413: ErrorText(
        "Envoi trop volumineux",
        "Le fichier ou le formulaire envoyé est trop volumineux.",
        "Réduisez la taille des pièces jointes ou le nombre de champs envoyés, puis réessayez.",
    ),
    429: ErrorText(
        "Trop de requêtes",
        "Vous avez envoyé trop de requêtes en peu de temps.",
        "Patientez quelques instants avant de réessayer.",
    ),
    500: ErrorText(
        "Erreur inattendue",
        "Désolé, le service rencontre un problème, nous travaillons pour le résoudre le plus "
        "rapidement possible.",
        "Essayez de rafraîchir la page ou bien réessayez plus tard. Si le problème persiste, "
        "contactez le support technique.",
        "technical-error",
    ),
}

CSRF_ERROR = ErrorText(
    "Session expirée",
    "Votre session a expiré ou le formulaire n'est plus valide. Rechargez la page et renvoyez "
    "le formulaire.",
)

GENERIC_ERROR = ErrorText("Erreur", "La requête n'a pas pu aboutir.")


def wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json" or request.path.startswith(
        "/referentiels/"
    )


def _text_for(error: HTTPException) -> ErrorText:
    if isinstance(error, CSRFError):
        return CSRF_ERROR
    text = ERRORS.get(error.code or 500, GENERIC_ERROR)
    # A view's own French message, given with abort(code, description=...), wins; Flask-Limiter
    # puts the English limit ("30 per 1 minute") there unless the limit has its own message.
    if isinstance(error, RateLimitExceeded) and not error.limit.error_message:
        return text
    if error.description and error.description != type(error).description:
        return ErrorText(text.titre, error.description, "", text.pictogramme)
    return text


def render_error(error: HTTPException) -> Response:
    code = error.code or 500
    text = _text_for(error)
    if wants_json():
        response = jsonify(erreur=text.message)
    else:
        response = current_app.make_response(
            render_template("errors/error.html", code=code, erreur=text)
        )
    response.status_code = code
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def handle_csrf_error(error: CSRFError) -> Response:
    return render_error(error)


def handle_http_error(error: HTTPException) -> Response | HTTPException:
    if error.code is None or error.code < 400:
        return error
    return render_error(error)


def handle_internal_error(error: InternalServerError) -> Response:
    # Flask has already logged the original exception; never show its text to the user.
    return render_error(InternalServerError())


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(InternalServerError, handle_internal_error)
    app.register_error_handler(HTTPException, handle_http_error)
