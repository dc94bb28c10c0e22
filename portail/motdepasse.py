"""Choosing a password through the single-use link of the "mot de passe" mail.

The page asks the identity's secret question as a second check with the new password
(reliability.md §1.6: only behind a link that proves the mailbox); an identity added by a
référent, which has no question yet, chooses one on the same page instead. Too many wrong
answers lock the identity's links (``identites.TropDEssais``): the page then sends to the
support.
"""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import EqualTo, InputRequired

from extensions import limiter
from forms.builder import widget_choices
from workflows import identites

bp = Blueprint("motdepasse", __name__, template_folder="templates")
AIDE_MOT_DE_PASSE = (
    "Au moins 12 caractères. Une phrase de passe facile à retenir convient très bien."
)
AIDE_REPONSE = "Les majuscules, les accents et les espaces en trop ne comptent pas."


def _mot_de_passe() -> PasswordField:
    return PasswordField(
        "Nouveau mot de passe",
        validators=[InputRequired("Saisissez votre nouveau mot de passe.")],
        description=AIDE_MOT_DE_PASSE,
        render_kw={"autocomplete": "new-password"},
    )


def _confirmation() -> PasswordField:
    return PasswordField(
        "Confirmer le mot de passe",
        validators=[
            InputRequired("Saisissez à nouveau le mot de passe."),
            EqualTo("mot_de_passe", "Les deux saisies ne sont pas identiques."),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class ChoixMotDePasse(FlaskForm):
    mot_de_passe = _mot_de_passe()
    confirmation = _confirmation()


class ReponseEtMotDePasse(FlaskForm):
    """The answer to the identity's secret question (the view puts the question in its
    label), then the new password."""

    reponse = StringField(
        "Réponse à votre question secrète",
        validators=[InputRequired("Saisissez la réponse à votre question secrète.")],
        description=AIDE_REPONSE,
        render_kw={"autocomplete": "off", "spellcheck": "false", "maxlength": "200"},
    )
    mot_de_passe = _mot_de_passe()
    confirmation = _confirmation()


def avec_question(form_class: type[FlaskForm]) -> type[FlaskForm]:
    """``form_class`` plus the secret question to choose from the account request form's list,
    and its answer; their labels and lengths come from the definition, which the workflow
    checks the values against."""
    question, reponse = identites.champs_question()
    champ_question = SelectField(
        question.label,
        choices=widget_choices(
            [("", "Sélectionnez une question"), *identites.questions_secretes()]
        ),
        validators=[InputRequired("Choisissez votre question secrète.")],
        validate_choice=False,  # the definition decides, with a French message
    )
    champ_reponse = StringField(
        reponse.label,
        validators=[InputRequired("Saisissez la réponse à votre question secrète.")],
        description="Elle vous sera demandée si vous oubliez votre mot de passe. " + AIDE_REPONSE,
        render_kw={"spellcheck": "false", **reponse.input_attrs},
    )
    return type(
        form_class.__name__ + "AvecQuestion",
        (form_class,),
        {"question_secrete": champ_question, "reponse": champ_reponse},
    )


def placer_erreurs(form: FlaskForm, refus: identites.SaisieRefusee) -> None:
    """Put each message of a workflow's refusal next to its field."""
    for name, messages in refus.erreurs.items():
        field = form._fields.get(name)
        if field is None:
            form.form_errors.extend(messages)
        else:
            field.errors = [*field.errors, *messages]


def _lien_refuse(refus: identites.LienInvalide):
    if isinstance(refus, identites.TropDEssais):
        titre, status = "Lien bloqué", 429
    else:
        titre, status = "Lien expiré", 410
    return render_template("motdepasse/lien_invalide.html", titre=titre, message=str(refus)), status


@bp.route("/mot-de-passe/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def choisir(token: str):
    try:
        lien = identites.ouvrir_lien(token)
    except identites.LienInvalide as refus:
        return _lien_refuse(refus)
    if lien.question is None:
        form = avec_question(ChoixMotDePasse)()
    else:
        form = ReponseEtMotDePasse()
        form.reponse.label.text = f"Votre réponse à la question « {lien.question} »"
    if form.validate_on_submit():
        try:
            identites.choisir_mot_de_passe(
                token,
                form.mot_de_passe.data,
                form.question_secrete.data if lien.question is None else None,
                form.reponse.data,
            )
        except identites.SaisieRefusee as refused:
            placer_erreurs(form, refused)
        except identites.LienInvalide as refus:
            return _lien_refuse(refus)
        else:
            flash(
                "Votre mot de passe est enregistré. Vous pouvez vous connecter avec votre "
                "identifiant.",
                "success",
            )
            return redirect(url_for("pages.accueil"), 303)
    if lien.question is not None:
        form.reponse.data = ""  # the answer is a secret: never sent back, like the passwords
    status = 422 if form.errors else 200
    return render_template("motdepasse/choisir.html", form=form, lien=lien), status
