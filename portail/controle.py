"""The security check of the account request: an image code, its audio version, single use.

``nouveau_defi()`` creates a challenge and returns its jeton; the page shows
``/controle/<jeton>.png`` and offers ``/controle/<jeton>.wav``; ``verifier(jeton, reponse)``
consumes the challenge whatever the answer. The code is never stored: it is derived from the
jeton and the secret key (HMAC), so the image and the audio say the same code every time they
are fetched, and only the digest of the expected answer sits in the database.

Codes are digits only: the audio voice bundled with the ``captcha`` package is English, and
letters spelled in English (E, I, G, J...) would mislead French-speaking users.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from captcha.audio import AudioCaptcha
from captcha.image import ImageCaptcha
from flask import Blueprint, Flask, Response, abort, current_app
from sqlalchemy import delete, select

from extensions import db, limiter
from models.controle import DefiControle
from models.types import utcnow

bp = Blueprint("controle", __name__, template_folder="templates")

DUREE_MINUTES = 10
LONGUEUR = 6
# No 0 nor 1 (read as O, I or L). 8 symbols: a random byte modulo 8 stays uniform.
ALPHABET = "23456789"

_image = ImageCaptcha(width=200, height=70)
_audio = AudioCaptcha()


def normaliser(reponse: str) -> str:
    """The answer as compared: capitals, without any whitespace."""
    return "".join(reponse.split()).upper()


def _empreinte(reponse: str) -> str:
    return hashlib.sha256(normaliser(reponse).encode()).hexdigest()


def _code(jeton: str) -> str:
    """The challenge's code, derived from its jeton and the application's secret key."""
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    digest = hmac.new(key, b"controle:" + jeton.encode(), hashlib.sha256).digest()
    return "".join(ALPHABET[byte % len(ALPHABET)] for byte in digest[:LONGUEUR])


def _reponse_de_test() -> str:
    """``CAPTCHA_TEST_ANSWER``, normalised, when honoured (testing or debug only)."""
    answer = current_app.config.get("CAPTCHA_TEST_ANSWER") or ""
    if answer and (current_app.testing or current_app.debug):
        return normaliser(answer)
    return ""


def nouveau_defi() -> str:
    """Create a challenge (and purge the expired ones), commit, and return its jeton."""
    now = utcnow()
    db.session.execute(
        delete(DefiControle)
        .where(DefiControle.expires_at <= now)
        .execution_options(synchronize_session=False)
    )
    jeton = secrets.token_urlsafe(16)
    db.session.add(
        DefiControle(
            jeton=jeton,
            reponse_hash=_empreinte(_code(jeton)),
            expires_at=now + timedelta(minutes=DUREE_MINUTES),
            created_at=now,
        )
    )
    db.session.commit()
    return jeton


def verifier(jeton: str, reponse: str) -> bool:
    """Whether ``reponse`` solves the unexpired challenge ``jeton``; the challenge is consumed
    either way (a second attempt needs a new code). Case and spaces are ignored.

    The check is one conditional DELETE: of two concurrent requests, only one removes the row.
    """
    if not jeton or not reponse or not reponse.strip():
        if jeton:
            _consommer(jeton)
        return False
    conditions = [DefiControle.jeton == jeton, DefiControle.expires_at > utcnow()]
    if normaliser(reponse) != _reponse_de_test():
        conditions.append(DefiControle.reponse_hash == _empreinte(reponse))
    result = db.session.execute(
        delete(DefiControle).where(*conditions).execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        db.session.commit()
        return True
    _consommer(jeton)
    return False


def _consommer(jeton: str) -> None:
    db.session.execute(
        delete(DefiControle)
        .where(DefiControle.jeton == jeton)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _code_valide(jeton: str) -> str:
    """The code of an unexpired challenge, or a 404."""
    found = db.session.scalar(
        select(DefiControle.id).where(
            DefiControle.jeton == jeton, DefiControle.expires_at > utcnow()
        )
    )
    if found is None:
        abort(404)
    return _code(jeton)


def _sans_cache(body: bytes, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/controle/<jeton>.png")
@limiter.limit("60 per minute")
def image(jeton: str):
    return _sans_cache(_image.generate(_code_valide(jeton)).getvalue(), "image/png")


@bp.get("/controle/<jeton>.wav")
@limiter.limit("20 per minute")
def audio(jeton: str):
    return _sans_cache(bytes(_audio.generate(_code_valide(jeton))), "audio/wav")


def init_app(app: Flask) -> None:
    """Register the routes; refuse ``CAPTCHA_TEST_ANSWER`` outside tests and debug mode."""
    if app.config.get("CAPTCHA_TEST_ANSWER") and not (app.testing or app.debug):
        raise RuntimeError(
            "CAPTCHA_TEST_ANSWER est défini alors que ni TESTING ni DEBUG ne sont actifs : "
            "le contrôle de sécurité serait contournable. Retirez ce réglage en production. / "
            "CAPTCHA_TEST_ANSWER is set while neither TESTING nor DEBUG is on: the security "
            "check could be bypassed. Remove this setting in production."
        )
    app.register_blueprint(bp)
