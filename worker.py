"""RQ worker: ``python worker.py`` runs the jobs of every queue in ``jobs.QUEUES``.

Run as many as needed (one per core is a good start): each claims its own jobs from Redis.
Needs ``REDIS_URL``; without it the app runs jobs itself (embedded mode).
"""

import socket
import sys

from rq import Worker

import entretien
import jobs
from app import create_app
from mailer import sweeper

# smtplib opens connections without a timeout: a dead relay must not hang a job forever.
SMTP_SOCKET_TIMEOUT = 30


def main() -> int:
    app = create_app()
    if not app.config["REDIS_URL"]:
        print(
            "REDIS_URL n'est pas défini : en mode embarqué, l'application exécute "
            "elle-même les tâches ; aucun worker n'est nécessaire.",
            file=sys.stderr,
        )
        return 2
    socket.setdefaulttimeout(SMTP_SOCKET_TIMEOUT)
    jobs.worker_app = app
    with app.app_context():
        connection = jobs.worker_connection()
        queues = [jobs.queue(name, connection) for name in jobs.QUEUES]
        worker = Worker(queues, connection=connection, job_class=jobs.AppContextJob)
    sweeper.start(app, redis=connection)
    entretien.start(app, redis=connection)
    worker.work(with_scheduler=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
