"""Standalone forms (``"x-standalone": true``) served at ``/formulaires/<id>``."""

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.datastructures import CombinedMultiDict

from extensions import db, limiter
from forms import engine
from models.submission import Submission
from workflows.formulaires import deposer_soumission

bp = Blueprint("formulaires", __name__, url_prefix="/formulaires", template_folder="templates")


def _standalone(form_id: str):
    definition = current_app.extensions["forms"].get(form_id)
    if definition is None or not definition.standalone:
        abort(404)
    return definition


@bp.get("/<form_id>")
def show(form_id: str):
    definition = _standalone(form_id)
    return render_template(
        "formulaires/show.html", definition=definition, form=engine.new_form(definition)
    )


def _forms_limit() -> str:
    return current_app.config["RATELIMIT_FORMS"]


@bp.post("/<form_id>")
@limiter.limit(_forms_limit, methods=["POST"])
def submit(form_id: str):
    definition = _standalone(form_id)
    outcome = engine.submit(definition, CombinedMultiDict([request.files, request.form]))
    if not outcome.valid:
        status = 200 if outcome.action else 422
        return render_template(
            "formulaires/show.html",
            definition=definition,
            form=outcome.form,
            summary=engine.summary(outcome.form),
        ), status
    submission = deposer_soumission(definition, outcome.document)
    return redirect(url_for(".confirmation", form_id=form_id, reference=submission.reference), 303)


@bp.get("/<form_id>/confirmation/<reference>")
def confirmation(form_id: str, reference: str):
    definition = _standalone(form_id)
    submission = db.session.scalar(
        select(Submission).where(Submission.reference == reference, Submission.form_id == form_id)
    )
    if submission is None:
        abort(404)
    return render_template(
        "formulaires/confirmation.html", definition=definition, submission=submission
    )
