"""Application factory: settings, extensions, then one flat list of ``init_app`` calls.

Reading ``create_app`` tells every moving part of the application.
"""

import logging
import os

from flask import Flask

import settings


def create_app(config: dict | None = None) -> Flask:
    """Build the application; ``config`` overrides every other settings layer (tests)."""
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    settings.configure(app, config)
    app.logger.setLevel(app.config["LOG_LEVEL"])
    logging.getLogger("werkzeug").setLevel(app.config["LOG_LEVEL"])

    # Imported here so that importing app.py stays cheap and free of side effects.
    import backoffice
    import database
    import demo
    import entretien
    import forms
    import mailer
    import portail
    import referentiels
    import security
    from extensions import babel, csrf, db, limiter, mail, migrate

    database.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(app.root_path, "migrations"))
    csrf.init_app(app)
    mail.init_app(app)
    mailer.init_app(app)
    babel.init_app(app, locale_selector=lambda: "fr", timezone_selector=lambda: "Europe/Paris")
    limiter.init_app(app)
    security.init_app(app)
    referentiels.init_app(app)
    forms.init_app(app)
    portail.init_app(app)
    backoffice.init_app(app)
    entretien.init_app(app)
    demo.init_app(app)
    settings_cli(app)
    return app


def settings_cli(app: Flask) -> None:
    @app.cli.command("settings")
    def print_settings_table() -> None:
        """Print the configuration table of the README."""
        print(settings.markdown_table())
