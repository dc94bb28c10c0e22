"""Staff back-office on Flask-Admin (Bootstrap 4 theme, French), mounted at ``/backoffice``.

- ``session.py``: the back-office's own session cookie and the agent it holds (design there).
- ``connexion.py``: sign-in (password, then TOTP or recovery code), enrolment, sign-out.
- ``securite.py``: base classes of every view (``VueAgent``, ``VueModeleAgent``) with the
  role check; a view outside them stops the start-up.
- ``vues/``: the views (``init_admin``), the dashboard and its tiles.
- ``agents.py``, ``totp.py``: operations on agents and their second factor;
  ``agents_cli.py``: ``flask agents create|list|deactivate|reset-2fa|password``;
  ``vues/mon_compte.py``: the agent's own password.
- ``erreurs.py``: the French error pages, for every URL under the prefix.

Content-Security-Policy: the back-office runs under the application's policy, unchanged
(``security.py``: scripts from 'self' or with the request's nonce, styles from 'self', no
'unsafe-inline', no 'unsafe-eval'). Flask-Admin receives the nonce (``csp_nonce_generator``)
for its ``<script>`` tags. Three of its templates carry inline ``onclick`` handlers, which the
policy blocks: ``templates/admin/actions.html`` (bulk-action menu), ``model/row_actions.html``
(delete button) and ``model/layout.html`` (filter items) override them with ``data-``
attributes that ``static/backoffice.js`` binds; that script also keeps Flask-Admin's
``javascript:void(0)`` links from navigating (which the policy would refuse and report). Our
blueprint is registered before the Admin's so that these overrides win. The theme's base
template is ``templates/backoffice/base.html`` (lang="fr", agent and sign-out, accessible
flash messages); the Bootstrap "default" swatch is the one that loads no font from another
site. A real Chromium checks it: no CSP violation (``tests/backoffice/test_navigateur.py``).
"""

from flask import Flask

NOM = "Activité partielle — back-office"


def init_app(app: Flask) -> None:
    from flask_admin import Admin
    from flask_admin.theme import Bootstrap4Theme

    import security
    from backoffice import agents_cli, connexion, session, vues
    from backoffice.securite import verifier_vues_protegees
    from backoffice.vues.tableau_de_bord import TableauDeBord

    app.session_interface = session.SessionsSeparees(app.session_interface)
    # Registered before the Admin's blueprints: its templates/admin/ overrides win.
    app.register_blueprint(connexion.bp)
    app.add_template_global(session.agent_connecte, "agent_backoffice")
    admin = Admin(
        app,
        name=NOM,
        url=session.PREFIXE,
        index_view=TableauDeBord(name="Tableau de bord", url=session.PREFIXE),
        theme=Bootstrap4Theme(swatch="default", fluid=True, base_template="backoffice/base.html"),
        csp_nonce_generator=security.csp_nonce,
    )
    vues.init_admin(admin)
    verifier_vues_protegees(admin)
    agents_cli.init_app(app)
