"""« Journal »: every ``AuditEvent``, newest first, read-only (issue #6 item 5).

Who did what to which object, when, from which state to which: the public side's operations
(``demander_compte``, ``choisir_mot_de_passe``...), the agents' and the worker's alike.

- **Roles**: ASP agents and administrators. **The UD is denied** (403): a journal row carries
  an object type and id, not a département; scoping it would join each row to its object
  (request, establishment, habilitation → establishment, identity → its establishments...),
  per type, on a string id. The UD reads an establishment's history from its own, scoped,
  pages instead.
- **Filters** (named in the URL, e.g. ``flt0_operation_equals=demander_compte``): object type
  and object id (index ``ix_audit_event_object``), acteur and type of acteur, operation
  (``ix_audit_event_operation_occurred``), a date range in Paris time (index on
  ``occurred_at``, which also serves the newest-first order). No free-text search (a
  ``LIKE '%…%'`` over every row); no count of the rows (``simple_list_pager``: the journal is
  the largest table of the service). ``url_objet(type, id)`` links to an object's history.
- **Details** (a JSON document), escaped: « clé : valeur » lines in the list (long texts cut),
  the whole document pretty-printed on the row's page.
- **Exports** CSV and XLSX of the filtered rows (``EXPORT_MAX`` at most) through
  ``backoffice.exports.ExportSur``: every cell passes through ``neutraliser`` (no spreadsheet
  formula from a typed value: a dénomination, an answer, an address are user input).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from flask import current_app, url_for
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, FilterEqual
from flask_babel import format_datetime
from markupsafe import Markup

from backoffice.exports import ExportSur
from backoffice.securite import VueModeleAgent
from extensions import db
from models.agents import RoleAgent
from models.assistance import AssistanceState
from models.audit import AuditEvent
from models.comptes import DemandeState
from models.notification import NotificationState

ROLES = frozenset({RoleAgent.ASP, RoleAgent.ADMINISTRATEUR})
PARIS = ZoneInfo("Europe/Paris")
EXPORT_MAX = 20_000
EXTRAIT_MAX = 200  # characters of a text of the details shown in the list

ACTEURS = {"usager": "Usager", "agent": "Agent", "systeme": "Système"}

OBJETS = {
    "demande_compte": "Demande de création de compte",
    "demande_assistance": "Demande d'assistance",
    "etablissement": "Établissement",
    "utilisateur": "Utilisateur",
    "habilitation": "Habilitation",
    "agent": "Agent",
    "notification": "Courriel",
    "tache": "Tâche",
    "courriel": "Adresse électronique",
    "identifiant": "Identifiant",
    "formulaire": "Formulaire",
    "soumission": "Soumission",
    "brouillon_formulaire": "Brouillon de réponse",
}

OPERATIONS = {
    # comptes
    "demander_compte": "Demande de création de compte déposée",
    "valider_demande_compte": "Demande de création de compte validée",
    "valider_demande_compte_auto": "Demande de création de compte validée automatiquement",
    "rejeter_demande_compte": "Demande de création de compte rejetée",
    "prendre_demande_compte": "Demande de création de compte prise en charge",
    "liberer_demande_compte": "Demande de création de compte libérée",
    "creer_etablissement": "Établissement créé",
    "creer_utilisateur": "Utilisateur créé",
    "creer_habilitation": "Habilitation créée",
    # identités
    "choisir_mot_de_passe": "Mot de passe choisi",
    "choisir_question_secrete": "Question secrète choisie",
    "changer_mot_de_passe": "Mot de passe changé",
    "changer_question_secrete": "Question secrète changée",
    "demander_identifiants": "Identifiants oubliés demandés",
    "demander_nouveau_mot_de_passe": "Nouveau mot de passe demandé",
    "echec_question_secrete": "Réponse à la question secrète refusée",
    "renvoyer_identifiant": "Identifiant renvoyé",
    "envoyer_lien_mot_de_passe": "Lien pour choisir un mot de passe envoyé",
    "debloquer_connexion": "Connexion débloquée",
    "desactiver_utilisateur": "Utilisateur désactivé",
    "reactiver_utilisateur": "Utilisateur réactivé",
    # établissements
    "modifier_etablissement": "Fiche de l'établissement modifiée",
    "changer_referent": "Personne référente changée",
    "ajouter_utilisateur": "Utilisateur ajouté",
    "retirer_utilisateur": "Utilisateur retiré",
    # assistance
    "demander_assistance": "Demande d'assistance déposée",
    "repondre_assistance": "Réponse à une demande d'assistance",
    "clore_assistance": "Demande d'assistance close",
    "rouvrir_assistance": "Demande d'assistance rouverte",
    # back-office
    "agent.creation": "Agent créé",
    "agent.desactivation": "Agent désactivé",
    "agent.enrolement": "Double authentification activée",
    "agent.connexion": "Connexion d'un agent",
    "agent.deconnexion": "Déconnexion d'un agent",
    "renvoyer_courriel": "Courriel renvoyé",
    "relancer_tache": "Tâche relancée",
    "supprimer_tache": "Tâche en échec supprimée",
    # formulaires (définitions)
    "brouillon_ouvert": "Brouillon de formulaire ouvert",
    "brouillon_enregistre": "Brouillon de formulaire enregistré",
    "brouillon_abandonne": "Brouillon de formulaire abandonné",
    "formulaire_publie": "Formulaire publié",
    "version_restauree": "Version de formulaire restaurée",
    # soumissions
    "deposer_soumission": "Réponse à un formulaire déposée",
    "marquer_soumission_traitee": "Réponse marquée comme traitée",
    "rouvrir_soumission": "Réponse rouverte",
    "purger_brouillons": "Brouillons de réponse expirés supprimés",
    "deposer_brouillon": "Brouillon de réponse envoyé",
    "rattacher_brouillon": "Brouillon de réponse repris dans un espace",
}

ETATS = {
    **{etat.value: etat.label for etat in DemandeState},
    **{etat.value: etat.label for etat in AssistanceState},
    **{etat.value: etat.label for etat in NotificationState},
    "actif": "Actif",
    "inactif": "Inactif",
    "bloquee": "Bloquée",
    "debloquee": "Débloquée",
    "brouillon": "Brouillon",
    "publiee": "Publiée",
    "recue": "Reçue",
    "traitee": "Traitée",
}


def libelle(table: dict[str, str], code: str | None) -> str:
    if not code:
        return "—"
    return table.get(code, code)


# --- filters ----------------------------------------------------------------------------------


def _jour(valeur: str) -> dt.date:
    valeur = (valeur or "").strip()
    for forme in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(valeur, forme).date()
        except ValueError:
            continue
    raise ValueError(valeur)


def debut_du_jour(jour: dt.date) -> dt.datetime:
    """Midnight of ``jour`` in Paris, in UTC (the journal stores UTC)."""
    return dt.datetime.combine(jour, dt.time.min, tzinfo=PARIS).astimezone(dt.UTC)


class _FiltreJour(BaseSQLAFilter):
    def __init__(self, column, name: str) -> None:
        super().__init__(column, name, data_type="datepicker")

    def clean(self, value: str) -> dt.date:
        return _jour(value)


class DepuisLe(_FiltreJour):
    """Events of that day (Paris time) and after."""

    def apply(self, query, value, alias=None):
        return query.filter(self.get_column(alias) >= debut_du_jour(value))

    def operation(self) -> str:
        return "depuis le"


class JusquAu(_FiltreJour):
    """Events of that day (Paris time) and before."""

    def apply(self, query, value, alias=None):
        lendemain = value + dt.timedelta(days=1)
        return query.filter(self.get_column(alias) < debut_du_jour(lendemain))

    def operation(self) -> str:
        return "jusqu'au"


def _options(table: dict[str, str]):
    return lambda: sorted(table.items(), key=lambda paire: paire[1])


FILTRE_TYPE_OBJET = FilterEqual(AuditEvent.object_type, "Type d'objet", options=_options(OBJETS))
FILTRE_ID_OBJET = FilterEqual(AuditEvent.object_id, "N° de l'objet")
FILTRE_ACTEUR = FilterEqual(AuditEvent.actor, "Acteur")
FILTRE_TYPE_ACTEUR = FilterEqual(AuditEvent.actor_type, "Type d'acteur", options=_options(ACTEURS))
FILTRE_OPERATION = FilterEqual(AuditEvent.operation, "Opération", options=_options(OPERATIONS))
FILTRE_DEPUIS = DepuisLe(AuditEvent.occurred_at, "Date")
FILTRE_JUSQUAU = JusquAu(AuditEvent.occurred_at, "Date")


# --- formatters -------------------------------------------------------------------------------


def _tronquer(valeur: Any, limite: int | None) -> Any:
    if limite is None:
        return valeur
    if isinstance(valeur, str) and len(valeur) > limite:
        return valeur[: limite - 1] + "…"
    if isinstance(valeur, dict):
        return {cle: _tronquer(v, limite) for cle, v in valeur.items()}
    if isinstance(valeur, list):
        return [_tronquer(v, limite) for v in valeur]
    return valeur


def details_json(details: Any, limite: int | None = None, indent: int | None = 2) -> str:
    """The details as JSON text (accents kept), long strings cut at ``limite``."""
    if not details:
        return ""
    return json.dumps(_tronquer(details, limite), ensure_ascii=False, indent=indent, sort_keys=True)


def _quand(view, context, model, name) -> str:
    return format_datetime(model.occurred_at, "dd/MM/yyyy HH:mm:ss")


def _acteur(view, context, model, name) -> Markup:
    return Markup('<span class="badge badge-light">{}</span> {}').format(
        libelle(ACTEURS, model.actor_type), model.actor or ""
    )


def _operation(view, context, model, name) -> Markup:
    return Markup('<span title="{}">{}</span>').format(
        model.operation, libelle(OPERATIONS, model.operation)
    )


def _objet(view, context, model, name) -> Markup:
    return Markup('<a href="{}" title="Historique de cet objet">{} n° {}</a>').format(
        url_objet(model.object_type, model.object_id),
        libelle(OBJETS, model.object_type),
        model.object_id,
    )


def _etat(view, context, model, name) -> str:
    return libelle(ETATS, getattr(model, name))


def _details_liste(view, context, model, name) -> Markup:
    """The details as « clé : valeur » lines (texts on one line, cut; anything else as
    compact JSON); the row's page shows the whole document."""
    details = model.details or {}
    if not isinstance(details, dict):
        details = {"valeur": details}
    lignes = []
    for cle in sorted(details):
        valeur = details[cle]
        if isinstance(valeur, str):
            texte = " ".join(valeur.split())
        else:
            texte = json.dumps(valeur, ensure_ascii=False, sort_keys=True)
        lignes.append(
            Markup('<li><span class="text-muted">{} :</span> {}</li>').format(
                cle, _tronquer(texte, EXTRAIT_MAX)
            )
        )
    if not lignes:
        return Markup("")
    return Markup('<ul class="list-unstyled small mb-0 text-break">{}</ul>').format(
        Markup("").join(lignes)
    )


def _details_complets(view, context, model, name) -> Markup:
    texte = details_json(model.details)
    if not texte:
        return Markup("—")
    return Markup('<pre class="small mb-0 text-break">{}</pre>').format(texte)


def _export_quand(view, context, model, name) -> str:
    return model.occurred_at.astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S")


def _export_table(table: dict[str, str]):
    def formatter(view, context, model, name) -> str:
        code = getattr(model, name)
        return table.get(code, code or "")

    return formatter


def _export_details(view, context, model, name) -> str:
    return details_json(model.details, indent=None)


# --- the view ---------------------------------------------------------------------------------


class VueJournal(ExportSur, VueModeleAgent):
    roles_autorises = ROLES

    can_view_details = True
    export_max_rows = EXPORT_MAX
    nom_export = "journal"
    page_size = 50
    simple_list_pager = True
    named_filter_urls = True

    column_list = (
        "occurred_at",
        "actor",
        "operation",
        "objet",
        "state_from",
        "state_to",
        "details",
    )
    column_details_list = (
        "occurred_at",
        "actor_type",
        "actor",
        "operation",
        "object_type",
        "object_id",
        "state_from",
        "state_to",
        "details",
    )
    column_export_list = column_details_list
    column_labels: ClassVar[dict[str, str]] = {
        "occurred_at": "Date",
        "actor_type": "Type d'acteur",
        "actor": "Acteur",
        "operation": "Opération",
        "objet": "Objet",
        "object_type": "Type d'objet",
        "object_id": "N° de l'objet",
        "state_from": "État avant",
        "state_to": "État après",
        "details": "Détails",
    }
    column_formatters: ClassVar[dict] = {
        "occurred_at": _quand,
        "actor": _acteur,
        "operation": _operation,
        "objet": _objet,
        "state_from": _etat,
        "state_to": _etat,
        "details": _details_liste,
    }
    column_formatters_detail: ClassVar[dict] = {
        "occurred_at": _quand,
        "actor_type": lambda v, c, m, n: libelle(ACTEURS, m.actor_type),
        "operation": _operation,
        "object_type": lambda v, c, m, n: libelle(OBJETS, m.object_type),
        "object_id": lambda v, c, m, n: Markup('<a href="{}">{}</a>').format(
            url_objet(m.object_type, m.object_id), m.object_id
        ),
        "state_from": _etat,
        "state_to": _etat,
        "details": _details_complets,
    }
    column_formatters_export: ClassVar[dict] = {
        "occurred_at": _export_quand,
        "actor_type": _export_table(ACTEURS),
        "operation": _export_table(OPERATIONS),
        "object_type": _export_table(OBJETS),
        "state_from": _export_table(ETATS),
        "state_to": _export_table(ETATS),
        "details": _export_details,
    }
    column_sortable_list = ("occurred_at",)
    column_default_sort: ClassVar[list] = [("occurred_at", True), ("id", True)]
    column_filters = (
        FILTRE_TYPE_OBJET,
        FILTRE_ID_OBJET,
        FILTRE_ACTEUR,
        FILTRE_TYPE_ACTEUR,
        FILTRE_OPERATION,
        FILTRE_DEPUIS,
        FILTRE_JUSQUAU,
    )

    def get_filter_arg(self, index: int, flt) -> str:
        """Flask-Admin's named filter key, accents folded (``operation_equals``, not
        ``opration_equals``)."""
        operation = flt.operation()
        operation = getattr(operation, "_args", (operation,))[0]  # a lazy string's source
        texte = unicodedata.normalize("NFKD", f"{flt.name} {operation}")
        texte = texte.encode("ascii", "ignore").decode().lower()
        return "_".join(re.sub(r"[^a-z0-9 ]", "", texte).split())

    def cle_filtre(self, filtre) -> str:
        """The URL key of one of ``column_filters`` (``flt<n>_<key>=value``)."""
        for cle, (_, candidat) in self._filter_args.items():
            if candidat is filtre:
                return cle
        raise LookupError(filtre.name)

    def get_empty_list_message(self) -> str:
        return "Aucun événement ne correspond à ces critères."


def _vue() -> VueJournal:
    for admin in current_app.extensions.get("admin", []):
        for vue in admin._views:
            if isinstance(vue, VueJournal):
                return vue
    raise LookupError("journal")


def url_objet(object_type: str, object_id: Any) -> str:
    """The journal filtered on one object: its history."""
    vue = _vue()
    return url_for(
        "journal.index_view",
        **{
            f"flt0_{vue.cle_filtre(FILTRE_TYPE_OBJET)}": object_type,
            f"flt1_{vue.cle_filtre(FILTRE_ID_OBJET)}": str(object_id),
        },
    )


def init_admin(admin) -> None:
    admin.add_view(VueJournal(AuditEvent, db, name="Journal", endpoint="journal"))
