"""An establishment's space after sign-in: its file, its référent and its users.

Every operation checks who acts (tenant isolation is the caller's first query:
``habilitation_sur``), writes its journal rows in the transaction of the change and queues its
mails through the outbox after commit. The back-office calls the same operations with an
agent as ``acteur`` and no ``par``.
"""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager

from database import begin_write
from extensions import db
from identites import motdepasse
from mailer import outbox
from models.comptes import (
    MAX_ETABLISSEMENTS_PAR_UTILISATEUR,
    Etablissement,
    Habilitation,
    Role,
    Utilisateur,
    departement_of,
)
from workflows.comptes import (
    CompteError,
    LimiteEtablissementsAtteinte,
    identifiant_pris,
    nombre_etablissements,
    notifier_identifiants,
    utilisateur_connu,
)
from workflows.journal import Acteur, journaliser

# The columns the "Modifier la fiche" form may change; the SIRET is not one of them.
CHAMPS_MODIFIABLES = (
    "denomination",
    "numero_voie",
    "extension_voie",
    "type_voie",
    "libelle_voie",
    "complement_adresse",
    "code_postal",
    "ville",
    "courriel",
    "telephone",
    "fax",
)


class ReserveAuReferent(CompteError):
    def __init__(self):
        super().__init__(
            "Seule la personne référente de l'établissement (compte principal utilisateur) "
            "peut effectuer cette opération."
        )


class UtilisateurDejaHabilite(CompteError):
    def __init__(self, utilisateur: Utilisateur):
        super().__init__(
            f"{utilisateur.prenom} {utilisateur.nom} a déjà accès à cet établissement."
        )


class HabilitationIntrouvable(CompteError):
    def __init__(self):
        super().__init__("Cet utilisateur n'a pas (ou plus) accès à cet établissement.")


class ReferentNonRetirable(CompteError):
    def __init__(self):
        super().__init__(
            "La personne référente ne peut pas être retirée : désignez d'abord une autre "
            "personne référente parmi les utilisateurs de l'établissement."
        )


# -- reading (every query is scoped to the identity) ----------------------------------------


def habilitation_sur(utilisateur: Utilisateur, siret: str) -> Habilitation | None:
    """The identity's active habilitation on the establishment of ``siret``; None when it has
    none (the caller answers 404: another tenant's establishment does not exist for it)."""
    return db.session.scalar(
        select(Habilitation)
        .join(Habilitation.etablissement)
        .where(
            Etablissement.siret == siret,
            Habilitation.utilisateur_id == utilisateur.id,
            Habilitation.actif.is_(True),
        )
    )


def etablissements_de(utilisateur: Utilisateur, recherche: str | None = None):
    """The query of "Mes établissements" (the identity's active habilitations with their
    establishment), by dénomination, optionally filtered by a SIRET
    (or its start, spaces ignored) or by words of the dénomination."""
    query = (
        select(Habilitation)
        .join(Habilitation.etablissement)
        .options(contains_eager(Habilitation.etablissement))
        .where(Habilitation.utilisateur_id == utilisateur.id, Habilitation.actif.is_(True))
    )
    terme = " ".join((recherche or "").split())
    if terme:
        chiffres = terme.replace(" ", "")
        par_nom = and_(
            *(
                func.lower(Etablissement.denomination).contains(mot.lower(), autoescape=True)
                for mot in terme.split(" ")
            )
        )
        if chiffres.isdigit():
            query = query.where(
                or_(Etablissement.siret.startswith(chiffres, autoescape=True), par_nom)
            )
        else:
            query = query.where(par_nom)
    return query.order_by(Etablissement.denomination, Etablissement.siret)


def utilisateurs_de(etablissement: Etablissement) -> list[Habilitation]:
    """The active habilitations of the establishment, the référent first."""
    habilitations = db.session.scalars(
        select(Habilitation)
        .join(Habilitation.utilisateur)
        .where(Habilitation.etablissement_id == etablissement.id, Habilitation.actif.is_(True))
        .order_by(Utilisateur.nom, Utilisateur.prenom, Habilitation.id)
    ).all()
    return sorted(habilitations, key=lambda h: h.role != Role.REFERENT)


def referent_de(etablissement: Etablissement) -> Habilitation | None:
    return db.session.scalar(
        select(Habilitation).where(
            Habilitation.etablissement_id == etablissement.id,
            Habilitation.role == Role.REFERENT,
            Habilitation.actif.is_(True),
        )
    )


# -- operations -----------------------------------------------------------------------------


def _etablissement(etablissement_id: int) -> Etablissement:
    etablissement = db.session.get(Etablissement, etablissement_id)
    if etablissement is None:
        raise CompteError("Cet établissement n'existe pas.")
    return etablissement


def _exiger_referent(etablissement: Etablissement, par: Utilisateur | None) -> None:
    """A user acting from the public side must be the référent; an agent (par=None) may."""
    if par is None:
        return
    referent = referent_de(etablissement)
    if referent is None or referent.utilisateur_id != par.id:
        raise ReserveAuReferent()


def _nom(utilisateur: Utilisateur) -> str:
    return f"{utilisateur.prenom} {utilisateur.nom}"


def modifier_etablissement(etablissement_id: int, valeurs: dict, acteur: Acteur) -> dict:
    """Apply the validated ``etablissement`` section of the fiche form; the SIRET is ignored.

    :return: the changes, ``{champ: [avant, après]}`` (empty when nothing changed).
    """
    begin_write()
    etablissement = _etablissement(etablissement_id)
    changes = {}
    for champ in CHAMPS_MODIFIABLES:
        nouveau = valeurs.get(champ) or None
        ancien = getattr(etablissement, champ)
        if nouveau != ancien:
            changes[champ] = [ancien, nouveau]
            setattr(etablissement, champ, nouveau)
    if "code_postal" in changes:
        etablissement.departement = departement_of(etablissement.code_postal)
    if not changes:
        db.session.rollback()
        return {}
    journaliser(
        acteur,
        "modifier_etablissement",
        "etablissement",
        etablissement.id,
        details={"siret": etablissement.siret, "modifications": changes},
    )
    db.session.commit()
    return changes


def changer_referent(
    etablissement_id: int,
    habilitation_id: int,
    acteur: Acteur,
    *,
    par: Utilisateur | None = None,
) -> Habilitation:
    """Make the user of ``habilitation_id`` the référent; the former référent stays a user.
    Mails the former and the new référent.

    :raise ReserveAuReferent: ``par`` is not the current référent.
    :raise HabilitationIntrouvable: the habilitation is not an active one of the establishment.
    """
    begin_write()
    etablissement = _etablissement(etablissement_id)
    _exiger_referent(etablissement, par)
    nouvelle = db.session.get(Habilitation, habilitation_id)
    if nouvelle is None or nouvelle.etablissement_id != etablissement.id or not nouvelle.actif:
        raise HabilitationIntrouvable()
    ancienne = referent_de(etablissement)
    if ancienne is not None and ancienne.id == nouvelle.id:
        raise CompteError(f"{_nom(nouvelle.utilisateur)} est déjà la personne référente.")
    if ancienne is not None:
        ancienne.role = Role.UTILISATEUR
        db.session.flush()  # one référent at any time, even inside the transaction
    nouvelle.role = Role.REFERENT
    db.session.flush()
    journaliser(
        acteur,
        "changer_referent",
        "etablissement",
        etablissement.id,
        state_from=ancienne.utilisateur.identifiant if ancienne else None,
        state_to=nouvelle.utilisateur.identifiant,
        details={
            "siret": etablissement.siret,
            "ancien_referent": _nom(ancienne.utilisateur) if ancienne else None,
            "nouveau_referent": _nom(nouvelle.utilisateur),
        },
    )
    lieu = {"siret": etablissement.siret, "denomination": etablissement.denomination}
    # Done by an agent (no ``par``): the mails say the administration did it.
    suffixe = "change" if par is not None else "reaffecte"
    if ancienne is not None:
        outbox.notifier(
            ancienne.utilisateur.courriel,
            f"referent_{suffixe}_ancien",
            {
                "nom": ancienne.utilisateur.nom,
                "prenom": ancienne.utilisateur.prenom,
                **lieu,
                "nouveau_referent": _nom(nouvelle.utilisateur),
            },
        )
    outbox.notifier(
        nouvelle.utilisateur.courriel,
        f"referent_{suffixe}_nouveau",
        {"nom": nouvelle.utilisateur.nom, "prenom": nouvelle.utilisateur.prenom, **lieu},
    )
    outbox.commit()
    return nouvelle


def ajouter_utilisateur(
    etablissement_id: int,
    personne: dict,
    acteur: Acteur,
    *,
    par: Utilisateur | None = None,
) -> tuple[Habilitation, bool]:
    """Give a person access to the establishment. An active identity with that address is
    attached (no new credentials); otherwise a new identity is created and receives its
    identifiant, then a link to choose its password (and its secret question).

    ``personne``: nom, prenom, courriel, telephone (optional), validated by the form.
    :return: the habilitation and whether the identity is new.
    :raise ReserveAuReferent, UtilisateurDejaHabilite, LimiteEtablissementsAtteinte.
    """
    begin_write()
    etablissement = _etablissement(etablissement_id)
    _exiger_referent(etablissement, par)
    utilisateur = utilisateur_connu(personne["courriel"])
    nouveau = utilisateur is None
    if nouveau:
        utilisateur = Utilisateur(
            identifiant=motdepasse.generate_identifiant(
                personne["nom"], personne["prenom"], identifiant_pris
            ),
            nom=personne["nom"],
            prenom=personne["prenom"],
            courriel=personne["courriel"],
            telephone=personne.get("telephone"),
        )
        db.session.add(utilisateur)
        db.session.flush()
    else:
        if nombre_etablissements(utilisateur) >= MAX_ETABLISSEMENTS_PAR_UTILISATEUR:
            raise LimiteEtablissementsAtteinte()
    habilitation = db.session.scalar(
        select(Habilitation).where(
            Habilitation.utilisateur_id == utilisateur.id,
            Habilitation.etablissement_id == etablissement.id,
        )
    )
    if habilitation is not None and habilitation.actif:
        raise UtilisateurDejaHabilite(utilisateur)
    if habilitation is not None:  # removed earlier: give the access back
        habilitation.actif = True
        habilitation.role = Role.UTILISATEUR
    else:
        habilitation = Habilitation(
            utilisateur=utilisateur,
            etablissement=etablissement,
            role=Role.UTILISATEUR,
            created_by=acteur.label,
        )
        db.session.add(habilitation)
    try:
        db.session.flush()
    except IntegrityError:  # the same person added twice at once: the first one counts
        db.session.rollback()
        raise UtilisateurDejaHabilite(utilisateur) from None

    if nouveau:
        journaliser(
            acteur,
            "creer_utilisateur",
            "utilisateur",
            utilisateur.id,
            state_to="actif",
            details={"identifiant": utilisateur.identifiant, "siret": etablissement.siret},
        )
    journaliser(
        acteur,
        "ajouter_utilisateur",
        "habilitation",
        habilitation.id,
        state_to="actif",
        details={
            "role": Role.UTILISATEUR,
            "utilisateur": utilisateur.identifiant,
            "siret": etablissement.siret,
        },
    )
    identite = {"nom": utilisateur.nom, "prenom": utilisateur.prenom}
    lieu = {"siret": etablissement.siret, "denomination": etablissement.denomination}
    ajoute_par = _nom(par) if par is not None else "L'Agence de services et de paiement"
    if nouveau:
        notifier_identifiants(utilisateur, etablissement)
    outbox.notifier(
        utilisateur.courriel,
        "utilisateur_ajoute",
        {**identite, **lieu, "ajoute_par": ajoute_par},
    )
    outbox.commit()
    return habilitation, nouveau


def retirer_utilisateur(
    etablissement_id: int,
    habilitation_id: int,
    acteur: Acteur,
    *,
    par: Utilisateur | None = None,
) -> Habilitation:
    """End a user's access to the establishment (the identity itself stays, for its other
    establishments). The référent cannot be removed: another one must be designated first.

    :raise ReserveAuReferent, HabilitationIntrouvable, ReferentNonRetirable.
    """
    begin_write()
    etablissement = _etablissement(etablissement_id)
    _exiger_referent(etablissement, par)
    habilitation = db.session.get(Habilitation, habilitation_id)
    if (
        habilitation is None
        or habilitation.etablissement_id != etablissement.id
        or not habilitation.actif
    ):
        raise HabilitationIntrouvable()
    if habilitation.role == Role.REFERENT:
        raise ReferentNonRetirable()
    moved = db.session.execute(
        update(Habilitation)
        .where(Habilitation.id == habilitation.id, Habilitation.actif.is_(True))
        .values(actif=False)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        db.session.rollback()
        raise HabilitationIntrouvable()
    db.session.refresh(habilitation)
    utilisateur = habilitation.utilisateur
    journaliser(
        acteur,
        "retirer_utilisateur",
        "habilitation",
        habilitation.id,
        state_from="actif",
        state_to="retiree",
        details={"utilisateur": utilisateur.identifiant, "siret": etablissement.siret},
    )
    outbox.notifier(
        utilisateur.courriel,
        "habilitation_retiree",
        {
            "nom": utilisateur.nom,
            "prenom": utilisateur.prenom,
            "siret": etablissement.siret,
            "denomination": etablissement.denomination,
            "retire_par": _nom(par) if par is not None else "L'Agence de services et de paiement",
        },
    )
    outbox.commit()
    return habilitation
