"""Operations on identities: the password link, the forgotten identifiant and password, and
"Mon compte" (password and secret question changes).

No operation of the public side tells whether an identity exists: the forgotten-identifiant and
forgotten-password requests take the same path, write the same journal row and give the view
nothing to branch on, whether the details typed match an identity or not (reliability.md §1.4).

The secret question is never a recovery factor on its own, and never an enumeration oracle
(reliability.md §1.6): it is asked only on the page of a single-use link mailed to the
identity's address (proof of the mailbox), as a second check together with the new password.
Its answer is stored like a password (normalised, then argon2id). Each wrong answer is a failed
authentication written to the journal (``echec_question_secrete``); after ``ESSAIS_REPONSE``
of them within ``FENETRE_ESSAIS`` (none since the last password or question change), every link
of the identity is refused (``TropDEssais``) until the oldest failure leaves the window: the
person is sent to the support. The journal is the counter: it is shared by every worker, kept
across restarts, and needs no table of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update

from database import begin_write
from extensions import db
from forms import formats, validation
from forms.builder import FieldSpec
from identites import motdepasse
from mailer import outbox
from models.audit import AuditEvent
from models.comptes import Etablissement, Habilitation, JetonMotDePasse, Utilisateur
from models.notification import Notification
from models.types import utcnow
from workflows import comptes
from workflows.journal import Acteur, journaliser

# The public side before sign-in: nobody is named in the journal.
VISITEUR = Acteur("usager", "non connecté")
QUESTION, REPONSE = "question_secrete", "reponse"  # their names in the account request form
MESSAGE_MOT_DE_PASSE_ACTUEL = "Le mot de passe actuel saisi n'est pas le bon."
# Wrong answers to the secret question allowed on the link pages of one identity, per window.
ESSAIS_REPONSE = 5
FENETRE_ESSAIS = timedelta(hours=comptes.PASSWORD_LINK_HOURS)
ECHEC_REPONSE = "echec_question_secrete"  # the journal operation that counts a wrong answer
# Operations after which the earlier wrong answers no longer count: the identity has proved
# itself (answer and new password through a link, or its password in « Mon compte »).
REMISES_A_ZERO = ("choisir_mot_de_passe", "changer_mot_de_passe", "changer_question_secrete")


class LienInvalide(Exception):
    """The link is unknown, already used or expired (one message for all: no oracle)."""

    def __init__(self):
        super().__init__(
            "Ce lien n'est plus valide : il a déjà servi ou a expiré. Utilisez « J'ai oublié mon "
            "mot de passe » pour en recevoir un nouveau."
        )


class TropDEssais(LienInvalide):
    """Too many wrong answers to the secret question: the identity's links are refused for a
    while, and the person is sent to the support. A ``LienInvalide``, so that a caller that
    does not tell them apart still refuses the link."""

    def __init__(self):
        Exception.__init__(
            self,
            "Ce lien est bloqué : la réponse à la question secrète a été refusée "
            f"{ESSAIS_REPONSE} fois. Pour retrouver l'accès à votre compte, contactez le "
            "support technique.",
        )


def message_reponse(restants: int) -> str:
    """The French message of a wrong answer, with the attempts left before the link locks."""
    essais = "1 essai" if restants == 1 else f"{restants} essais"
    return (
        "Cette réponse ne correspond pas à celle de votre question secrète. Il vous reste "
        f"{essais} avant le blocage de ce lien."
    )


class SaisieRefusee(ValueError):
    """What was typed breaks a rule: ``erreurs`` gives the French messages by field name."""

    def __init__(self, erreurs: dict[str, list[str]]):
        self.erreurs = erreurs
        self.messages = [message for messages in erreurs.values() for message in messages]
        super().__init__(" ".join(self.messages))


class MotDePasseRefuse(SaisieRefusee):
    """The new password breaks the policy (``messages``: the reasons, in French)."""

    def __init__(self, messages: list[str], champ: str = "mot_de_passe"):
        super().__init__({champ: list(messages)})


def _refuser(erreurs: dict[str, list[str]]) -> None:
    if set(erreurs) == {"mot_de_passe"}:
        raise MotDePasseRefuse(erreurs["mot_de_passe"])
    if erreurs:
        raise SaisieRefusee(erreurs)


# --- the secret question, as the account request form defines it ---------------------------------


def champs_question() -> tuple[FieldSpec, FieldSpec]:
    """The question and answer fields of the account request form (label, choices, limits):
    one definition for the account request, the password link and "Mon compte"."""
    definition = current_app.extensions["forms"][comptes.FORM_ID]
    utilisateur = next(spec for spec in definition.tree if spec.name == "utilisateur")
    fields = {spec.name: spec for spec in utilisateur.children}
    return fields[QUESTION], fields[REPONSE]


def questions_secretes() -> list[tuple[str, str]]:
    """The questions ``(stored value, label)`` the account request form offers (its ``oneOf``):
    the one list of questions, for the request, the password link and "Mon compte".

    :raise RuntimeError: the definition lets people write their own question (§1.6: the system
        chooses the questions).
    """
    question, _ = champs_question()
    questions = [(str(value), label) for value, label in question.choices]
    if not questions:
        raise RuntimeError(
            f"Le formulaire {comptes.FORM_ID} doit proposer une liste de questions secrètes "
            "(oneOf de utilisateur.question_secrete), reliability.md §1.6."
        )
    return questions


def libelle_question(utilisateur: Utilisateur) -> str:
    """The identity's secret question as the list words it (its stored value otherwise)."""
    return dict(questions_secretes()).get(
        utilisateur.question_secrete, utilisateur.question_secrete
    )


def erreurs_question(question: str, reponse: str) -> dict[str, list[str]]:
    """French messages by field when the pair breaks the form's rules (a question of the list,
    lengths); empty when it is acceptable."""
    definition = current_app.extensions["forms"][comptes.FORM_ID]
    question_spec, reponse_spec = champs_question()
    schema = {
        "type": "object",
        "required": [QUESTION, REPONSE],
        "properties": {QUESTION: question_spec.schema, REPONSE: reponse_spec.schema},
    }
    typed = {QUESTION: (question or "").strip(), REPONSE: (reponse or "").strip()}
    document = {name: value for name, value in typed.items() if value}
    return validation.errors_by_field(definition.validator.evolve(schema=schema), document)


def _enregistrer_question(utilisateur: Utilisateur, question: str, reponse: str) -> None:
    utilisateur.question_secrete = question.strip()
    utilisateur.reponse_hash = motdepasse.hash_secret(motdepasse.normalise_reponse(reponse))


def _a_une_question(utilisateur: Utilisateur) -> bool:
    return bool(utilisateur.question_secrete and utilisateur.reponse_hash)


# --- choosing a password through a single-use link --------------------------------------------


def jeton_valide(token: str) -> JetonMotDePasse:
    """:raise LienInvalide: unknown, used or expired."""
    jeton = db.session.scalar(
        select(JetonMotDePasse).where(
            JetonMotDePasse.digest == motdepasse.token_digest(token or "")
        )
    )
    if jeton is None or jeton.used_at is not None or jeton.expires_at <= utcnow():
        raise LienInvalide()
    return jeton


@dataclass(frozen=True)
class PageLien:
    """What the page of a valid link asks."""

    expires_at: datetime
    # The identity's secret question, to answer with the new password; None when it has none
    # yet (added by a référent): the page then asks to choose one.
    question: str | None
    # The identity never had a password: the link of its account validation or of its addition.
    premier_mot_de_passe: bool


def ouvrir_lien(token: str) -> PageLien:
    """:raise LienInvalide: unknown, used or expired; ``TropDEssais`` when the identity gave
    too many wrong answers to its secret question."""
    jeton = jeton_valide(token)
    utilisateur = db.session.get(Utilisateur, jeton.utilisateur_id)
    question = None
    if _a_une_question(utilisateur):
        if echecs_reponse(utilisateur) >= ESSAIS_REPONSE:
            raise TropDEssais()
        question = libelle_question(utilisateur)
    return PageLien(jeton.expires_at, question, utilisateur.password_hash is None)


def echecs_reponse(utilisateur: Utilisateur) -> int:
    """Wrong answers to the identity's secret question that still count: those of the last
    ``FENETRE_ESSAIS``, after its last password or question change."""
    depuis = utcnow() - FENETRE_ESSAIS
    about_it = (
        AuditEvent.object_type == "utilisateur",
        AuditEvent.object_id == str(utilisateur.id),
    )
    remise = db.session.scalar(
        select(func.max(AuditEvent.occurred_at)).where(
            *about_it, AuditEvent.operation.in_(REMISES_A_ZERO)
        )
    )
    if remise is not None and remise > depuis:
        depuis = remise
    return db.session.scalar(
        select(func.count()).where(
            *about_it, AuditEvent.operation == ECHEC_REPONSE, AuditEvent.occurred_at > depuis
        )
    )


def _problemes_mot_de_passe(utilisateur: Utilisateur, mot_de_passe: str) -> list[str]:
    return motdepasse.check_password(
        mot_de_passe,
        identifiant=utilisateur.identifiant,
        courriel=utilisateur.courriel,
        nom=utilisateur.nom,
        prenom=utilisateur.prenom,
    )


def _annuler_liens(utilisateur: Utilisateur, now) -> None:
    db.session.execute(
        update(JetonMotDePasse)
        .where(JetonMotDePasse.utilisateur_id == utilisateur.id, JetonMotDePasse.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )


def _verifier_reponse(utilisateur: Utilisateur, reponse: str | None, erreurs: dict) -> None:
    """Check the answer to the identity's secret question (its row locked by the caller).

    A wrong answer is journaled and committed at once, whatever else is refused, and the
    caller's transaction starts again: :raise TropDEssais: when the identity is (now) locked.
    """
    echecs = echecs_reponse(utilisateur)
    if echecs >= ESSAIS_REPONSE:
        db.session.rollback()
        raise TropDEssais()
    ok, new_hash = motdepasse.verify_secret(
        utilisateur.reponse_hash, motdepasse.normalise_reponse(reponse or "")
    )
    if ok:
        if new_hash:  # hashed with older parameters: store it with the current ones
            utilisateur.reponse_hash = new_hash
        return
    journaliser(
        VISITEUR,
        ECHEC_REPONSE,
        "utilisateur",
        utilisateur.id,
        details={"par": "lien à usage unique"},
    )
    db.session.commit()
    if echecs + 1 >= ESSAIS_REPONSE:
        raise TropDEssais()
    erreurs["reponse"] = [message_reponse(ESSAIS_REPONSE - echecs - 1)]


def choisir_mot_de_passe(
    token: str,
    mot_de_passe: str,
    question_secrete: str | None = None,
    reponse: str | None = None,
) -> Utilisateur:
    """Set the identity's password from a link; the link then stops working, and so do the
    other links of that identity.

    An identity that has a secret question must give its answer (``reponse``): a wrong answer
    stores nothing and is journaled as a failed authentication; the last one allowed locks the
    identity's links (``TropDEssais``). An identity without a question yet (added by a
    référent) chooses it here: ``question_secrete`` and ``reponse`` are then required and the
    answer is stored hashed.

    :raise LienInvalide: (``TropDEssais`` when locked) :raise SaisieRefusee: with the French
        reasons by field (``MotDePasseRefuse`` when only the password is refused).
    """
    begin_write()  # the identity's attempts queue here: none is counted twice or missed
    try:
        jeton = jeton_valide(token)
    except LienInvalide:
        db.session.rollback()
        raise
    utilisateur = db.session.scalar(
        select(Utilisateur)
        .where(Utilisateur.id == jeton.utilisateur_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    erreurs: dict[str, list[str]] = {}
    problems = _problemes_mot_de_passe(utilisateur, mot_de_passe)
    if problems:
        erreurs["mot_de_passe"] = problems
    nouvelle_question = not _a_une_question(utilisateur)
    if nouvelle_question:
        erreurs.update(erreurs_question(question_secrete, reponse))
    else:
        _verifier_reponse(utilisateur, reponse, erreurs)
    if erreurs:
        db.session.rollback()
        _refuser(erreurs)
    now = utcnow()
    used = db.session.execute(
        update(JetonMotDePasse)
        .where(JetonMotDePasse.id == jeton.id, JetonMotDePasse.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if used != 1:  # the same link posted twice at once: only the first counts
        db.session.rollback()
        raise LienInvalide()
    _annuler_liens(utilisateur, now)
    utilisateur.password_hash = motdepasse.hash_secret(mot_de_passe)
    journaliser(
        Acteur("usager", utilisateur.identifiant),
        "choisir_mot_de_passe",
        "utilisateur",
        utilisateur.id,
        details={"par": "lien à usage unique"},
    )
    if nouvelle_question:
        _enregistrer_question(utilisateur, question_secrete, reponse)
        journaliser(
            Acteur("usager", utilisateur.identifiant),
            "choisir_question_secrete",
            "utilisateur",
            utilisateur.id,
            details={"par": "lien à usage unique"},
        )
    db.session.commit()
    return utilisateur


# --- "J'ai oublié mon identifiant" / "J'ai oublié mon mot de passe" --------------------------------


def adresse(courriel: str) -> str:
    """The address as the forms store it (spaces removed, domain in lower case)."""
    return formats.normalise("email", (courriel or "").strip())


def pseudonyme(valeur: str) -> str:
    """A keyed digest (HMAC-SHA256 with ``SECRET_KEY``, 64 hex characters) of an address or an
    identifiant as typed on the public side, for the journal: staff can find the requests about
    a given address by computing its pseudonym, but the journal holds no address and does not
    tell whether it belongs to anybody."""
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    message = "pseudonyme\0" + valeur.strip().lower()
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def _heure() -> str:
    return utcnow().strftime("%Y%m%d%H")


def envoyer_identifiants(courriel: str) -> None:
    """Mail every active identity of this address its identifiant: one mail listing each
    identifiant with the establishments it serves. Nothing is sent for an unknown address, and
    the caller cannot tell the difference (same journal row, nothing returned). One mail per
    address and hour at most, however often it is asked for: no mailbox can be flooded.
    """
    typed = adresse(courriel)
    identites = db.session.scalars(
        select(Utilisateur)
        .where(func.lower(Utilisateur.courriel) == typed.lower(), Utilisateur.actif.is_(True))
        .order_by(Utilisateur.id)
    ).all()
    fiches = [_fiche(utilisateur) for utilisateur in identites]
    begin_write()
    journaliser(VISITEUR, "demander_identifiants", "courriel", pseudonyme(typed))
    if identites:
        outbox.notifier(
            identites[0].courriel,
            "identifiants_oublies",
            {"comptes": fiches},
            idempotency_key=f"identifiants-oublies-{pseudonyme(typed)}-{_heure()}",
        )
    outbox.commit()


def _fiche(utilisateur: Utilisateur) -> dict:
    """An identity as the forgotten-identifiant mail lists it."""
    lieux = db.session.execute(
        select(Etablissement.siret, Etablissement.denomination)
        .join(Habilitation, Habilitation.etablissement_id == Etablissement.id)
        .where(Habilitation.utilisateur_id == utilisateur.id, Habilitation.actif.is_(True))
        .order_by(Etablissement.denomination, Etablissement.siret)
    ).all()
    return {
        "identifiant": utilisateur.identifiant,
        "nom": utilisateur.nom,
        "prenom": utilisateur.prenom,
        "etablissements": [{"siret": s, "denomination": d} for s, d in lieux],
    }


def _identifiant(identifiant: str) -> str:
    return (identifiant or "").strip().lower()


def _identite(identifiant: str, courriel: str) -> Utilisateur | None:
    """The active identity with this identifiant and this address (case aside), or None."""
    utilisateur = db.session.scalar(
        select(Utilisateur).where(Utilisateur.identifiant == _identifiant(identifiant))
    )
    if (
        utilisateur is None
        or not utilisateur.actif
        or utilisateur.courriel.lower() != adresse(courriel).lower()
    ):
        return None
    return utilisateur


def demander_nouveau_mot_de_passe(identifiant: str, courriel: str) -> None:
    """Mail a single-use link to choose a new password (the ``mot_de_passe`` mail, valid 72 h)
    when the identifiant and the address match an active identity. The page of the link asks
    the identity's secret question (§1.6): the question is never shown to whoever merely knows
    an identifiant and an address.

    Otherwise nothing is sent. The caller cannot tell which: nothing is returned and the journal
    row is the same. One link per identity and hour at most: a second request within the hour
    sends nothing more.
    """
    utilisateur = _identite(identifiant, courriel)
    begin_write()
    journaliser(
        VISITEUR,
        "demander_nouveau_mot_de_passe",
        "identifiant",
        pseudonyme(_identifiant(identifiant)),
    )
    if utilisateur is not None:
        _envoyer_lien(utilisateur)
    outbox.commit()


def _envoyer_lien(utilisateur: Utilisateur) -> None:
    key = f"mot-de-passe-oublie-{utilisateur.id}-{_heure()}"
    if db.session.scalar(select(Notification.id).where(Notification.idempotency_key == key)):
        return  # already sent this hour: no new link, no new mail
    lien, expiration = comptes.lien_mot_de_passe(utilisateur)
    outbox.notifier(
        utilisateur.courriel,
        "mot_de_passe",
        {
            "nom": utilisateur.nom,
            "prenom": utilisateur.prenom,
            "lien": lien,
            "expiration": expiration.isoformat(),
        },
        idempotency_key=key,
    )


# --- "Mon compte" ---------------------------------------------------------------------------------


def _mot_de_passe_correct(utilisateur: Utilisateur, mot_de_passe: str) -> bool:
    return motdepasse.verify_secret(utilisateur.password_hash, mot_de_passe or "")[0]


def changer_mot_de_passe(utilisateur: Utilisateur, actuel: str, nouveau: str) -> Utilisateur:
    """Replace the identity's password, which serves every establishment it is habilitated
    for. Every other session ends (the session token changes: the caller signs the current
    session in again with the returned identity) and pending password links stop working.

    :raise SaisieRefusee: ``mot_de_passe_actuel`` wrong, ``mot_de_passe`` refused by the policy.
    """
    erreurs: dict[str, list[str]] = {}
    if not _mot_de_passe_correct(utilisateur, actuel):
        erreurs["mot_de_passe_actuel"] = [MESSAGE_MOT_DE_PASSE_ACTUEL]
    problems = _problemes_mot_de_passe(utilisateur, nouveau)
    if problems:
        erreurs["mot_de_passe"] = problems
    if erreurs:
        raise SaisieRefusee(erreurs)
    begin_write()
    utilisateur.password_hash = motdepasse.hash_secret(nouveau)
    utilisateur.jeton_session = secrets.token_hex(16)
    _annuler_liens(utilisateur, utcnow())
    journaliser(
        Acteur("usager", utilisateur.identifiant),
        "changer_mot_de_passe",
        "utilisateur",
        utilisateur.id,
        details={"par": "Mon compte"},
    )
    db.session.commit()
    return utilisateur


def changer_question(
    utilisateur: Utilisateur, mot_de_passe: str, question_secrete: str, reponse: str
) -> Utilisateur:
    """Replace the identity's secret question and answer (the answer is stored hashed).

    :raise SaisieRefusee: ``mot_de_passe_actuel`` wrong, ``question_secrete`` or ``reponse``
        refused by the account request form's rules.
    """
    erreurs: dict[str, list[str]] = {}
    if not _mot_de_passe_correct(utilisateur, mot_de_passe):
        erreurs["mot_de_passe_actuel"] = [MESSAGE_MOT_DE_PASSE_ACTUEL]
    erreurs.update(erreurs_question(question_secrete, reponse))
    if erreurs:
        raise SaisieRefusee(erreurs)
    begin_write()
    _enregistrer_question(utilisateur, question_secrete, reponse)
    journaliser(
        Acteur("usager", utilisateur.identifiant),
        "changer_question_secrete",
        "utilisateur",
        utilisateur.id,
        details={"par": "Mon compte"},
    )
    db.session.commit()
    return utilisateur
