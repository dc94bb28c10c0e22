"""Standalone forms (``"x-standalone": true``): a valid document becomes a stored submission,
which the back-office then handles.

    reçue ──marquer_traitee──▶ traitée
      ◀──────rouvrir──────────┘

Every operation writes its journal row (object type ``soumission``) in its transaction.

**The acknowledgement mail.** When the form asks for an email, the address typed receives an
acknowledgement (template ``soumission_recue``: the form's title and the reference, never the
answers: the address is unverified). « The email of the form » is the first
top-level question of ``"format": "email"`` in the form's order (``adresse_accuse``); a form
without one sends nothing, and an email asked inside a section or a repeated group (a
colleague's, an employee's) never receives it.
"""

from __future__ import annotations

import copy
import logging

from sqlalchemy import update

from database import begin_write
from extensions import db
from forms.registry import FormDefinition
from mailer import outbox
from models.submission import Submission, SubmissionState
from models.types import utcnow
from workflows.journal import Acteur, journaliser

log = logging.getLogger(__name__)

OBJECT_TYPE = "soumission"


class SoumissionError(Exception):
    """A rule refuses the operation; the message is for the agent (French)."""


class TransitionInterdite(SoumissionError):
    """The submission is not (or no longer) in a state that allows this operation."""


def adresse_accuse(definition: FormDefinition, document: dict) -> str | None:
    """The address of the acknowledgement: the answer to the first top-level question of
    format ``email`` (in the form's order), when it is filled; None otherwise."""
    for spec in definition.tree:
        if spec.format == "email" and spec.confirm_of is None and not spec.children:
            valeur = document.get(spec.name)
            return valeur if isinstance(valeur, str) and valeur.strip() else None
    return None


def deposer_soumission(
    definition: FormDefinition, document: dict, acteur: Acteur | None = None
) -> Submission:
    """Store a document already validated against ``definition``, « reçue »; journal it and,
    when the form asks for an email, queue the acknowledgement to it. One commit; the mail
    is queued after it.

    The submission records the form id and version it was validated against, so that it
    is always shown with that version's labels.
    """
    begin_write()
    submission = ajouter_soumission(definition, document, acteur)
    outbox.commit()
    return submission


def ajouter_soumission(
    definition: FormDefinition, document: dict, acteur: Acteur | None = None
) -> Submission:
    """The body of ``deposer_soumission`` for an operation that files a document within its
    own write transaction (``begin_write()`` already called): adds the submission, its
    journal row and its mail; neither begins nor commits (call ``outbox.commit()`` after).
    """
    courriel = adresse_accuse(definition, document)
    submission = Submission(
        form_id=definition.id,
        form_version=definition.version,
        data=copy.deepcopy(document),
        state=SubmissionState.RECUE,
    )
    db.session.add(submission)
    db.session.flush()
    journaliser(
        acteur or Acteur("usager", courriel),
        "deposer_soumission",
        OBJECT_TYPE,
        submission.id,
        state_to=SubmissionState.RECUE,
        details={
            "reference": submission.reference,
            "form_id": definition.id,
            "form_version": definition.version,
        },
    )
    if courriel is not None:
        try:
            outbox.notifier(
                courriel,
                "soumission_recue",
                # Title and reference only, never the answers: the address is unverified,
                # and echoing what a visitor typed would let anyone relay text through us.
                {"reference": submission.reference, "titre_formulaire": definition.title},
                idempotency_key=f"soumission-recue-{submission.id}",
            )
        except outbox.NotificationError:
            # The format check accepted the address: the submission is kept, not the mail.
            log.warning("accusé de réception impossible pour la soumission %s", submission.id)
    return submission


def _transition(submission_id: int, origine: SubmissionState, cible: SubmissionState) -> Submission:
    """Move the submission from ``origine`` to ``cible`` atomically (two agents cannot both
    do it).

    :raise TransitionInterdite: unknown submission, or not in ``origine``.
    """
    begin_write()
    submission = db.session.get(Submission, submission_id)
    if submission is None:
        raise TransitionInterdite("Cette soumission n'existe pas.")
    moved = db.session.execute(
        update(Submission)
        .where(Submission.id == submission_id, Submission.state == origine)
        .values(state=cible, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        db.session.rollback()
        courant = SubmissionState(db.session.get(Submission, submission_id).state)
        action = "marquer comme traitée" if cible is SubmissionState.TRAITEE else "rouvrir"
        raise TransitionInterdite(
            f"Impossible de {action} cette soumission : elle est déjà {courant.label.lower()}."
        )
    db.session.refresh(submission)
    return submission


def marquer_traitee(submission_id: int, acteur: Acteur) -> Submission:
    """« Marquer comme traitée »: reçue → traitée, journaled (no mail).

    :raise TransitionInterdite: already traitée.
    """
    submission = _transition(submission_id, SubmissionState.RECUE, SubmissionState.TRAITEE)
    journaliser(
        acteur,
        "marquer_soumission_traitee",
        OBJECT_TYPE,
        submission.id,
        state_from=SubmissionState.RECUE,
        state_to=SubmissionState.TRAITEE,
        details={"reference": submission.reference},
    )
    db.session.commit()
    return submission


def rouvrir(submission_id: int, acteur: Acteur) -> Submission:
    """« Rouvrir »: traitée → reçue, journaled (no mail).

    :raise TransitionInterdite: already reçue.
    """
    submission = _transition(submission_id, SubmissionState.TRAITEE, SubmissionState.RECUE)
    journaliser(
        acteur,
        "rouvrir_soumission",
        OBJECT_TYPE,
        submission.id,
        state_from=SubmissionState.TRAITEE,
        state_to=SubmissionState.RECUE,
        details={"reference": submission.reference},
    )
    db.session.commit()
    return submission
