"""After sign-in: « Mes établissements » and the fiche of each establishment (its data, its
référent, its users). Every URL starts from the signed-in identity's own habilitation: an
establishment it is not habilitated on answers 404, as if it did not exist."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.datastructures import CombinedMultiDict

from extensions import db, limiter
from forms import engine
from models.comptes import MAX_ETABLISSEMENTS_PAR_UTILISATEUR, Habilitation, Role
from workflows import etablissements
from workflows.comptes import CompteError
from workflows.journal import Acteur

bp = Blueprint("etablissements", __name__, template_folder="templates")
PAGE_SIZE = 20
FICHE_FORM_ID = "fiche-etablissement"
AJOUT_FORM_ID = "ajout-utilisateur"


def _acteur() -> Acteur:
    return Acteur("usager", current_user.identifiant)


def _habilitation(siret: str) -> Habilitation:
    """The signed-in identity's habilitation on ``siret``, or 404."""
    habilitation = etablissements.habilitation_sur(current_user, siret)
    if habilitation is None:
        abort(404)
    return habilitation


def _referent(siret: str) -> Habilitation:
    """As ``_habilitation``, and 403 unless it is the référent's."""
    habilitation = _habilitation(siret)
    if habilitation.role != Role.REFERENT:
        abort(403)
    return habilitation


def _fiche_url(siret: str) -> str:
    return url_for(".fiche", siret=siret)


@bp.get("/mes-etablissements")
@login_required
def liste():
    page = request.args.get("page", 1, type=int)
    if page < 1:
        abort(404)
    recherche = (request.args.get("q") or "").strip()[:120]
    pagination = db.paginate(
        etablissements.etablissements_de(current_user, recherche),
        page=page,
        per_page=PAGE_SIZE,
        error_out=False,
    )
    if page > 1 and not pagination.items:
        abort(404)
    return render_template(
        "etablissements/liste.html",
        pagination=pagination,
        lignes=pagination.items,
        recherche=recherche,
        maximum=MAX_ETABLISSEMENTS_PAR_UTILISATEUR,
    )


@bp.get("/etablissements/<siret>")
@login_required
def fiche(siret: str):
    habilitation = _habilitation(siret)
    etablissement = habilitation.etablissement
    return render_template(
        "etablissements/fiche.html",
        etablissement=etablissement,
        habilitation=habilitation,
        referent=etablissements.referent_de(etablissement),
        utilisateurs=etablissements.utilisateurs_de(etablissement),
        est_referent=habilitation.role == Role.REFERENT,
    )


def _fiche_document(etablissement) -> dict:
    return {
        "etablissement": {
            champ: value
            for champ in ("siret", *etablissements.CHAMPS_MODIFIABLES)
            if (value := getattr(etablissement, champ))
        }
    }


@bp.route("/etablissements/<siret>/modifier", methods=["GET", "POST"])
@login_required
@limiter.limit("30 per minute", methods=["POST"])
def modifier(siret: str):
    habilitation = _habilitation(siret)
    etablissement = habilitation.etablissement
    definition = current_app.extensions["forms"][FICHE_FORM_ID]
    if request.method == "GET":
        form = engine.new_form(definition, _fiche_document(etablissement))
        return _page_modifier(definition, form, etablissement)
    # The SIRET comes from the server only: whatever the post says, it stays.
    outcome = engine.submit(
        definition,
        CombinedMultiDict([request.files, request.form]),
        prefill={"etablissement": {"siret": etablissement.siret}},
    )
    if outcome.valid:
        changes = etablissements.modifier_etablissement(
            etablissement.id, outcome.document["etablissement"], _acteur()
        )
        flash(
            "Les informations de l'établissement ont été enregistrées."
            if changes
            else "Aucune modification : les informations étaient déjà à jour.",
            "success" if changes else "info",
        )
        return redirect(_fiche_url(siret), 303)
    status = 200 if outcome.action else 422
    return _page_modifier(definition, outcome.form, etablissement, engine.summary(outcome.form)), (
        status
    )


def _page_formulaire(definition, form, etablissement, summary=None, *, titre: str, endpoint: str):
    """The page of one of the establishment's forms; ``titre`` names it in the breadcrumb."""
    return render_template(
        "etablissements/formulaire.html",
        definition=definition,
        form=form,
        summary=summary,
        etablissement=etablissement,
        titre=titre,
        action=url_for(endpoint, siret=etablissement.siret),
    )


def _page_modifier(definition, form, etablissement, summary=None):
    return _page_formulaire(
        definition,
        form,
        etablissement,
        summary,
        titre="Modifier les informations",
        endpoint="etablissements.modifier",
    )


class ChoixReferent(FlaskForm):
    """CSRF only: the choice is a radio whose values are checked against the users."""


@bp.route("/etablissements/<siret>/referent", methods=["GET", "POST"])
@login_required
@limiter.limit("30 per minute", methods=["POST"])
def referent(siret: str):
    habilitation = _referent(siret)
    etablissement = habilitation.etablissement
    candidats = [
        h for h in etablissements.utilisateurs_de(etablissement) if h.role != Role.REFERENT
    ]
    form = ChoixReferent()
    erreur = None
    if request.method == "POST" and form.validate_on_submit():
        choix = request.form.get("habilitation", type=int)
        if choix not in {h.id for h in candidats}:
            erreur = "Choisissez la nouvelle personne référente parmi les utilisateurs."
        else:
            try:
                nouvelle = etablissements.changer_referent(
                    etablissement.id, choix, _acteur(), par=current_user
                )
            except CompteError as refusal:
                erreur = str(refusal)
            else:
                flash(
                    f"{nouvelle.utilisateur.prenom} {nouvelle.utilisateur.nom} est désormais la "
                    "personne référente de l'établissement. Vous restez utilisateur.",
                    "success",
                )
                return redirect(_fiche_url(siret), 303)
    elif request.method == "POST":
        abort(400)
    status = 422 if erreur else 200
    return render_template(
        "etablissements/referent.html",
        etablissement=etablissement,
        candidats=candidats,
        form=form,
        erreur=erreur,
    ), status


@bp.route("/etablissements/<siret>/utilisateurs/ajouter", methods=["GET", "POST"])
@login_required
@limiter.limit("20 per minute", methods=["POST"])
def ajouter(siret: str):
    habilitation = _referent(siret)
    etablissement = habilitation.etablissement
    definition = current_app.extensions["forms"][AJOUT_FORM_ID]
    if request.method == "GET":
        return _page_ajouter(definition, engine.new_form(definition), etablissement)
    outcome = engine.submit(definition, CombinedMultiDict([request.files, request.form]))
    if outcome.valid:
        try:
            ajoutee, nouveau = etablissements.ajouter_utilisateur(
                etablissement.id,
                outcome.document["utilisateur"],
                _acteur(),
                par=current_user,
            )
        except CompteError as refusal:
            outcome.form.form_errors.append(str(refusal))
        else:
            personne = f"{ajoutee.utilisateur.prenom} {ajoutee.utilisateur.nom}"
            flash(
                f"{personne} a été ajouté(e) : un courriel lui transmet son identifiant puis un "
                "lien pour choisir son mot de passe."
                if nouveau
                else f"{personne} a déjà un accès à l'extranet Activité Partielle : cet accès "
                "est rattaché à l'établissement, un courriel l'en informe.",
                "success",
            )
            return redirect(_fiche_url(siret), 303)
    status = 200 if outcome.action else 422
    return _page_ajouter(definition, outcome.form, etablissement, engine.summary(outcome.form)), (
        status
    )


def _page_ajouter(definition, form, etablissement, summary=None):
    return _page_formulaire(
        definition,
        form,
        etablissement,
        summary,
        titre="Ajouter un utilisateur",
        endpoint="etablissements.ajouter",
    )


class ConfirmationRetrait(FlaskForm):
    """CSRF only."""


@bp.route(
    "/etablissements/<siret>/utilisateurs/<int:habilitation_id>/retirer", methods=["GET", "POST"]
)
@login_required
@limiter.limit("30 per minute", methods=["POST"])
def retirer(siret: str, habilitation_id: int):
    habilitation = _referent(siret)
    etablissement = habilitation.etablissement
    cible = db.session.get(Habilitation, habilitation_id)
    if cible is None or cible.etablissement_id != etablissement.id or not cible.actif:
        abort(404)
    form = ConfirmationRetrait()
    erreur = None
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            etablissements.retirer_utilisateur(
                etablissement.id, cible.id, _acteur(), par=current_user
            )
        except CompteError as refusal:
            erreur = str(refusal)
        else:
            flash(
                f"L'accès de {cible.utilisateur.prenom} {cible.utilisateur.nom} à "
                "l'établissement a été retiré.",
                "success",
            )
            return redirect(_fiche_url(siret), 303)
    return render_template(
        "etablissements/retirer.html",
        etablissement=etablissement,
        cible=cible,
        form=form,
        erreur=erreur,
    ), (422 if erreur else 200)
