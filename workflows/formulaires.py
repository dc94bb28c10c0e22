"""Standalone forms: a valid document becomes a stored submission."""

from extensions import db
from forms.registry import FormDefinition
from models.submission import Submission


def deposer_soumission(definition: FormDefinition, document: dict) -> Submission:
    """Store a document already validated against ``definition``; commit.

    The submission records the form id and version it was validated against, so that it
    is always shown with that version's labels.
    """
    submission = Submission(form_id=definition.id, form_version=definition.version, data=document)
    db.session.add(submission)
    db.session.commit()
    return submission
