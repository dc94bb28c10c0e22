"""« Utilisateurs »: the identities (ASP accounts of the public side), their fiche and the
agents' actions on them: resend the identifiant, send a new password link, unblock a sign-in
throttled by too many failures, deactivate and reactivate. Every action is a POST (CSRF checked
by the application's ``CSRFProtect``) calling ``workflows.agents_identites``, which writes the
journal row and queues the mail.

Scope of an Agent UD (see ``backoffice/vues/etablissements.py``): an identity holding a
habilitation, active or not, on an establishment of its départements; other identities answer
404. Deactivating or reactivating an identity acts on all its establishments: a UD may do it
only when every active habilitation of the identity lies within its départements.
"""

from __future__ import annotations

from typing import ClassVar

from flask import abort, flash, redirect, url_for
from flask_admin import expose
from flask_admin.model.template import EndpointLinkRowAction
from markupsafe import Markup
from sqlalchemy import and_, func, not_, or_, select
from sqlalchemy.orm import contains_eager

from backoffice.vues.etablissements import (
    FiltreDateDepuis,
    FiltreDateJusqua,
    FiltreDepartement,
    FiltreEgal,
    FiltreOuiNon,
    VueComptes,
    acteur,
    date_heure,
    evenements,
    mots,
    portee_restreinte,
    presenter,
    sur_objets,
)
from extensions import db
from models.agents import Agent, RoleAgent
from models.comptes import Etablissement, Habilitation, Utilisateur
from workflows import agents_identites
from workflows.comptes import CompteError

HORS_PORTEE = "(établissement hors de vos départements)"
DESACTIVATION_HORS_PORTEE = (
    "Cette identité a aussi accès à des établissements hors de vos départements : sa "
    "désactivation ou sa réactivation, qui vaut pour tous, revient à l'ASP."
)


def _lien_identifiant(view, context, model, name) -> Markup:
    return Markup('<a href="{}">{}</a>').format(
        url_for("bo_utilisateurs.fiche", id=model.id), model.identifiant
    )


def _actif(view, context, model, name) -> str:
    return "Active" if model.actif else "Désactivée"


class FiltreDepartementUtilisateur(FiltreDepartement):
    """Identities habilitated (active or not) on an establishment of a département."""

    def apply(self, query, value, alias=None):
        return query.filter(
            Utilisateur.id.in_(
                select(Habilitation.utilisateur_id)
                .join(Etablissement, Etablissement.id == Habilitation.etablissement_id)
                .where(Etablissement.departement == value)
            )
        )


class FiltreIdentifiant(FiltreEgal):
    def apply(self, query, value, alias=None):
        return query.filter(Utilisateur.identifiant == value.strip().lower())


def habilitations_dans_portee(agent: Agent):
    """``SELECT habilitation.utilisateur_id`` of the habilitations within the agent's scope,
    or None when the agent sees everything."""
    condition = portee_restreinte(agent, Etablissement.departement)
    if condition is None:
        return None
    return (
        select(Habilitation.utilisateur_id)
        .join(Etablissement, Etablissement.id == Habilitation.etablissement_id)
        .where(condition)
    )


class VueUtilisateurs(VueComptes):
    nom_export = "utilisateurs"
    column_list = ("identifiant", "nom", "prenom", "courriel", "actif", "created_at")
    column_labels: ClassVar[dict[str, str]] = {
        "identifiant": "Identifiant",
        "nom": "Nom",
        "prenom": "Prénom",
        "courriel": "Courriel",
        "telephone": "Téléphone",
        "actif": "État",
        "created_at": "Créée le",
    }
    column_formatters: ClassVar[dict] = {
        "identifiant": _lien_identifiant,
        "actif": _actif,
        "created_at": lambda v, c, m, n: date_heure(m.created_at) or "—",
    }
    column_sortable_list = ("identifiant", "nom")
    column_searchable_list = ("identifiant", "nom", "courriel")
    texte_recherche = "Identifiant, nom ou courriel (début)"
    column_filters = (
        FiltreOuiNon(Utilisateur.actif, "Active"),
        FiltreIdentifiant(Utilisateur.identifiant, "Identifiant"),
        FiltreDepartementUtilisateur(Utilisateur.id, "Département d'un établissement"),
        FiltreDateDepuis(Utilisateur.created_at, "Créée"),
        FiltreDateJusqua(Utilisateur.created_at, "Créée"),
    )
    column_extra_row_actions: ClassVar[list] = [
        EndpointLinkRowAction("fa fa-eye", ".fiche", title="Voir la fiche")
    ]
    # No secret (password, answer, session token) is listed, searched or exported.
    column_export_list = (
        "identifiant",
        "nom",
        "prenom",
        "courriel",
        "telephone",
        "actif",
        "created_at",
    )
    column_formatters_export: ClassVar[dict] = {
        "actif": lambda v, c, m, n: "Active" if m.actif else "Désactivée",
        "created_at": lambda v, c, m, n: date_heure(m.created_at),
    }

    def filtrer_portee(self, query, agent):
        dans_portee = habilitations_dans_portee(agent)
        return query if dans_portee is None else query.filter(Utilisateur.id.in_(dans_portee))

    def condition_recherche(self, terme):
        conditions = [
            or_(
                Utilisateur.identifiant.startswith(mot.lower(), autoescape=True),
                # lower(...) LIKE 'mot%': the indexes of migration 0010 (PostgreSQL's ILIKE,
                # which istartswith() would send, has no B-tree index).
                func.lower(Utilisateur.nom).startswith(mot.lower(), autoescape=True),
                func.lower(Utilisateur.prenom).startswith(mot.lower(), autoescape=True),
                func.lower(Utilisateur.courriel).startswith(mot.lower(), autoescape=True),
            )
            for mot in mots(terme)
        ]
        return and_(*conditions) if conditions else None

    # -- the fiche ------------------------------------------------------------------------------

    def _habilitations(self, utilisateur: Utilisateur) -> list[Habilitation]:
        """The identity's habilitations the agent may see, active first."""
        query = (
            select(Habilitation)
            .join(Habilitation.etablissement)
            .options(contains_eager(Habilitation.etablissement))
            .where(Habilitation.utilisateur_id == utilisateur.id)
            .order_by(Habilitation.actif.desc(), Etablissement.denomination, Habilitation.id)
        )
        condition = portee_restreinte(self.agent, Etablissement.departement)
        if condition is not None:
            query = query.where(condition)
        return list(db.session.scalars(query).unique())

    def _hors_portee(self, utilisateur: Utilisateur, *, actives: bool) -> int:
        """How many habilitations of the identity lie outside the agent's scope."""
        condition = portee_restreinte(self.agent, Etablissement.departement)
        if condition is None:
            return 0
        query = (
            select(func.count())
            .select_from(Habilitation)
            .join(Etablissement, Etablissement.id == Habilitation.etablissement_id)
            .where(Habilitation.utilisateur_id == utilisateur.id, not_(condition))
        )
        if actives:
            query = query.where(Habilitation.actif.is_(True))
        return db.session.scalar(query)

    def peut_basculer(self, utilisateur: Utilisateur) -> bool:
        """May the agent deactivate or reactivate this identity (see the module docstring)?"""
        return self._hors_portee(utilisateur, actives=True) == 0

    def _historique(self, utilisateur: Utilisateur, habilitations: list[Habilitation]):
        lignes = evenements(
            c
            for c in (
                sur_objets("utilisateur", [utilisateur.id]),
                sur_objets("habilitation", [h.id for h in habilitations]),
            )
            if c is not None
        )
        if self.agent.role is not RoleAgent.UD:
            return presenter(lignes)
        # The UD sees the identity through its own establishments: a SIRET elsewhere in a
        # journal row (the mail of a resent identifiant, a deactivation) is not named.
        visibles = {h.etablissement.siret for h in habilitations}

        def masquer(details: dict) -> dict:
            if details.get("siret") and details["siret"] not in visibles:
                details["siret"] = HORS_PORTEE
            if isinstance(details.get("referent_de"), list):
                details["referent_de"] = [
                    s if s in visibles else HORS_PORTEE for s in details["referent_de"]
                ]
            return details

        return presenter(lignes, masquer=masquer)

    @expose("/<int:id>/")
    def fiche(self, id: int):
        utilisateur = self.fiche_ou_404(id)
        habilitations = self._habilitations(utilisateur)
        return self.render(
            "backoffice/utilisateurs/fiche.html",
            utilisateur=utilisateur,
            habilitations=habilitations,
            autres=self._hors_portee(utilisateur, actives=False),
            peut_basculer=self.peut_basculer(utilisateur),
            bloquee_jusqua=agents_identites.connexion_bloquee(utilisateur),
            historique=self._historique(utilisateur, habilitations),
            date_heure=date_heure,
        )

    def _fin(self, id: int):
        return redirect(url_for(".fiche", id=id), 303)

    @expose("/<int:id>/identifiant", methods=("POST",))
    def renvoyer_identifiant(self, id: int):
        utilisateur = self.fiche_ou_404(id)
        agent = self.agent
        departements = agent.codes_departements if agent.role is RoleAgent.UD else None
        try:
            etablissement = agents_identites.renvoyer_identifiant(
                utilisateur.id, acteur(agent), departements=departements
            )
        except CompteError as refus:
            db.session.rollback()
            flash(str(refus), "danger")
        else:
            flash(
                f"L'identifiant {utilisateur.identifiant} a été renvoyé à "
                f"{utilisateur.courriel} (courriel au nom de {etablissement.denomination}).",
                "success",
            )
        return self._fin(id)

    @expose("/<int:id>/lien-mot-de-passe", methods=("POST",))
    def lien_mot_de_passe(self, id: int):
        utilisateur = self.fiche_ou_404(id)
        try:
            expiration = agents_identites.envoyer_lien_mot_de_passe(
                utilisateur.id, acteur(self.agent)
            )
        except CompteError as refus:
            db.session.rollback()
            flash(str(refus), "danger")
        else:
            flash(
                f"Un lien pour choisir un nouveau mot de passe a été envoyé à "
                f"{utilisateur.courriel} ; il est valable jusqu'au {date_heure(expiration)}. "
                "Les liens envoyés auparavant ne fonctionnent plus.",
                "success",
            )
        return self._fin(id)

    @expose("/<int:id>/debloquer", methods=("POST",))
    def debloquer(self, id: int):
        utilisateur = self.fiche_ou_404(id)
        try:
            etait_bloquee = agents_identites.debloquer_connexion(utilisateur.id, acteur(self.agent))
        except CompteError as refus:
            db.session.rollback()
            flash(str(refus), "danger")
        else:
            flash(
                f"La connexion de {utilisateur.identifiant} est débloquée : elle peut de "
                "nouveau se connecter."
                if etait_bloquee
                else f"La connexion de {utilisateur.identifiant} n'était pas bloquée ; son "
                "compteur de tentatives a été remis à zéro.",
                "success",
            )
        return self._fin(id)

    def _basculer(self, id: int, actif: bool):
        utilisateur = self.fiche_ou_404(id)
        if not self.peut_basculer(utilisateur):
            abort(403, description=DESACTIVATION_HORS_PORTEE)
        operation = (
            agents_identites.reactiver_identite if actif else agents_identites.desactiver_identite
        )
        try:
            operation(utilisateur.id, acteur(self.agent))
        except CompteError as refus:
            db.session.rollback()
            flash(str(refus), "danger")
        else:
            flash(
                f"L'identité {utilisateur.identifiant} est réactivée."
                if actif
                else f"L'identité {utilisateur.identifiant} est désactivée : elle ne peut plus "
                "se connecter et ses sessions ouvertes sont fermées.",
                "success",
            )
        return self._fin(id)

    @expose("/<int:id>/desactiver", methods=("POST",))
    def desactiver(self, id: int):
        return self._basculer(id, False)

    @expose("/<int:id>/reactiver", methods=("POST",))
    def reactiver(self, id: int):
        return self._basculer(id, True)
