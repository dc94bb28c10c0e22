"""« Demandes de création de compte »: the queue of the ASP and the UD (issue #6 items 2, 7-9).

URLs (all under ``/backoffice/demandes/``, for the Agent ASP, the Agent UD and the
Administrateur; an Agent UD sees and acts on the requests of its départements only):

- ``/`` the list, in tabs by state: ``?etat=a_traiter`` (the default), ``validee``,
  ``rejetee``, ``toutes``; an explicit « État » filter replaces the tab. Filters: date of
  filing (between, from, until), département, état, prise en charge (by me, by nobody);
  search: a SIRET (or the first digits: a SIREN), words of the dénomination or of the
  contact's address; sorted by age, oldest first. Bulk actions (POST, CSRF): « Je prends »,
  « Valider », « Rejeter » (which opens a confirmation page asking the reason).
- ``/details/?id=N`` the request: the data as filed, labelled by its form version, beside
  the SIRENE directory's record with the differences marked; its history; the actions.
- ``/<id>/prendre``, ``/<id>/liberer``, ``/<id>/valider``, ``/<id>/rejeter``: POST + CSRF.
- ``/rejet-groupe/``: POST, the confirmation page of a bulk rejection.
- ``/export/csv/``, ``/export/xlsx/``: the current tab, filters and search, neutralised
  against formula injection (``backoffice.exports``).
- ``/miennes/``: the list of the requests the agent took (the dashboard tile's link).

A request outside the agent's scope is answered like a missing one: 404 on every URL that
names it, skipped (and counted as « introuvable ») in bulk actions.

Speed at 1,000,000 rows on PostgreSQL (bench/backoffice_demandes.py): the pager counts at
most ``PLAFOND_COMPTE`` + 1 rows (``SELECT count(*) FROM (SELECT 1 … LIMIT 10001)``, an
index-only scan whatever the filters) and shows « plus de 10 000 » beyond; every filter and
sort the page offers has its index (``models.comptes.DemandeCompte``, migration 0009); the
search compares indexed columns (``denomination``, ``courriel``: trigram GIN on PostgreSQL;
``siret``: equality or a range, B-tree) instead of ``CAST(... AS VARCHAR) ILIKE`` on every
searchable column, which no index serves.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, request
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_admin.helpers import get_redirect_target
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import and_, func, literal_column, or_, select
from sqlalchemy.orm import joinedload
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, ValidationError

from backoffice import session as session_agent
from backoffice.exports import ExportSur
from backoffice.securite import VueModeleAgent, portee_departements, suivant_valide
from backoffice.vues.tableau_de_bord import Tuile
from database import begin_write
from extensions import db
from forms.libelles import (  # noqa: F401  (demandes.libelles_de, used by its tests)
    Libelles,
    LigneDonnee,
    SectionDonnees,
    libelles_de,
    sections_de,
)
from models.agents import Agent, RoleAgent
from models.audit import AuditEvent
from models.comptes import DemandeCompte, DemandeState
from models.sirene import SireneEtablissement
from models.types import utcnow
from workflows.comptes import (
    CompteError,
    TransitionInterdite,
    rejeter_demande_compte,
    valider_demande_compte,
)
from workflows.journal import Acteur, journaliser

PARIS = ZoneInfo("Europe/Paris")
PLAFOND_COMPTE = 10_000
ROLES = frozenset({RoleAgent.ASP, RoleAgent.UD, RoleAgent.ADMINISTRATEUR})

# Every département code ``models.comptes.departement_of`` can produce (agents.DEPARTEMENT).
DEPARTEMENTS: tuple[str, ...] = (
    *(f"{n:02d}" for n in range(1, 20)),
    "2A",
    "2B",
    *(f"{n:02d}" for n in range(21, 96)),
    *(str(n) for n in range(971, 979)),
    *(str(n) for n in range(984, 990)),
)

ONGLETS: dict[str, tuple[str, DemandeState | None]] = {
    "a_traiter": ("À traiter", DemandeState.A_TRAITER),
    "validee": ("Validées", DemandeState.VALIDEE),
    "rejetee": ("Rejetées", DemandeState.REJETEE),
    "toutes": ("Toutes", None),
}
ONGLET_PAR_DEFAUT = "a_traiter"

# (code, the option's short label, the sentence mailed to the requester)
MOTIFS_REJET: tuple[tuple[str, str, str], ...] = (
    (
        "siret_inconnu",
        "SIRET absent du répertoire SIRENE",
        "Le SIRET indiqué ne correspond à aucun établissement du répertoire SIRENE.",
    ),
    (
        "etablissement_ferme",
        "Établissement fermé",
        "L'établissement est fermé selon le répertoire SIRENE.",
    ),
    (
        "informations_discordantes",
        "Dénomination ou adresse différente du répertoire",
        "La dénomination ou l'adresse indiquée ne correspond pas à celle de l'établissement "
        "dans le répertoire SIRENE.",
    ),
    (
        "contact_invalide",
        "Adresse électronique du contact invalide",
        "L'adresse électronique de la personne à contacter n'est pas valide ou n'appartient "
        "pas à une personne de l'établissement.",
    ),
    (
        "doublon",
        "Compte déjà existant pour cet établissement",
        "Un compte existe déjà pour cet établissement : demandez à son référent de vous "
        "ajouter comme utilisateur.",
    ),
    ("autre", "Autre motif (à préciser ci-dessous)", ""),
)
TEXTES_MOTIFS = {code: texte for code, _, texte in MOTIFS_REJET}
MOTIF_AUTRE = "autre"

OPERATIONS: dict[str, str] = {
    "demander_compte": "Dépôt de la demande",
    "valider_demande_compte": "Validation",
    "valider_demande_compte_auto": "Validation automatique",
    "rejeter_demande_compte": "Rejet",
    "prendre_demande_compte": "Prise en charge",
    "liberer_demande_compte": "Fin de prise en charge",
}


def _pluriel(nombre: int, singulier: str, pluriel: str) -> str:
    return f"{nombre} {singulier if nombre == 1 else pluriel}"


def _date(valeur: datetime | None, vide: str = "—") -> str:
    """« 23/11/2026 17:05 », Paris time (``strftime``: Babel's ``format_datetime`` costs
    ≈ 0.1 ms a call, which a 50,000-row export pays 100,000 times)."""
    return valeur.astimezone(PARIS).strftime("%d/%m/%Y %H:%M") if valeur else vide


def _age(valeur: datetime, maintenant: datetime | None = None) -> str:
    ecart = (maintenant or utcnow()) - valeur
    minutes = max(int(ecart.total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} j"


# --- the SIRENE directory beside the request --------------------------------------------------


def _normaliser(texte: Any) -> str:
    """Text compared without case, accents, punctuation or extra spaces."""
    if texte is None:
        return ""
    decompose = unicodedata.normalize("NFKD", str(texte))
    sans_accents = "".join(c for c in decompose if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^0-9A-Za-z]+", " ", sans_accents).upper().split())


@dataclass(frozen=True)
class LigneComparaison:
    libelle: str
    declare: str
    repertoire: str
    differe: bool


# (path in the request's document, SIRENE attribute, label when the form gives none)
CHAMPS_COMPARES: tuple[tuple[tuple[str, str], str, str], ...] = (
    (("etablissement", "denomination"), "denomination", "Dénomination"),
    (("etablissement", "numero_voie"), "numero_voie", "Numéro de voie"),
    (("etablissement", "extension_voie"), "indice_repetition", "Extension de voie"),
    (("etablissement", "type_voie"), "type_voie", "Type de voie"),
    (("etablissement", "libelle_voie"), "libelle_voie", "Libellé de la voie"),
    (("etablissement", "complement_adresse"), "complement_adresse", "Complément d'adresse"),
    (("etablissement", "code_postal"), "code_postal", "Code postal"),
    (("etablissement", "ville"), "libelle_commune", "Commune"),
)


def comparer_au_repertoire(
    data: Mapping[str, Any], fiche: SireneEtablissement | None, libelles: Libelles
) -> list[LigneComparaison]:
    """One line per compared field, ``differe`` when the two differ (case, accents and
    punctuation aside); the last line is the directory's administrative state."""
    if fiche is None:
        return []
    etablissement = data.get("etablissement") or {}
    lignes = []
    for chemin, attribut, libelle in CHAMPS_COMPARES:
        declare = etablissement.get(chemin[1])
        repertoire = getattr(fiche, attribut)
        if attribut == "denomination" and not repertoire:
            repertoire = fiche.enseigne
        lignes.append(
            LigneComparaison(
                libelles.titres.get(chemin, libelle),
                libelles.valeur(chemin, declare),
                libelles.valeur(chemin, repertoire),
                _normaliser(declare) != _normaliser(repertoire),
            )
        )
    lignes.append(
        LigneComparaison(
            "État administratif",
            "—",
            "Actif" if fiche.actif else "Fermé",
            not fiche.actif,
        )
    )
    return lignes


# --- "je prends" ------------------------------------------------------------------------------


def _verrouiller(demande_id: int) -> DemandeCompte:
    begin_write()
    demande = db.session.scalars(
        select(DemandeCompte).where(DemandeCompte.id == demande_id).with_for_update()
    ).one_or_none()
    if demande is None:
        raise TransitionInterdite("Cette demande n'existe pas.")
    if demande.state != DemandeState.A_TRAITER:
        db.session.rollback()
        raise TransitionInterdite(
            f"Cette demande a déjà été traitée (état : {DemandeState(demande.state).label})."
        )
    return demande


def prendre_demande(demande_id: int, agent: Agent) -> bool:
    """« Je prends »: ``agent`` handles the pending request (it takes it over from another
    agent if need be). Journaled with the previous holder. False when it already held it.

    :raise TransitionInterdite: the request was decided meanwhile.
    """
    demande = _verrouiller(demande_id)
    if demande.assigned_to_id == agent.id:
        db.session.rollback()
        return False
    precedent = demande.assigned_to.email if demande.assigned_to is not None else None
    demande.assigned_to_id = agent.id
    demande.assigned_at = utcnow()
    journaliser(
        Acteur("agent", agent.email),
        "prendre_demande_compte",
        "demande_compte",
        demande.id,
        details={"agent": agent.email, "precedent": precedent},
    )
    db.session.commit()
    return True


def liberer_demande(demande_id: int, agent: Agent) -> bool:
    """The agent that holds a pending request gives it back to the queue. False when it did
    not hold it.

    :raise TransitionInterdite: the request was decided meanwhile.
    """
    demande = _verrouiller(demande_id)
    if demande.assigned_to_id != agent.id:
        db.session.rollback()
        return False
    demande.assigned_to_id = None
    demande.assigned_at = None
    journaliser(
        Acteur("agent", agent.email),
        "liberer_demande_compte",
        "demande_compte",
        demande.id,
        details={"agent": agent.email},
    )
    db.session.commit()
    return True


# --- reasons for a rejection -------------------------------------------------------------------


class FormulaireRejet(FlaskForm):
    motif = SelectField(
        "Motif du rejet",
        choices=[
            SelectChoice("", "Choisissez un motif"),
            *(SelectChoice(code, libelle) for code, libelle, _ in MOTIFS_REJET),
        ],
        validate_choice=False,  # checked below, with our message
    )
    precisions = TextAreaField(
        "Précisions",
        description=("Envoyées au demandeur avec le motif. Obligatoires pour « Autre motif »."),
        validators=[Length(max=1500, message="1 500 caractères au plus.")],
    )

    def validate_motif(self, champ) -> None:
        if champ.data not in TEXTES_MOTIFS:
            raise ValidationError("Choisissez le motif du rejet : il est envoyé au demandeur.")

    def validate_precisions(self, champ) -> None:
        if self.motif.data == MOTIF_AUTRE and not (champ.data or "").strip():
            raise ValidationError("Précisez le motif du rejet : il est envoyé au demandeur.")

    def texte(self) -> str:
        """The reason as the requester reads it."""
        precisions = (self.precisions.data or "").strip()
        if self.motif.data == MOTIF_AUTRE:
            return precisions
        texte = TEXTES_MOTIFS[self.motif.data]
        return f"{texte}\n\nPrécisions : {precisions}" if precisions else texte


# --- filters ----------------------------------------------------------------------------------


def _debut_du_jour(jour: date) -> datetime:
    """Midnight in Paris, in UTC (the dates staff type are French dates)."""
    return datetime.combine(jour, time.min, tzinfo=PARIS).astimezone(UTC)


def _jour(texte: str) -> date:
    return datetime.strptime(texte.strip(), "%Y-%m-%d").date()


class Filtre(BaseSQLAFilter):
    """A filter with a readable, stable URL key (``flt0_<cle_url>=...``)."""

    cle_url: ClassVar[str]
    nom_operation: ClassVar[str]

    def operation(self) -> str:
        return self.nom_operation


class FiltreEtat(Filtre):
    """The state of a row among the members of ``etats`` (an enum with ``label``s)."""

    cle_url = "etat"
    nom_operation = "est"

    def __init__(self, colonne=DemandeCompte.state, etats=DemandeState) -> None:
        self.etats = etats
        super().__init__(colonne, "État", options=[(s.value, s.label) for s in etats])

    def validate(self, value: str) -> bool:
        return value in {s.value for s in self.etats}

    def clean(self, value: str):
        return self.etats(value)

    def apply(self, query, value, alias=None):
        return query.filter(self.get_column(alias) == value)


class FiltreDepartement(Filtre):
    """Every département; an Agent UD is offered its own only (``VueDemandes``)."""

    cle_url = "departement"
    nom_operation = "est"

    def __init__(self) -> None:
        super().__init__(
            DemandeCompte.departement, "Département", options=[(c, c) for c in DEPARTEMENTS]
        )

    def validate(self, value: str) -> bool:
        return value in DEPARTEMENTS

    def apply(self, query, value, alias=None):
        return query.filter(self.get_column(alias) == value)


class FiltreDepotEntre(Filtre):
    cle_url = "depot_entre"
    nom_operation = "entre"

    def __init__(self) -> None:
        super().__init__(DemandeCompte.created_at, "Date de dépôt", data_type="daterangepicker")

    def clean(self, value: str) -> tuple[datetime, datetime]:
        debut, fin = (_jour(partie) for partie in value.split(" to "))
        return _debut_du_jour(debut), _debut_du_jour(fin + timedelta(days=1))

    def validate(self, value: str) -> bool:
        try:
            debut, fin = self.clean(value)
        except ValueError:
            return False
        return debut < fin

    def apply(self, query, value, alias=None):
        debut, fin = value
        colonne = self.get_column(alias)
        return query.filter(colonne >= debut, colonne < fin)


class FiltreDepotDepuis(Filtre):
    cle_url = "depot_depuis"
    nom_operation = "à partir du"

    def __init__(self) -> None:
        super().__init__(DemandeCompte.created_at, "Date de dépôt", data_type="datepicker")

    def clean(self, value: str) -> datetime:
        return _debut_du_jour(_jour(value))

    def apply(self, query, value, alias=None):
        return query.filter(self.get_column(alias) >= value)


class FiltreDepotJusquAu(FiltreDepotDepuis):
    cle_url = "depot_jusqu_au"
    nom_operation = "jusqu'au"

    def clean(self, value: str) -> datetime:
        return _debut_du_jour(_jour(value) + timedelta(days=1))

    def apply(self, query, value, alias=None):
        return query.filter(self.get_column(alias) < value)


class FiltrePriseEnCharge(Filtre):
    cle_url = "prise_en_charge"
    nom_operation = "par"

    def __init__(self) -> None:
        super().__init__(
            DemandeCompte.assigned_to_id,
            "Prise en charge",
            options=[("moi", "moi"), ("personne", "personne")],
        )

    def validate(self, value: str) -> bool:
        return value in {"moi", "personne"}

    def apply(self, query, value, alias=None):
        colonne = self.get_column(alias)
        if value == "personne":
            return query.filter(colonne.is_(None))
        agent = session_agent.agent_connecte()
        return query.filter(colonne == (agent.id if agent is not None else -1))


# --- search -----------------------------------------------------------------------------------


def _contient(terme: str) -> str:
    echappe = terme.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{echappe}%"


def condition_recherche(texte: str | None):
    """The search box: a SIRET (spaces allowed) → equality; 1 to 13 digits → the SIRETs that
    start with them (a SIREN); otherwise every word must appear in the dénomination or in the
    contact's address (case-insensitive). Each form uses an index (module docstring)."""
    texte = (texte or "").strip()
    if not texte:
        return None
    chiffres = re.sub(r"[\s.]", "", texte)
    if chiffres.isdigit() and len(chiffres) <= 14:
        if len(chiffres) == 14:
            return DemandeCompte.siret == chiffres
        reste = 14 - len(chiffres)
        return DemandeCompte.siret.between(chiffres + "0" * reste, chiffres + "9" * reste)
    conditions = []
    for terme in texte.split():
        motif = _contient(terme.lower())
        if "@" in terme:
            conditions.append(DemandeCompte.courriel.ilike(motif, escape="\\"))
        else:
            conditions.append(
                or_(
                    DemandeCompte.denomination.ilike(motif, escape="\\"),
                    DemandeCompte.courriel.ilike(motif, escape="\\"),
                )
            )
    return and_(*conditions)


def compter_plafonne(requete) -> int:
    """The number of rows of ``requete``, counted up to ``PLAFOND_COMPTE`` + 1 at most: the
    cost is bounded whatever the filters (a full ``count(*)`` reads a million index entries)."""
    sous_requete = (
        requete.statement.with_only_columns(literal_column("1"))
        .select_from(DemandeCompte)  # the FROM, even when no condition names the table
        .order_by(None)
        .limit(PLAFOND_COMPTE + 1)
        .subquery()
    )
    return db.session.scalar(select(func.count()).select_from(sous_requete))


# --- column formatters ------------------------------------------------------------------------


def _f_depot(view, context, model, name):
    return Markup('{} <small class="text-muted">({})</small>').format(
        _date(model.created_at), _age(model.created_at)
    )


def _f_denomination(view, context, model, name):
    retour = context.get("return_url") if context is not None else None
    lien = view.get_url(".details_view", id=model.id, url=retour)
    return Markup('<a href="{}">{}</a>').format(lien, model.denomination or "—")


BADGES = {
    DemandeState.A_TRAITER: "badge-warning",
    DemandeState.VALIDEE: "badge-success",
    DemandeState.REJETEE: "badge-danger",
}


def _f_etat(view, context, model, name):
    etat = DemandeState(model.state)
    return Markup('<span class="badge {}">{}</span>').format(BADGES[etat], etat.label)


def _f_prise(view, context, model, name):
    if model.assigned_to is None:
        return "—"
    agent = session_agent.agent_connecte()
    if agent is not None and model.assigned_to_id == agent.id:
        return "moi"
    return model.assigned_to.email


def _f_date(view, context, model, name):
    return _date(getattr(model, name))


def _e_etat(view, context, model, name):
    return DemandeState(model.state).label


def _e_prise(view, context, model, name):
    return model.assigned_to.email if model.assigned_to is not None else ""


def _e_contact(view, context, model, name):
    contact = (model.data or {}).get("utilisateur") or {}
    return " ".join(p for p in (contact.get("prenom"), contact.get("nom")) if p)


def _e_telephone(view, context, model, name):
    return ((model.data or {}).get("utilisateur") or {}).get("telephone") or ""


def _e_date(view, context, model, name):
    return _date(getattr(model, name), "")


# --- the view ---------------------------------------------------------------------------------


class VueDemandes(ExportSur, VueModeleAgent):
    roles_autorises = ROLES
    list_template = "backoffice/demandes/liste.html"
    details_template = "backoffice/demandes/detail.html"
    can_view_details = True
    nom_export = "demandes-creation-compte"

    column_list = (
        "created_at",
        "siret",
        "denomination",
        "departement",
        "courriel",
        "state",
        "assigned_to",
        "decided_at",
    )
    column_export_list = (
        "id",
        "created_at",
        "siret",
        "denomination",
        "departement",
        "contact",
        "courriel",
        "telephone",
        "state",
        "assigned_to",
        "decided_at",
        "decided_by",
        "motif_rejet",
    )
    column_labels: ClassVar[dict[str, str]] = {
        "id": "N°",
        "created_at": "Déposée le",
        "siret": "SIRET",
        "denomination": "Dénomination",
        "departement": "Département",
        "contact": "Personne à contacter",
        "courriel": "Courriel du contact",
        "telephone": "Téléphone du contact",
        "state": "État",
        "assigned_to": "Prise en charge par",
        "decided_at": "Traitée le",
        "decided_by": "Traitée par",
        "motif_rejet": "Motif du rejet",
    }
    column_formatters: ClassVar[dict] = {
        "created_at": _f_depot,
        "denomination": _f_denomination,
        "state": _f_etat,
        "assigned_to": _f_prise,
        "decided_at": _f_date,
    }
    column_formatters_export: ClassVar[dict] = {
        "created_at": _e_date,
        "decided_at": _e_date,
        "state": _e_etat,
        "assigned_to": _e_prise,
        "contact": _e_contact,
        "telephone": _e_telephone,
    }
    column_sortable_list = ("created_at",)
    column_default_sort = ("created_at", False)  # the oldest first
    column_searchable_list = ("siret", "denomination", "courriel")
    column_filters = (
        FiltreDepotEntre(),
        FiltreDepotDepuis(),
        FiltreDepotJusquAu(),
        FiltreDepartement(),
        FiltreEtat(),
        FiltrePriseEnCharge(),
    )

    # -- scope, list, count -----------------------------------------------------------------

    def filtrer_portee(self, query, agent: Agent):
        return query.filter(portee_departements(agent, DemandeCompte.departement))

    def get_filter_arg(self, index: int, flt) -> str:
        return getattr(flt, "cle_url", None) or super().get_filter_arg(index, flt)

    def _get_filter_groups(self):
        """Flask-Admin computes the filters' options once, at start-up: an Agent UD is
        offered the départements it covers only (others would give empty lists)."""
        groupes = super()._get_filter_groups()
        agent = self.agent
        if groupes and agent.role is RoleAgent.UD:
            for filtres in groupes.values():
                for filtre in filtres:
                    if filtre["arg"] == FiltreDepartement.cle_url:
                        filtre["options"] = [(c, c) for c in agent.codes_departements]
        return groupes

    def search_placeholder(self) -> str:
        return "SIRET, SIREN, dénomination ou courriel"

    def _apply_search(self, query, count_query, joins, count_joins, search):
        condition = condition_recherche(search)
        if condition is not None:
            query = query.filter(condition)
            if count_query is not None:
                count_query = count_query.filter(condition)
        return query, count_query, joins, count_joins

    def etat_du_filtre(self, filters) -> bool:
        return any(isinstance(self._filters[idx], FiltreEtat) for idx, _, _ in filters or ())

    def onglet_courant(self, filters) -> str | None:
        """The tab shown: None when an « État » filter replaces the tabs."""
        if self.etat_du_filtre(filters):
            return None
        code = request.args.get("etat", ONGLET_PAR_DEFAUT)
        return code if code in ONGLETS else ONGLET_PAR_DEFAUT

    def onglets(self, filters) -> list[tuple[str, str, bool]]:
        """(label, URL, active) of each tab; a tab keeps the search and the other filters, and
        drops the « État » filters it replaces."""
        courant = self.onglet_courant(filters)
        cle_etat = re.compile(rf"flt\d+_{FiltreEtat.cle_url}")
        gardes = {
            cle: valeur
            for cle, valeur in request.args.items()
            if cle not in ("page", "etat") and not cle_etat.fullmatch(cle)
        }
        return [
            (libelle, self.get_url(".index_view", **{**gardes, "etat": code}), code == courant)
            for code, (libelle, _) in ONGLETS.items()
        ]

    @staticmethod
    def depasse_plafond(nombre: int | None) -> bool:
        return nombre is not None and nombre > PLAFOND_COMPTE

    @staticmethod
    def libelle_plafond() -> str:
        return f"{PLAFOND_COMPTE:,}".replace(",", "\u202f")

    def libelle_compte(self, nombre: int | None) -> str:
        """« 1 234 » or « plus de 10 000 » (the count stops there)."""
        if nombre is None:
            return ""
        if self.depasse_plafond(nombre):
            return f"plus de {self.libelle_plafond()}"
        return f"{nombre:,}".replace(",", "\u202f")

    def get_list(
        self,
        page,
        sort_column,
        sort_desc,
        search,
        filters,
        execute=True,
        page_size=None,
    ):
        """Flask-Admin's ``get_list`` (contrib/sqla/view.py) with the tab, our search and a
        capped count; no separate count query (the count reads the filtered list query)."""
        query = self.get_query()
        code = self.onglet_courant(filters)
        etat = ONGLETS[code][1] if code is not None else None
        if etat is not None:
            query = query.filter(DemandeCompte.state == etat)
        joins: dict = {}
        if self._search_supported and search:
            query, _, joins, _ = self._apply_search(query, None, joins, {}, search)
        if filters and self._filters:
            query, _, joins, _ = self._apply_filters(query, None, joins, {}, filters)
        count = compter_plafonne(query) if execute else None
        query = query.options(joinedload(DemandeCompte.assigned_to))
        query, joins = self._apply_sorting(query, joins, sort_column, sort_desc)
        query = self._apply_pagination(query, page, page_size)
        if execute:
            query = query.all()
        return count, query

    # -- one request ---------------------------------------------------------------------------

    @property
    def acteur(self) -> Acteur:
        return Acteur("agent", self.agent.email)

    def demande_ou_404(self, demande_id) -> DemandeCompte:
        """The request, within the agent's scope; 404 otherwise (missing or foreign alike)."""
        demande = self.get_one(str(demande_id)) if demande_id is not None else None
        if demande is None:
            abort(404)
        return demande

    def url_retour(self, demande_id: int | None = None) -> str:
        cible = suivant_valide(get_redirect_target())
        if cible:
            return cible
        if demande_id is not None:
            return self.get_url(".details_view", id=demande_id)
        return self.get_url(".index_view")

    def page_demande(self, demande: DemandeCompte, formulaire: FormulaireRejet | None = None):
        libelles = libelles_de(demande.form_id, demande.form_version)
        fiche = db.session.get(SireneEtablissement, demande.siret)
        historique = db.session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.object_type == "demande_compte",
                AuditEvent.object_id == str(demande.id),
            )
            .order_by(AuditEvent.occurred_at, AuditEvent.id)
        ).all()
        retour = suivant_valide(get_redirect_target()) or self.get_url(".index_view")
        return self.render(
            self.details_template,
            demande=demande,
            etat=DemandeState(demande.state),
            libelles=libelles,
            sections=sections_de(demande.data or {}, libelles),
            fiche=fiche,
            comparaison=comparer_au_repertoire(demande.data or {}, fiche, libelles),
            historique=historique,
            operations=OPERATIONS,
            etats={s.value: s.label for s in DemandeState},
            formulaire=formulaire or FormulaireRejet(formdata=None),
            agent=self.agent,
            date=_date,
            age=_age(demande.created_at),
            return_url=retour,
        )

    @expose("/details/")
    def details_view(self):
        return self.page_demande(self.demande_ou_404(request.args.get("id")))

    @expose("/<int:demande_id>/prendre", methods=("POST",))
    def prendre(self, demande_id: int):
        demande = self.demande_ou_404(demande_id)
        try:
            if prendre_demande(demande.id, self.agent):
                flash("Vous avez pris en charge cette demande.", "success")
            else:
                flash("Vous aviez déjà pris en charge cette demande.", "info")
        except TransitionInterdite as refus:
            flash(str(refus), "error")
        return redirect(self.url_retour(demande_id))

    @expose("/<int:demande_id>/liberer", methods=("POST",))
    def liberer(self, demande_id: int):
        demande = self.demande_ou_404(demande_id)
        try:
            if liberer_demande(demande.id, self.agent):
                flash(
                    "La demande est rendue à la file : personne ne la prend en charge.", "success"
                )
            else:
                flash("Vous ne preniez pas cette demande en charge.", "info")
        except TransitionInterdite as refus:
            flash(str(refus), "error")
        return redirect(self.url_retour(demande_id))

    @expose("/<int:demande_id>/valider", methods=("POST",))
    def valider(self, demande_id: int):
        demande = self.demande_ou_404(demande_id)
        siret, denomination = demande.siret, demande.denomination
        try:
            valider_demande_compte(demande.id, self.acteur)
        except TransitionInterdite as refus:
            flash(str(refus), "error")
        except CompteError as refus:
            flash(f"Validation impossible : {refus}", "error")
        else:
            flash(
                f"Demande validée : le compte de « {denomination} » (SIRET {siret}) est créé, "
                "les courriels au demandeur sont en cours d'envoi.",
                "success",
            )
        return redirect(self.url_retour(demande_id))

    @expose("/<int:demande_id>/rejeter", methods=("POST",))
    def rejeter(self, demande_id: int):
        demande = self.demande_ou_404(demande_id)
        formulaire = FormulaireRejet()
        if not formulaire.validate():
            flash("Le rejet n'a pas été enregistré : indiquez son motif.", "error")
            return self.page_demande(demande, formulaire)
        try:
            rejeter_demande_compte(demande.id, self.acteur, formulaire.texte())
        except CompteError as refus:  # TransitionInterdite included
            flash(str(refus), "error")
        else:
            flash(
                f"Demande rejetée (SIRET {demande.siret}) : le motif est envoyé au demandeur.",
                "success",
            )
        return redirect(self.url_retour(demande_id))

    # -- bulk actions --------------------------------------------------------------------------

    def _bilan(self, ids, faites: int, participe: tuple[str, str], deja: int, erreurs) -> None:
        if faites:
            flash(
                _pluriel(faites, f"demande {participe[0]}.", f"demandes {participe[1]}."), "success"
            )
        if deja:
            flash(
                _pluriel(
                    deja, "demande déjà traitée : ignorée.", "demandes déjà traitées : ignorées."
                ),
                "warning",
            )
        for message in erreurs:
            flash(message, "error")
        introuvables = len(set(ids)) - faites - deja - len(erreurs)
        if introuvables > 0:
            flash(
                _pluriel(
                    introuvables,
                    "demande introuvable dans votre périmètre : ignorée.",
                    "demandes introuvables dans votre périmètre : ignorées.",
                ),
                "warning",
            )

    @action("prendre", "Je prends")
    def action_prendre(self, ids: list[str]) -> None:
        faites = deja = 0
        for demande_id in [d.id for d in self.lignes_choisies(ids)]:
            try:
                prendre_demande(demande_id, self.agent)
                faites += 1
            except TransitionInterdite:
                deja += 1
        self._bilan(ids, faites, ("prise en charge", "prises en charge"), deja, [])

    @action(
        "valider",
        "Valider",
        "Valider les demandes sélectionnées ? Les comptes seront créés et les courriels "
        "envoyés aux demandeurs.",
    )
    def action_valider(self, ids: list[str]) -> None:
        faites = deja = 0
        erreurs: list[str] = []
        for demande_id, siret in [(d.id, d.siret) for d in self.lignes_choisies(ids)]:
            try:
                valider_demande_compte(demande_id, self.acteur)
                faites += 1
            except TransitionInterdite:
                deja += 1
            except CompteError as refus:
                erreurs.append(f"SIRET {siret} : validation impossible. {refus}")
        self._bilan(ids, faites, ("validée", "validées"), deja, erreurs)

    @action("rejeter", "Rejeter")
    def action_rejeter(self, ids: list[str]):
        """Opens the confirmation page, which asks the reason (``rejet_groupe``)."""
        demandes = self.lignes_choisies(ids)
        if not demandes:
            flash("Aucune demande de votre périmètre n'est sélectionnée.", "warning")
            return None
        return self.page_rejet_groupe(demandes, FormulaireRejet(formdata=None))

    def page_rejet_groupe(self, demandes, formulaire: FormulaireRejet):
        return self.render(
            "backoffice/demandes/rejet_groupe.html",
            demandes=sorted(demandes, key=lambda d: d.created_at),
            formulaire=formulaire,
            date=_date,
            return_url=suivant_valide(get_redirect_target()) or self.get_url(".index_view"),
        )

    @expose("/rejet-groupe/", methods=("POST",))
    def rejet_groupe(self):
        ids = request.form.getlist("rowid")
        demandes = self.lignes_choisies(ids)
        if not demandes:
            flash("Aucune demande de votre périmètre n'est sélectionnée.", "warning")
            return redirect(self.url_retour())
        formulaire = FormulaireRejet()
        if not formulaire.validate():
            flash("Aucun rejet n'a été enregistré : indiquez son motif.", "error")
            return self.page_rejet_groupe(demandes, formulaire)
        faites = deja = 0
        erreurs: list[str] = []
        motif = formulaire.texte()
        for demande_id, siret in [(d.id, d.siret) for d in demandes]:
            try:
                rejeter_demande_compte(demande_id, self.acteur, motif)
                faites += 1
            except TransitionInterdite:
                deja += 1
            except CompteError as refus:
                erreurs.append(f"SIRET {siret} : rejet impossible. {refus}")
        self._bilan(ids, faites, ("rejetée", "rejetées"), deja, erreurs)
        return redirect(self.url_retour())

    @expose("/miennes/")
    def miennes(self):
        """The requests the agent took and that await a decision (the dashboard's link)."""
        cle = f"flt0_{FiltrePriseEnCharge.cle_url}"
        return redirect(self.get_url(".index_view", **{cle: "moi"}))


# --- dashboard --------------------------------------------------------------------------------


def estimation(requete) -> int:
    """PostgreSQL's own estimate of the rows of ``requete`` (``EXPLAIN``: the statistics of
    the last ``ANALYZE``, well within a few per cent for conditions on state and département)."""
    sql = requete.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
    plan = db.session.connection().exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}").scalar()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def compter_tuile(agent: Agent, *conditions) -> int:
    """A dashboard count, of bounded cost: exact up to ``PLAFOND_COMPTE`` (a capped count),
    beyond it PostgreSQL's estimate rounded to the thousand (an exact ``count(*)`` of 250,000
    pending requests reads 250,000 index entries on everyone's landing page). SQLite, which
    does not hold such volumes, counts exactly."""
    requete = (
        select(literal_column("1"))
        .select_from(DemandeCompte)
        .where(portee_departements(agent, DemandeCompte.departement), *conditions)
    )
    nombre = db.session.scalar(
        select(func.count()).select_from(requete.limit(PLAFOND_COMPTE + 1).subquery())
    )
    if nombre <= PLAFOND_COMPTE:
        return nombre
    if db.engine.dialect.name != "postgresql":
        return db.session.scalar(select(func.count()).select_from(requete.subquery()))
    return max(PLAFOND_COMPTE + 1, round(estimation(requete), -3))


def compter_a_traiter(agent: Agent) -> int:
    return compter_tuile(agent, DemandeCompte.state == DemandeState.A_TRAITER)


def compter_miennes(agent: Agent) -> int:
    return compter_tuile(
        agent,
        DemandeCompte.assigned_to_id == agent.id,
        DemandeCompte.state == DemandeState.A_TRAITER,
    )


def init_admin(admin) -> None:
    admin.add_view(
        VueDemandes(
            DemandeCompte,
            db,
            name="Demandes de création de compte",
            endpoint="demandes",
            url="demandes",
        )
    )
    admin.index_view.ajouter_tuile(
        Tuile(
            "Demandes de création de compte à traiter",
            compter_a_traiter,
            endpoint="demandes.index_view",
            roles=ROLES,
            ordre=10,
            description=(
                "Dans votre périmètre, les plus anciennes en premier. Au-delà de 10 000 : "
                "estimation, arrondie au millier."
            ),
        )
    )
    admin.index_view.ajouter_tuile(
        Tuile(
            "Demandes que j'ai prises en charge",
            compter_miennes,
            endpoint="demandes.miennes",
            roles=ROLES,
            ordre=11,
            description="À traiter, prises en charge avec « Je prends ».",
        )
    )
