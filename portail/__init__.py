"""The public side: pages, standalone forms, reference-data lookups, error pages (DSFR, French)."""

from flask import Flask


def init_app(app: Flask) -> None:
    from forms import uploads
    from portail import (
        aide,
        communes,
        connexion,
        contrat,
        controle,
        creer_espace,
        errors,
        etablissements,
        form_rendering,
        formulaires,
        mon_compte,
        motdepasse,
        oublis,
        pages,
    )

    app.register_blueprint(pages.bp)
    app.register_blueprint(formulaires.bp)
    app.register_blueprint(communes.bp)
    app.register_blueprint(motdepasse.bp)
    app.register_blueprint(oublis.bp)
    app.register_blueprint(mon_compte.bp)
    app.register_blueprint(creer_espace.bp)
    app.register_blueprint(contrat.bp)
    app.register_blueprint(aide.bp)
    app.register_blueprint(etablissements.bp)
    controle.init_app(app)
    connexion.init_app(app)
    errors.init_app(app)
    form_rendering.init_app(app)
    # Form pages show the attachment already received for a file field (name and size).
    app.add_template_global(uploads.find, "uploaded")
