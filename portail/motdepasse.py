"""Choosing a password through the single-use link of the "mot de passe" mail."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import EqualTo, InputRequired

from extensions import limiter
from workflows import identites

bp = Blueprint("motdepasse", __name__, template_folder="templates")


class ChoixMotDePasse(FlaskForm):
    mot_de_passe = PasswordField(
        "Nouveau mot de passe",
        validators=[InputRequired("Saisissez votre nouveau mot de passe.")],
        description="Au moins 12 caractères. Une phrase de passe facile à retenir convient très bien.",
        render_kw={"autocomplete": "new-password"},
    )
    confirmation = PasswordField(
        "Confirmer le mot de passe",
        validators=[
            InputRequired("Saisissez à nouveau le mot de passe."),
            EqualTo("mot_de_passe", "Les deux saisies ne sont pas identiques."),
        ],
        render_kw={"autocomplete": "new-password"},
    )


@bp.route("/mot-de-passe/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def choisir(token: str):
    try:
        jeton = identites.jeton_valide(token)
    except identites.LienInvalide as invalid:
        return render_template("motdepasse/lien_invalide.html", message=str(invalid)), 410
    form = ChoixMotDePasse()
    if form.validate_on_submit():
        try:
            identites.choisir_mot_de_passe(token, form.mot_de_passe.data)
        except identites.MotDePasseRefuse as refused:
            form.mot_de_passe.errors = list(refused.messages)
        except identites.LienInvalide as invalid:
            return render_template("motdepasse/lien_invalide.html", message=str(invalid)), 410
        else:
            flash(
                "Votre mot de passe est enregistré. Vous pouvez vous connecter avec votre "
                "identifiant.",
                "success",
            )
            return redirect(url_for("pages.accueil"), 303)
    status = 422 if form.errors else 200
    return render_template(
        "motdepasse/choisir.html", form=form, expires_at=jeton.expires_at
    ), status
