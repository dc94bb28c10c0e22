"""« Mon compte »: the signed-in agent changes its own password.

The current password is required (a session left open must not be enough to take the account
over), the new one is typed twice and follows the policy of ``flask agents create`` (16
characters at least, nothing personal, not on the blocklist); it is hashed with argon2id like
every password. The change is journaled and ends every back-office session of the agent (its
session token changes); the session of this browser is renewed with the new token, its
absolute lifetime unchanged. Failures are throttled like the sign-in's code step: 5 per 15
minutes per agent.

The page is open to every role, reached from the agent's name in the navigation bar (not a
menu entry).
"""

from __future__ import annotations

from flask import flash, redirect, request, session, url_for
from flask_admin import expose
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import EqualTo, InputRequired

from backoffice import agents
from backoffice import session as session_agent
from backoffice.securite import TOUS_LES_ROLES, VueAgent
from extensions import limiter

PAR_AGENT = "5 per 15 minutes"


class MotDePasseForm(FlaskForm):
    actuel = PasswordField(
        "Mot de passe actuel",
        validators=[InputRequired("Saisissez votre mot de passe actuel.")],
        render_kw={"autocomplete": "current-password"},
    )
    nouveau = PasswordField(
        "Nouveau mot de passe",
        validators=[InputRequired("Saisissez le nouveau mot de passe.")],
        render_kw={"autocomplete": "new-password", "minlength": 16},
    )
    confirmation = PasswordField(
        "Confirmez le nouveau mot de passe",
        validators=[
            InputRequired("Saisissez une seconde fois le nouveau mot de passe."),
            EqualTo("nouveau", "Les deux saisies du nouveau mot de passe sont différentes."),
        ],
        render_kw={"autocomplete": "new-password"},
    )


def _cle_agent() -> str:
    agent = session_agent.agent_connecte()
    return f"agent-mon-compte:{agent.id if agent is not None else request.remote_addr}"


def _echec(response) -> bool:
    return response.status_code != 303


class VueMonCompte(VueAgent):
    roles_autorises = TOUS_LES_ROLES

    def is_visible(self) -> bool:
        return False  # linked from the agent's name in the navigation bar

    @expose("/", methods=("GET", "POST"))
    @limiter.limit(PAR_AGENT, key_func=_cle_agent, methods=["POST"], deduct_when=_echec)
    def index(self):
        agent = self.agent
        form = MotDePasseForm()
        if form.validate_on_submit():
            try:
                agents.changer_mot_de_passe(
                    agent,
                    form.nouveau.data,
                    acteur=agents.acteur(agent),
                    actuel=form.actuel.data,
                )
            except agents.AgentInvalide as exc:
                cible = (
                    form.actuel
                    if exc.messages == ["Le mot de passe actuel est incorrect."]
                    else form.nouveau
                )
                cible.errors = [*cible.errors, *exc.messages]
            else:
                # Every session of the agent died with its token; this one goes on.
                debut = session.get(session_agent.CLE, {}).get("debut")
                session_agent.ouvrir(agent, session_agent.CONNECTE)
                if debut:
                    session[session_agent.CLE] = {**session[session_agent.CLE], "debut": debut}
                flash(
                    "Votre mot de passe a été changé. Vos autres sessions du back-office sont "
                    "fermées.",
                    "success",
                )
                return redirect(url_for(".index"), 303)
        statut = 422 if request.method == "POST" else 200
        return self.render("backoffice/mon_compte.html", form=form, agent=agent), statut


def init_admin(admin) -> None:
    admin.add_view(VueMonCompte(name="Mon compte", endpoint="mon_compte_agent", url="mon-compte"))
