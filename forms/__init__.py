"""The JSON-Schema forms engine: definitions in ``forms/schemas/``, WTForms to render and
coerce, jsonschema to decide validity (see the README, "Forms engine").

It knows JSON Schema, WTForms and formats; it knows no workflow, domain model or view.
"""

from pathlib import Path

from flask import Flask

from forms.registry import DefinitionError, FormDefinition, FormRegistry, read_definition

__all__ = ["DefinitionError", "FormDefinition", "FormRegistry", "init_app"]


def init_app(app: Flask) -> None:
    """Load and check every shipped definition (a broken one stops the start with its file and
    path); published versions of the database are overlaid by ``forms.catalogue``."""
    from extensions import db
    from forms import cli
    from forms.catalogue import Catalogue

    folder = Path(app.config["FORMS_SCHEMAS_DIR"])
    files = {path: read_definition(path) for path in sorted(folder.glob("*.json"))}

    def engine_of():
        with app.app_context():  # also outside a request (CLI, tests, the worker)
            return db.engine

    app.extensions["forms"] = Catalogue(
        files, app.config["FORMS_REFRESH_SECONDS"], engine_of=engine_of
    )
    cli.init_app(app)
