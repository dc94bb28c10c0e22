"""Sign-in ("MON ESPACE PERSONNEL"), sign-out and "Mes notifications"."""

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired

from extensions import db, limiter, login_manager
from mailer.render import subject_of
from models.notification import Notification
from workflows import connexion

bp = Blueprint("connexion", __name__, template_folder="templates")
PAGE_SIZE = 50


class ConnexionForm(FlaskForm):
    identifiant = StringField(
        "Utilisateur",
        validators=[InputRequired("Saisissez votre identifiant.")],
        render_kw={"autocomplete": "username", "spellcheck": "false"},
    )
    mot_de_passe = PasswordField(
        "Mot de passe",
        validators=[InputRequired("Saisissez votre mot de passe.")],
        render_kw={"autocomplete": "current-password"},
    )


def _account_key() -> str:
    return "compte:" + (request.form.get("identifiant") or "").strip().lower()


def _destination(suivant: str | None) -> str:
    """Where to go after sign-in: the page that asked for it when it is one of ours (a path
    of this site, never another host), else « Mes établissements »."""
    parts = urlsplit(suivant or "")
    if (
        suivant
        and suivant.startswith("/")
        and not suivant.startswith("//")
        and "\\" not in suivant
        and not parts.scheme
        and not parts.netloc
    ):
        return suivant
    return url_for("etablissements.liste")


def _failed(response) -> bool:
    return response.status_code != 303


@bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])  # per address
@limiter.limit("5 per 15 minutes", key_func=_account_key, methods=["POST"], deduct_when=_failed)
def connexion_page():
    form = ConnexionForm()
    if form.validate_on_submit():
        utilisateur = connexion.connecter(form.identifiant.data, form.mot_de_passe.data)
        if utilisateur is not None:
            session.clear()  # a fresh session at sign-in: no fixation
            login_user(utilisateur)
            return redirect(_destination(request.args.get("next")), 303)
        form.form_errors.append(connexion.REFUS)
    status = 422 if request.method == "POST" else 200
    return render_template("connexion/connexion.html", form=form), status


@bp.post("/deconnexion")
@login_required
def deconnexion():
    connexion.deconnecter(current_user._get_current_object())
    logout_user()
    session.clear()
    flash("Vous êtes déconnecté(e).", "info")
    return redirect(url_for("pages.accueil"), 303)


@bp.get("/mes-notifications")
@login_required
def mes_notifications():
    page = request.args.get("page", 1, type=int)
    if page < 1:
        abort(404)
    query = (
        select(Notification)
        .where(Notification.recipient == current_user.courriel)
        .order_by(Notification.id.desc())
    )
    pagination = db.paginate(query, page=page, per_page=PAGE_SIZE, error_out=False, count=False)
    return render_template(
        "connexion/mes_notifications.html",
        notifications=pagination.items,
        page=page,
        has_next=len(pagination.items) == PAGE_SIZE,
    )


def init_app(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "connexion.connexion_page"
    login_manager.login_message = "Connectez-vous pour accéder à cette page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    login_manager.user_loader(connexion.charger)
    app.register_blueprint(bp)
    app.add_template_global(subject_of, "subject_of")
