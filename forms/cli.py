"""``flask forms check|validate|sync|export``: definitions from the command line."""

import json
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from forms.registry import DefinitionError, load_folder

group = AppGroup("forms", help="Définitions de formulaires : vérification et validation.")


@group.command("check")
@click.option(
    "--dir", "folder", default=None, help="Dossier des définitions (par défaut FORMS_SCHEMAS_DIR)."
)
def check(folder):
    """Check every definition (metaschema and x- vocabulary); exit 1 on the first broken one."""
    folder = folder or current_app.config["FORMS_SCHEMAS_DIR"]
    try:
        registry = load_folder(folder)
    except DefinitionError as error:
        click.echo(str(error), err=True)
        sys.exit(1)
    for definition in registry:
        click.echo(f"ok  {definition.id} v{definition.version}  ({definition.source})")


@group.command("validate")
@click.argument("form_id")
@click.argument("document", type=click.File("r", encoding="utf-8"))
def validate(form_id, document):
    """Validate DOCUMENT against FORM_ID; print {"field-name": ["message"]}, exit 1 if invalid."""
    definition = current_app.extensions["forms"].get(form_id)
    if definition is None:
        click.echo(f"Formulaire inconnu : {form_id}", err=True)
        sys.exit(2)
    try:
        data = json.load(document)
    except (json.JSONDecodeError, RecursionError) as exc:
        click.echo(json.dumps({"": [f"JSON invalide : {exc}"]}, ensure_ascii=False))
        sys.exit(1)
    errors = (
        definition.errors(data)
        if isinstance(data, dict)
        else {"": ["Le document doit être un objet JSON."]}
    )
    click.echo(json.dumps(errors, ensure_ascii=False, indent=2))
    sys.exit(1 if errors else 0)


@group.command("sync")
def sync():
    """Record the files of FORMS_SCHEMAS_DIR as published versions (idempotent)."""
    from workflows.definitions import synchroniser_fichiers

    rapport = synchroniser_fichiers()
    for ligne in rapport.lignes:
        click.echo(ligne)
    click.echo(f"{rapport.modifies} version(s) enregistrée(s) ou mise(s) à jour.")


@group.command("export")
@click.argument("form_id")
@click.option("--dir", "folder", default=None, help="Dossier cible (par défaut FORMS_SCHEMAS_DIR).")
def export(form_id, folder):
    """Write the served version of FORM_ID back to its file, so that it can be committed."""
    from workflows.definitions import exporter

    try:
        path = exporter(form_id, folder or current_app.config["FORMS_SCHEMAS_DIR"])
    except LookupError:
        click.echo(f"Formulaire inconnu : {form_id}", err=True)
        sys.exit(2)
    version = current_app.extensions["forms"][form_id].version
    click.echo(f"{form_id} v{version} écrit dans {path}")


def init_app(app):
    app.cli.add_command(group)
