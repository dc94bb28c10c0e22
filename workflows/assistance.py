"""Support requests ("BESOIN D'AIDE ?" → "Envoyer une demande d'assistance").

A user files a request from the ``demande-support`` form and receives an acknowledgement
with its reference; the support (back-office) answers it by mail, closes it, or reopens it.

    ouverte ──répondre──▶ repondue ──clore──▶ close
       │                     ▲                   │
       └──────clore──────────┼──────────────────▶│
       ◀──────rouvrir────────┴───────rouvrir─────┘
"""

from __future__ import annotations

import copy

from sqlalchemy import update

from database import begin_write
from extensions import db
from forms.registry import FormDefinition
from mailer import outbox
from models.assistance import AssistanceState, DemandeAssistance
from models.comptes import Utilisateur
from workflows.journal import Acteur, journaliser

OBJECT_TYPE = "demande_assistance"
MAX_REPONSE_CHARS = 10_000


class AssistanceError(Exception):
    """A rule refuses the operation; the message is for the agent or the user (French)."""


class TransitionInterdite(AssistanceError):
    """The request is not (or no longer) in a state that allows this operation."""


def demander_assistance(
    definition: FormDefinition,
    document: dict,
    acteur: Acteur,
    utilisateur: Utilisateur | None = None,
) -> DemandeAssistance:
    """File a request from a document already valid against ``definition``; journal it and
    queue the acknowledgement mail (with the reference) to the address given. One commit."""
    begin_write()
    demande = DemandeAssistance(
        form_id=definition.id,
        form_version=definition.version,
        data=copy.deepcopy(document),
        courriel=document["courriel"],
        siret=document.get("siret"),
        sujet=document.get("sujet"),
        utilisateur_id=utilisateur.id if utilisateur is not None else None,
    )
    db.session.add(demande)
    db.session.flush()
    journaliser(
        acteur,
        "demander_assistance",
        OBJECT_TYPE,
        demande.id,
        state_to=AssistanceState.OUVERTE,
        details={"reference": demande.reference, "sujet": demande.sujet, "siret": demande.siret},
    )
    context = {"reference": demande.reference}
    if utilisateur is not None:
        # A greeting by name only for a signed-in identity: never echo what an anonymous
        # visitor typed into a mail sent to an address nobody has checked.
        context.update(nom=utilisateur.nom, prenom=utilisateur.prenom)
    outbox.notifier(
        demande.courriel,
        "assistance_recue",
        context,
        idempotency_key=f"assistance-recue-{demande.id}",
    )
    outbox.commit()
    return demande


def _transition(
    demande_id: int, origins: tuple[AssistanceState, ...], target: AssistanceState
) -> tuple[DemandeAssistance, AssistanceState]:
    """Move the request from one of ``origins`` to ``target`` atomically (two agents cannot
    both do it); return it with the state it left.

    :raise TransitionInterdite: unknown request, or not in one of ``origins``.
    """
    begin_write()
    demande = db.session.get(DemandeAssistance, demande_id)
    if demande is None:
        raise TransitionInterdite("Cette demande d'assistance n'existe pas.")
    previous = AssistanceState(demande.state)
    moved = db.session.execute(
        update(DemandeAssistance)
        .where(
            DemandeAssistance.id == demande_id,
            DemandeAssistance.state == previous,
            DemandeAssistance.state.in_(origins),
        )
        .values(state=target)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        db.session.rollback()
        current = AssistanceState(db.session.get(DemandeAssistance, demande_id).state)
        raise TransitionInterdite(_refus(target, current))
    db.session.refresh(demande)
    return demande, previous


def _refus(target: AssistanceState, current: AssistanceState) -> str:
    action = {
        AssistanceState.REPONDUE: "répondre à",
        AssistanceState.CLOSE: "clore",
        AssistanceState.OUVERTE: "rouvrir",
    }[target]
    raisons = {
        AssistanceState.OUVERTE: "elle est déjà ouverte",
        AssistanceState.REPONDUE: "elle a déjà reçu une réponse",
        AssistanceState.CLOSE: "elle est déjà close",
    }
    conseil = " Rouvrez-la d'abord." if target == AssistanceState.REPONDUE else ""
    return (
        f"Impossible de {action} cette demande d'assistance : {raisons[current]} "
        f"(état : {current.label}).{conseil}"
    )


def repondre_assistance(demande_id: int, acteur: Acteur, message: str) -> DemandeAssistance:
    """Mail the support's answer to the requester; the request goes from ouverte to repondue.

    :raise AssistanceError: empty or too long answer. :raise TransitionInterdite: not ouverte.
    """
    message = (message or "").strip()
    if not message:
        raise AssistanceError("Saisissez la réponse : elle est envoyée par courriel au demandeur.")
    if len(message) > MAX_REPONSE_CHARS:
        limite = format(MAX_REPONSE_CHARS, ",").replace(",", "\u202f")
        raise AssistanceError(f"La réponse ne doit pas dépasser {limite} caractères.")
    demande, previous = _transition(
        demande_id, (AssistanceState.OUVERTE,), AssistanceState.REPONDUE
    )
    event = journaliser(
        acteur,
        "repondre_assistance",
        OBJECT_TYPE,
        demande.id,
        state_from=previous,
        state_to=AssistanceState.REPONDUE,
        details={"message": message},
    )
    db.session.flush()
    outbox.notifier(
        demande.courriel,
        "reponse_support",
        {"reference": demande.reference, "message": message},
        idempotency_key=f"assistance-reponse-{demande.id}-{event.id}",
    )
    outbox.commit()
    return demande


def clore_assistance(demande_id: int, acteur: Acteur) -> DemandeAssistance:
    """Close an open or answered request (no mail). :raise TransitionInterdite: already close."""
    demande, previous = _transition(
        demande_id, (AssistanceState.OUVERTE, AssistanceState.REPONDUE), AssistanceState.CLOSE
    )
    journaliser(
        acteur,
        "clore_assistance",
        OBJECT_TYPE,
        demande.id,
        state_from=previous,
        state_to=AssistanceState.CLOSE,
    )
    db.session.commit()
    return demande


def rouvrir_assistance(demande_id: int, acteur: Acteur) -> DemandeAssistance:
    """Put an answered or closed request back in the queue (no mail).

    :raise TransitionInterdite: already ouverte.
    """
    demande, previous = _transition(
        demande_id, (AssistanceState.REPONDUE, AssistanceState.CLOSE), AssistanceState.OUVERTE
    )
    journaliser(
        acteur,
        "rouvrir_assistance",
        OBJECT_TYPE,
        demande.id,
        state_from=previous,
        state_to=AssistanceState.OUVERTE,
    )
    db.session.commit()
    return demande
