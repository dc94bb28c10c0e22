"""Back-office operations on identities (issue #6 item 3): an agent resends an identifiant or a
new password link, unblocks a sign-in throttled by too many failures, deactivates or reactivates
an identity, and gives an establishment a référent created on the spot.

Each operation writes its journal row (``object_type`` "utilisateur", or the rows of the
establishment operations it calls) in the transaction of the change and queues its mails
through the outbox after the commit, like every workflow. Who may act on which identity is the
back-office's decision (``backoffice/vues/utilisateurs.py``); these functions trust their caller
on that and check the state of the rows.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import select, update

from database import begin_write
from extensions import db, limiter
from mailer import outbox
from models.comptes import Etablissement, Habilitation, JetonMotDePasse, Role, Utilisateur
from models.types import utcnow
from workflows import etablissements
from workflows.comptes import CompteError, lien_mot_de_passe
from workflows.journal import Acteur, journaliser

# The public sign-in (``portail/connexion.py``) throttles failures per identity under the key
# "compte:<identifiant as typed, stripped, lower case>" on this endpoint. The back-office never
# imports the public side: both names are repeated here, and tests/workflows/
# test_agents_identites.py checks them against the real sign-in page.
ENDPOINT_CONNEXION = "connexion.connexion_page"
PREFIXE_CLE_CONNEXION = "compte:"


class IdentiteIntrouvable(CompteError):
    def __init__(self):
        super().__init__("Cette identité n'existe pas.")


class IdentiteInactive(CompteError):
    def __init__(self):
        super().__init__(
            "Cette identité est désactivée : réactivez-la d'abord pour lui envoyer ses accès."
        )


class LimiteurIndisponible(CompteError):
    def __init__(self):
        super().__init__(
            "Le service qui compte les tentatives de connexion ne répond pas : réessayez dans "
            "quelques instants."
        )


def _identite(utilisateur_id: int) -> Utilisateur:
    utilisateur = db.session.get(Utilisateur, utilisateur_id)
    if utilisateur is None:
        raise IdentiteIntrouvable()
    return utilisateur


def _personne(utilisateur: Utilisateur) -> dict:
    return {"nom": utilisateur.nom, "prenom": utilisateur.prenom}


# --- resending the identifiant and a password link -------------------------------------------


def etablissement_de_reference(
    utilisateur: Utilisateur, departements: list[str] | None = None
) -> Etablissement | None:
    """The establishment the ``identifiant`` mail names: the one the identity is référent of,
    else the one it was first habilitated on (active habilitations only); with
    ``departements``, only among the establishments of those départements."""
    query = (
        select(Etablissement)
        .join(Habilitation, Habilitation.etablissement_id == Etablissement.id)
        .where(Habilitation.utilisateur_id == utilisateur.id, Habilitation.actif.is_(True))
        .order_by((Habilitation.role != Role.REFERENT), Habilitation.id)
        .limit(1)
    )
    if departements is not None:
        query = query.where(Etablissement.departement.in_(departements))
    return db.session.scalar(query)


def renvoyer_identifiant(
    utilisateur_id: int, acteur: Acteur, *, departements: list[str] | None = None
) -> Etablissement:
    """Mail the identity its identifiant again (the ``identifiant_rappel`` mail, from the ASP,
    which names one of its establishments: see ``etablissement_de_reference``).

    :return: the establishment named in the mail.
    :raise IdentiteIntrouvable, IdentiteInactive; CompteError: no active habilitation (within
        ``departements``).
    """
    begin_write()
    utilisateur = _identite(utilisateur_id)
    if not utilisateur.actif:
        raise IdentiteInactive()
    etablissement = etablissement_de_reference(utilisateur, departements)
    if etablissement is None:
        raise CompteError(
            "Cette identité n'a accès à aucun établissement : il n'y a pas d'identifiant à "
            "lui rappeler."
        )
    journaliser(
        acteur,
        "renvoyer_identifiant",
        "utilisateur",
        utilisateur.id,
        details={"identifiant": utilisateur.identifiant, "siret": etablissement.siret},
    )
    # No idempotency key: the first mail's key ("identifiant-<id>") would make this a no-op.
    outbox.notifier(
        utilisateur.courriel,
        "identifiant_rappel",
        {
            **_personne(utilisateur),
            "identifiant": utilisateur.identifiant,
            "siret": etablissement.siret,
            "denomination": etablissement.denomination,
        },
    )
    outbox.commit()
    return etablissement


def envoyer_lien_mot_de_passe(utilisateur_id: int, acteur: Acteur) -> datetime:
    """Mail the identity a new single-use link to choose its password (the
    ``mot_de_passe_nouveau_lien`` mail, from the ASP, valid 72 h). Its earlier unused links stop working: only the latest one is valid.

    :return: the link's expiry. :raise IdentiteIntrouvable, IdentiteInactive.
    """
    begin_write()
    utilisateur = _identite(utilisateur_id)
    if not utilisateur.actif:
        raise IdentiteInactive()
    maintenant = utcnow()
    annules = db.session.execute(
        update(JetonMotDePasse)
        .where(JetonMotDePasse.utilisateur_id == utilisateur.id, JetonMotDePasse.used_at.is_(None))
        .values(used_at=maintenant)
        .execution_options(synchronize_session=False)
    ).rowcount
    lien, expiration = lien_mot_de_passe(utilisateur)
    journaliser(
        acteur,
        "envoyer_lien_mot_de_passe",
        "utilisateur",
        utilisateur.id,
        details={
            "identifiant": utilisateur.identifiant,
            "expiration": expiration.isoformat(),
            "liens_annules": annules,
        },
    )
    outbox.notifier(
        utilisateur.courriel,
        "mot_de_passe_nouveau_lien",
        {**_personne(utilisateur), "lien": lien, "expiration": expiration.isoformat()},
    )
    outbox.commit()
    return expiration


# --- the sign-in throttle ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Compteur:
    limite: object  # limits.RateLimitItem
    arguments: tuple[str, ...]


def _compteurs(identifiant: str) -> list[_Compteur]:
    """The counters of the public sign-in's limits for this identity's key, as Flask-Limiter
    names them in its storage (the way ``flask limiter clear --key`` finds them): every limit
    of the sign-in endpoint, with the key "compte:<identifiant>" and the endpoint's scope.
    The per-address limit never holds such a key, so clearing it is a no-op."""
    if not (limiter.enabled and limiter.initialized):
        return []
    app = current_app._get_current_object()
    if ENDPOINT_CONNEXION not in app.view_functions:
        return []
    cle = PREFIXE_CLE_CONNEXION + identifiant.strip().lower()
    prefixe = getattr(limiter, "_key_prefix", "") or ""  # RATELIMIT_KEY_PREFIX
    blueprint = ENDPOINT_CONNEXION.rpartition(".")[0]
    compteurs = []
    # Flask-Limiter resolves a route's limits for a request (its method decides which apply):
    # a sign-in POST, as ``flask limiter clear`` does with a test request context.
    chemin = next(app.url_map.iter_rules(ENDPOINT_CONNEXION)).rule
    with app.test_request_context(chemin, method="POST"):
        for groupe in limiter.limit_manager.resolve_limits(app, ENDPOINT_CONNEXION, blueprint):
            for limite in groupe:
                arguments = (cle, limite.scope_for(ENDPOINT_CONNEXION, "POST"))
                if prefixe:
                    arguments = (prefixe, *arguments)
                compteurs.append(_Compteur(limite.limit, arguments))
    return compteurs


def connexion_bloquee(utilisateur: Utilisateur) -> datetime | None:
    """When the public sign-in refuses this identity for too many failures, the time (UTC) at
    which it will accept it again by itself; None when it is not blocked (or when the rate
    limits are off or their storage does not answer)."""
    try:
        for compteur in _compteurs(utilisateur.identifiant):
            fin, restant = limiter.limiter.get_window_stats(compteur.limite, *compteur.arguments)
            if restant <= 0:
                return datetime.fromtimestamp(fin, UTC)
    except Exception:  # a storage outage must not break the identity's page
        current_app.logger.warning("limiteur injoignable", exc_info=True)
    return None


def debloquer_connexion(utilisateur_id: int, acteur: Acteur) -> bool:
    """Clear the identity's failed sign-in counter, so that it may sign in again at once.

    :return: whether it was blocked. :raise IdentiteIntrouvable, LimiteurIndisponible.
    """
    begin_write()
    utilisateur = _identite(utilisateur_id)
    etait_bloquee = connexion_bloquee(utilisateur) is not None
    try:
        for compteur in _compteurs(utilisateur.identifiant):
            limiter.limiter.clear(compteur.limite, *compteur.arguments)
    except Exception as exc:
        db.session.rollback()
        raise LimiteurIndisponible() from exc
    journaliser(
        acteur,
        "debloquer_connexion",
        "utilisateur",
        utilisateur.id,
        state_from="bloquee" if etait_bloquee else None,
        state_to="debloquee",
        details={"identifiant": utilisateur.identifiant, "etait_bloquee": etait_bloquee},
    )
    db.session.commit()
    return etait_bloquee


# --- deactivation ------------------------------------------------------------------------------


def _basculer(utilisateur_id: int, acteur: Acteur, actif: bool) -> Utilisateur:
    begin_write()
    utilisateur = _identite(utilisateur_id)
    valeurs: dict = {"actif": actif}
    if not actif:
        # The session cookies carry this token: every open session of the identity dies now.
        valeurs["jeton_session"] = secrets.token_hex(16)
    moved = db.session.execute(
        update(Utilisateur)
        .where(Utilisateur.id == utilisateur.id, Utilisateur.actif.is_(not actif))
        .values(**valeurs)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        db.session.rollback()
        raise CompteError(
            "Cette identité est déjà active." if actif else "Cette identité est déjà désactivée."
        )
    if not actif:  # its pending password links die with it
        db.session.execute(
            update(JetonMotDePasse)
            .where(
                JetonMotDePasse.utilisateur_id == utilisateur.id, JetonMotDePasse.used_at.is_(None)
            )
            .values(used_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    db.session.refresh(utilisateur)
    referent_de = db.session.scalars(
        select(Etablissement.siret)
        .join(Habilitation, Habilitation.etablissement_id == Etablissement.id)
        .where(
            Habilitation.utilisateur_id == utilisateur.id,
            Habilitation.actif.is_(True),
            Habilitation.role == Role.REFERENT,
        )
        .order_by(Etablissement.siret)
    ).all()
    journaliser(
        acteur,
        "reactiver_utilisateur" if actif else "desactiver_utilisateur",
        "utilisateur",
        utilisateur.id,
        state_from="inactif" if actif else "actif",
        state_to="actif" if actif else "inactif",
        details={"identifiant": utilisateur.identifiant, "referent_de": list(referent_de)},
    )
    db.session.commit()
    return utilisateur


def desactiver_identite(utilisateur_id: int, acteur: Acteur) -> Utilisateur:
    """Deactivate the identity: it can no longer sign in, its open sessions end at their next
    request (new session token) and its pending password links stop working. Its habilitations
    are kept, so that reactivating it gives its access back.

    :raise IdentiteIntrouvable; CompteError: already deactivated.
    """
    return _basculer(utilisateur_id, acteur, False)


def reactiver_identite(utilisateur_id: int, acteur: Acteur) -> Utilisateur:
    """Let a deactivated identity sign in again (with its password; or send it a new link).

    :raise IdentiteIntrouvable; CompteError: already active.
    """
    return _basculer(utilisateur_id, acteur, True)


# --- a référent created on the spot ------------------------------------------------------------


class ReferentNonChange(CompteError):
    """The person was added to the establishment but the référent could not be changed."""


def reaffecter_referent_nouvelle_personne(
    etablissement_id: int, personne: dict, acteur: Acteur
) -> tuple[Habilitation, bool]:
    """Give the establishment a new référent who is not one of its users yet: add the person
    (``etablissements.ajouter_utilisateur``: an identity is created, or the active identity of
    that address attached), then make it the référent (``etablissements.changer_referent``).

    Two transactions, because each operation commits with its mails; the result is still
    safe. The first commit leaves a state that is valid on its own (one more user, the
    référent unchanged, one référent at every instant) and tells the person why it received
    access; the second moves the référent in one transaction, with its journal row and the
    mails to the former and the new référent. If the second one is refused (the new access
    was removed meanwhile), ``ReferentNonChange`` says so, and the agent sees the person among
    the users and can finish with the ordinary reassignment. A person who already has access
    is refused before anything is written: choose it in the list of users instead.

    :return: the new référent's habilitation, and whether its identity was created.
    :raise UtilisateurDejaHabilite, LimiteEtablissementsAtteinte, ReferentNonChange.
    """
    habilitation, nouveau = etablissements.ajouter_utilisateur(etablissement_id, personne, acteur)
    try:
        habilitation = etablissements.changer_referent(etablissement_id, habilitation.id, acteur)
    except CompteError as refus:
        db.session.rollback()
        raise ReferentNonChange(
            f"{personne['prenom']} {personne['nom']} a été ajouté(e) comme utilisateur, mais la "
            f"personne référente n'a pas été changée : {refus} Réessayez depuis la liste des "
            "utilisateurs de l'établissement."
        ) from refus
    return habilitation, nouveau
