"""Reference data and its loaders: postal codes and communes, the SIRENE directory.

``init_app`` adds the ``flask sirene`` command group::

    flask sirene import StockEtablissement_utf8.zip [--batch-size 5000]
    flask sirene load-sample
    flask sirene lookup 00578096000042
"""

from __future__ import annotations

import json

import click
from flask import Flask
from flask.cli import AppGroup

sirene_cli = AppGroup("sirene", help="Répertoire SIRENE local (import, échantillon, recherche).")


def _print_report(report) -> None:
    click.echo(
        f"{report.source} : {report.rows_read} lignes lues, {report.upserted} enregistrées, "
        f"{report.skipped_invalid} ignorées (invalides), reprise après {report.resumed_from} lignes."
    )


@sirene_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--batch-size",
    default=5000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Lignes par transaction.",
)
def import_command(file: str, batch_size: int) -> None:
    """Importer un fichier StockEtablissement de l'INSEE (CSV, .gz ou .zip), avec reprise."""
    from referentiels.sirene import SireneFileError, import_stock

    try:
        report = import_stock(file, batch_size=batch_size, progress=True)
    except SireneFileError as exc:
        raise click.ClickException(str(exc)) from exc
    _print_report(report)


@sirene_cli.command("load-sample")
def load_sample_command() -> None:
    """Charger l'échantillon fourni (établissements des données de démonstration)."""
    from referentiels.sirene import load_sample

    _print_report(load_sample())


@sirene_cli.command("lookup")
@click.argument("siret")
def lookup_command(siret: str) -> None:
    """Afficher en JSON l'établissement d'un SIRET (table locale, puis API si configurée)."""
    from referentiels.annuaire import rechercher_etablissement

    info = rechercher_etablissement(siret)
    if info is None:
        raise click.ClickException(f"Aucun établissement trouvé pour le SIRET {siret}.")
    click.echo(json.dumps(info.as_dict(), ensure_ascii=False, indent=2))


def init_app(app: Flask) -> None:
    app.cli.add_command(sirene_cli)
