"""Attachments: size and type limits, type decided by the content, stored under a random name.

A file is stored as soon as it is received and accepted, so that a form re-displayed with
errors keeps it (the page carries its token); the user's file name is kept for display only.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
from pathlib import Path

import filetype
from flask import current_app
from sqlalchemy import select

from extensions import db
from forms.vocabulary import FILE_TYPES
from models.upload import Upload

CHUNK = 64 * 1024


class UploadRefused(ValueError):
    """The file cannot be accepted; the message says why, in French."""


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.0f} Mo".replace(".", ",")
    return f"{max(1, size // 1024)} ko"


def clean_filename(name: str) -> str:
    """A displayable name: no path, no control or invisible characters, at most 255 chars."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.strip(" .") or "fichier"
    return name[-255:]


def uploads_dir() -> Path:
    path = Path(current_app.config["UPLOADS_DIR"])
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def store(storage, spec: dict) -> Upload:
    """Check and store one received file; commit its row.

    :raise UploadRefused: empty, too large, or of a type the field does not accept.
    """
    token = secrets.token_hex(16)
    target = uploads_dir() / token
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            size, mime, sha256 = _receive(storage, spec, out)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    upload = Upload(
        token=token,
        filename=clean_filename(storage.filename),
        content_type=mime,
        size=size,
        sha256=sha256,
    )
    db.session.add(upload)
    db.session.commit()
    return upload


def check(storage, spec: dict) -> None:
    """The checks of ``store`` (size, emptiness, type by content), writing nothing.

    :raise UploadRefused: as ``store`` would.
    """
    _receive(storage, spec, None)


def _receive(storage, spec: dict, out) -> tuple[int, str, str]:
    """Read ``storage`` (into ``out`` when given); its size, type and SHA-256 once accepted."""
    limit = min(
        spec.get("max-bytes", current_app.config["UPLOAD_MAX_BYTES"]),
        current_app.config["UPLOAD_MAX_BYTES"],
    )
    accepted = spec.get("mime-types") or list(FILE_TYPES)
    names = ", ".join(FILE_TYPES[t] for t in accepted)
    digest = hashlib.sha256()
    size = 0
    head = b""
    while chunk := storage.stream.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise UploadRefused(
                f"Le fichier dépasse la taille maximale autorisée ({human_size(limit)})."
            )
        if len(head) < 8192:
            head += chunk[: 8192 - len(head)]
        digest.update(chunk)
        if out is not None:
            out.write(chunk)
    if size == 0:
        raise UploadRefused("Le fichier est vide.")
    kind = filetype.guess(head)
    mime = kind.mime if kind else None
    if mime not in accepted:
        raise UploadRefused(f"Ce type de fichier n'est pas accepté. Formats acceptés : {names}.")
    return size, mime, digest.hexdigest()


def exists(token: str) -> bool:
    if not re.fullmatch(r"[0-9a-f]{32}", token or ""):
        return False
    return db.session.scalar(select(Upload.id).where(Upload.token == token)) is not None


def find(token: str) -> Upload | None:
    if not re.fullmatch(r"[0-9a-f]{32}", token or ""):
        return None
    return db.session.scalar(select(Upload).where(Upload.token == token))


def noms(tokens) -> dict[str, str]:
    """The file names of the existing uploads among ``tokens``, in one query."""
    valides = [t for t in tokens if isinstance(t, str) and re.fullmatch(r"[0-9a-f]{32}", t)]
    if not valides:
        return {}
    return dict(
        db.session.execute(
            select(Upload.token, Upload.filename).where(Upload.token.in_(valides))
        ).all()
    )


def path_of(upload: Upload) -> Path:
    return uploads_dir() / upload.token
