"""``flask demo load``: the demo data ``make run`` shows (idempotent)."""

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from extensions import db
from models.submission import Submission

group = AppGroup("demo", help="Données de démonstration.")


@group.command("load")
def load():
    """Load the SIRENE sample and one example submission per standalone form."""
    from referentiels.sirene import load_sample
    from workflows.formulaires import deposer_soumission

    report = load_sample()
    click.echo(f"Répertoire SIRENE : {report}")
    examples = Path(current_app.root_path) / "forms" / "examples"
    for definition in current_app.extensions["forms"].standalone():
        already = db.session.scalar(
            select(func.count()).select_from(Submission).where(Submission.form_id == definition.id)
        )
        path = examples / f"{definition.id}.json"
        if already or not path.exists():
            continue
        document = json.loads(path.read_text(encoding="utf-8"))
        errors = definition.errors(document)
        if errors:
            raise click.ClickException(f"{path} n'est pas valide : {errors}")
        submission = deposer_soumission(definition, document)
        click.echo(f"Soumission d'exemple {definition.id} : {submission.reference}")


def init_app(app):
    app.cli.add_command(group)
