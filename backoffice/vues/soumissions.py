"""« Soumissions »: what the public filed through the standalone forms (``/formulaires/<id>``).

For the Agent ASP and the Administrateur; an Agent UD gets 403 (a submission has no
département to scope it by).

URLs (under ``/backoffice/soumissions/``):

- ``/`` the list, newest first. Filters: formulaire (the standalone definitions), état
  (« Reçue », « Traitée »), date of filing (between, from, until). Search: a reference
  (``ABCD-EFGH-JKMN``, dashes optional: the unique index of ``reference``), otherwise every
  word must appear in the answers (``Submission.texte``: lower case without accents, trigram
  GIN on PostgreSQL).
- ``/details/?id=N`` one submission: every answer with the labels of the version it was filed
  with (``forms.libelles``; when the registry no longer knows that version, the current
  version's labels with the note « libellés de la version actuelle »), its attachments, its
  history from the journal with the acknowledgement mail's state.
- ``/<id>/traiter``, ``/<id>/rouvrir``: POST + CSRF, through ``workflows.formulaires``.
- ``/<id>/piece-jointe/<jeton>``: an attachment the submission's document holds.
- ``/export/csv/``, ``/export/xlsx/``: the list as filtered and searched, neutralised against
  formula injection (``backoffice.exports``). Filtered on one form, one column per property
  across every version of the form (``colonnes_des_versions``: the union of the property paths
  of ``registry.versions(form_id)``, each titled by the newest version that has it; answers
  the known versions do not define go to « Autres réponses »); otherwise one « Réponses »
  column sums each submission up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from flask import abort, current_app, flash, g, redirect, request, send_file
from flask_admin import expose
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_admin.helpers import get_redirect_target
from markupsafe import Markup
from sqlalchemy import and_, func, literal_column, select

from backoffice.agents import acteur
from backoffice.exports import ExportSur, neutraliser
from backoffice.securite import VueModeleAgent, suivant_valide
from backoffice.vues.demandes import (
    PLAFOND_COMPTE,
    Filtre,
    FiltreDepotDepuis,
    FiltreDepotEntre,
    FiltreDepotJusquAu,
    FiltreEtat,
    _date,
    estimation,
)
from backoffice.vues.tableau_de_bord import Tuile
from extensions import db
from forms import uploads
from forms.libelles import (
    Chemin,
    Libelles,
    libelles_de,
    libelles_definition,
    sections_de,
    valeurs_au_chemin,
)
from models.agents import Agent, RoleAgent
from models.audit import AuditEvent
from models.notification import Notification
from models.submission import Submission, SubmissionState, normaliser_recherche
from workflows import formulaires as operations

ROLES = frozenset({RoleAgent.ASP, RoleAgent.ADMINISTRATEUR})
PREFIXE_REPONSE = "reponse:"
AUTRES = "autres_reponses"
REPONSES = "reponses"
LOT_EXPORT = 500  # rows whose attachments are read together
SEPARATEUR_VALEURS = " | "  # the answers of the items of a repeated group, in one cell
REFERENCE_ALPHABET = set("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")

OPERATIONS = {
    "deposer_soumission": "Soumission déposée",
    "marquer_soumission_traitee": "Marquée comme traitée",
    "rouvrir_soumission": "Rouverte",
}
BADGES = {SubmissionState.RECUE: "badge-warning", SubmissionState.TRAITEE: "badge-success"}


# --- the columns of an export: one per property across the versions of a form ----------------


def colonnes_des_versions(definitions) -> list[tuple[Chemin, str]]:
    """``(path, title)`` of every leaf property of ``definitions`` (the versions of one form,
    oldest first): each path once, titled by the newest version that has it; in the newest
    version's order, then the paths only older versions have (newest first). Two paths with
    the same title get their technical name after it."""
    colonnes: dict[Chemin, str] = {}
    for definition in reversed(list(definitions)):
        libelles = libelles_definition(definition)
        for chemin in libelles.feuilles:
            if chemin not in colonnes:
                colonnes[chemin] = libelles.titre_complet(chemin)
    vus: dict[str, int] = {}
    for titre in colonnes.values():
        vus[titre] = vus.get(titre, 0) + 1
    return [
        (chemin, titre if vus[titre] == 1 else f"{titre} ({'.'.join(chemin)})")
        for chemin, titre in colonnes.items()
    ]


def colonnes_du_formulaire(form_id: str) -> list[tuple[Chemin, str]]:
    """``colonnes_des_versions`` of every version the registry knows, once per request."""
    cache = g.setdefault("soumissions_colonnes", {})
    if form_id not in cache:
        cache[form_id] = colonnes_des_versions(current_app.extensions["forms"].versions(form_id))
    return cache[form_id]


def chemins_du_document(data: Any, prefixe: Chemin = ()) -> list[Chemin]:
    """The leaf paths of a document (the items of an array of objects share their path)."""
    chemins: list[Chemin] = []
    if isinstance(data, Mapping):
        for nom, valeur in data.items():
            chemin = (*prefixe, nom)
            if isinstance(valeur, Mapping) or (
                isinstance(valeur, list) and any(isinstance(v, Mapping) for v in valeur)
            ):
                elements = valeur if isinstance(valeur, list) else [valeur]
                for element in elements:
                    for sous in chemins_du_document(element, chemin):
                        if sous not in chemins:
                            chemins.append(sous)
            else:
                chemins.append(chemin)
    return chemins


def _libelles(form_id: str, version: int) -> Libelles:
    """The labels of a version, once per request (an export reads thousands of rows)."""
    cache = g.setdefault("soumissions_libelles", {})
    cle = (form_id, version)
    if cle not in cache:
        cache[cle] = libelles_de(form_id, version, repli=True)
    return cache[cle]


def valeur_cellule(submission: Submission, chemin: Chemin) -> Any:
    """The answer of ``submission`` at ``chemin`` as the form showed it (labels of its own
    version); a number stays a number, the items of a repeated group are joined."""
    libelles = _libelles(submission.form_id, submission.form_version)
    valeurs = valeurs_au_chemin(submission.data or {}, chemin)
    if not valeurs:
        return ""
    if libelles.est_fichier(chemin):
        noms = []
        connus = g.get("soumissions_fichiers", {})  # read for a batch of exported rows
        for jeton in valeurs:
            if isinstance(jeton, str) and jeton in connus:
                nom = connus[jeton]
            else:
                fichier = uploads.find(jeton) if isinstance(jeton, str) else None
                nom = fichier.filename if fichier is not None else None
            noms.append(nom if nom is not None else str(jeton))
        return SEPARATEUR_VALEURS.join(noms)
    if (
        len(valeurs) == 1
        and isinstance(valeurs[0], int | float)
        and not isinstance(valeurs[0], bool)
        and chemin not in libelles.choix
    ):
        return valeurs[0]
    return SEPARATEUR_VALEURS.join(libelles.valeur(chemin, v) for v in valeurs)


def lire_fichiers(submissions: list[Submission]) -> None:
    """Read the names of the attachments of ``submissions`` in one query, for
    ``valeur_cellule`` (the previous batch's are forgotten: memory stays bounded)."""
    jetons = set()
    for submission in submissions:
        libelles = _libelles(submission.form_id, submission.form_version)
        for chemin in chemins_du_document(submission.data or {}):
            if libelles.est_fichier(chemin):
                jetons.update(
                    v for v in valeurs_au_chemin(submission.data, chemin) if isinstance(v, str)
                )
    g.soumissions_fichiers = {jeton: None for jeton in jetons} | uploads.noms(jetons)


def resume(submission: Submission, exclus: set[Chemin] | frozenset = frozenset()) -> str:
    """« Label : value » lines of the answers not in ``exclus`` (labels of its version)."""
    libelles = _libelles(submission.form_id, submission.form_version)
    lignes = []
    for chemin in chemins_du_document(submission.data or {}):
        if chemin in exclus:
            continue
        valeur = valeur_cellule(submission, chemin)
        lignes.append(f"{libelles.titre_complet(chemin)} : {valeur}")
    return "\n".join(lignes)


# --- filters ----------------------------------------------------------------------------------


def _definition(form_id: str):
    return current_app.extensions["forms"].get(form_id)


def formulaires_autonomes() -> list[tuple[str, str]]:
    """(id, title) of every standalone definition, for the « Formulaire » filter."""
    return [(d.id, d.title) for d in current_app.extensions["forms"].standalone()]


class FiltreFormulaire(Filtre):
    cle_url = "formulaire"
    nom_operation = "est"

    def __init__(self) -> None:
        super().__init__(Submission.form_id, "Formulaire", options=formulaires_autonomes)

    def get_options(self, view):
        try:
            return formulaires_autonomes()
        except (RuntimeError, KeyError):  # no application or registry yet (start-up cache)
            return []

    def validate(self, value: str) -> bool:
        return 0 < len(value) <= 100

    def apply(self, query, value, alias=None):
        return query.filter(self.get_column(alias) == value)


class FiltreDateEntre(FiltreDepotEntre):
    def __init__(self) -> None:
        BaseSQLAFilter.__init__(
            self, Submission.created_at, "Date de dépôt", data_type="daterangepicker"
        )


class FiltreDateDepuis(FiltreDepotDepuis):
    def __init__(self) -> None:
        BaseSQLAFilter.__init__(
            self, Submission.created_at, "Date de dépôt", data_type="datepicker"
        )


class FiltreDateJusquAu(FiltreDepotJusquAu):
    def __init__(self) -> None:
        BaseSQLAFilter.__init__(
            self, Submission.created_at, "Date de dépôt", data_type="datepicker"
        )


# --- search -----------------------------------------------------------------------------------


def reference_cherchee(texte: str) -> str | None:
    """``ABCD-EFGH-JKMN`` when ``texte`` is a reference (any case, dashes and spaces optional)."""
    compact = "".join(c for c in texte.upper() if c not in " -")
    if len(compact) != 12 or not set(compact) <= REFERENCE_ALPHABET:
        return None
    return "-".join(compact[i : i + 4] for i in (0, 4, 8))


def condition_recherche(texte: str | None):
    """A reference → equality on ``reference``; otherwise every word (case and accents
    aside) must appear in the answers."""
    texte = (texte or "").strip()
    if not texte:
        return None
    reference = reference_cherchee(texte)
    if reference is not None:
        return Submission.reference == reference
    conditions = []
    for mot in normaliser_recherche(texte).split():
        echappe = mot.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(Submission.texte.like(f"%{echappe}%", escape="\\"))
    return and_(*conditions)


# --- column formatters ------------------------------------------------------------------------


def _f_reference(view, context, model, name):
    retour = context.get("return_url") if context is not None else None
    lien = view.get_url(".details_view", id=model.id, url=retour)
    return Markup('<a href="{}">{}</a>').format(lien, model.reference)


def _titre_formulaire(form_id: str) -> str:
    definition = _definition(form_id)
    return definition.title if definition is not None else form_id


def _f_formulaire(view, context, model, name):
    return _titre_formulaire(model.form_id)


def _f_etat(view, context, model, name):
    etat = SubmissionState(model.state)
    return Markup('<span class="badge {}">{}</span>').format(BADGES[etat], etat.label)


def _f_date(view, context, model, name):
    return _date(getattr(model, name))


def _e_date(view, context, model, name):
    return _date(getattr(model, name), "")


def _e_etat(view, context, model, name):
    return SubmissionState(model.state).label


# --- the view ---------------------------------------------------------------------------------


class VueSoumissions(ExportSur, VueModeleAgent):
    roles_autorises = ROLES
    list_template = "backoffice/soumissions/liste.html"
    details_template = "backoffice/soumissions/detail.html"
    can_view_details = True
    nom_export = "soumissions"

    column_list = ("reference", "created_at", "form_id", "form_version", "state")
    column_export_list = ("reference", "created_at", "form_id", "form_version", "state")
    column_labels: ClassVar[dict[str, str]] = {
        "reference": "Référence",
        "created_at": "Déposée le",
        "form_id": "Formulaire",
        "form_version": "Version",
        "state": "État",
    }
    column_formatters: ClassVar[dict] = {
        "reference": _f_reference,
        "created_at": _f_date,
        "form_id": _f_formulaire,
        "state": _f_etat,
    }
    column_formatters_export: ClassVar[dict] = {
        "created_at": _e_date,
        "form_id": lambda v, c, m, n: _titre_formulaire(m.form_id),
        "state": _e_etat,
    }
    column_sortable_list = ("created_at",)
    column_default_sort: ClassVar[list] = [("created_at", True), ("id", True)]  # newest first
    column_searchable_list = ("reference",)
    column_filters = (
        FiltreFormulaire(),
        FiltreEtat(Submission.state, SubmissionState),
        FiltreDateEntre(),
        FiltreDateDepuis(),
        FiltreDateJusquAu(),
    )

    # -- filters and search ------------------------------------------------------------------

    def get_filter_arg(self, index: int, flt) -> str:
        return getattr(flt, "cle_url", None) or super().get_filter_arg(index, flt)

    def _get_filter_groups(self):
        """The « Formulaire » options are the definitions of now (a form published after
        start-up is offered), not those of Flask-Admin's start-up cache."""
        groupes = super()._get_filter_groups()
        for filtres in (groupes or {}).values():
            for filtre in filtres:
                if filtre["arg"] == FiltreFormulaire.cle_url:
                    filtre["options"] = formulaires_autonomes()
        return groupes

    def search_placeholder(self) -> str:
        return "Référence ou mots des réponses"

    def _apply_search(self, query, count_query, joins, count_joins, search):
        condition = condition_recherche(search)
        if condition is not None:
            query = query.filter(condition)
            if count_query is not None:
                count_query = count_query.filter(condition)
        return query, count_query, joins, count_joins

    def get_empty_list_message(self) -> str:
        if request.args.get("search"):
            return "Aucune soumission ne correspond à cette recherche."
        return "Aucune soumission ne correspond."

    def formulaire_filtre(self) -> str | None:
        """The form the list is filtered on, when exactly one is chosen."""
        cle = f"_{FiltreFormulaire.cle_url}"
        valeurs = {
            valeur
            for arg, valeur in request.args.items()
            if arg.startswith("flt") and arg.endswith(cle)
        }
        return valeurs.pop() if len(valeurs) == 1 else None

    # -- exports -------------------------------------------------------------------------------

    @property
    def _export_columns(self):
        """The export's columns, per request (they depend on the form filtered on)."""
        base = list(getattr(self, "_colonnes_base", None) or [])
        try:
            form_id = self.formulaire_filtre()
        except RuntimeError:  # outside a request
            return base
        if form_id is None:
            return [*base, (REPONSES, "Réponses")]
        colonnes = [
            (PREFIXE_REPONSE + ".".join(chemin), neutraliser(titre))
            for chemin, titre in colonnes_du_formulaire(form_id)
        ]
        return [*base, *colonnes, (AUTRES, "Autres réponses")]

    @_export_columns.setter
    def _export_columns(self, colonnes) -> None:
        self._colonnes_base = colonnes

    def lignes_export(self, requete):
        """The rows by batches of ``LOT_EXPORT``, the names of each batch's attachments read
        in one query before its rows are written (not one query per row and file column)."""
        lot: list[Submission] = []
        for submission in super().lignes_export(requete):
            lot.append(submission)
            if len(lot) == LOT_EXPORT:
                lire_fichiers(lot)
                yield from lot
                lot = []
        lire_fichiers(lot)
        yield from lot

    def get_export_value(self, model, name):
        if name.startswith(PREFIXE_REPONSE):
            chemin = tuple(name[len(PREFIXE_REPONSE) :].split("."))
            return neutraliser(valeur_cellule(model, chemin))
        if name == REPONSES:
            return neutraliser(resume(model))
        if name == AUTRES:
            connus = {chemin for chemin, _ in colonnes_du_formulaire(model.form_id)}
            return neutraliser(resume(model, connus))
        return super().get_export_value(model, name)

    # -- one submission ------------------------------------------------------------------------

    def soumission_ou_404(self, submission_id) -> Submission:
        submission = self.get_one(str(submission_id)) if submission_id is not None else None
        if submission is None:
            abort(404)
        return submission

    def url_retour(self) -> str:
        return suivant_valide(get_redirect_target()) or self.get_url(".index_view")

    def page_soumission(self, submission: Submission):
        libelles = libelles_de(submission.form_id, submission.form_version, repli=True)
        historique = db.session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.object_type == operations.OBJECT_TYPE,
                AuditEvent.object_id == str(submission.id),
            )
            .order_by(AuditEvent.occurred_at, AuditEvent.id)
        ).all()
        accuse = db.session.scalar(
            select(Notification).where(
                Notification.idempotency_key == f"soumission-recue-{submission.id}"
            )
        )
        sections = sections_de(submission.data or {}, libelles)
        fichiers = {
            ligne.jeton: uploads.find(ligne.jeton)
            for section in sections
            for ligne in section.lignes
            if ligne.jeton
        }
        return self.render(
            self.details_template,
            soumission=submission,
            etat=SubmissionState(submission.state),
            libelles=libelles,
            sections=sections,
            fichiers=fichiers,
            historique=historique,
            operations=OPERATIONS,
            etats={s.value: s.label for s in SubmissionState},
            accuse=accuse,
            date=_date,
            taille=uploads.human_size,
            return_url=self.url_retour(),
        )

    @expose("/details/")
    def details_view(self):
        return self.page_soumission(self.soumission_ou_404(request.args.get("id")))

    def _apres_action(self, submission: Submission):
        return redirect(self.get_url(".details_view", id=submission.id, url=self.url_retour()), 303)

    @expose("/recues/")
    def recues(self):
        """The submissions « reçue » (the dashboard tile's link)."""
        return redirect(self.get_url(".index_view", **{f"flt0_{FiltreEtat.cle_url}": "recue"}))

    def _transition(self, submission_id: int, operation, message: str):
        """A state button: the operation, its refusal as a warning, back to the detail."""
        submission = self.soumission_ou_404(submission_id)
        try:
            operation(submission.id, acteur(self.agent))
        except operations.TransitionInterdite as refus:
            db.session.rollback()
            flash(str(refus), "warning")
        else:
            flash(message.format(submission.reference), "success")
        return self._apres_action(submission)

    @expose("/<int:submission_id>/traiter", methods=("POST",))
    def traiter(self, submission_id: int):
        return self._transition(
            submission_id, operations.marquer_traitee, "Soumission {} marquée comme traitée."
        )

    @expose("/<int:submission_id>/rouvrir", methods=("POST",))
    def rouvrir(self, submission_id: int):
        return self._transition(
            submission_id,
            operations.rouvrir,
            "Soumission {} rouverte : elle est de nouveau reçue.",
        )

    @expose("/<int:submission_id>/piece-jointe/<jeton>")
    def piece_jointe(self, submission_id: int, jeton: str):
        """An attachment of the submission (only a token its document holds), as a download."""
        submission = self.soumission_ou_404(submission_id)
        libelles = libelles_de(submission.form_id, submission.form_version, repli=True)
        jetons = {
            ligne.jeton
            for section in sections_de(submission.data or {}, libelles)
            for ligne in section.lignes
            if ligne.jeton
        }
        fichier = uploads.find(jeton) if jeton in jetons else None
        if fichier is None or not uploads.path_of(fichier).is_file():
            abort(404)
        return send_file(
            uploads.path_of(fichier),
            mimetype=fichier.content_type,
            as_attachment=True,
            download_name=fichier.filename,
            max_age=0,
        )


# --- dashboard --------------------------------------------------------------------------------


def compter_recues(agent: Agent) -> int:
    """Submissions « reçue »: exact up to ``PLAFOND_COMPTE``, PostgreSQL's estimate beyond
    (the (state, created_at) index answers both)."""
    requete = (
        select(literal_column("1"))
        .select_from(Submission)
        .where(Submission.state == SubmissionState.RECUE)
    )
    nombre = db.session.scalar(
        select(func.count()).select_from(requete.limit(PLAFOND_COMPTE + 1).subquery())
    )
    if nombre <= PLAFOND_COMPTE:
        return nombre
    if db.engine.dialect.name != "postgresql":
        return db.session.scalar(select(func.count()).select_from(requete.subquery()))
    return max(PLAFOND_COMPTE + 1, round(estimation(requete), -3))


def init_admin(admin) -> None:
    admin.add_view(VueSoumissions(Submission, db, name="Soumissions", endpoint="soumissions"))
    admin.index_view.ajouter_tuile(
        Tuile(
            "Soumissions reçues",
            compter_recues,
            endpoint="soumissions.recues",
            roles=ROLES,
            ordre=40,
            description="Réponses aux formulaires autonomes, pas encore marquées comme traitées.",
        )
    )
