"""« Établissements », « Utilisateurs », « Habilitations » (issue #6 items 3, 7 and 8).

This module registers the three views (``init_admin``) and holds what they share: the scope of
an Agent UD, the date filters, the search, the exports and the journal's wording.

Who may do what. Every role reads the three lists (Agent ASP, Agent UD, Administrateur) and
every role acts: the ASP and the administrators everywhere, an Agent UD within its
départements only. The scope is one rule applied everywhere, lists, their counts, exports,
fiches, actions and direct URLs (``VueModeleAgent.filtrer_portee`` and ``get_one``): a row
outside it answers 404, as if it did not exist.

- Établissement: in scope when its ``departement`` is one of the agent's.
- Habilitation: when its establishment is.
- Utilisateur (identity): when it holds at least one habilitation, active or not, on an
  establishment in scope. An identity serves up to 200 establishments anywhere in France, so a
  UD sees it through its own establishments only: the fiche lists only the habilitations in
  scope (and how many others exist elsewhere, without naming them), its history names no
  establishment outside the scope, and deactivating it, which cuts access to every establishment,
  needs every active habilitation of the identity to lie within the UD's départements (or the
  ASP). Inactive habilitations count for visibility so that an identity removed from an
  establishment of the UD stays reachable from that establishment's page and history.

Lists at scale: no ``COUNT(*)`` per page (``simple_list_pager``), searches by the start of the
SIRET, identifiant, name or address (never ``LIKE '%…%'`` except on words of the dénomination),
scopes and filters on the rows' own columns or as ``IN (subquery)`` on indexed keys, the
default order and « Créé le » on ``created_at`` (then ``id``). The history of an establishment
reads the journal through its index ``(object_id, object_type)`` only. On PostgreSQL the prefix
searches, the filters and the sorts have their indexes (migration 0010: ``text_pattern_ops`` on
``etablissement.siret`` and ``utilisateur.identifiant``, ``lower(...) text_pattern_ops`` on
``utilisateur.nom``/``prenom``/``courriel``, ``pg_trgm`` on ``etablissement.denomination``,
``created_at`` of the three tables...; tests/backoffice/test_index_recherche.py checks the
plans).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, time, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_admin.model import filters as filtres_admin
from flask_admin.model.template import EndpointLinkRowAction
from flask_babel import format_datetime
from markupsafe import Markup
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.elements import ColumnElement, True_

from backoffice.exports import ExportSur
from backoffice.securite import TOUS_LES_ROLES, VueModeleAgent, portee_departements, suivant_valide
from extensions import db
from forms import engine
from models.agents import DEPARTEMENT, Agent, RoleAgent
from models.audit import AuditEvent
from models.comptes import DemandeCompte, Etablissement, Habilitation, Role, Utilisateur
from workflows import agents_identites, etablissements
from workflows.comptes import CompteError
from workflows.journal import Acteur

PARIS = ZoneInfo("Europe/Paris")
FORMULAIRE_PERSONNE = "ajout-utilisateur"  # the public "Ajouter un utilisateur" form
HISTORIQUE_LIGNES = 200

# --- what the three views share ----------------------------------------------------------------


def acteur(agent: Agent) -> Acteur:
    return Acteur("agent", agent.email)


def portee_restreinte(agent: Agent, colonne) -> ColumnElement[bool] | None:
    """``portee_departements`` on ``colonne``, or None when the agent sees every row (so that
    the queries of the ASP carry no condition at all)."""
    condition = portee_departements(agent, colonne)
    return None if isinstance(condition, True_) else condition


def date_heure(valeur: datetime | None) -> str:
    return format_datetime(valeur, "dd/MM/yyyy HH:mm") if valeur else ""


def _date_colonne(view, context, model, name) -> str:
    return date_heure(getattr(model, name)) or "—"


def debut_du_jour(jour) -> datetime:
    """Midnight in Paris of ``jour``, as an aware UTC datetime (the columns are UTC)."""
    return datetime.combine(jour, time(), tzinfo=PARIS).astimezone(UTC)


class FiltreDateDepuis(filtres_admin.BaseDateFilter, BaseSQLAFilter):
    """« à partir du » a day of Paris (the column holds UTC instants)."""

    def __init__(self, column, name: str) -> None:
        BaseSQLAFilter.__init__(self, column, name, data_type="datepicker")

    def clean(self, value: str):
        jour = super().clean(value)
        if not 1900 <= jour.year <= 2100:
            raise ValueError(value)  # the filter is ignored, as for any invalid date
        return jour

    def apply(self, query, value, alias=None):
        return query.filter(self.get_column(alias) >= debut_du_jour(value))

    def operation(self) -> str:
        return "à partir du"


class FiltreDateJusqua(FiltreDateDepuis):
    """« jusqu'au » a day of Paris included."""

    def apply(self, query, value, alias=None):
        return query.filter(self.get_column(alias) < debut_du_jour(value + timedelta(days=1)))

    def operation(self) -> str:
        return "jusqu'au"


def tous_les_departements() -> list[str]:
    """Every département code (01-95 with 2A/2B, overseas 971-989), as ``models.agents``
    validates them."""
    candidats = [f"{n:02d}" for n in range(1, 96)] + ["2A", "2B"]
    candidats += [str(n) for n in range(971, 990)]
    return sorted(code for code in candidats if DEPARTEMENT.match(code))


class FiltreEgal(BaseSQLAFilter):
    """``colonne = valeur`` (a free text or a list of options)."""

    def apply(self, query, value, alias=None):
        return query.filter(self.get_column(alias) == value)

    def operation(self) -> str:
        return "est"


class FiltreDepartement(FiltreEgal):
    """« Département » with a list: every département, or the agent's own for an Agent UD
    (``VueComptes._get_filter_groups`` sets them per request; a code typed in the URL outside
    the scope finds nothing, the scope still applies)."""

    def __init__(self, column, name: str = "Département") -> None:
        super().__init__(column, name, options=[(c, c) for c in tous_les_departements()])

    @staticmethod
    def options_de(agent: Agent) -> list[tuple[str, str]]:
        codes = agent.codes_departements if agent.role is RoleAgent.UD else tous_les_departements()
        return [(code, code) for code in codes]


class FiltreOuiNon(BaseSQLAFilter, filtres_admin.BaseBooleanFilter):
    def __init__(self, column, name: str) -> None:
        BaseSQLAFilter.__init__(self, column, name, options=(("1", "Oui"), ("0", "Non")))

    def apply(self, query, value, alias=None):
        return query.filter(self.get_column(alias).is_(value == "1"))

    def operation(self) -> str:
        return "est"


def mots(terme: str) -> list[str]:
    return " ".join((terme or "").split()).split(" ") if (terme or "").strip() else []


def chiffres(terme: str) -> str | None:
    """The digits of a SIRET as typed (spaces ignored), or None when it is not one."""
    compact = "".join((terme or "").split())
    return compact if compact.isdigit() and compact.isascii() else None


def condition_siret(terme: str) -> ColumnElement[bool] | None:
    """SIRET typed in full (equality: the unique index) or its start (prefix)."""
    siret = chiffres(terme)
    if siret is None:
        return None
    if len(siret) == 14:
        return Etablissement.siret == siret
    return Etablissement.siret.startswith(siret, autoescape=True)


class VueComptes(ExportSur, VueModeleAgent):
    """What the three lists share: every role, pages without a count, an indexed search, and
    exports in CSV and XLSX (``backoffice.exports.ExportSur``: every cell neutralised against
    formula injection, at most ``EXPORT_MAX_LIGNES`` rows, through the agent's scope)."""

    roles_autorises = TOUS_LES_ROLES
    simple_list_pager = True
    column_display_actions = True
    texte_recherche = ""

    # The lists read newest first, on ``created_at`` (``id`` breaks ties), « Créé le » sorts on
    # it: its index (``ix_<table>_created``, migration 0010) then also serves the date filters
    # in the list's order. (Ordered by ``id``, a filter on an old week made PostgreSQL walk the
    # primary key from the newest row: it cannot know that ids follow the dates; 0.6 s at
    # 1,000,000 rows, bench/README.md.) Not in ``column_sortable_list``: mapped here.
    tri_creation: ClassVar[str | None] = "created_at"
    column_default_sort: ClassVar[list] = [("created_at", True), ("id", True)]

    def search_placeholder(self) -> str:
        return self.texte_recherche

    def get_sortable_columns(self):
        colonnes = super().get_sortable_columns()
        if self.tri_creation is not None:
            colonnes["created_at"] = getattr(self.model, self.tri_creation)
        return colonnes

    def _get_filter_groups(self):
        groupes = super()._get_filter_groups()
        for elements in (groupes or {}).values():
            for element in elements:
                if isinstance(self._filters[element["index"]], FiltreDepartement):
                    element["options"] = FiltreDepartement.options_de(self.agent)
        return groupes

    def condition_recherche(self, terme: str) -> ColumnElement[bool] | None:
        raise NotImplementedError

    def _apply_search(self, query, count_query, joins, count_joins, search):
        """The view's own search (``condition_recherche``) instead of Flask-Admin's
        ``ILIKE '%term%'`` on every column, which no index serves."""
        condition = self.condition_recherche(" ".join(search.split()))
        if condition is not None:
            query = query.filter(condition)
            if count_query is not None:
                count_query = count_query.filter(condition)
        return query, count_query, joins, count_joins

    def fiche_ou_404(self, id: int):
        """The row ``id`` within the agent's scope, else 404 (another département's row does
        not exist for an Agent UD)."""
        ligne = self.get_one(str(id))
        if ligne is None:
            abort(404)
        return ligne

    def retour(self, defaut: str):
        """Back to the page that posted (a back-office path only), else ``defaut``."""
        return redirect(suivant_valide(request.form.get("retour")) or defaut, 303)


# --- the journal, as the fiches show it --------------------------------------------------------

OPERATIONS = {
    "demander_compte": "Demande de création de compte déposée",
    "valider_demande_compte": "Demande de création de compte validée",
    "valider_demande_compte_auto": "Demande de création de compte validée automatiquement",
    "rejeter_demande_compte": "Demande de création de compte rejetée",
    "creer_etablissement": "Établissement créé",
    "modifier_etablissement": "Fiche de l'établissement modifiée",
    "changer_referent": "Personne référente changée",
    "creer_habilitation": "Habilitation créée",
    "ajouter_utilisateur": "Utilisateur ajouté",
    "retirer_utilisateur": "Accès retiré",
    "creer_utilisateur": "Identité créée",
    "renvoyer_identifiant": "Identifiant renvoyé",
    "envoyer_lien_mot_de_passe": "Lien pour choisir le mot de passe envoyé",
    "debloquer_connexion": "Connexion débloquée",
    "desactiver_utilisateur": "Identité désactivée",
    "reactiver_utilisateur": "Identité réactivée",
    "choisir_mot_de_passe": "Mot de passe choisi",
    "changer_mot_de_passe": "Mot de passe changé",
    "changer_question_secrete": "Question secrète changée",
}
ACTEURS = {"agent": "Agent", "usager": "Usager", "systeme": "Système"}
CLES_DETAILS = {
    "siret": "SIRET",
    "role": "Rôle",
    "utilisateur": "Utilisateur",
    "identifiant": "Identifiant",
    "ancien_referent": "Ancienne personne référente",
    "nouveau_referent": "Nouvelle personne référente",
    "motif": "Motif",
    "expiration": "Valable jusqu'au",
    "etait_bloquee": "Était bloquée",
    "referent_de": "Référente de",
    "liens_annules": "Liens précédents annulés",
    "par": "Depuis",
}


def _texte(valeur: Any) -> str:
    if valeur is None or valeur == "":
        return "—"
    if isinstance(valeur, bool):
        return "oui" if valeur else "non"
    if isinstance(valeur, list):
        return ", ".join(_texte(v) for v in valeur) or "—"
    if isinstance(valeur, str) and valeur in {r.value for r in Role}:
        return Role(valeur).label
    return str(valeur)


def lignes_details(details: dict | None) -> list[str]:
    """A journal row's details as French lines (the modifications one per field)."""
    lignes = []
    for cle, valeur in (details or {}).items():
        if cle == "modifications" and isinstance(valeur, dict):
            for champ, changement in valeur.items():
                if isinstance(changement, list) and len(changement) == 2:
                    lignes.append(f"{champ} : {_texte(changement[0])} → {_texte(changement[1])}")
                else:
                    lignes.append(f"{champ} : {_texte(changement)}")
            continue
        if cle == "expiration" and isinstance(valeur, str):
            try:
                valeur = date_heure(datetime.fromisoformat(valeur))
            except ValueError:
                pass
        lignes.append(f"{CLES_DETAILS.get(cle, cle)} : {_texte(valeur)}")
    return lignes


def evenements(conditions: Iterable[ColumnElement[bool]], limite: int = HISTORIQUE_LIGNES):
    """The journal rows matching any of ``conditions``, newest first, at most ``limite``
    (plus one, to tell the page there are more)."""
    conditions = list(conditions)
    if not conditions:
        return []
    return db.session.scalars(
        select(AuditEvent)
        .where(or_(*conditions))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(limite + 1)
    ).all()


def sur_objets(object_type: str, ids: Iterable[Any]) -> ColumnElement[bool] | None:
    """Journal rows of these objects: served by the index ``(object_type, object_id)``."""
    cles = sorted({str(i) for i in ids})
    if not cles:
        return None
    if len(cles) == 1:
        return and_(AuditEvent.object_type == object_type, AuditEvent.object_id == cles[0])
    return and_(AuditEvent.object_type == object_type, AuditEvent.object_id.in_(cles))


def historique_etablissement(etablissement: Etablissement, limite: int = HISTORIQUE_LIGNES):
    """The establishment's history: its own rows, the rows of its habilitations (the journal
    puts its SIRET in their details; a habilitation never changes establishment, so its id is
    the indexed way to find them) and those of the account requests filed for its SIRET."""
    habilitations = db.session.scalars(
        select(Habilitation.id).where(Habilitation.etablissement_id == etablissement.id)
    ).all()
    demandes = db.session.scalars(
        select(DemandeCompte.id).where(DemandeCompte.siret == etablissement.siret)
    ).all()
    conditions = [
        sur_objets("etablissement", [etablissement.id]),
        sur_objets("habilitation", habilitations),
        sur_objets("demande_compte", demandes),
    ]
    return evenements([c for c in conditions if c is not None], limite)


def presenter(
    evenements_: list[AuditEvent],
    limite: int = HISTORIQUE_LIGNES,
    masquer: Callable[[dict], dict] | None = None,
) -> dict:
    """What the history table of a fiche needs; ``masquer`` rewrites the details shown."""
    return {
        "lignes": [
            {
                "quand": date_heure(e.occurred_at),
                "operation": OPERATIONS.get(e.operation, e.operation),
                "code": e.operation,
                "acteur": f"{ACTEURS.get(e.actor_type, e.actor_type)} · {e.actor or '—'}",
                "de": e.state_from,
                "vers": e.state_to,
                "details": lignes_details(masquer(dict(e.details or {})) if masquer else e.details),
            }
            for e in evenements_[:limite]
        ],
        "tronque": len(evenements_) > limite,
        "limite": limite,
    }


# --- « Établissements » ------------------------------------------------------------------------


def _lien_siret(view, context, model, name) -> Markup:
    return Markup('<a href="{}">{}</a>').format(
        url_for("bo_etablissements.fiche", id=model.id), model.siret
    )


class VueEtablissements(VueComptes):
    """The establishments; the fiche with its users and history; « Réaffecter le référent »."""

    nom_export = "etablissements"
    column_list = ("siret", "denomination", "code_postal", "ville", "departement", "created_at")
    column_labels: ClassVar[dict[str, str]] = {
        "siret": "SIRET",
        "denomination": "Dénomination",
        "numero_voie": "N°",
        "extension_voie": "Extension",
        "type_voie": "Type de voie",
        "libelle_voie": "Voie",
        "complement_adresse": "Complément d'adresse",
        "code_postal": "Code postal",
        "ville": "Ville",
        "departement": "Département",
        "courriel": "Courriel",
        "telephone": "Téléphone",
        "fax": "Fax",
        "created_at": "Créé le",
    }
    column_formatters: ClassVar[dict] = {"siret": _lien_siret, "created_at": _date_colonne}
    column_sortable_list = ("siret", "denomination", "departement")
    column_searchable_list = ("siret", "denomination")
    texte_recherche = "SIRET (ou son début), dénomination"
    column_filters = (
        FiltreDepartement(Etablissement.departement),
        FiltreEgal(Etablissement.siret, "SIRET"),
        FiltreDateDepuis(Etablissement.created_at, "Créé"),
        FiltreDateJusqua(Etablissement.created_at, "Créé"),
    )
    column_extra_row_actions: ClassVar[list] = [
        EndpointLinkRowAction("fa fa-eye", ".fiche", title="Voir la fiche")
    ]
    column_export_list = (
        "siret",
        "denomination",
        "numero_voie",
        "extension_voie",
        "type_voie",
        "libelle_voie",
        "complement_adresse",
        "code_postal",
        "ville",
        "departement",
        "courriel",
        "telephone",
        "fax",
        "created_at",
    )
    column_formatters_export: ClassVar[dict] = {
        "created_at": lambda v, c, m, n: date_heure(m.created_at)
    }

    def filtrer_portee(self, query, agent):
        condition = portee_restreinte(agent, Etablissement.departement)
        return query if condition is None else query.filter(condition)

    def condition_recherche(self, terme):
        siret = condition_siret(terme)
        if siret is not None:
            return siret
        return and_(
            *(Etablissement.denomination.icontains(mot, autoescape=True) for mot in mots(terme))
        )

    # -- the fiche ------------------------------------------------------------------------------

    def _page(self, etablissement: Etablissement, formulaire=None, statut: int = 200):
        habilitations = db.session.scalars(
            select(Habilitation)
            .options(selectinload(Habilitation.utilisateur))
            .where(Habilitation.etablissement_id == etablissement.id)
            .order_by(Habilitation.actif.desc(), Habilitation.id)
        ).all()
        habilitations = sorted(habilitations, key=lambda h: (not h.actif, h.role != Role.REFERENT))
        referent = next((h for h in habilitations if h.actif and h.role == Role.REFERENT), None)
        candidats = [h for h in habilitations if h.actif and h is not referent]
        definition = current_app.extensions["forms"][FORMULAIRE_PERSONNE]
        if formulaire is None:
            formulaire = engine.new_form(definition)
        page = self.render(
            "backoffice/etablissements/fiche.html",
            etablissement=etablissement,
            habilitations=habilitations,
            referent=referent,
            candidats=candidats,
            formulaire=formulaire,
            resume=engine.summary(formulaire) if statut != 200 else [],
            historique=presenter(historique_etablissement(etablissement)),
            date_heure=date_heure,
        )
        return page, statut

    @expose("/<int:id>/")
    def fiche(self, id: int):
        return self._page(self.fiche_ou_404(id))

    @expose("/<int:id>/referent", methods=("POST",))
    def referent(self, id: int):
        """« Réaffecter le référent » to a user already habilitated on the establishment."""
        etablissement = self.fiche_ou_404(id)
        habilitation_id = request.form.get("habilitation_id", type=int)
        if habilitation_id is None:
            flash("Choisissez la nouvelle personne référente dans la liste.", "danger")
            return redirect(url_for(".fiche", id=id), 303)
        try:
            nouvelle = etablissements.changer_referent(
                etablissement.id, habilitation_id, acteur(self.agent)
            )
        except CompteError as refus:
            db.session.rollback()
            flash(str(refus), "danger")
        else:
            flash(
                f"{nouvelle.utilisateur.prenom} {nouvelle.utilisateur.nom} est désormais la "
                "personne référente ; l'ancienne et la nouvelle en sont informées par courriel.",
                "success",
            )
        return redirect(url_for(".fiche", id=id), 303)

    @expose("/<int:id>/referent/nouveau", methods=("POST",))
    def referent_nouveau(self, id: int):
        """« Réaffecter le référent » to a person who gets access on the spot."""
        etablissement = self.fiche_ou_404(id)
        definition = current_app.extensions["forms"][FORMULAIRE_PERSONNE]
        resultat = engine.submit(definition, request.form)
        if not resultat.valid:
            return self._page(etablissement, resultat.form, 422)
        try:
            habilitation, nouveau = agents_identites.reaffecter_referent_nouvelle_personne(
                etablissement.id, resultat.document["utilisateur"], acteur(self.agent)
            )
        except agents_identites.ReferentNonChange as refus:
            flash(str(refus), "warning")
            return redirect(url_for(".fiche", id=id), 303)
        except CompteError as refus:
            db.session.rollback()
            resultat.form.form_errors.append(str(refus))
            return self._page(etablissement, resultat.form, 422)
        personne = f"{habilitation.utilisateur.prenom} {habilitation.utilisateur.nom}"
        flash(
            f"{personne} est désormais la personne référente"
            + (
                " : son identité a été créée, elle reçoit son identifiant puis un lien pour "
                "choisir son mot de passe."
                if nouveau
                else " : son identité existante a été rattachée à l'établissement."
            )
            + " L'ancienne et la nouvelle personne référente en sont informées par courriel.",
            "success",
        )
        return redirect(url_for(".fiche", id=id), 303)


def init_admin(admin) -> None:
    from backoffice.vues.habilitations import VueHabilitations
    from backoffice.vues.utilisateurs import VueUtilisateurs

    categorie = "Comptes"
    admin.add_view(
        VueEtablissements(
            Etablissement,
            db,
            name="Établissements",
            endpoint="bo_etablissements",
            url="etablissements",
            category=categorie,
        )
    )
    admin.add_view(
        VueUtilisateurs(
            Utilisateur,
            db,
            name="Utilisateurs",
            endpoint="bo_utilisateurs",
            url="utilisateurs",
            category=categorie,
        )
    )
    admin.add_view(
        VueHabilitations(
            Habilitation,
            db,
            name="Habilitations",
            endpoint="bo_habilitations",
            url="habilitations",
            category=categorie,
        )
    )
