"""« CRÉER MON ESPACE »: step 1 (SIRET, security check, CGU), step 2 (the account request form
of ``forms/schemas/demande-creation-compte.json``, prefilled from the directory), confirmation."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf import FlaskForm
from werkzeug.datastructures import CombinedMultiDict
from wtforms import BooleanField, HiddenField, StringField

from extensions import db, limiter
from forms import engine, formats
from models.comptes import DemandeCompte
from portail import controle
from referentiels import annuaire
from workflows import comptes
from workflows.journal import Acteur

bp = Blueprint(
    "creer_espace", __name__, url_prefix="/creer-mon-espace", template_folder="templates"
)
SIRET_KEY = "creer_espace_siret"
DEMANDE_KEY = "creer_espace_demande"
NOTICE_PREREMPLI = "Vos informations ont été renseignées, vous pouvez les modifier si besoin."


class EtapeSiret(FlaskForm):
    siret = StringField(
        "N° de Siret",
        render_kw={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"},
    )
    code = StringField(
        "Recopier le code ci-contre", render_kw={"autocomplete": "off", "spellcheck": "false"}
    )
    jeton = HiddenField()
    cgu = BooleanField("J'accepte les conditions générales d'utilisation")


def _etape_siret(form: EtapeSiret) -> str | None:
    """Check step 1; put each message on its field; return the canonical SIRET when all is well."""
    siret = formats.normalise("siret", (form.siret.data or "").strip())
    if not form.siret.data or not form.siret.data.strip():
        form.siret.errors.append("Saisissez le numéro SIRET de l'établissement.")
    elif not formats.FORMATS["siret"].is_valid(siret):
        form.siret.errors.append(formats.FORMATS["siret"].message)
    if not controle.verifier(form.jeton.data or "", form.code.data or ""):
        form.code.errors.append(
            "Le code recopié ne correspond pas à l'image. Un nouveau code vous "
            "est proposé : recopiez-le."
        )
    if not form.cgu.data:
        form.cgu.errors.append("Vous devez accepter les conditions générales d'utilisation.")
    if form.siret.errors or form.code.errors or form.cgu.errors:
        return None
    fiche = annuaire.rechercher_etablissement(siret)
    if fiche is not None and not fiche.actif:
        form.siret.errors.append(
            "Cet établissement est fermé dans le répertoire SIRENE : un compte "
            "ne peut être créé que pour un établissement actif."
        )
        return None
    try:
        comptes.verifier_siret(siret)
    except comptes.CompteError as refusal:
        form.siret.errors.append(str(refusal))
        return None
    return siret


@bp.route("/", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def etape_siret():
    form = EtapeSiret()
    if request.method == "POST":
        form.validate()  # CSRF
        for field in (form.siret, form.code, form.cgu):
            field.errors = list(field.errors or [])
        siret = _etape_siret(form)
        if siret is not None:
            session[SIRET_KEY] = siret
            return redirect(url_for(".demande"), 303)
    form.jeton.data = controle.nouveau_defi()  # a new code every time the page is shown
    form.code.data = ""
    status = 422 if request.method == "POST" else 200
    return render_template("creer_espace/siret.html", form=form), status


def _prefill(siret: str) -> tuple[dict, bool]:
    """The request's document as far as the directory knows it, and whether it knew it."""
    fiche = annuaire.rechercher_etablissement(siret)
    etablissement = fiche.as_etablissement() if fiche is not None else {"siret": siret}
    return {"etablissement": etablissement}, fiche is not None


@bp.route("/demande", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def demande():
    siret = session.get(SIRET_KEY)
    if not siret:
        return redirect(url_for(".etape_siret"), 303)
    definition = current_app.extensions["forms"][comptes.FORM_ID]
    if request.method == "GET":
        prefill, prerempli = _prefill(siret)
        return render_template(
            "creer_espace/demande.html",
            definition=definition,
            form=engine.new_form(definition, prefill),
            prerempli=prerempli,
        )
    outcome = engine.submit(
        definition,
        CombinedMultiDict([request.files, request.form]),
        prefill={"etablissement": {"siret": siret}},
    )
    if outcome.valid:
        contact = outcome.document["utilisateur"]["courriel"]
        try:
            filed = comptes.demander_compte(
                outcome.document, definition.version, Acteur("usager", contact)
            )
        except comptes.CompteError as refusal:
            outcome.form.form_errors.append(str(refusal))
        else:
            session.pop(SIRET_KEY, None)
            session[DEMANDE_KEY] = filed.id
            return redirect(url_for(".confirmation"), 303)
    status = 200 if outcome.action else 422
    return render_template(
        "creer_espace/demande.html",
        definition=definition,
        form=outcome.form,
        summary=engine.summary(outcome.form),
        prerempli=False,
    ), status


@bp.get("/confirmation")
def confirmation():
    demande_id = session.get(DEMANDE_KEY)
    filed = db.session.get(DemandeCompte, demande_id) if demande_id else None
    if filed is None:
        return redirect(url_for(".etape_siret"), 303)
    return render_template("creer_espace/confirmation.html", demande=filed)
