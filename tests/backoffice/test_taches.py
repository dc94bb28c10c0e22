"""Job monitoring: « Tâches » (queues, workers, failed jobs with Relancer and Supprimer) and
« Courriels » (the outbox with Renvoyer), administrators only; embedded mode (fakeredis) and
the real Redis of ``REDIS_URL``; CSRF on each POST; journal rows; the dashboard tile."""

from __future__ import annotations

import html
import os
import re
import uuid
from email import message_from_bytes
from email.policy import default as email_policy
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from rq import SimpleWorker, Worker
from sqlalchemy import select

import jobs
from extensions import db
from mailer import outbox
from models.audit import AuditEvent
from models.notification import Notification, NotificationState
from tests.backoffice.conftest import ADMIN, ASP, PHRASE, UD, connecter, creer

JETON = re.compile(
    r'name="csrf_token" value="([^"]+)"|name="csrf_token" type="hidden" value="([^"]+)"'
)


# Jobs of these tests (importable by the worker: this module is in the ``tests`` package).


def tache_fragile(marqueur: str) -> str:
    """Fails the first time (leaves a marker), succeeds afterwards."""
    chemin = Path(marqueur)
    if not chemin.exists():
        chemin.write_text("premier essai", encoding="utf-8")
        raise RuntimeError("panne simulée au premier essai")
    return "réussie"


def tache_en_panne() -> None:
    raise ValueError("toujours en panne")


# Helpers.


@pytest.fixture
def integre(make_app, tmp_path):
    """Embedded mode (fakeredis, jobs run in the process); mails as .eml files."""
    return make_app(REDIS_URL="", MAIL_SERVER="", MAIL_FILE_DIR=str(tmp_path / "mails"))


def page(reponse) -> str:
    return html.unescape(reponse.get_data(as_text=True))


def client_de(app, email=ADMIN, role="administrateur", departements=""):
    client = app.test_client()
    connecter(client, creer(app, email, role, departements))
    return client


def echouer(app, fonction=tache_en_panne, *args, file="default") -> str:
    """Run ``fonction`` as a job of ``file`` that fails (embedded mode); return its id."""
    with app.app_context():
        job = jobs.queue(file).enqueue(fonction, *args)
        assert job.is_failed
        return job.id


def echecs(app, file="default") -> list[str]:
    with app.app_context():
        return jobs.queue(file).failed_job_registry.get_job_ids(cleanup=False)


def journal(app, operation) -> list[tuple]:
    with app.app_context():
        return [
            (e.actor, e.object_type, e.object_id, e.state_from, e.state_to, e.details)
            for e in db.session.scalars(
                select(AuditEvent).where(AuditEvent.operation == operation).order_by(AuditEvent.id)
            )
        ]


def courriel(
    app, etat: NotificationState, destinataire="marie.dupont@exemple.fr", **valeurs
) -> int:
    """A notification row in ``etat`` (not queued); returns its id."""
    with app.app_context():
        notification = outbox.notifier(
            destinataire,
            "reponse_support",
            {"reference": "ABCD-EFGH-JKLM", "message": "Le lien secret est https://x/jeton-secret"},
        )
        notification.state = etat
        for nom, valeur in valeurs.items():
            setattr(notification, nom, valeur)
        db.session.commit()
        db.session.info.clear()
        return notification.id


def etat_courriel(app, notification_id) -> NotificationState:
    with app.app_context():
        return NotificationState(db.session.get(Notification, notification_id).state)


def mails(app):
    dossier = Path(app.config["MAIL_FILE_DIR"])
    return [
        message_from_bytes(p.read_bytes(), policy=email_policy)
        for p in sorted(dossier.glob("*.eml"))
    ]


# --- access -------------------------------------------------------------------------------------


URLS = [
    ("GET", "/backoffice/taches/"),
    ("POST", "/backoffice/taches/echecs/default/abc/relancer"),
    ("POST", "/backoffice/taches/echecs/default/abc/supprimer"),
    ("GET", "/backoffice/courriels/"),
    ("GET", "/backoffice/courriels/?etat=tous"),
    ("POST", "/backoffice/courriels/1/renvoyer"),
    ("POST", "/backoffice/courriels/action/"),
    ("GET", "/backoffice/courriels/details/?id=1"),
    ("GET", "/backoffice/courriels/edit/?id=1"),
    ("GET", "/backoffice/courriels/export/csv/"),
    ("POST", "/backoffice/courriels/delete/"),
]


@pytest.mark.parametrize("methode, url", URLS)
def test_anonymous_requests_are_sent_to_the_sign_in_page(integre, methode, url):
    reponse = integre.test_client().open(url, method=methode)
    assert reponse.status_code == 302
    assert reponse.headers["Location"].startswith("/backoffice/connexion")


@pytest.mark.parametrize("email, role, departements", [(ASP, "asp", ""), (UD, "ud", "44")])
def test_asp_and_ud_agents_get_403(integre, email, role, departements):
    job_id = echouer(integre)
    notification_id = courriel(integre, NotificationState.FAILED)
    client = client_de(integre, email, role, departements)
    for methode, url in [
        *URLS,
        ("POST", f"/backoffice/taches/echecs/default/{job_id}/relancer"),
        ("POST", f"/backoffice/taches/echecs/default/{job_id}/supprimer"),
        ("POST", f"/backoffice/courriels/{notification_id}/renvoyer"),
    ]:
        reponse = client.open(url, method=methode)
        assert reponse.status_code == 403, url
    assert echecs(integre) == [job_id]
    assert etat_courriel(integre, notification_id) is NotificationState.FAILED
    tableau = page(client.get("/backoffice/"))
    assert "Courriels en échec" not in tableau and "/backoffice/taches/" not in tableau


# --- « Tâches » in embedded mode ----------------------------------------------------------------


def test_the_page_shows_queues_and_failed_jobs_in_embedded_mode(integre, tmp_path):
    job_id = echouer(integre, tache_fragile, str(tmp_path / "marqueur"))
    texte = page(client_de(integre).get("/backoffice/taches/"))
    assert "Mode intégré (sans Redis)" in texte
    assert "Aucun worker en mode intégré" in texte
    for nom in jobs.QUEUES:
        assert f'data-file="{nom}"' in texte
    ligne = re.search(r'<tr data-file="default">(.*?)</tr>', texte, re.S).group(1)
    assert re.findall(r"<td>(\d+)</td>", ligne) == ["0", "0", "0", "1"]
    assert "File « default » : 1 en échec" in texte
    rang = re.search(rf'<tr data-tache="{job_id}">(.*?)</tr>', texte, re.S).group(1)
    assert "tests.backoffice.test_taches.tache_fragile" in rang
    assert "RuntimeError: panne simulée au premier essai" in rang
    assert "Trace complète" in rang and "Traceback" in rang
    assert f"/backoffice/taches/echecs/default/{job_id}/relancer" in rang
    assert "Relancer" in rang and "Supprimer" in rang


def test_relaunching_a_failed_job_runs_it_again_and_journals_it(integre, tmp_path):
    job_id = echouer(integre, tache_fragile, str(tmp_path / "marqueur"))
    client = client_de(integre)
    reponse = client.post(f"/backoffice/taches/echecs/default/{job_id}/relancer")
    assert reponse.status_code == 303
    assert reponse.headers["Location"].endswith("/backoffice/taches/#echecs")
    assert f"Tâche {job_id} relancée : elle s'est exécutée sans erreur." in page(
        client.get("/backoffice/taches/")
    )
    assert echecs(integre) == []
    with integre.app_context():
        job = jobs.queue("default").fetch_job(job_id)
        assert job.get_status() == "finished"
        assert job.return_value() == "réussie"
    assert journal(integre, "relancer_tache") == [
        (
            ADMIN,
            "tache",
            job_id,
            None,
            None,
            {
                "file": "default",
                "fonction": "tests.backoffice.test_taches.tache_fragile",
                "tache": job_id,
            },
        )
    ]
    again = client.post(
        f"/backoffice/taches/echecs/default/{job_id}/relancer", follow_redirects=True
    )
    assert "Cette tâche n'est plus en échec" in page(again)
    assert len(journal(integre, "relancer_tache")) == 1


def test_a_job_that_fails_again_goes_back_to_the_failed_jobs(integre):
    job_id = echouer(integre)
    client = client_de(integre)
    reponse = client.post(
        f"/backoffice/taches/echecs/default/{job_id}/relancer", follow_redirects=True
    )
    assert (
        f"Tâche {job_id} relancée, mais elle a de nouveau échoué : ValueError: toujours en panne"
        in page(reponse)
    )
    assert echecs(integre) == [job_id]


def test_deleting_a_failed_job_removes_it_and_journals_it(integre):
    job_id = echouer(integre)
    autre = echouer(integre)
    client = client_de(integre)
    reponse = client.post(
        f"/backoffice/taches/echecs/default/{job_id}/supprimer", follow_redirects=True
    )
    assert f"Tâche {job_id} supprimée." in page(reponse)
    assert echecs(integre) == [autre]
    with integre.app_context():
        assert jobs.queue("default").fetch_job(job_id) is None
    assert [(a, t, i) for a, t, i, *_ in journal(integre, "supprimer_tache")] == [
        (ADMIN, "tache", job_id)
    ]
    refus = client.post(
        f"/backoffice/taches/echecs/default/{job_id}/supprimer", follow_redirects=True
    )
    assert "Cette tâche n'est plus en échec" in page(refus)


def test_unknown_queues_and_malformed_ids_answer_404(integre):
    job_id = echouer(integre)
    client = client_de(integre)
    assert client.post(f"/backoffice/taches/echecs/inconnue/{job_id}/relancer").status_code == 404
    assert client.post("/backoffice/taches/echecs/default/a.b/supprimer").status_code == 404
    # A job of another queue is not relaunched from this one.
    refus = client.post(
        f"/backoffice/taches/echecs/notifications/{job_id}/relancer", follow_redirects=True
    )
    assert "Cette tâche n'est plus en échec" in page(refus)
    assert echecs(integre) == [job_id]


def test_a_redis_that_does_not_answer_is_reported(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0", REDIS_TIMEOUT=0.2)
    courriel(app, NotificationState.FAILED)
    texte = page(client_de(app).get("/backoffice/taches/"))
    assert "Redis ne répond pas" in texte
    assert 'data-etat="failed">1</strong>' in texte  # the outbox still reads


# --- « Tâches » against the real Redis ------------------------------------------------------------


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs the real Redis of REDIS_URL")
def test_failed_jobs_and_workers_on_the_real_redis(make_app, tmp_path):
    app = make_app(REDIS_URL=os.environ["REDIS_URL"])
    with app.app_context():
        file = jobs.queue("default")
        file.empty()
        job = file.enqueue(tache_fragile, str(tmp_path / "marqueur"))
        SimpleWorker([file], connection=file.connection, job_class=jobs.AppContextJob).work(
            burst=True
        )
        assert job.get_status(refresh=True) == "failed"
        veilleur = Worker(
            [file], connection=file.connection, name=f"veilleur-{uuid.uuid4().hex[:8]}"
        )
        veilleur.register_birth()
    try:
        client = client_de(app)
        texte = page(client.get("/backoffice/taches/"))
        adresse = urlsplit(os.environ["REDIS_URL"])
        base = adresse.path.strip("/") or "0"
        assert f"Redis {adresse.hostname}:{adresse.port or 6379} (base {base})" in texte
        assert f'data-tache="{job.id}"' in texte
        assert "RuntimeError: panne simulée au premier essai" in texte
        rang = re.search(rf'<tr data-worker="{veilleur.name}">(.*?)</tr>', texte, re.S).group(1)
        assert "default" in rang and "sans nouvelles" not in rang

        reponse = client.post(
            f"/backoffice/taches/echecs/default/{job.id}/relancer", follow_redirects=True
        )
        assert f"Tâche {job.id} remise dans la file « default » : un worker va l'exécuter." in page(
            reponse
        )
        with app.app_context():
            assert job.id not in file.failed_job_registry.get_job_ids(cleanup=False)
            assert job.get_status(refresh=True) == "queued"
            SimpleWorker([file], connection=file.connection, job_class=jobs.AppContextJob).work(
                burst=True
            )
            assert job.get_status(refresh=True) == "finished"
        assert [i for _, _, i, *_ in journal(app, "relancer_tache")] == [job.id]
    finally:
        with app.app_context():
            veilleur.register_death()
            file.failed_job_registry.remove(job.id)
            job.delete()


# --- « Courriels » ------------------------------------------------------------------------------


def test_the_outbox_lists_failed_mails_first_and_counts_each_state(integre):
    echec = courriel(
        integre,
        NotificationState.FAILED,
        "echec@exemple.fr",
        attempts=12,
        last_error="550 boîte inconnue",
    )
    attente = courriel(integre, NotificationState.PENDING, "attente@exemple.fr")
    envoye = courriel(integre, NotificationState.SENT, "envoye@exemple.fr")
    client = client_de(integre)
    texte = page(client.get("/backoffice/courriels/"))
    assert "echec@exemple.fr" in texte and "550 boîte inconnue" in texte
    assert "attente@exemple.fr" not in texte and "envoye@exemple.fr" not in texte
    assert "Réponse du support technique à une demande d'assistance" in texte  # its label
    assert "jeton-secret" not in texte  # a mail's content is never shown
    comptes = dict(
        re.findall(
            r'(En échec|En attente|Envoyés|Tous) <span class="badge badge-light">(\d+)', texte
        )
    )
    assert comptes == {"En échec": "1", "En attente": "1", "Envoyés": "1", "Tous": "3"}
    attente_page = page(client.get("/backoffice/courriels/?etat=attente"))
    assert "attente@exemple.fr" in attente_page and "echec@exemple.fr" not in attente_page
    assert f"/backoffice/courriels/{attente}/renvoyer" in attente_page
    envoyes = page(client.get("/backoffice/courriels/?etat=envoye"))
    assert "envoye@exemple.fr" in envoyes
    assert f"/backoffice/courriels/{envoye}/renvoyer" not in envoyes  # no button for a sent mail
    assert f"/backoffice/courriels/{echec}/renvoyer" in texte

    taches = page(client.get("/backoffice/taches/"))
    for etat, nombre in (("pending", 1), ("sending", 0), ("sent", 1), ("failed", 1)):
        assert f'data-etat="{etat}">{nombre}</strong>' in taches, etat


def test_the_outbox_filters_by_exact_recipient(integre):
    courriel(integre, NotificationState.FAILED, "un@exemple.fr")
    courriel(integre, NotificationState.FAILED, "deux@exemple.fr")
    client = client_de(integre)
    texte = page(
        client.get(
            "/backoffice/courriels/",
            query_string={"etat": "tous", "flt0_destinataire_equals": "deux@exemple.fr"},
        )
    )
    assert "deux@exemple.fr" in texte and "un@exemple.fr" not in texte


def test_resending_a_failed_mail_sends_it_and_journals_it(integre):
    notification_id = courriel(
        integre, NotificationState.FAILED, attempts=12, last_error="550 refus"
    )
    client = client_de(integre)
    reponse = client.post(
        f"/backoffice/courriels/{notification_id}/renvoyer",
        data={"url": "/backoffice/courriels/?etat=echec"},
    )
    assert reponse.status_code == 303
    assert reponse.headers["Location"] == "/backoffice/courriels/?etat=echec"
    assert etat_courriel(integre, notification_id) is NotificationState.SENT
    (mail,) = mails(integre)
    assert mail["To"] == "marie.dupont@exemple.fr"
    assert (
        f"Courriel n° {notification_id} à marie.dupont@exemple.fr renvoyé : il est parti."
        in page(client.get("/backoffice/courriels/"))
    )
    assert journal(integre, "renvoyer_courriel") == [
        (
            ADMIN,
            "notification",
            str(notification_id),
            "failed",
            "pending",
            {"modele": "reponse_support", "destinataire": "marie.dupont@exemple.fr"},
        )
    ]


@pytest.mark.parametrize("etat", [NotificationState.SENT, NotificationState.SENDING])
def test_a_sent_or_in_flight_mail_is_not_resent(integre, etat):
    notification_id = courriel(integre, etat)
    client = client_de(integre)
    reponse = client.post(
        f"/backoffice/courriels/{notification_id}/renvoyer", follow_redirects=True
    )
    assert "il n'est pas renvoyé (il partirait deux fois)" in page(reponse)
    assert etat_courriel(integre, notification_id) is etat
    assert mails(integre) == []
    assert journal(integre, "renvoyer_courriel") == []


def test_a_mail_that_fails_again_says_so(make_app):
    # Nothing listens on port 1: the connection is refused, and one attempt is all there is.
    app = make_app(
        REDIS_URL="",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=1,
        MAIL_SUPPRESS_SEND=False,
        MAIL_TIMEOUT=1.0,
        OUTBOX_MAX_ATTEMPTS=1,
    )
    notification_id = courriel(app, NotificationState.FAILED)
    client = client_de(app)
    texte = page(
        client.post(f"/backoffice/courriels/{notification_id}/renvoyer", follow_redirects=True)
    )
    assert etat_courriel(app, notification_id) is NotificationState.FAILED
    assert "renvoyé, mais l'envoi a de nouveau échoué : 1 tentatives" in texte
    assert len(journal(app, "renvoyer_courriel")) == 1


def test_the_bulk_action_resends_the_chosen_mails(integre):
    un = courriel(integre, NotificationState.FAILED, "un@exemple.fr")
    deux = courriel(integre, NotificationState.PENDING, "deux@exemple.fr")
    envoye = courriel(integre, NotificationState.SENT, "envoye@exemple.fr")
    client = client_de(integre)
    reponse = client.post(
        "/backoffice/courriels/action/",
        data={"action": "renvoyer", "rowid": [str(un), str(deux), str(envoye), "x"]},
        follow_redirects=True,
    )
    texte = page(reponse)
    assert "2 courriel(s) renvoyé(s)." in texte
    assert f"Le courriel n° {envoye} a été envoyé : il n'est pas renvoyé" in texte
    assert etat_courriel(integre, un) is NotificationState.SENT
    assert etat_courriel(integre, deux) is NotificationState.SENT
    assert sorted(m["To"] for m in mails(integre)) == ["deux@exemple.fr", "un@exemple.fr"]
    assert len(journal(integre, "renvoyer_courriel")) == 2


def test_the_dashboard_counts_failed_mails_for_administrators(integre):
    courriel(integre, NotificationState.FAILED)
    courriel(integre, NotificationState.FAILED)
    courriel(integre, NotificationState.SENT)
    texte = page(client_de(integre).get("/backoffice/"))
    assert re.search(r"Courriels en échec</h2>\s*<p[^>]*tuile-valeur\">2</p>", texte)
    assert 'href="/backoffice/courriels/"' in texte and 'href="/backoffice/taches/"' in texte


# --- CSRF ----------------------------------------------------------------------------------------


def _jeton(texte: str) -> str:
    trouve = JETON.search(texte)
    assert trouve, "no csrf_token in the page"
    return trouve.group(1) or trouve.group(2)


def test_every_post_needs_the_csrf_token(make_app, tmp_path):
    app = make_app(
        WTF_CSRF_ENABLED=True, REDIS_URL="", MAIL_SERVER="", MAIL_FILE_DIR=str(tmp_path / "m")
    )
    job_id = echouer(app)
    notification_id = courriel(app, NotificationState.FAILED)
    agent = creer(app, ADMIN, "administrateur")
    client = app.test_client()
    texte = page(client.get("/backoffice/connexion"))
    client.post(
        "/backoffice/connexion",
        data={"email": agent.email, "mot_de_passe": PHRASE, "csrf_token": _jeton(texte)},
    )
    texte = page(client.get("/backoffice/connexion/code"))
    client.post(
        "/backoffice/connexion/code", data={"code": agent.code(), "csrf_token": _jeton(texte)}
    )
    assert "Tâches" in page(client.get("/backoffice/"))

    for url, donnees in [
        (f"/backoffice/taches/echecs/default/{job_id}/relancer", {}),
        (f"/backoffice/taches/echecs/default/{job_id}/supprimer", {}),
        (f"/backoffice/courriels/{notification_id}/renvoyer", {}),
        ("/backoffice/courriels/action/", {"action": "renvoyer", "rowid": str(notification_id)}),
    ]:
        reponse = client.post(url, data=donnees)
        assert reponse.status_code == 400, url
    assert echecs(app) == [job_id]
    assert etat_courriel(app, notification_id) is NotificationState.FAILED

    jeton = _jeton(page(client.get("/backoffice/taches/")))
    reponse = client.post(
        f"/backoffice/taches/echecs/default/{job_id}/supprimer", data={"csrf_token": jeton}
    )
    assert reponse.status_code == 303
    assert echecs(app) == []
    jeton = _jeton(page(client.get("/backoffice/courriels/")))
    reponse = client.post(
        f"/backoffice/courriels/{notification_id}/renvoyer", data={"csrf_token": jeton}
    )
    assert reponse.status_code == 303
    assert etat_courriel(app, notification_id) is NotificationState.SENT
