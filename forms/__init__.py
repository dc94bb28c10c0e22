"""The JSON-Schema forms engine: definitions in ``forms/schemas/``, WTForms to render and
coerce, jsonschema to decide validity (see the README, "Forms engine").

It knows JSON Schema, WTForms and formats; it knows no workflow, domain model or view.
"""

from flask import Flask

from forms.registry import DefinitionError, FormDefinition, FormRegistry, load_folder

__all__ = ["DefinitionError", "FormDefinition", "FormRegistry", "init_app"]


def init_app(app: Flask) -> None:
    """Load and check every definition; a broken one stops the start with its file and path."""
    from forms import cli

    app.extensions["forms"] = load_folder(app.config["FORMS_SCHEMAS_DIR"])
    cli.init_app(app)
