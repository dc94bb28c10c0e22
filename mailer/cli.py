"""``flask mailer send-test ADDRESS`` and ``flask mailer sweep``."""

import click
from flask.cli import AppGroup

from mailer import outbox

group = AppGroup("mailer", help="Courriels : envoi de test, relance de la file.")


@group.command("send-test")
@click.argument("address")
def send_test(address):
    """Queue a test mail to ADDRESS through the outbox, like any other notification."""
    try:
        notification = outbox.notifier(address, "test", {})
    except outbox.NotificationError as error:
        raise click.ClickException(str(error)) from error
    outbox.commit()
    click.echo(f"Courriel de test n° {notification.id} mis en file pour {notification.recipient}.")


@group.command("sweep")
def sweep_command():
    """Queue again every notification still pending or abandoned by a worker (one pass)."""
    from mailer.jobs import sweep

    click.echo(f"{sweep()} notification(s) remise(s) en file.")
