"""« Demandes d'assistance »: the ASP's queue of support requests (issue #6 item 4).

For the ASP agents and the administrators (the UD does not handle the support).

- The list: one tab per state (« Ouvertes » by default, « Répondues », « Closes », « Toutes »),
  oldest first, searched by reference, courriel or SIRET (an exact reference, SIRET or address
  uses its index; anything else is a substring search on the three).
- The detail: the submitted data with the labels of the form definition (``demande-support``;
  a field the current version no longer has is shown under its technical name), the
  attachment, and the history from the journal with each answer sent and its mail's state.
- Actions, POST with the application's CSRF token: **Répondre** (the message is mailed by
  ``workflows.assistance.repondre_assistance``, template ``reponse_support``), **Clore**,
  **Rouvrir**. The workflow writes the journal row and the mail; a refusal (empty answer,
  request already answered by someone else) is shown with what was typed kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from flask import abort, current_app, flash, redirect, request, send_file
from flask_admin import expose
from flask_admin.helpers import get_redirect_target
from flask_babel import format_datetime
from markupsafe import Markup
from sqlalchemy import func, or_, select

from backoffice.agents import acteur
from backoffice.securite import VueModeleAgent
from backoffice.vues.tableau_de_bord import Tuile
from extensions import db
from forms import formats, uploads
from models.agents import Agent, RoleAgent
from models.assistance import AssistanceState, DemandeAssistance
from models.audit import AuditEvent
from models.notification import Notification
from workflows import assistance as operations

ROLES = frozenset({RoleAgent.ASP, RoleAgent.ADMINISTRATEUR})
FORM_ID = "demande-support"
MAX_REPONSE_CHARS = operations.MAX_REPONSE_CHARS
# models.submission.new_reference: three groups of four among 32 unambiguous characters.
REFERENCE = re.compile(r"[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}")


@dataclass(frozen=True)
class Onglet:
    code: str
    titre: str
    etat: AssistanceState | None


ONGLETS = (
    Onglet("ouverte", "Ouvertes", AssistanceState.OUVERTE),
    Onglet("repondue", "Répondues", AssistanceState.REPONDUE),
    Onglet("close", "Closes", AssistanceState.CLOSE),
    Onglet("toutes", "Toutes", None),
)
PAR_CODE = {onglet.code: onglet for onglet in ONGLETS}

OPERATIONS = {
    "demander_assistance": "Demande déposée",
    "repondre_assistance": "Réponse envoyée",
    "clore_assistance": "Demande close",
    "rouvrir_assistance": "Demande rouverte",
}


# --- the submitted document, with the labels of its form ---------------------------------------


@dataclass
class Champ:
    """One answer of the document, labelled; a section or a repeated group has ``enfants``."""

    libelle: str
    valeur: str | None = None
    enfants: list[Champ] = field(default_factory=list)
    fichier: Any = None  # models.upload.Upload of an attachment
    jeton: str | None = None  # the attachment's token (its download URL)
    multiligne: bool = False
    technique: bool = False  # a key the current version of the form does not define


def _valeur_choix(valeur: Any) -> str:
    if valeur is True:
        return "true"
    if valeur is False:
        return "false"
    return str(valeur)


def _texte(spec, valeur: Any) -> str:
    if valeur is None or valeur == "":
        return "—"
    if spec is not None and spec.choices:
        libelles = {_valeur_choix(v): libelle for v, libelle in spec.choices}
        if isinstance(valeur, list):
            return ", ".join(libelles.get(_valeur_choix(v), str(v)) for v in valeur) or "—"
        return libelles.get(_valeur_choix(valeur), str(valeur))
    if isinstance(valeur, bool):
        return "Oui" if valeur else "Non"
    if isinstance(valeur, list):
        return ", ".join(str(v) for v in valeur) or "—"
    if spec is not None and spec.format and isinstance(valeur, str):
        return formats.display(spec.format, valeur)
    return str(valeur)


def champs_du_document(specs, data: dict) -> list[Champ]:
    """The answers of ``data`` in the order of the form, labelled by its ``specs`` (the
    definition's tree); keys the definition does not know come last under their own name."""
    champs: list[Champ] = []
    connus = set()
    for spec in specs:
        connus.add(spec.name)
        if spec.name not in data or spec.kind == "password":
            continue
        valeur = data[spec.name]
        if spec.kind == "section" and isinstance(valeur, dict):
            champs.append(Champ(spec.label, enfants=champs_du_document(spec.children, valeur)))
        elif spec.kind == "repeat" and isinstance(valeur, list):
            entrees = [
                Champ(
                    f"{spec.label} n° {rang}",
                    enfants=champs_du_document(
                        spec.children, element if isinstance(element, dict) else {}
                    ),
                )
                for rang, element in enumerate(valeur, 1)
            ]
            champs.append(Champ(spec.label, enfants=entrees))
        elif spec.kind == "file":
            fichier = uploads.find(valeur) if isinstance(valeur, str) else None
            champs.append(
                Champ(
                    spec.label,
                    valeur=None if fichier else "Fichier introuvable",
                    fichier=fichier,
                    jeton=fichier.token if fichier else None,
                )
            )
        else:
            champs.append(
                Champ(spec.label, valeur=_texte(spec, valeur), multiligne=spec.kind == "textarea")
            )
    for nom, valeur in data.items():
        if nom in connus:
            continue
        if isinstance(valeur, dict):
            champs.append(Champ(nom, enfants=champs_du_document([], valeur), technique=True))
        else:
            champs.append(Champ(nom, valeur=_texte(None, valeur), technique=True))
    return champs


def jetons_fichiers(specs, data) -> set[str]:
    """The attachment tokens of a document (the only files its detail page may serve)."""
    jetons: set[str] = set()
    for spec in specs:
        valeur = data.get(spec.name) if isinstance(data, dict) else None
        if spec.kind == "file" and isinstance(valeur, str):
            jetons.add(valeur)
        elif spec.kind == "section":
            jetons |= jetons_fichiers(spec.children, valeur or {})
        elif spec.kind == "repeat" and isinstance(valeur, list):
            for element in valeur:
                jetons |= jetons_fichiers(spec.children, element)
    return jetons


def definition_formulaire(form_id: str):
    return current_app.extensions["forms"].get(form_id)


def _specs(demande: DemandeAssistance) -> list:
    definition = definition_formulaire(demande.form_id)
    return definition.tree if definition is not None else []


def libelle_sujet(valeur: str | None) -> str:
    if not valeur:
        return "—"
    definition = definition_formulaire(FORM_ID)
    if definition is not None:
        for spec in definition.tree:
            if spec.name == "sujet":
                return dict(spec.choices).get(valeur, valeur)
    return valeur


# --- the history ----------------------------------------------------------------------------------


@dataclass
class Evenement:
    event: AuditEvent
    libelle: str
    message: str | None
    courriel: Notification | None


def historique(demande: DemandeAssistance) -> list[Evenement]:
    """The journal rows of the request, oldest first, with the mail each one queued."""
    events = list(
        db.session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.object_type == operations.OBJECT_TYPE,
                AuditEvent.object_id == str(demande.id),
            )
            .order_by(AuditEvent.occurred_at, AuditEvent.id)
        )
    )
    # The keys the workflow gives its mails (exact keys: the unique index answers).
    cles = {f"assistance-recue-{demande.id}": None}
    for event in events:
        if event.operation == "repondre_assistance":
            cles[f"assistance-reponse-{demande.id}-{event.id}"] = event.id
    courriels = {
        notification.idempotency_key: notification
        for notification in db.session.scalars(
            select(Notification).where(Notification.idempotency_key.in_(list(cles)))
        )
    }
    resultat = []
    for event in events:
        if event.operation == "demander_assistance":
            courriel = courriels.get(f"assistance-recue-{demande.id}")
        elif event.operation == "repondre_assistance":
            courriel = courriels.get(f"assistance-reponse-{demande.id}-{event.id}")
        else:
            courriel = None
        details = event.details or {}
        resultat.append(
            Evenement(
                event,
                OPERATIONS.get(event.operation, event.operation),
                details.get("message") if isinstance(details.get("message"), str) else None,
                courriel,
            )
        )
    return resultat


# --- the list ---------------------------------------------------------------------------------


def _date_longue(valeur) -> str:
    return format_datetime(valeur, "dd/MM/yyyy 'à' HH:mm") if valeur else "—"


def _date(view, context, model, name) -> str:
    valeur = getattr(model, name)
    return format_datetime(valeur, "dd/MM/yyyy HH:mm") if valeur else "—"


def _etat(view, context, model, name) -> Markup:
    etat = AssistanceState(model.state)
    classe = {"ouverte": "badge-warning", "repondue": "badge-info", "close": "badge-secondary"}
    return Markup('<span class="badge {}">{}</span>').format(classe[etat.value], etat.label)


def _sujet(view, context, model, name) -> str:
    return libelle_sujet(model.sujet)


def _extrait(view, context, model, name) -> str:
    message = (model.data or {}).get("message")
    if not isinstance(message, str):
        return "—"
    message = " ".join(message.split())
    return message if len(message) <= 90 else message[:89] + "…"


def _reference(view, context, model, name) -> Markup:
    url = view.get_url(".details_view", id=model.id, url=request.full_path)
    return Markup('<a href="{}">{}</a>').format(url, model.reference)


def condition_recherche(terme: str):
    """What the search box means: an exact reference, SIRET or address when it looks like one
    (their indexes answer), else a substring of any of the three."""
    terme = terme.strip()
    chiffres = "".join(terme.split())
    if REFERENCE.fullmatch(terme.upper()):
        return DemandeAssistance.reference == terme.upper()
    if chiffres.isdigit() and len(chiffres) == 14:
        return DemandeAssistance.siret == chiffres
    if "@" in terme and " " not in terme:
        return DemandeAssistance.courriel.in_({terme, terme.lower()})
    motif = "%" + terme.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(
        DemandeAssistance.reference.ilike(motif, escape="\\"),
        DemandeAssistance.courriel.ilike(motif, escape="\\"),
        DemandeAssistance.siret.ilike(motif, escape="\\"),
    )


class VueAssistance(VueModeleAgent):
    roles_autorises = ROLES

    list_template = "backoffice/assistance/liste.html"
    can_view_details = True
    page_size = 50

    column_list = ("reference", "created_at", "sujet", "message", "courriel", "siret", "state")
    column_labels: ClassVar[dict[str, str]] = {
        "reference": "Référence",
        "created_at": "Déposée le",
        "sujet": "Sujet",
        "message": "Message",
        "courriel": "Courriel",
        "siret": "SIRET",
        "state": "État",
    }
    column_formatters: ClassVar[dict] = {
        "reference": _reference,
        "created_at": _date,
        "sujet": _sujet,
        "message": _extrait,
        "state": _etat,
    }
    column_sortable_list = ("created_at",)
    # Oldest first: the queue is worked from its head. ``id`` breaks ties.
    column_default_sort: ClassVar[list] = [("created_at", False), ("id", False)]
    column_searchable_list = ("reference", "courriel", "siret")

    # --- tabs -------------------------------------------------------------------------------

    def onglet_actif(self) -> Onglet:
        return PAR_CODE.get(request.args.get("etat", ""), ONGLETS[0])

    def _dans_onglet(self, query):
        etat = self.onglet_actif().etat
        return query if etat is None else query.filter(DemandeAssistance.state == etat)

    def get_query(self):
        return self._dans_onglet(super().get_query())

    def get_count_query(self):
        return self._dans_onglet(super().get_count_query())

    def get_one(self, id: Any):
        """The request of id ``id`` whatever the tab (a detail page is reached from any)."""
        try:
            cle = int(id)
        except (TypeError, ValueError):
            return None
        query = self.filtrer_portee(db.session.query(DemandeAssistance), self.agent)
        return query.filter(DemandeAssistance.id == cle).one_or_none()

    def comptes_onglets(self) -> dict[str, int]:
        """Requests per state (one grouped count on the (state, created_at) index)."""
        lignes = db.session.execute(
            select(DemandeAssistance.state, func.count()).group_by(DemandeAssistance.state)
        ).all()
        comptes = {AssistanceState(etat).value: nombre for etat, nombre in lignes}
        comptes["toutes"] = sum(comptes.values())
        return comptes

    def search_placeholder(self) -> str:
        return "Référence, courriel ou SIRET"

    def _apply_search(self, query, count_query, joins, count_joins, search):
        if not search.strip():
            return query, count_query, joins, count_joins
        condition = condition_recherche(search)
        query = query.filter(condition)
        if count_query is not None:
            count_query = count_query.filter(condition)
        return query, count_query, joins, count_joins

    def render(self, template, **kwargs):
        if template == self.list_template:
            kwargs.update(
                onglets=ONGLETS, onglet=self.onglet_actif(), comptes=self.comptes_onglets()
            )
        return super().render(template, **kwargs)

    def get_empty_list_message(self) -> str:
        onglet = self.onglet_actif()
        if request.args.get("search"):
            return "Aucune demande ne correspond à cette recherche."
        if onglet.etat is AssistanceState.OUVERTE:
            return "Aucune demande ouverte : la file est vide."
        return "Aucune demande dans cet onglet."

    # --- detail and actions -------------------------------------------------------------------

    def _demande_ou_404(self, id: Any) -> DemandeAssistance:
        demande = self.get_one(id)
        if demande is None:
            abort(404)
        return demande

    def _retour(self) -> str:
        return get_redirect_target() or self.get_url(".index_view")

    def _page(self, demande: DemandeAssistance, *, reponse: str = "", erreur: str | None = None):
        definition = definition_formulaire(demande.form_id)
        return self.render(
            "backoffice/assistance/details.html",
            demande=demande,
            etat=AssistanceState(demande.state),
            sujet=libelle_sujet(demande.sujet),
            definition=definition,
            champs=champs_du_document(_specs(demande), demande.data or {}),
            historique=historique(demande),
            reponse=reponse,
            erreur=erreur,
            max_reponse=MAX_REPONSE_CHARS,
            return_url=self._retour(),
            journal_url=_url_journal(demande),
            etats={etat.value: etat.label for etat in AssistanceState},
            date=_date_longue,
            taille=uploads.human_size,
        )

    @expose("/details/")
    def details_view(self):
        return self._page(self._demande_ou_404(request.args.get("id")))

    def _apres_action(self, demande: DemandeAssistance):
        return redirect(self.get_url(".details_view", id=demande.id, url=self._retour()), 303)

    @expose("/<int:id>/repondre", methods=("POST",))
    def repondre(self, id: int):
        demande = self._demande_ou_404(id)
        message = request.form.get("message", "")
        try:
            operations.repondre_assistance(demande.id, acteur(self.agent), message)
        except operations.TransitionInterdite as refus:
            db.session.rollback()
            demande = self._demande_ou_404(id)
            return self._page(demande, reponse=message, erreur=str(refus)), 409
        except operations.AssistanceError as refus:
            db.session.rollback()
            return self._page(demande, reponse=message, erreur=str(refus)), 422
        flash(
            f"Réponse envoyée à {demande.courriel} (demande {demande.reference}) : "
            "la demande est répondue.",
            "success",
        )
        return self._apres_action(demande)

    @expose("/<int:id>/clore", methods=("POST",))
    def clore(self, id: int):
        demande = self._demande_ou_404(id)
        try:
            operations.clore_assistance(demande.id, acteur(self.agent))
        except operations.TransitionInterdite as refus:
            db.session.rollback()
            flash(str(refus), "warning")
        else:
            flash(f"Demande {demande.reference} close.", "success")
        return self._apres_action(demande)

    @expose("/<int:id>/rouvrir", methods=("POST",))
    def rouvrir(self, id: int):
        demande = self._demande_ou_404(id)
        try:
            operations.rouvrir_assistance(demande.id, acteur(self.agent))
        except operations.TransitionInterdite as refus:
            db.session.rollback()
            flash(str(refus), "warning")
        else:
            flash(f"Demande {demande.reference} rouverte : elle revient dans la file.", "success")
        return self._apres_action(demande)

    @expose("/<int:id>/piece-jointe/<jeton>")
    def piece_jointe(self, id: int, jeton: str):
        """An attachment of the request (only a token its document holds), as a download."""
        demande = self._demande_ou_404(id)
        if jeton not in jetons_fichiers(_specs(demande), demande.data or {}):
            abort(404)
        fichier = uploads.find(jeton)
        if fichier is None or not uploads.path_of(fichier).is_file():
            abort(404)
        return send_file(
            uploads.path_of(fichier),
            mimetype=fichier.content_type,
            as_attachment=True,
            download_name=fichier.filename,
            max_age=0,
        )


def _url_journal(demande: DemandeAssistance) -> str:
    from backoffice.vues.journal import url_objet

    return url_objet(operations.OBJECT_TYPE, demande.id)


def compter_ouvertes(agent: Agent) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(DemandeAssistance)
        .where(DemandeAssistance.state == AssistanceState.OUVERTE)
    )


def init_admin(admin) -> None:
    admin.add_view(
        VueAssistance(DemandeAssistance, db, name="Demandes d'assistance", endpoint="assistance")
    )
    admin.index_view.ajouter_tuile(
        Tuile(
            "Demandes d'assistance ouvertes",
            compter_ouvertes,
            endpoint="assistance.index_view",
            roles=ROLES,
            ordre=30,
            description="Demandes « Besoin d'aide ? » en attente d'une réponse.",
        )
    )
