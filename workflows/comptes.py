"""Account creation: "CRÉER MON ESPACE" files a request; an agent (or, in a surge, the worker)
validates or rejects it. Validation creates the établissement, the identity when new, the
référent habilitation, and queues the mails: identifiant, mot de passe (a single-use link),
habilitation. An identity that already exists receives only the habilitation mail.
"""

from __future__ import annotations

import copy
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

import jobs
from database import begin_write
from extensions import db
from identites import motdepasse
from mailer import outbox
from models.comptes import (
    MAX_ETABLISSEMENTS_PAR_UTILISATEUR,
    DemandeCompte,
    DemandeState,
    Etablissement,
    Habilitation,
    JetonMotDePasse,
    Role,
    Utilisateur,
    departement_of,
)
from models.types import utcnow
from workflows.journal import SYSTEME, Acteur, journaliser

FORM_ID = "demande-creation-compte"
PASSWORD_LINK_HOURS = 72


class CompteError(Exception):
    """A rule of the account journey refuses the operation; the message is for the user."""


class EtablissementDejaInscrit(CompteError):
    def __init__(self):
        super().__init__(
            "Un compte existe déjà pour ce SIRET. Vous devez contacter l'utilisateur qui a déjà "
            "été créé pour ce SIRET (le référent de l'établissement) pour qu'il vous ajoute."
        )


class DemandeDejaEnCours(CompteError):
    def __init__(self):
        super().__init__(
            "Une demande de création de compte est déjà en cours de traitement pour ce SIRET. "
            "Un courriel sera envoyé à la personne à contacter lorsqu'elle aura été traitée."
        )


class LimiteEtablissementsAtteinte(CompteError):
    def __init__(self):
        super().__init__(
            f"Cet utilisateur est déjà habilité sur {MAX_ETABLISSEMENTS_PAR_UTILISATEUR} "
            "établissements, le maximum autorisé. Indiquez une autre personne à contacter."
        )


class TransitionInterdite(CompteError):
    """The request is no longer in a state that allows this decision."""


def verifier_siret(siret: str) -> None:
    """Step 1's rules on a SIRET already known to be well formed.

    :raise EtablissementDejaInscrit: the establishment already has an account.
    :raise DemandeDejaEnCours: a request for it awaits a decision.
    """
    if db.session.scalar(select(Etablissement.id).where(Etablissement.siret == siret)):
        raise EtablissementDejaInscrit()
    pending = select(DemandeCompte.id).where(
        DemandeCompte.siret == siret, DemandeCompte.state == DemandeState.A_TRAITER
    )
    if db.session.scalar(pending):
        raise DemandeDejaEnCours()


def utilisateur_connu(courriel: str) -> Utilisateur | None:
    """The active identity that already uses this address, the oldest one if several do."""
    return db.session.scalar(
        select(Utilisateur)
        .where(Utilisateur.courriel == courriel, Utilisateur.actif.is_(True))
        .order_by(Utilisateur.id)
        .limit(1)
    )


def nombre_etablissements(utilisateur: Utilisateur) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Habilitation)
        .where(Habilitation.utilisateur_id == utilisateur.id, Habilitation.actif.is_(True))
    )


def demander_compte(document: dict, form_version: int, acteur: Acteur) -> DemandeCompte:
    """File a request from a document valid against the ``demande-creation-compte`` form.

    :raise EtablissementDejaInscrit, DemandeDejaEnCours, LimiteEtablissementsAtteinte.
    """
    begin_write()
    etablissement = document["etablissement"]
    contact = document["utilisateur"]
    verifier_siret(etablissement["siret"])
    existant = utilisateur_connu(contact["courriel"])
    if (
        existant is not None
        and nombre_etablissements(existant) >= MAX_ETABLISSEMENTS_PAR_UTILISATEUR
    ):
        raise LimiteEtablissementsAtteinte()
    data = copy.deepcopy(document)
    reponse = data["utilisateur"].pop("reponse")
    demande = DemandeCompte(
        siret=etablissement["siret"],
        departement=departement_of(etablissement["code_postal"]),
        form_id=FORM_ID,
        form_version=form_version,
        data=data,
        reponse_hash=motdepasse.hash_secret(motdepasse.normalise_reponse(reponse)),
        utilisateur_existant_id=existant.id if existant else None,
    )
    try:
        with db.session.begin_nested():
            db.session.add(demande)
    except IntegrityError:
        # A concurrent request for the same SIRET won the unique index: one request only.
        db.session.rollback()
        raise DemandeDejaEnCours() from None
    journaliser(
        acteur,
        "demander_compte",
        "demande_compte",
        demande.id,
        state_to=DemandeState.A_TRAITER,
        details={"siret": demande.siret},
    )
    db.session.commit()
    if current_app.config["COMPTES_VALIDATION_AUTO"]:
        jobs.enqueue_safely("default", validation_automatique, demande.id)
    return demande


def _decider(demande_id: int, state: DemandeState, acteur: Acteur, **values) -> DemandeCompte:
    """Move a pending request to ``state`` atomically: two agents cannot both decide it."""
    begin_write()
    moved = db.session.execute(
        update(DemandeCompte)
        .where(DemandeCompte.id == demande_id, DemandeCompte.state == DemandeState.A_TRAITER)
        .values(state=state, decided_at=utcnow(), decided_by=acteur.label, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    demande = db.session.get(DemandeCompte, demande_id)
    if demande is None:
        raise TransitionInterdite("Cette demande n'existe pas.")
    if moved != 1:
        db.session.rollback()
        raise TransitionInterdite(
            f"Cette demande a déjà été traitée (état : {DemandeState(demande.state).label})."
        )
    db.session.refresh(demande)
    return demande


def valider_demande_compte(
    demande_id: int, acteur: Acteur, *, automatique: bool = False
) -> DemandeCompte:
    """Create the établissement, the identity when new and the référent habilitation; queue
    the mails. One transaction.

    :raise TransitionInterdite: the request was already decided.
    :raise EtablissementDejaInscrit: an account was created for this SIRET meanwhile.
    :raise LimiteEtablissementsAtteinte: the identity already serves 200 establishments.
    """
    demande = _decider(demande_id, DemandeState.VALIDEE, acteur, validation_auto=automatique)
    fiche, contact = demande.data["etablissement"], demande.data["utilisateur"]
    if db.session.scalar(select(Etablissement.id).where(Etablissement.siret == demande.siret)):
        db.session.rollback()
        raise EtablissementDejaInscrit()

    etablissement = Etablissement(
        siret=demande.siret,
        denomination=fiche["denomination"],
        numero_voie=fiche.get("numero_voie"),
        extension_voie=fiche.get("extension_voie"),
        type_voie=fiche.get("type_voie"),
        libelle_voie=fiche["libelle_voie"],
        complement_adresse=fiche.get("complement_adresse"),
        code_postal=fiche["code_postal"],
        ville=fiche["ville"],
        departement=demande.departement,
        courriel=fiche["courriel"],
        telephone=fiche["telephone"],
        fax=fiche.get("fax"),
    )
    db.session.add(etablissement)

    utilisateur = demande.utilisateur_existant or utilisateur_connu(contact["courriel"])
    nouveau = utilisateur is None
    if nouveau:
        utilisateur = Utilisateur(
            identifiant=motdepasse.generate_identifiant(
                contact["nom"], contact["prenom"], identifiant_pris
            ),
            nom=contact["nom"],
            prenom=contact["prenom"],
            courriel=contact["courriel"],
            telephone=contact.get("telephone"),
            question_secrete=contact["question_secrete"],
            reponse_hash=demande.reponse_hash,
        )
        db.session.add(utilisateur)
    elif nombre_etablissements(utilisateur) >= MAX_ETABLISSEMENTS_PAR_UTILISATEUR:
        db.session.rollback()
        raise LimiteEtablissementsAtteinte()

    habilitation = Habilitation(
        utilisateur=utilisateur,
        etablissement=etablissement,
        role=Role.REFERENT,
        created_by=acteur.label,
    )
    db.session.add(habilitation)
    demande.etablissement = etablissement
    db.session.flush()

    operation = "valider_demande_compte_auto" if automatique else "valider_demande_compte"
    journaliser(
        acteur,
        operation,
        "demande_compte",
        demande.id,
        state_from=DemandeState.A_TRAITER,
        state_to=DemandeState.VALIDEE,
    )
    journaliser(
        acteur,
        "creer_etablissement",
        "etablissement",
        etablissement.id,
        state_to="actif",
        details={"siret": etablissement.siret},
    )
    if nouveau:
        journaliser(
            acteur,
            "creer_utilisateur",
            "utilisateur",
            utilisateur.id,
            state_to="actif",
            details={"identifiant": utilisateur.identifiant},
        )
    journaliser(
        acteur,
        "creer_habilitation",
        "habilitation",
        habilitation.id,
        state_to="actif",
        details={
            "role": Role.REFERENT,
            "utilisateur": utilisateur.identifiant,
            "siret": etablissement.siret,
        },
    )

    personne = {"nom": utilisateur.nom, "prenom": utilisateur.prenom}
    lieu = {"siret": etablissement.siret, "denomination": etablissement.denomination}
    if nouveau:
        notifier_identifiants(utilisateur, etablissement)
    outbox.notifier(
        utilisateur.courriel,
        "habilitation",
        {**personne, **lieu},
        idempotency_key=f"habilitation-{habilitation.id}",
    )
    outbox.commit()
    return demande


def notifier_identifiants(utilisateur: Utilisateur, etablissement: Etablissement) -> None:
    """Queue a new identity's first two mails: its identifiant, then a single-use link to
    choose its password (a password is never mailed). The caller commits the outbox."""
    personne = {"nom": utilisateur.nom, "prenom": utilisateur.prenom}
    lieu = {"siret": etablissement.siret, "denomination": etablissement.denomination}
    outbox.notifier(
        utilisateur.courriel,
        "identifiant",
        {**personne, **lieu, "identifiant": utilisateur.identifiant},
        idempotency_key=f"identifiant-{utilisateur.id}",
    )
    lien, expiration = lien_mot_de_passe(utilisateur)
    outbox.notifier(
        utilisateur.courriel,
        "mot_de_passe",
        {**personne, "lien": lien, "expiration": expiration.isoformat()},
        idempotency_key=f"mot-de-passe-initial-{utilisateur.id}",
    )


def lien_mot_de_passe(utilisateur: Utilisateur):
    """A single-use link to choose a password, valid 72 h (a password is never mailed)."""
    token, digest = motdepasse.new_token()
    expiration = utcnow() + timedelta(hours=PASSWORD_LINK_HOURS)
    db.session.add(
        JetonMotDePasse(utilisateur_id=utilisateur.id, digest=digest, expires_at=expiration)
    )
    base = current_app.config["SITE_URL"].rstrip("/")
    return f"{base}/mot-de-passe/{token}", expiration


def identifiant_pris(identifiant: str) -> bool:
    return (
        db.session.scalar(select(Utilisateur.id).where(Utilisateur.identifiant == identifiant))
        is not None
    )


def rejeter_demande_compte(demande_id: int, acteur: Acteur, motif: str) -> DemandeCompte:
    """Reject a pending request and mail the reason to the contact person.

    :raise CompteError: empty reason. :raise TransitionInterdite: already decided.
    """
    motif = (motif or "").strip()
    if not motif:
        raise CompteError("Indiquez le motif du rejet : il est envoyé au demandeur.")
    demande = _decider(demande_id, DemandeState.REJETEE, acteur, motif_rejet=motif)
    journaliser(
        acteur,
        "rejeter_demande_compte",
        "demande_compte",
        demande.id,
        state_from=DemandeState.A_TRAITER,
        state_to=DemandeState.REJETEE,
        details={"motif": motif},
    )
    contact = demande.data["utilisateur"]
    outbox.notifier(
        contact["courriel"],
        "demande_compte_rejetee",
        {
            "nom": contact["nom"],
            "prenom": contact["prenom"],
            "siret": demande.siret,
            "motif": motif,
        },
        idempotency_key=f"demande-rejetee-{demande.id}",
    )
    outbox.commit()
    return demande


def validation_automatique(demande_id: int) -> str:
    """Job (surge mode, ``COMPTES_VALIDATION_AUTO``): validate at once a request whose SIRET is
    active in the directory, has no account and no conflicting request; leave the others to
    the agents."""
    from models.sirene import SireneEtablissement

    if not current_app.config["COMPTES_VALIDATION_AUTO"]:
        return "désactivée"
    demande = db.session.get(DemandeCompte, demande_id)
    if demande is None or demande.state != DemandeState.A_TRAITER:
        return "déjà traitée"
    repertoire = db.session.get(SireneEtablissement, demande.siret)
    if repertoire is None or not repertoire.actif:
        return "laissée aux agents : SIRET absent du répertoire ou établissement fermé"
    try:
        valider_demande_compte(demande_id, SYSTEME, automatique=True)
    except CompteError as refusal:
        return f"laissée aux agents : {refusal}"
    return "validée automatiquement"
