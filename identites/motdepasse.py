"""Passwords and other secrets: argon2id hashing, the password policy, identifiants, link tokens.

Design references: ``reliability.md`` §1.1 (password rules), §1.2 (argon2id parameters), §1.4
(no account enumeration by timing), §1.5 (single-use links), §1.6 (secret answers stored like
passwords) and ``performance.md`` §3 (the hash bounds the login path).

Passwords are hashed and verified as typed, except for Unicode NFC normalisation (the same text
typed on macOS, which sends decomposed accents, and on Windows must match; NFC never changes
case or visible characters, so ASVS 5.0 6.2.8 "verify exactly as received" still holds). There is
no truncation: argon2 hashes the whole input, whatever its length in bytes.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import unicodedata
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app, has_app_context

# --- argon2id parameters (reliability.md §1.2, performance.md §3) -------------------------------
# Ordinary users: t=2, m=19 MiB (19456 KiB), p=1 — the ASVS 5.0 Appendix C / OWASP Password
# Storage Cheat Sheet minimum row for argon2id. Measured at ~24 ms per verify on the 2-vCPU box,
# i.e. ~80 logins/s for the whole box, which covers the 17 logins/s peak with a x2-3 margin;
# argon2-cffi's default (t=3, 64 MiB, p=4) costs 127 ms and would not (performance.md §3).
USER_TIME_COST = 2
USER_MEMORY_COST_KIB = 19_456
USER_PARALLELISM = 1
# Staff (back-office agents): the argon2-cffi default RFC 9106 "low memory" profile (t=3,
# m=64 MiB, p=4), as reliability.md §1.2 recommends: few accounts, more power, higher cost is cheap.
STAFF_PROFILE = argon2.profiles.RFC_9106_LOW_MEMORY

# --- password policy (reliability.md §1.1) -------------------------------------------------------
# Lengths count Unicode code points after NFC. Minimum 12 (ASVS 4.0.3 2.1.1, CNIL 2022 / ANSSI
# MonServiceSécurisé), 16 for staff (ANSSI for administrators); maximum 128 (ASVS 4.0.3 2.1.2:
# at least 64 allowed, more than 128 may be denied; CNIL asks for a maximum), never truncated.
# No composition rules (ASVS 4.0.3 2.1.9, 5.0 6.2.5). Candidate settings for the lead:
# PASSWORD_MIN_LENGTH / PASSWORD_MIN_LENGTH_STAFF / PASSWORD_MAX_LENGTH.
MIN_LENGTH = 12
MIN_LENGTH_STAFF = 16
MAX_LENGTH = 128
# Personal words (identifiant, e-mail local part, nom, prénom, extra context such as the SIRET)
# shorter than this are not searched for: "Li" or "Roy" inside a password is a coincidence.
MIN_PERSONAL_WORD = 4

BLOCKLIST_PATH = Path(__file__).parent / "data" / "mots-de-passe-courants.txt"

IDENTIFIANT_MAX_LENGTH = 20  # models.comptes.Utilisateur.identifiant is String(20)

MESSAGE_TOO_SHORT = "Votre mot de passe doit comporter au moins {minimum} caractères."
MESSAGE_TOO_LONG = "Votre mot de passe doit comporter au plus {maximum} caractères."
MESSAGE_COMMON = "Ce mot de passe est trop courant : choisissez-en un autre."
MESSAGE_SIMPLE = (
    "Votre mot de passe ne doit pas être une suite simple ou la répétition d'un même motif "
    "(par exemple « 123456789012 » ou « aaaaaaaaaaaa »)."
)
MESSAGE_PERSONAL = (
    "Votre mot de passe ne doit pas contenir votre identifiant, votre nom, votre prénom "
    "ni votre adresse électronique."
)
MESSAGE_CONTEXT = (
    "Votre mot de passe ne doit pas contenir d'information sur votre établissement "
    "(par exemple son numéro SIRET ou sa raison sociale)."
)


# --- hashing ---------------------------------------------------------------------------------------

_PRODUCTION = argon2.PasswordHasher(
    time_cost=USER_TIME_COST,
    memory_cost=USER_MEMORY_COST_KIB,
    parallelism=USER_PARALLELISM,
    type=argon2.Type.ID,
)
_STAFF = argon2.PasswordHasher.from_parameters(STAFF_PROFILE)
# Tests only: argon2-cffi's CHEAPEST profile (t=1, m=8 KiB) keeps the suite fast.
_CHEAP = argon2.PasswordHasher.from_parameters(argon2.profiles.CHEAPEST)

_dummy_hashes: dict[int, str] = {}
_dummy_lock = threading.Lock()


def hasher(*, staff: bool = False) -> argon2.PasswordHasher:
    """The process-wide hasher: CHEAPEST under ``TESTING``, else the documented argon2id costs.

    The app config is read at call time; without an app context the production parameters apply.
    """
    if has_app_context() and current_app.config.get("TESTING"):
        return _CHEAP
    return _STAFF if staff else _PRODUCTION


def hash_secret(secret: str, *, staff: bool = False) -> str:
    """Argon2id hash (salted, encoded with its parameters) of a password or normalised answer."""
    return hasher(staff=staff).hash(_nfc(secret))


def verify_secret(
    stored_hash: str | None, secret: str, *, staff: bool = False
) -> tuple[bool, str | None]:
    """Check ``secret`` against ``stored_hash``: ``(ok, new_hash_or_None)``.

    ``new_hash`` is set when the hash was made with other parameters than the current ones:
    store it in place of the old one (re-hash on login, reliability.md §1.2).

    An unknown account (``stored_hash`` None or empty) or a malformed hash costs one full
    verification against a dummy hash with the current parameters, so the answer time does not
    tell whether the account exists (reliability.md §1.4). Never raises on a bad hash.
    """
    ph = hasher(staff=staff)
    candidate = _nfc(secret)
    if not stored_hash:
        _burn(ph, candidate)
        return False, None
    try:
        ph.verify(stored_hash, candidate)
    except VerifyMismatchError:
        return False, None
    except (InvalidHashError, VerificationError):  # unparseable or undecodable stored value
        _burn(ph, candidate)
        return False, None
    except (ValueError, TypeError):  # defensive: anything else unparseable in the stored value
        _burn(ph, candidate)
        return False, None
    try:
        needs_rehash = ph.check_needs_rehash(stored_hash)
    except (InvalidHashError, ValueError):
        needs_rehash = True
    return True, (ph.hash(candidate) if needs_rehash else None)


def _burn(ph: argon2.PasswordHasher, candidate: str) -> None:
    """Spend the time of one verification, for nothing."""
    try:
        ph.verify(_dummy_hash(ph), candidate)
    except VerificationError:
        pass


def _dummy_hash(ph: argon2.PasswordHasher) -> str:
    key = id(ph)
    dummy = _dummy_hashes.get(key)
    if dummy is None:
        with _dummy_lock:
            dummy = _dummy_hashes.get(key)
            if dummy is None:
                # A random secret nobody knows: the dummy can never verify.
                dummy = ph.hash(secrets.token_urlsafe(32))
                _dummy_hashes[key] = dummy
    return dummy


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


# --- text folding ----------------------------------------------------------------------------------

_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "đ": "d", "ł": "l", "ı": "i"})
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'"})
_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−", "-"))


def _fold(text: str) -> str:
    """NFKC, casefold, accents removed, œ→oe and æ→ae: "Lætitia ÉCŒURÉE" → "laetitia ecoeuree"."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_LIGATURES)
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def normalise_reponse(text: str) -> str:
    """Canonical form of a secret-question answer, hashed and compared (reliability.md §1.6).

    Decision: answers are compared case-insensitively and accent-insensitively, with spacing
    ignored, because users retype them months later on another device: NFKC, casefold, accents
    removed (œ → oe, æ → ae), typographic apostrophes and dashes made ASCII, runs of whitespace
    collapsed to one space, ends stripped. Other punctuation is kept ("C++" ≠ "C").
    So " Paris ", "PARIS" and "paris" match; "Éléonore" matches "eleonore"; "Saint-Étienne"
    matches "saint–etienne" but not "saint etienne".
    """
    folded = _fold(text).translate(_APOSTROPHES).translate(_DASHES)
    return " ".join(folded.split())


# --- password policy -------------------------------------------------------------------------------

_LEET_SYMBOLS = str.maketrans({"@": "a", "$": "s", "€": "e", "!": "i", "£": "l"})
_LEET_DIGITS = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t"})
_EDGE_NOISE = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_LEADING_NOISE = re.compile(r"^[\W\d_]+")
_TRAILING_NOISE = re.compile(r"[\W\d_]+$")
_SEPARATORS = re.compile(r"[\s._\-'/+]+")


@cache
def blocklist() -> frozenset[str]:
    """The folded entries of ``data/mots-de-passe-courants.txt`` (loaded once per process)."""
    entries = set()
    with BLOCKLIST_PATH.open(encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line and not line.startswith("#"):
                entries.add(_SEPARATORS.sub("", _fold(line)))
    return frozenset(entries)


def _blocklist_candidates(password: str) -> set[str]:
    """The forms of a password looked up in the blocklist (see the header of the list file)."""
    folded = _fold(password)
    forms = {folded}
    # Strip the decoration on one or both ends before undoing symbol leetspeak, so that
    # "P@ssw0rd2024!" → "p@ssw0rd" and "$oleil2024!!" → "$oleil" → "soleil"; then undo digit
    # leetspeak in what remains ("passw0rd" → "password").
    for core in (
        _EDGE_NOISE.sub("", folded).translate(_LEET_SYMBOLS),
        _EDGE_NOISE.sub("", _TRAILING_NOISE.sub("", folded).translate(_LEET_SYMBOLS)),
        _EDGE_NOISE.sub("", _LEADING_NOISE.sub("", folded).translate(_LEET_SYMBOLS)),
    ):
        forms.update({core, core.translate(_LEET_DIGITS)})
    return {_SEPARATORS.sub("", form) for form in forms} - {""}


def _step(a: str, b: str) -> int | None:
    """+1, 0 or -1 when b follows, repeats or precedes a (digits wrap: 9→0, 0→9), else None."""
    if a == "9" and b == "0":
        return 1
    if a == "0" and b == "9":
        return -1
    diff = ord(b) - ord(a)
    return diff if diff in (-1, 0, 1) else None


def _runs(text: str) -> int:
    """How many runs of constant step (+1, 0 or -1) the text splits into, greedily."""
    runs, i, n = 0, 0, len(text)
    while i < n:
        runs += 1
        if i + 1 >= n:
            break
        step = _step(text[i], text[i + 1])
        if step is None:
            i += 1
            continue
        j = i + 1
        while j + 1 < n and _step(text[j], text[j + 1]) == step:
            j += 1
        i = j + 1
    return runs


def _is_simple(password: str) -> bool:
    """One repeated character, a repeated motif, or at most two straight sequences."""
    text = _fold(password)
    if not text:
        return False
    repeated_motif = (text + text).find(text, 1) < len(text)
    return repeated_motif or _runs(text) <= 2


def _personal_words(identifiant: str, courriel: str, nom: str, prenom: str) -> set[str]:
    words = {identifiant, nom, prenom}
    local_part = courriel.rsplit("@", 1)[0] if "@" in courriel else courriel
    words.add(local_part)
    words.update(re.split(r"[._+\-]", local_part))
    for name in (nom, prenom):  # "Jean-Pierre", "De La Tour": each part too
        words.update(re.split(r"[\s\-']+", name))
    return _searchable(words)


def _searchable(words: Iterable[str]) -> set[str]:
    folded = {_SEPARATORS.sub("", _fold(word or "")) for word in words}
    return {word for word in folded if len(word) >= MIN_PERSONAL_WORD}


def _contains_any(password: str, words: set[str]) -> bool:
    if not words:
        return False
    haystacks = {_SEPARATORS.sub("", _fold(password))}
    haystacks.add(_SEPARATORS.sub("", _fold(password).translate(_LEET_SYMBOLS)))
    return any(word in haystack for word in words for haystack in haystacks)


def check_password(
    password: str,
    *,
    identifiant: str = "",
    courriel: str = "",
    nom: str = "",
    prenom: str = "",
    contexte: Iterable[str] = (),
    staff: bool = False,
) -> list[str]:
    """The reasons, in French, why ``password`` is refused; an empty list when it is acceptable.

    Rules (reliability.md §1.1): 12 to 128 code points after NFC (16 minimum when ``staff``), not
    in the common-password list (nor a trivially decorated variant of an entry), not a simple
    sequence or repetition, not containing the identifiant, the e-mail's local part, the nom or
    the prénom (compared without case or accents, words of 4 characters or more). ``contexte``
    takes more words to refuse, such as the SIRET, the SIREN and the raison sociale (ASVS 5.0
    6.2.11). No composition rule.
    """
    text = _nfc(password)
    minimum = MIN_LENGTH_STAFF if staff else MIN_LENGTH
    errors: list[str] = []
    if len(text) < minimum:
        errors.append(MESSAGE_TOO_SHORT.format(minimum=minimum))
    if len(text) > MAX_LENGTH:
        errors.append(MESSAGE_TOO_LONG.format(maximum=MAX_LENGTH))
        return errors  # nothing else worth saying about an over-long input
    if not text:
        return errors
    if _is_simple(text):
        errors.append(MESSAGE_SIMPLE)
    elif _blocklist_candidates(text) & blocklist():
        errors.append(MESSAGE_COMMON)
    if _contains_any(text, _personal_words(identifiant, courriel, nom, prenom)):
        errors.append(MESSAGE_PERSONAL)
    if _contains_any(text, _searchable(contexte)):
        errors.append(MESSAGE_CONTEXT)
    return errors


# --- identifiants ---------------------------------------------------------------------------------


def _ascii_letters(text: str) -> str:
    return re.sub(r"[^a-z]", "", _fold(text))


def generate_identifiant(nom: str, prenom: str, exists: Callable[[str], bool]) -> str:
    """A readable identifiant: first letter of the prénom + nom, then 2, 3… when taken.

    ASCII lower case, accents and punctuation removed, at most 20 characters (the base is cut to
    leave room for the number): ("Gérard", "Mathilde") → "mgerard", then "mgerard2".
    ``exists(candidate)`` is asked until it answers False. After 99 homonyms, random 6-digit
    suffixes are tried so a common name does not cost thousands of look-ups.
    """
    base = (_ascii_letters(prenom)[:1] + _ascii_letters(nom)) or "compte"

    def with_suffix(suffix: str) -> str:
        return base[: IDENTIFIANT_MAX_LENGTH - len(suffix)] + suffix

    candidates: Iterable[str] = (with_suffix("" if n == 1 else str(n)) for n in range(1, 100))
    for candidate in candidates:
        if not exists(candidate):
            return candidate
    for _ in range(1000):
        candidate = with_suffix(str(secrets.randbelow(900_000) + 100_000))
        if not exists(candidate):
            return candidate
    raise RuntimeError(f"no free identifiant for base {base!r}")


# --- single-use link tokens -----------------------------------------------------------------------


def new_token() -> tuple[str, str]:
    """``(token, digest)``: the token goes in the e-mailed link, only the digest is stored.

    32 random bytes (256 bits, ASVS asks ≥ 128), URL-safe base64; digest is SHA-256 hex (64
    characters). A fast hash is right here: the token is random, not a human secret.
    """
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    """SHA-256 hex digest of a link token, to look the stored row up by."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
