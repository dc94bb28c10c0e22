"""« Mon compte »: the signed-in identity's details, and changing its password or its secret
question (the current password is asked for both). One identity serves every establishment
it is habilitated for: its password is the same for all of them."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required, login_user
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import EqualTo, InputRequired

from extensions import limiter
from portail.motdepasse import AIDE_MOT_DE_PASSE, avec_question, placer_erreurs
from workflows import comptes, identites

bp = Blueprint("mon_compte", __name__, template_folder="templates")
PREFIXE_QUESTION = "question"  # the two forms share a page: their field ids must differ
TROP = (
    "Trop d'essais infructueux sur votre compte. Patientez une heure avant de réessayer, "
    "ou contactez le support technique."
)


def _mot_de_passe_actuel() -> PasswordField:
    return PasswordField(
        "Mot de passe actuel",
        validators=[InputRequired("Saisissez votre mot de passe actuel.")],
        render_kw={"autocomplete": "current-password"},
    )


class ChangementMotDePasse(FlaskForm):
    mot_de_passe_actuel = _mot_de_passe_actuel()
    mot_de_passe = PasswordField(
        "Nouveau mot de passe",
        validators=[InputRequired("Saisissez votre nouveau mot de passe.")],
        description=AIDE_MOT_DE_PASSE,
        render_kw={"autocomplete": "new-password"},
    )
    confirmation = PasswordField(
        "Confirmer le nouveau mot de passe",
        validators=[
            InputRequired("Saisissez à nouveau le nouveau mot de passe."),
            EqualTo("mot_de_passe", "Les deux saisies ne sont pas identiques."),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class ChangementQuestion(FlaskForm):
    mot_de_passe_actuel = _mot_de_passe_actuel()


def _formulaire_question(**kwargs):
    return avec_question(ChangementQuestion)(
        prefix=PREFIXE_QUESTION, data={"question_secrete": current_user.question_secrete}, **kwargs
    )


def _cle_compte() -> str:
    return f"mon-compte:{getattr(current_user, 'id', '')}"


def _echec(response) -> bool:
    return response.status_code != 303


def _page(mot_de_passe=None, question=None, status=200):
    return render_template(
        "mon_compte/mon_compte.html",
        form_mot_de_passe=mot_de_passe or ChangementMotDePasse(formdata=None),
        form_question=question or _formulaire_question(formdata=None),
        nombre_etablissements=comptes.nombre_etablissements(current_user),
    ), status


@bp.get("/mon-compte")
@login_required
def mon_compte():
    return _page()


@bp.post("/mon-compte/mot-de-passe")
@login_required
@limiter.limit(
    "10 per hour", key_func=_cle_compte, deduct_when=_echec, error_message=TROP
)  # wrong current passwords, per identity
def changer_mot_de_passe():
    form = ChangementMotDePasse()
    if form.validate_on_submit():
        try:
            utilisateur = identites.changer_mot_de_passe(
                current_user._get_current_object(),
                form.mot_de_passe_actuel.data,
                form.mot_de_passe.data,
            )
        except identites.SaisieRefusee as refused:
            placer_erreurs(form, refused)
        else:
            login_user(utilisateur)  # this session follows the new session token
            flash(
                "Votre mot de passe a été modifié. Il vaut pour tous vos établissements ; "
                "vos autres sessions ouvertes ont été fermées.",
                "success",
            )
            return redirect(url_for(".mon_compte"), 303)
    return _page(mot_de_passe=form, status=422)


@bp.post("/mon-compte/question-secrete")
@login_required
@limiter.limit("10 per hour", key_func=_cle_compte, deduct_when=_echec, error_message=TROP)
def changer_question():
    form = _formulaire_question()
    if form.validate_on_submit():
        try:
            identites.changer_question(
                current_user._get_current_object(),
                form.mot_de_passe_actuel.data,
                form.question_secrete.data,
                form.reponse.data,
            )
        except identites.SaisieRefusee as refused:
            placer_erreurs(form, refused)
        else:
            flash("Votre question secrète et sa réponse ont été modifiées.", "success")
            return redirect(url_for(".mon_compte"), 303)
    return _page(question=form, status=422)
