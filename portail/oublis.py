"""« J'ai oublié mon identifiant » and « J'ai oublié mon mot de passe », linked from the
sign-in page.

Both answer the same whatever was typed: same template, same status, same text, so the pages
never tell whether an identity exists (reliability.md §1.4). The forgotten password asks only
the identifiant and the address: the secret question is asked on the page of the mailed link,
never here (reliability.md §1.6, ``portail.motdepasse``).
"""

from flask import Blueprint, render_template, request
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField
from wtforms.validators import InputRequired, Length, ValidationError

from extensions import limiter
from forms import formats
from identites import motdepasse
from workflows import comptes, identites

bp = Blueprint("oublis", __name__, template_folder="templates")
TROP = (
    "Trop de demandes ont été faites pour ce compte, cette adresse ou depuis votre connexion. "
    "Patientez une heure avant de réessayer, ou contactez le support technique."
)
IDENTIFIANT_TROP_LONG = (
    f"Un identifiant comporte au plus {motdepasse.IDENTIFIANT_MAX_LENGTH} caractères : "
    "vérifiez votre saisie."
)
ENVOI_IDENTIFIANT = (
    "Si cette adresse correspond à un compte, vous allez recevoir un courriel contenant votre "
    "identifiant (ou vos identifiants, s'il y en a plusieurs, avec les établissements de chacun)."
)
ENVOI_LIEN = (
    "Si les informations saisies sont exactes, un courriel contenant un lien pour choisir un "
    "nouveau mot de passe vous a été envoyé. Ce lien est valable "
    f"{comptes.PASSWORD_LINK_HOURS} heures et ne peut servir qu'une seule fois ; votre question "
    "secrète vous sera demandée sur la page qu'il ouvre."
)


def _adresse_valide(form, field) -> None:
    if field.data and not formats.FORMATS["email"].is_valid(identites.adresse(field.data)):
        raise ValidationError(formats.FORMATS["email"].message)


def _champ_courriel() -> EmailField:
    return EmailField(
        "Courriel",
        validators=[InputRequired("Saisissez votre adresse électronique."), _adresse_valide],
        description="L'adresse électronique de votre compte, de la forme nom@exemple.fr.",
        render_kw={"autocomplete": "email", "spellcheck": "false", "maxlength": "254"},
    )


class DemandeIdentifiant(FlaskForm):
    courriel = _champ_courriel()


class DemandeMotDePasse(FlaskForm):
    identifiant = StringField(
        "Identifiant",
        validators=[
            InputRequired("Saisissez votre identifiant."),
            # Bounded like Utilisateur.identifiant: a longer one cannot match.
            Length(max=motdepasse.IDENTIFIANT_MAX_LENGTH, message=IDENTIFIANT_TROP_LONG),
        ],
        description="Celui que vous saisissez dans le champ « Utilisateur » de la page de "
        "connexion.",
        render_kw={
            "autocomplete": "username",
            "spellcheck": "false",
            "maxlength": str(motdepasse.IDENTIFIANT_MAX_LENGTH),
        },
    )
    courriel = _champ_courriel()


def _cle_courriel() -> str:
    return "oubli-courriel:" + identites.adresse(request.form.get("courriel", "")).lower()


def _cle_identifiant_saisi() -> str:
    return "oubli-identifiant:" + (request.form.get("identifiant") or "").strip().lower()


def _envoye(message: str):
    return render_template("oublis/envoye.html", message=message)


@bp.route("/identifiant-oublie", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"], error_message=TROP)  # per client address
@limiter.limit("5 per hour", key_func=_cle_courriel, methods=["POST"], error_message=TROP)
def identifiant_oublie():
    form = DemandeIdentifiant()
    if form.validate_on_submit():
        identites.envoyer_identifiants(form.courriel.data)
        return _envoye(ENVOI_IDENTIFIANT)
    status = 422 if request.method == "POST" else 200
    return render_template("oublis/identifiant.html", form=form), status


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"], error_message=TROP)
@limiter.limit("10 per hour", key_func=_cle_identifiant_saisi, methods=["POST"], error_message=TROP)
def mot_de_passe_oublie():
    form = DemandeMotDePasse()
    if form.validate_on_submit():
        identites.demander_nouveau_mot_de_passe(form.identifiant.data, form.courriel.data)
        return _envoye(ENVOI_LIEN)
    status = 422 if request.method == "POST" else 200
    return render_template("oublis/mot_de_passe.html", form=form), status
