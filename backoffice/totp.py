"""The agents' second factor: TOTP secrets (RFC 6238), their encryption at rest, the enrolment
URI and QR code, and the single-use recovery codes.

The TOTP secret is encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``)
under a key derived from ``SECRET_KEY`` by HKDF; ``SECRET_KEY_FALLBACKS`` still decrypt, so the
key can be rotated like Flask's own (a secret read with an old key is re-encrypted with the
current one). Losing every key means re-enrolling the agents, never losing data.
"""

from __future__ import annotations

import base64
import secrets

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from markupsafe import Markup

from identites.motdepasse import token_digest

PERIODE = 30  # seconds per TOTP time step (what every authenticator app uses)
CHIFFRES = 6
FENETRE = 1  # steps accepted before and after the current one: clocks drift
NOMBRE_CODES_SECOURS = 10
# Recovery codes: 10 characters of an alphabet without look-alikes (no 0/o, 1/l/i), shown as
# two groups of five: ~50 bits each, far beyond what 5 tries per 15 minutes can guess.
_ALPHABET_SECOURS = "abcdefghjkmnpqrstuvwxyz23456789"
_LONGUEUR_SECOURS = 10


class SecretIllisible(Exception):
    """The stored TOTP secret cannot be decrypted with the current keys."""


# --- encryption at rest --------------------------------------------------------------------------


def _fernet(key: str | bytes) -> Fernet:
    material = key.encode("utf-8") if isinstance(key, str) else key
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"apart backoffice totp"
    ).derive(material)
    return Fernet(base64.urlsafe_b64encode(derived))


def _chiffreur() -> MultiFernet:
    keys = [
        current_app.config["SECRET_KEY"],
        *(current_app.config.get("SECRET_KEY_FALLBACKS") or []),
    ]
    return MultiFernet([_fernet(key) for key in keys])


def chiffrer(secret: str) -> str:
    return _chiffreur().encrypt(secret.encode("ascii")).decode("ascii")


def dechiffrer(chiffre: str) -> str:
    """:raise SecretIllisible: when no current or fallback key opens it."""
    try:
        return _chiffreur().decrypt(chiffre.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise SecretIllisible from exc


def rechiffrer(chiffre: str) -> str | None:
    """The same secret under the current key, or None when it already is."""
    try:
        _fernet(current_app.config["SECRET_KEY"]).decrypt(chiffre.encode("ascii"))
        return None
    except InvalidToken:
        return _chiffreur().rotate(chiffre.encode("ascii")).decode("ascii")


# --- TOTP ----------------------------------------------------------------------------------------


def nouveau_secret() -> str:
    """160 random bits in base32, the size RFC 4226 recommends."""
    return pyotp.random_base32(32)


def pas_courant(maintenant: float) -> int:
    return int(maintenant) // PERIODE


def pas_valide(secret: str, code: str, maintenant: float) -> int | None:
    """The time step ``code`` belongs to (within the drift window), else None."""
    code = "".join(code.split())
    if len(code) != CHIFFRES or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=CHIFFRES, interval=PERIODE)
    courant = pas_courant(maintenant)
    trouve = None
    for pas in range(courant - FENETRE, courant + FENETRE + 1):
        # Every candidate is compared, in constant time, whatever matched first.
        if secrets.compare_digest(totp.generate_otp(pas), code):
            trouve = pas
    return trouve


def uri_enrolement(secret: str, email: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (issuer: ``SITE_NAME``)."""
    emetteur = current_app.config["SITE_NAME"]
    return pyotp.TOTP(secret, digits=CHIFFRES, interval=PERIODE).provisioning_uri(
        name=email, issuer_name=emetteur
    )


def qr_svg(uri: str) -> Markup:
    """The QR code of ``uri`` as inline SVG: no script, no style attribute (CSP-safe)."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=5,
        border=4,
        dark="#000",
        light="#fff",
        svgclass="qr-enrolement",
        title="QR code d'enrôlement de la double authentification",
    )
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S704 (segno's own SVG)


def secret_lisible(secret: str) -> str:
    """The secret in groups of four, for a manual entry in the app."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# --- recovery codes ------------------------------------------------------------------------------


def nouveaux_codes_secours() -> list[str]:
    codes = []
    for _ in range(NOMBRE_CODES_SECOURS):
        brut = "".join(secrets.choice(_ALPHABET_SECOURS) for _ in range(_LONGUEUR_SECOURS))
        codes.append(brut[:5] + "-" + brut[5:])
    return codes


def normaliser_code_secours(code: str) -> str:
    """Spaces, dashes and case do not matter: ``ABCDE FGHJK`` is ``abcde-fghjk``."""
    brut = "".join(c for c in code.lower() if c not in " -\t")
    return brut[:5] + "-" + brut[5:] if len(brut) == _LONGUEUR_SECOURS else brut


def empreinte_code_secours(code: str) -> str:
    return token_digest(normaliser_code_secours(code))
