"""Staff sign-in: address and password, then a TOTP code or a recovery code; the enrolment
page (QR code) until the agent confirms a first code; sign-out.

Throttling (Flask-Limiter, like the public sign-in): 20 posts per minute per client address on
each step; 5 failures per 15 minutes per address typed (password step) and per agent (code
and enrolment steps), after which even the right answer waits. Every refusal of a step reads
the same (no enumeration). See ``backoffice/session.py`` for the session itself.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired

from backoffice import agents, erreurs, totp
from backoffice import session as session_agent
from backoffice.securite import suivant_valide
from extensions import limiter

bp = Blueprint(
    "backoffice",
    __name__,
    url_prefix=session_agent.PREFIXE,
    template_folder="templates",
    static_folder="static",
    static_url_path="/ressources",
)
erreurs.brancher(bp)
# Unknown URLs under /backoffice (no blueprint) get the back-office error page too; registered
# with this blueprint, after the public side's application-wide handlers.
bp.record_once(lambda etat: erreurs.brancher_application(etat.app))

PAR_ADRESSE = "20 per minute"
PAR_COMPTE = "5 per 15 minutes"


class ConnexionForm(FlaskForm):
    email = StringField(
        "Adresse électronique",
        validators=[InputRequired("Saisissez votre adresse électronique.")],
        render_kw={"autocomplete": "username", "spellcheck": "false", "type": "email"},
    )
    mot_de_passe = PasswordField(
        "Mot de passe",
        validators=[InputRequired("Saisissez votre mot de passe.")],
        render_kw={"autocomplete": "current-password"},
    )


class CodeForm(FlaskForm):
    code = StringField(
        "Code de vérification",
        validators=[InputRequired("Saisissez le code.")],
        render_kw={"autocomplete": "one-time-code", "spellcheck": "false", "autofocus": True},
    )


def _cle_compte() -> str:
    return "agent:" + agents.normaliser_email(request.form.get("email", ""))


def _cle_agent() -> str:
    donnees = session.get(session_agent.CLE)
    agent_id = donnees.get("id") if isinstance(donnees, dict) else None
    return f"agent-code:{agent_id}"


def _echec(response) -> bool:
    return response.status_code != 303


def _apres_connexion(courant: session_agent.EtatAgent, message: str, categorie: str = "info"):
    session_agent.ouvrir(courant.agent, session_agent.CONNECTE)  # a fresh session
    flash(message, categorie)
    return redirect(courant.suivant or url_for("admin.index"), 303)


@bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit(PAR_ADRESSE, methods=["POST"])
@limiter.limit(PAR_COMPTE, key_func=_cle_compte, methods=["POST"], deduct_when=_echec)
def connexion():
    if request.method == "GET" and session_agent.agent_connecte() is not None:
        return redirect(url_for("admin.index"))
    form = ConnexionForm()
    if form.validate_on_submit():
        agent = agents.verifier_mot_de_passe(form.email.data, form.mot_de_passe.data)
        if agent is not None:
            etape = session_agent.CODE if agent.enrole else session_agent.ENROLEMENT
            session_agent.ouvrir(agent, etape, suivant_valide(request.args.get("next")))
            return redirect(url_for(f"backoffice.{etape}"), 303)
        form.form_errors.append(agents.REFUS_CONNEXION)
    status = 422 if request.method == "POST" else 200
    return render_template("backoffice/connexion.html", form=form), status


@bp.route("/connexion/code", methods=["GET", "POST"])
@limiter.limit(PAR_ADRESSE, methods=["POST"])
@limiter.limit(PAR_COMPTE, key_func=_cle_agent, methods=["POST"], deduct_when=_echec)
def code():
    courant = session_agent.etat()
    if courant is None or courant.etape != session_agent.CODE:
        return redirect(url_for("backoffice.connexion"), 303)
    form = CodeForm()
    if form.validate_on_submit():
        facteur = agents.connecter(courant.agent, form.code.data)
        if facteur is not None:
            if facteur == "code_secours":
                restants = agents.codes_secours_restants(courant.agent)
                return _apres_connexion(
                    courant,
                    f"Code de secours accepté ; il ne servira plus. Il vous en reste {restants}.",
                    "warning",
                )
            return _apres_connexion(courant, "Vous êtes connecté(e).")
        form.form_errors.append(agents.REFUS_CODE)
    status = 422 if request.method == "POST" else 200
    return render_template("backoffice/code.html", form=form, agent=courant.agent), status


@bp.route("/enrolement", methods=["GET", "POST"])
@limiter.limit(PAR_ADRESSE, methods=["POST"])
@limiter.limit(PAR_COMPTE, key_func=_cle_agent, methods=["POST"], deduct_when=_echec)
def enrolement():
    courant = session_agent.etat()
    if courant is None or courant.etape != session_agent.ENROLEMENT:
        return redirect(url_for("backoffice.connexion"), 303)
    form = CodeForm()
    if form.validate_on_submit():
        if agents.confirmer_enrolement(courant.agent, form.code.data):
            return _apres_connexion(
                courant,
                "Double authentification activée. Bienvenue dans le back-office.",
                "success",
            )
        form.form_errors.append(agents.REFUS_CODE)
    secret = agents.secret_a_enroler(courant.agent)
    uri = totp.uri_enrolement(secret, courant.agent.email)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "backoffice/enrolement.html",
        form=form,
        agent=courant.agent,
        qr=totp.qr_svg(uri),
        secret=totp.secret_lisible(secret),
    ), status


@bp.post("/deconnexion")
def deconnexion():
    courant = session_agent.etat()
    if courant is not None and courant.etape == session_agent.CONNECTE:
        agents.deconnecter(courant.agent)
    session_agent.fermer()
    flash("Vous êtes déconnecté(e).", "info")
    return redirect(url_for("backoffice.connexion"), 303)
