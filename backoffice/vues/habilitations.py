"""« Habilitations »: who has access to which establishment, with which role; « Désactiver »
ends an access (one by one from a row or a fiche, or in bulk) through
``workflows.etablissements.retirer_utilisateur``, which journals it and tells the person. The
référent's habilitation is refused: another référent must be designated first.

Scope of an Agent UD: the habilitations of the establishments of its départements. The list
joins nothing: scope, filters and search are ``IN (subquery)`` conditions on the habilitation's
own foreign keys, and the identity and establishment of the page's rows are loaded in two
queries (``selectinload``).
"""

from __future__ import annotations

from typing import ClassVar

from flask import flash, redirect, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.model.template import BaseListRowAction
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload

from backoffice.vues.etablissements import (
    FiltreDateDepuis,
    FiltreDateJusqua,
    FiltreDepartement,
    FiltreEgal,
    FiltreOuiNon,
    VueComptes,
    acteur,
    condition_siret,
    date_heure,
    mots,
    portee_restreinte,
)
from extensions import db
from models.comptes import Etablissement, Habilitation, Role, Utilisateur
from workflows import etablissements
from workflows.comptes import CompteError

CONFIRMATION = (
    "Désactiver cette habilitation ? La personne n'aura plus accès à l'établissement et en "
    "sera informée par courriel."
)


def _utilisateur(view, context, model, name) -> Markup:
    u = model.utilisateur
    return Markup('<a href="{}">{}</a> <span class="text-muted">{} {}</span>').format(
        url_for("bo_utilisateurs.fiche", id=u.id), u.identifiant, u.prenom, u.nom
    )


def _etablissement(view, context, model, name) -> Markup:
    e = model.etablissement
    return Markup('<a href="{}">{}</a> <span class="text-muted">{}</span>').format(
        url_for("bo_etablissements.fiche", id=e.id), e.siret, e.denomination
    )


def _role(view, context, model, name) -> str:
    return "Référent" if model.role == Role.REFERENT else "Utilisateur"


def _etat(view, context, model, name) -> str:
    return "Active" if model.actif else "Retirée"


class DesactiverLigne(BaseListRowAction):
    """A POST button (CSRF token included) on the rows that can be deactivated."""

    def render(self, context, row_id, row):
        if not row.actif or row.role == Role.REFERENT:
            return ""
        return Markup(
            '<form class="icon" method="post" action="{}">'
            '<input type="hidden" name="csrf_token" value="{}">'
            '<button type="submit" class="btn btn-link p-0" title="Désactiver" '
            'data-confirmer="{}"><span class="fa fa-ban" aria-hidden="true"></span>'
            '<span class="sr-only">Désactiver</span></button></form>'
        ).format(url_for("bo_habilitations.desactiver", id=row.id), generate_csrf(), CONFIRMATION)


def _sur_etablissements(condition):
    return Habilitation.etablissement_id.in_(select(Etablissement.id).where(condition))


def _sur_utilisateurs(condition):
    return Habilitation.utilisateur_id.in_(select(Utilisateur.id).where(condition))


class FiltreDepartementHabilitation(FiltreDepartement):
    def apply(self, query, value, alias=None):
        return query.filter(_sur_etablissements(Etablissement.departement == value))


class FiltreSiretHabilitation(FiltreEgal):
    def apply(self, query, value, alias=None):
        return query.filter(_sur_etablissements(Etablissement.siret == "".join(value.split())))


class FiltreIdentifiantHabilitation(FiltreEgal):
    def apply(self, query, value, alias=None):
        return query.filter(_sur_utilisateurs(Utilisateur.identifiant == value.strip().lower()))


class FiltreRole(FiltreEgal):
    def clean(self, value):
        return Role(value)  # ValueError: an unknown role in the URL is ignored, never a 500

    def apply(self, query, value, alias=None):
        return query.filter(Habilitation.role == value)


class VueHabilitations(VueComptes):
    nom_export = "habilitations"
    column_list = ("utilisateur", "etablissement", "role", "actif", "created_at", "created_by")
    column_labels: ClassVar[dict[str, str]] = {
        "utilisateur": "Utilisateur",
        "etablissement": "Établissement",
        "role": "Rôle",
        "actif": "État",
        "created_at": "Créée le",
        "created_by": "Créée par",
        "utilisateur.identifiant": "Identifiant",
        "utilisateur.nom": "Nom",
        "utilisateur.prenom": "Prénom",
        "utilisateur.courriel": "Courriel",
        "etablissement.siret": "SIRET",
        "etablissement.denomination": "Dénomination",
        "etablissement.departement": "Département",
    }
    column_formatters: ClassVar[dict] = {
        "utilisateur": _utilisateur,
        "etablissement": _etablissement,
        "role": _role,
        "actif": _etat,
        "created_at": lambda v, c, m, n: date_heure(m.created_at) or "—",
    }
    column_sortable_list = ("role", "actif")
    # Flask-Admin needs a list to offer the search box; ``condition_recherche`` does the work.
    column_searchable_list = ("utilisateur_id", "etablissement_id")
    texte_recherche = "SIRET (ou son début), identifiant ou nom (début)"
    column_filters = (
        FiltreOuiNon(Habilitation.actif, "Active"),
        FiltreRole(
            Habilitation.role,
            "Rôle",
            options=((Role.REFERENT.value, "Référent"), (Role.UTILISATEUR.value, "Utilisateur")),
        ),
        FiltreDepartementHabilitation(Habilitation.etablissement_id),
        FiltreSiretHabilitation(Habilitation.etablissement_id, "SIRET"),
        FiltreIdentifiantHabilitation(Habilitation.utilisateur_id, "Identifiant"),
        FiltreDateDepuis(Habilitation.created_at, "Créée"),
        FiltreDateJusqua(Habilitation.created_at, "Créée"),
    )
    column_extra_row_actions: ClassVar[list] = [DesactiverLigne(title="Désactiver")]
    column_export_list = (
        "utilisateur.identifiant",
        "utilisateur.nom",
        "utilisateur.prenom",
        "utilisateur.courriel",
        "etablissement.siret",
        "etablissement.denomination",
        "etablissement.departement",
        "role",
        "actif",
        "created_at",
        "created_by",
    )
    column_formatters_export: ClassVar[dict] = {
        "role": lambda v, c, m, n: m.role.label,
        "actif": lambda v, c, m, n: "Active" if m.actif else "Retirée",
        "created_at": lambda v, c, m, n: date_heure(m.created_at),
    }

    column_auto_select_related = False  # selectinload below, not Flask-Admin's joinedload

    def get_query(self):
        return (
            super()
            .get_query()
            .options(
                selectinload(Habilitation.utilisateur), selectinload(Habilitation.etablissement)
            )
        )

    def filtrer_portee(self, query, agent):
        condition = portee_restreinte(agent, Etablissement.departement)
        return query if condition is None else query.filter(_sur_etablissements(condition))

    def condition_recherche(self, terme):
        conditions = []
        for mot in mots(terme):
            siret = condition_siret(mot)
            if siret is not None:
                conditions.append(_sur_etablissements(siret))
                continue
            conditions.append(
                _sur_utilisateurs(
                    or_(
                        Utilisateur.identifiant.startswith(mot.lower(), autoescape=True),
                        func.lower(Utilisateur.nom).startswith(mot.lower(), autoescape=True),
                    )
                )
            )
        return and_(*conditions) if conditions else None

    def _desactiver(self, habilitation: Habilitation) -> str | None:
        """Deactivate one habilitation; the refusal's French message, or None."""
        try:
            etablissements.retirer_utilisateur(
                habilitation.etablissement_id, habilitation.id, acteur(self.agent)
            )
        except CompteError as refus:
            db.session.rollback()
            return str(refus)
        return None

    @expose("/<int:id>/desactiver", methods=("POST",))
    def desactiver(self, id: int):
        habilitation = self.fiche_ou_404(id)
        personne = habilitation.utilisateur.identifiant
        siret = habilitation.etablissement.siret
        refus = self._desactiver(habilitation)
        if refus:
            flash(refus, "danger")
        else:
            flash(
                f"L'habilitation de {personne} sur l'établissement {siret} est désactivée ; "
                "la personne en est informée par courriel.",
                "success",
            )
        return self.retour(url_for(".index_view"))

    @action(
        "desactiver",
        "Désactiver",
        "Désactiver les habilitations choisies ? Les personnes n'auront plus accès à ces "
        "établissements et en seront informées par courriel.",
    )
    def action_desactiver(self, ids):
        faites, refus = 0, []
        for habilitation in self.lignes_choisies(ids):
            libelle = f"{habilitation.utilisateur.identifiant} ({habilitation.etablissement.siret})"
            message = self._desactiver(habilitation)
            if message:
                refus.append(f"{libelle} : {message}")
            else:
                faites += 1
        if faites:
            flash(f"{faites} habilitation(s) désactivée(s).", "success")
        for message in refus:
            flash(message, "danger")
        if not faites and not refus:
            flash("Aucune habilitation choisie.", "warning")
        return redirect(url_for(".index_view"), 303)
