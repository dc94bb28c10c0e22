"""Job monitoring (issue #6 item 6): « Tâches » (RQ queues, workers, failed jobs) and
« Courriels » (the outbox), for administrators only.

**Roles.** Administrators only; ASP and UD agents get 403: these pages show technical
traces (which may quote personal data), every address the service writes to, and act on the
service's machinery. An agent whose requester did not get a mail asks an administrator, who
resends it from « Courriels ».

**Tâches** (``/backoffice/taches/``): per queue of ``jobs.QUEUES`` the jobs waiting, running,
scheduled and failed; the workers (name, state, current job, last heartbeat); the failed jobs
(the ``FAILED_PAR_FILE`` most recent per queue: id, function, last line of the error with the
whole trace on demand, enqueued and ended at) with **Relancer** (back in its queue; in
embedded mode it runs at once, in the request) and **Supprimer**. The page works against the
real Redis and in embedded mode (fakeredis, no worker: the web process runs the jobs); Redis
down is said on the page, which still shows the outbox.

**Courriels** (``/backoffice/courriels/``): the ``Notification`` rows by state (tabs « En
échec » by default, « En attente », « Envoyés », « Tous »; counts per state on the Tâches
page and in the tabs), newest first, filtered by recipient (exact address: its index answers)
or mail; **Renvoyer** (one, or several with the bulk action) calls ``mailer.outbox.resend``
for a failed or pending mail (never a sent or in-flight one: it would go twice). The context
of a mail is never shown (it may hold a password link).

Each action (relancer, supprimer, renvoyer) writes a journal row (``relancer_tache``,
``supprimer_tache``: object ``tache``; ``renvoyer_courriel``: object ``notification``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from flask import abort, flash, redirect, request
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_admin.helpers import get_redirect_target
from flask_admin.model.template import TemplateLinkRowAction
from flask_babel import format_datetime
from markupsafe import Markup
from redis.exceptions import RedisError
from rq import Worker
from rq.exceptions import InvalidJobOperation
from sqlalchemy import func, select

import jobs
from backoffice.agents import acteur
from backoffice.securite import VueAgent, VueModeleAgent
from backoffice.vues.tableau_de_bord import Tuile
from database import begin_write
from extensions import db
from mailer import outbox
from mailer.catalogue import TEMPLATES
from models.agents import Agent, RoleAgent
from models.notification import Notification, NotificationState
from models.types import utcnow
from workflows.journal import journaliser

ROLES = frozenset({RoleAgent.ADMINISTRATEUR})
CATEGORIE = "Administration"
FAILED_PAR_FILE = 100
JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
# Past this silence a worker is probably gone (RQ's default worker_ttl is 420 s).
SILENCE_WORKER = 420
EPOQUE = datetime(1970, 1, 1, tzinfo=UTC)

ETATS_WORKER = {
    "busy": "Occupé",
    "idle": "En attente de tâches",
    "started": "Démarré",
    "suspended": "Suspendu",
}


class TacheIntrouvable(Exception):
    """The job is no longer among the failed ones (relaunched, deleted or expired)."""


# --- reading the queues -----------------------------------------------------------------------


@dataclass
class EtatFile:
    nom: str
    en_attente: int
    en_cours: int
    planifiees: int
    en_echec: int


@dataclass
class EtatWorker:
    nom: str
    etat: str
    tache: str | None
    files: list[str]
    dernier_signe: datetime | None
    silencieux: bool
    hote: str
    reussies: int
    echouees: int


@dataclass
class TacheEnEchec:
    id: str
    file: str
    fonction: str
    appel: str
    erreur: str
    trace: str
    mise_en_file: datetime | None
    fin: datetime | None


@dataclass
class Supervision:
    redis: str
    integre: bool
    files: list[EtatFile]
    workers: list[EtatWorker]
    echecs: dict[str, list[TacheEnEchec]]
    erreur: str | None = None


def decrire_connexion() -> str:
    if jobs.embedded():
        return "Mode intégré (sans Redis) : les tâches s'exécutent dans le processus web."
    options = jobs.connection().connection_pool.connection_kwargs
    if options.get("path"):
        return f"Redis {options['path']} (base {options.get('db', 0)})"
    return f"Redis {options.get('host')}:{options.get('port')} (base {options.get('db', 0)})"


def _fonction(job) -> str:
    try:
        return job.func_name or "?"
    except Exception:  # a job whose data cannot be read (a function renamed since...)
        return "illisible"


def _appel(job) -> str:
    try:
        return job.get_call_string() or ""
    except Exception:
        return ""


def _trace(job) -> str:
    try:
        resultat = job.latest_result()
    except Exception:
        resultat = None
    trace = getattr(resultat, "exc_string", None) or getattr(job, "_exc_info", None) or ""
    return str(trace)


def derniere_ligne(trace: str) -> str:
    lignes = [ligne.strip() for ligne in trace.strip().splitlines() if ligne.strip()]
    ligne = lignes[-1] if lignes else "Erreur non enregistrée"
    return ligne if len(ligne) <= 300 else ligne[:299] + "…"


def taches_en_echec(file, limite: int = FAILED_PAR_FILE) -> list[TacheEnEchec]:
    registre = file.failed_job_registry
    ids = registre.get_job_ids(0, limite - 1, desc=True, cleanup=False)
    trouvees = file.job_class.fetch_many(ids, connection=file.connection)
    resultat = []
    for job_id, job in zip(ids, trouvees, strict=True):
        if job is None:
            resultat.append(
                TacheEnEchec(
                    job_id, file.name, "?", "", "Données de la tâche expirées", "", None, None
                )
            )
            continue
        trace = _trace(job)
        resultat.append(
            TacheEnEchec(
                job.id,
                file.name,
                _fonction(job),
                _appel(job),
                derniere_ligne(trace),
                trace,
                job.enqueued_at,
                job.ended_at,
            )
        )
    resultat.sort(key=lambda t: _utc(t.fin) or EPOQUE, reverse=True)
    return resultat


def _utc(valeur: datetime | None) -> datetime | None:
    if valeur is None:
        return None
    return valeur if valeur.tzinfo else valeur.replace(tzinfo=UTC)


def etat_worker(worker) -> EtatWorker:
    try:
        courante = worker.get_current_job()
    except Exception:
        courante = None
    tache = None
    if courante is not None:
        tache = f"{_fonction(courante)} ({courante.id})"
    dernier = _utc(worker.last_heartbeat)
    silencieux = dernier is None or (utcnow() - dernier).total_seconds() > SILENCE_WORKER
    etat = worker.get_state()
    return EtatWorker(
        nom=worker.name,
        etat=ETATS_WORKER.get(etat, etat),
        tache=tache,
        files=worker.queue_names(),
        dernier_signe=dernier,
        silencieux=silencieux,
        hote=f"{worker.hostname or '?'} (pid {worker.pid or '?'})",
        reussies=worker.successful_job_count,
        echouees=worker.failed_job_count,
    )


def superviser() -> Supervision:
    """The state of the queues and workers; a Redis that does not answer is reported."""
    supervision = Supervision(decrire_connexion(), jobs.embedded(), [], [], {})
    try:
        connexion = jobs.connection()
        for nom in jobs.QUEUES:
            file = jobs.queue(nom)
            supervision.files.append(
                EtatFile(
                    nom,
                    file.count,
                    file.started_job_registry.get_job_count(cleanup=False),
                    file.scheduled_job_registry.get_job_count(cleanup=False),
                    file.failed_job_registry.get_job_count(cleanup=False),
                )
            )
            supervision.echecs[nom] = taches_en_echec(file)
        workers = Worker.all(connection=connexion, job_class=jobs.AppContextJob)
        supervision.workers = sorted((etat_worker(w) for w in workers), key=lambda w: w.nom)
    except RedisError as exc:
        supervision.erreur = f"Redis ne répond pas ({type(exc).__name__} : {exc})."
    return supervision


def comptes_courriels() -> dict[str, int]:
    """Notifications per state (one grouped count on the (state, next_attempt_at) index)."""
    lignes = db.session.execute(
        select(Notification.state, func.count()).group_by(Notification.state)
    ).all()
    comptes = {etat.value: 0 for etat in NotificationState}
    for etat, nombre in lignes:
        comptes[NotificationState(etat).value] = nombre
    return comptes


# --- acting on failed jobs --------------------------------------------------------------------


def _file(nom: str, job_id: str):
    if nom not in jobs.QUEUES or not JOB_ID.fullmatch(job_id):
        abort(404)
    return jobs.queue(nom)


def _journaliser_tache(agent: Agent, operation: str, file, job_id: str, fonction: str) -> None:
    journaliser(
        acteur(agent),
        operation,
        "tache",
        job_id[:64],
        details={"file": file.name, "fonction": fonction, "tache": job_id},
    )
    db.session.commit()


def relancer_tache(file, job_id: str, agent: Agent):
    """Put a failed job back in its queue (embedded mode: run it now); return the job.

    :raise TacheIntrouvable: not (or no longer) among the failed jobs of ``file``.
    """
    registre = file.failed_job_registry
    job = file.fetch_job(job_id)
    if job is None or job_id not in registre:
        raise TacheIntrouvable()
    fonction = _fonction(job)
    if jobs.embedded():
        # RQ's requeue would push it on a list no worker reads: take it out of the registry,
        # then enqueue it on the embedded queue, which runs it at once.
        if not file.connection.zrem(registre.key, job.id):
            raise TacheIntrouvable()
        _journaliser_tache(agent, "relancer_tache", file, job.id, fonction)
        job.started_at = job.ended_at = None
        job = file.enqueue_job(job)
        if job.get_status(refresh=True) == "failed":
            db.session.rollback()  # whatever the job left half-done in the session
        return job
    try:
        job = registre.requeue(job)
    except InvalidJobOperation:
        raise TacheIntrouvable() from None
    _journaliser_tache(agent, "relancer_tache", file, job.id, fonction)
    return job


def supprimer_tache(file, job_id: str, agent: Agent) -> None:
    """Delete a failed job for good. :raise TacheIntrouvable: not among the failed jobs."""
    registre = file.failed_job_registry
    if job_id not in registre:
        raise TacheIntrouvable()
    job = file.fetch_job(job_id)
    fonction = _fonction(job) if job is not None else "?"
    if not registre.remove(job if job is not None else job_id, delete_job=job is not None):
        raise TacheIntrouvable()
    _journaliser_tache(agent, "supprimer_tache", file, job_id, fonction)


# --- « Tâches » -------------------------------------------------------------------------------


def _date(valeur: datetime | None) -> str:
    return format_datetime(_utc(valeur), "dd/MM/yyyy HH:mm:ss") if valeur else "—"


class VueTaches(VueAgent):
    roles_autorises = ROLES

    @expose("/")
    def index(self):
        return self.render(
            "backoffice/taches/index.html",
            supervision=superviser(),
            comptes=comptes_courriels(),
            etats_courriels=NotificationState,
            date=_date,
        )

    def _retour(self):
        return redirect(self.get_url(".index") + "#echecs", 303)

    @expose("/echecs/<file>/<job_id>/relancer", methods=("POST",))
    def relancer(self, file: str, job_id: str):
        file_rq = _file(file, job_id)
        try:
            job = relancer_tache(file_rq, job_id, self.agent)
        except TacheIntrouvable:
            flash(
                "Cette tâche n'est plus en échec : elle a déjà été relancée ou supprimée.",
                "warning",
            )
        except RedisError as exc:
            flash(f"Redis ne répond pas : la tâche n'a pas été relancée ({exc}).", "danger")
        else:
            if not jobs.embedded():
                flash(
                    f"Tâche {job_id} remise dans la file « {file} » : un worker va l'exécuter.",
                    "success",
                )
            elif job.get_status(refresh=True) == "failed":
                flash(
                    f"Tâche {job_id} relancée, mais elle a de nouveau échoué : "
                    f"{derniere_ligne(_trace(job))}",
                    "warning",
                )
            else:
                flash(f"Tâche {job_id} relancée : elle s'est exécutée sans erreur.", "success")
        return self._retour()

    @expose("/echecs/<file>/<job_id>/supprimer", methods=("POST",))
    def supprimer(self, file: str, job_id: str):
        file_rq = _file(file, job_id)
        try:
            supprimer_tache(file_rq, job_id, self.agent)
        except TacheIntrouvable:
            flash(
                "Cette tâche n'est plus en échec : elle a déjà été relancée ou supprimée.",
                "warning",
            )
        except RedisError as exc:
            flash(f"Redis ne répond pas : la tâche n'a pas été supprimée ({exc}).", "danger")
        else:
            flash(f"Tâche {job_id} supprimée.", "success")
        return self._retour()


# --- « Courriels » ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Onglet:
    code: str
    titre: str
    etats: tuple[NotificationState, ...]


ONGLETS = (
    Onglet("echec", "En échec", (NotificationState.FAILED,)),
    Onglet("attente", "En attente", (NotificationState.PENDING, NotificationState.SENDING)),
    Onglet("envoye", "Envoyés", (NotificationState.SENT,)),
    Onglet("tous", "Tous", ()),
)
PAR_CODE = {onglet.code: onglet for onglet in ONGLETS}
RENVOYABLES = (NotificationState.FAILED, NotificationState.PENDING)


class RenvoiImpossible(Exception):
    """The mail is being sent or was sent: resending it would send it twice."""


def renvoyer_courriel(notification_id: int, agent: Agent) -> Notification:
    """Resend a failed or pending mail (``outbox.resend``), journalled; return it afterwards
    (embedded mode: already sent, or failed again).

    :raise RenvoiImpossible: unknown, being sent or already sent.
    """
    begin_write()
    notification = db.session.get(
        Notification, notification_id, with_for_update=True, populate_existing=True
    )
    if notification is None:
        db.session.rollback()
        raise RenvoiImpossible(f"Le courriel n° {notification_id} n'existe pas.")
    etat = NotificationState(notification.state)
    if etat not in RENVOYABLES:
        db.session.rollback()
        raison = "est en cours d'envoi" if etat is NotificationState.SENDING else "a été envoyé"
        raise RenvoiImpossible(
            f"Le courriel n° {notification_id} {raison} : il n'est pas renvoyé (il partirait "
            "deux fois)."
        )
    journaliser(
        acteur(agent),
        "renvoyer_courriel",
        "notification",
        notification.id,
        state_from=etat.value,
        state_to=NotificationState.PENDING.value,
        details={"modele": notification.template, "destinataire": notification.recipient},
    )
    outbox.resend(notification.id)  # commits the journal row with the reset, then queues
    db.session.refresh(notification)
    return notification


def message_renvoi(notification: Notification) -> tuple[str, str]:
    etat = NotificationState(notification.state)
    qui = f"Courriel n° {notification.id} à {notification.recipient}"
    if etat is NotificationState.SENT:
        return f"{qui} renvoyé : il est parti.", "success"
    if etat is NotificationState.FAILED:
        return f"{qui} renvoyé, mais l'envoi a de nouveau échoué : {notification.last_error}", (
            "warning"
        )
    return f"{qui} remis dans la file d'envoi.", "success"


def _date_courriel(view, context, model, name) -> str:
    valeur = getattr(model, name)
    return format_datetime(valeur, "dd/MM/yyyy HH:mm") if valeur else "—"


def _modele(view, context, model, name) -> Markup:
    modele = TEMPLATES.get(model.template)
    return Markup('<span title="{}">{}</span>').format(
        model.template, modele.description if modele else model.template
    )


def _etat_courriel(view, context, model, name) -> Markup:
    etat = NotificationState(model.state)
    classe = {
        "pending": "badge-warning",
        "sending": "badge-info",
        "sent": "badge-success",
        "failed": "badge-danger",
    }[etat.value]
    return Markup('<span class="badge {}">{}</span>').format(classe, etat.label)


def _erreur(view, context, model, name) -> str:
    erreur = model.last_error or ""
    return erreur if len(erreur) <= 200 else erreur[:199] + "…"


FILTRE_DESTINATAIRE = FilterEqual(Notification.recipient, "Destinataire")
FILTRE_MODELE = FilterEqual(
    Notification.template,
    "Courriel",
    options=lambda: sorted(
        ((nom, t.description) for nom, t in TEMPLATES.items()), key=lambda p: p[1]
    ),
)


class VueCourriels(VueModeleAgent):
    roles_autorises = ROLES

    list_template = "backoffice/taches/courriels.html"
    page_size = 50
    simple_list_pager = True  # no count(*) of a table that keeps every mail ever sent
    named_filter_urls = True

    column_list = (
        "id",
        "created_at",
        "template",
        "recipient",
        "state",
        "attempts",
        "last_error",
        "next_attempt_at",
        "sent_at",
    )
    column_labels: ClassVar[dict[str, str]] = {
        "id": "N°",
        "created_at": "Créé le",
        "template": "Courriel",
        "recipient": "Destinataire",
        "state": "État",
        "attempts": "Tentatives",
        "last_error": "Dernière erreur",
        "next_attempt_at": "Prochain essai",
        "sent_at": "Envoyé le",
    }
    column_formatters: ClassVar[dict] = {
        "created_at": _date_courriel,
        "template": _modele,
        "state": _etat_courriel,
        "last_error": _erreur,
        "next_attempt_at": _date_courriel,
        "sent_at": _date_courriel,
    }
    column_sortable_list = ("id",)
    column_default_sort = ("id", True)
    column_filters = (FILTRE_DESTINATAIRE, FILTRE_MODELE)
    column_extra_row_actions: ClassVar[list] = [
        TemplateLinkRowAction("actions_courriels.renvoyer", "Renvoyer ce courriel")
    ]

    def onglet_actif(self) -> Onglet:
        return PAR_CODE.get(request.args.get("etat", ""), ONGLETS[0])

    def _dans_onglet(self, query):
        etats = self.onglet_actif().etats
        return query.filter(Notification.state.in_(etats)) if etats else query

    def get_query(self):
        return self._dans_onglet(super().get_query())

    def get_count_query(self):
        return self._dans_onglet(super().get_count_query())

    def render(self, template, **kwargs):
        if template == self.list_template:
            comptes = comptes_courriels()
            par_onglet = {
                o.code: sum(comptes[e.value] for e in o.etats) if o.etats else sum(comptes.values())
                for o in ONGLETS
            }
            kwargs.update(
                onglets=ONGLETS,
                onglet=self.onglet_actif(),
                comptes=par_onglet,
                renvoyables={e.value for e in RENVOYABLES},
            )
        return super().render(template, **kwargs)

    def get_empty_list_message(self) -> str:
        if self.onglet_actif().code == "echec":
            return "Aucun courriel en échec."
        return "Aucun courriel dans cet onglet."

    def _retour(self) -> str:
        return get_redirect_target() or self.get_url(".index_view")

    @expose("/<int:id>/renvoyer", methods=("POST",))
    def renvoyer(self, id: int):
        try:
            notification = renvoyer_courriel(id, self.agent)
        except RenvoiImpossible as refus:
            flash(str(refus), "warning")
        else:
            flash(*message_renvoi(notification))
        return redirect(self._retour(), 303)

    @action("renvoyer", "Renvoyer", "Renvoyer les courriels choisis ?")
    def action_renvoyer(self, ids: list[str]):
        renvoyes, refus = 0, []
        for valeur in ids:
            try:
                renvoyer_courriel(int(valeur), self.agent)
            except ValueError:
                continue
            except RenvoiImpossible as exc:
                refus.append(str(exc))
            else:
                renvoyes += 1
        if renvoyes:
            flash(f"{renvoyes} courriel(s) renvoyé(s).", "success")
        for message in refus:
            flash(message, "warning")


def compter_courriels_en_echec(agent: Agent) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.state == NotificationState.FAILED)
    )


def init_admin(admin) -> None:
    admin.add_view(VueTaches(name="Tâches", endpoint="taches", category=CATEGORIE))
    admin.add_view(
        VueCourriels(Notification, db, name="Courriels", endpoint="courriels", category=CATEGORIE)
    )
    admin.index_view.ajouter_tuile(
        Tuile(
            "Courriels en échec",
            compter_courriels_en_echec,
            endpoint="courriels.index_view",
            roles=ROLES,
            ordre=910,
            description="Courriels abandonnés après leurs tentatives : à renvoyer.",
        )
    )
