"""« Envoyer une demande d'assistance »: the form of ``forms/schemas/demande-support.json``,
prefilled for a signed-in user, and the confirmation page with the request's reference.
Nested in the ``aide`` blueprint: ``/aide/assistance``."""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import CombinedMultiDict

from extensions import db, limiter
from forms import engine
from models.assistance import DemandeAssistance
from workflows import assistance
from workflows.journal import Acteur

bp = Blueprint("assistance", __name__, url_prefix="/assistance", template_folder="templates")
FORM_ID = "demande-support"
REFERENCE = re.compile(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}")


def _definition():
    return current_app.extensions["forms"][FORM_ID]


def _utilisateur():
    """The signed-in identity, if any."""
    if current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def _prefill(utilisateur) -> dict | None:
    if utilisateur is None:
        return None
    nom = " ".join(part for part in (utilisateur.prenom, utilisateur.nom) if part)
    return {"nom": nom, "courriel": utilisateur.courriel}


def _forms_limit() -> str:
    return current_app.config["RATELIMIT_FORMS"]


@bp.route("", methods=["GET", "POST"])
@limiter.limit(_forms_limit, methods=["POST"])
def formulaire():
    definition = _definition()
    utilisateur = _utilisateur()
    if request.method == "GET":
        return render_template(
            "aide/assistance.html",
            definition=definition,
            form=engine.new_form(definition, _prefill(utilisateur)),
        )
    outcome = engine.submit(definition, CombinedMultiDict([request.files, request.form]))
    if outcome.valid:
        acteur = Acteur(
            "usager", utilisateur.identifiant if utilisateur else outcome.document["courriel"]
        )
        demande = assistance.demander_assistance(
            definition, outcome.document, acteur, utilisateur=utilisateur
        )
        return redirect(url_for(".confirmation", reference=demande.reference), 303)
    status = 200 if outcome.action else 422
    return render_template(
        "aide/assistance.html",
        definition=definition,
        form=outcome.form,
        summary=engine.summary(outcome.form),
    ), status


@bp.get("/confirmation/<reference>")
def confirmation(reference: str):
    """Shows the reference and nothing else of the request: the address is all it takes."""
    if not REFERENCE.fullmatch(reference):
        abort(404)
    found = db.session.scalar(
        select(DemandeAssistance.id).where(DemandeAssistance.reference == reference)
    )
    if found is None:
        abort(404)
    return render_template(
        "aide/assistance_confirmation.html", definition=_definition(), reference=reference
    )
