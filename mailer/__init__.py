"""Notification mails: the outbox API (``mailer.outbox``), French templates
(``templates/mail/``), the send job and the sweeper (``mailer.jobs``).

Workflows call ``outbox.notifier`` then ``outbox.commit``; ``mailer`` never imports a view.
"""

import threading

from flask import Flask


def init_app(app: Flask) -> None:
    from mailer import cli, modeles, sweeper

    app.cli.add_command(cli.group)
    modeles.publications(app)  # the per-process cache of published template versions
    if app.config["REDIS_URL"] or app.testing:
        return  # workers sweep (worker.py); tests sweep explicitly
    started = threading.Lock()

    @app.before_request
    def _start_embedded_sweeper() -> None:
        # Embedded mode: no worker exists, so the web process retries what is due itself.
        if "outbox_sweeper" not in app.extensions and started.acquire(blocking=False):
            app.extensions["outbox_sweeper"] = sweeper.start(app)
