"""String formats of the forms engine: SIRET, SIREN, e-mail, date, telephone, postal code.

Each format is a :class:`FormatSpec` that knows how to *normalise* what a user typed into a
canonical value (best effort, never raising) and how to decide whether a value *is* a canonical,
valid one. The forms engine normalises the submitted strings, then validates them with
jsonschema using :func:`format_checker`, which is the authority.

The checks themselves come from maintained libraries (python-stdnum, phonenumbers,
email-validator); this module only adds the strictness they lack:

- digits must be ASCII ``[0-9]``: ``str.isdigit()``, ``\\d`` and ``int()`` accept Arabic-Indic
  and other Unicode digits, and ``stdnum.fr.siret.compact`` mangles full-width digits, so values
  are NFKC-normalised first and then matched against ASCII-only patterns with ``fullmatch``
  (``re`` ``$`` would accept a trailing newline);
- a value containing a control or format character (Unicode Cc/Cf, plus lone surrogates) is
  never valid, whatever the library says.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import email_validator
import jsonschema
import phonenumbers
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

__all__ = [
    "FORMATS",
    "FormatSpec",
    "display",
    "format_checker",
    "has_control_characters",
    "normalise",
]

# Longest input worth looking at: anything longer cannot be a value of these formats, and is
# returned unchanged (and rejected) without any Unicode processing.
_MAX_INPUT_LENGTH = 400

_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})

_SIRET_RE = re.compile(r"[0-9]{14}")
_SIREN_RE = re.compile(r"[0-9]{9}")
_POSTAL_CODE_RE = re.compile(r"[0-9]{5}")
_ISO_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_FRENCH_DATE_RE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_E164_RE = re.compile(r"\+[1-9][0-9]{5,14}")
# What a typed phone number may contain once spaces are unified: an optional leading "+",
# digits and the usual separators. Letters (vanity numbers), "ext.", "tel:" and any other
# character that phonenumbers would silently interpret are refused.
_TYPED_PHONE_RE = re.compile(r"\+?[0-9 .\-/()]{1,40}")
_NATIONAL_PHONE_RE = re.compile(r"0[1-9][0-9]{8}")

_MIN_YEAR = 1900
_MAX_YEAR = 2100


def has_control_characters(value: str) -> bool:
    """True when ``value`` holds a control or format character.

    That is any character of Unicode category Cc (NUL, tab, CR, LF, DEL…) or Cf (zero-width
    space U+200B, joiners, right-to-left override U+202E, byte order mark U+FEFF, soft
    hyphen…), and also lone surrogates (Cs), which cannot be encoded in UTF-8. A trailing
    newline counts.
    """
    if not isinstance(value, str):
        return False
    if value.isprintable():
        # Fast path: isprintable() is False for every Cc, Cf and Cs character.
        return False
    return any(unicodedata.category(char) in _CONTROL_CATEGORIES for char in value)


def _remove_spaces(text: str) -> str:
    """Remove every space separator (category Zs: space, NBSP, narrow NBSP, thin space…)."""
    return "".join(char for char in text if unicodedata.category(char) != "Zs")


def _strip_spaces(text: str) -> str:
    """Remove leading and trailing space separators (category Zs), nothing else."""
    start, end = 0, len(text)
    while start < end and unicodedata.category(text[start]) == "Zs":
        start += 1
    while end > start and unicodedata.category(text[end - 1]) == "Zs":
        end -= 1
    return text[start:end]


def _unify_spaces(text: str) -> str:
    """Replace every space separator (category Zs) by an ASCII space."""
    return "".join(" " if unicodedata.category(char) == "Zs" else char for char in text)


def _usable(value: object) -> bool:
    """Whether ``value`` is worth normalising at all."""
    return (
        isinstance(value, str)
        and len(value) <= _MAX_INPUT_LENGTH
        and not has_control_characters(value)
    )


# --- SIRET / SIREN -----------------------------------------------------------------------------


def _digits_normaliser(pattern: re.Pattern[str]) -> Callable[[str], str]:
    def normalise_digits(value: str) -> str:
        if not _usable(value):
            return value
        candidate = _remove_spaces(unicodedata.normalize("NFKC", value))
        return candidate if pattern.fullmatch(candidate) else value

    return normalise_digits


# INSEE never attributes SIREN 000000000, yet it passes the Luhn check: a classic filler value.
_ZERO_SIREN = "000000000"


def _is_valid_siret(value: str) -> bool:
    # stdnum's validate() checks Luhn and, for SIREN 356000000 (La Poste), the rule that the
    # sum of the 14 digits is a multiple of 5.
    return (
        isinstance(value, str)
        and _SIRET_RE.fullmatch(value) is not None
        and value[:9] != _ZERO_SIREN
        and stdnum_siret.is_valid(value)
    )


def _is_valid_siren(value: str) -> bool:
    return (
        isinstance(value, str)
        and _SIREN_RE.fullmatch(value) is not None
        and value != _ZERO_SIREN
        and stdnum_siren.is_valid(value)
    )


# --- E-mail ------------------------------------------------------------------------------------


def _validate_email(value: str) -> str | None:
    """The normalised address, or None when it is not a single, plain, deliverable-looking one.

    Refused: domain literals (``user@[127.0.0.1]``), quoted local parts, display names, local
    parts over 64 characters (``strict``) and non-ASCII local parts (they need SMTPUTF8, which
    the mail relay does not guarantee). Internationalised domain names are accepted.
    """
    try:
        result = email_validator.validate_email(
            value,
            check_deliverability=False,
            allow_smtputf8=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
            allow_display_name=False,
            allow_empty_local=False,
            strict=True,
        )
    except (email_validator.EmailNotValidError, ValueError, TypeError):
        return None
    return result.normalized


def _normalise_email(value: str) -> str:
    if not _usable(value):
        return value
    normalised = _validate_email(_strip_spaces(value))
    return normalised if normalised is not None else value


def _is_valid_email(value: str) -> bool:
    if not _usable(value):
        return False
    return _validate_email(value) == value


# --- Date --------------------------------------------------------------------------------------


def _real_date(year: int, month: int, day: int) -> datetime.date | None:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        return None
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def _normalise_date(value: str) -> str:
    if not _usable(value):
        return value
    text = _strip_spaces(unicodedata.normalize("NFKC", value))
    if _is_valid_date(text):
        return text
    match = _FRENCH_DATE_RE.fullmatch(text)
    if match:
        day, month, year = (int(group) for group in match.groups())
        parsed = _real_date(year, month, day)
        if parsed is not None:
            return parsed.isoformat()
    return value


def _is_valid_date(value: str) -> bool:
    if not isinstance(value, str) or _ISO_DATE_RE.fullmatch(value) is None:
        return False
    year, month, day = (int(part) for part in value.split("-"))
    return _real_date(year, month, day) is not None


# --- Postal code -------------------------------------------------------------------------------


def _is_valid_postal_code(value: str) -> bool:
    if not isinstance(value, str) or _POSTAL_CODE_RE.fullmatch(value) is None:
        return False
    # Imported lazily: loading the postal data is only needed once a code is checked.
    from referentiels.codes_postaux import exists

    return exists(value)


# --- Telephone ---------------------------------------------------------------------------------

# Regions of metropolitan France and its overseas departments and territories, as named by
# phonenumbers' metadata. Their country calling codes: FR +33; RE, YT +262; GP, BL, MF +590;
# GF +594; MQ +596; PM +508; NC +687; PF +689; WF +681. (+269 is the Comoros, not Mayotte.)
_FRENCH_REGIONS = frozenset(
    {"FR", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF", "NC", "PF", "WF"}
)
# Overseas regions that share the French 10-digit national plan ("0590 12 34 56"), tried for
# national-format numbers. Saint-Pierre-et-Miquelon, New Caledonia, French Polynesia and
# Wallis-et-Futuna have their own short national numbers: only their international form
# (+508, +687, +689, +681) is accepted.
_OVERSEAS_NATIONAL_REGIONS = ("GP", "MQ", "GF", "RE", "YT", "BL", "MF")
# Country codes whose numbers are dialled from France as "0" + national significant number.
_TEN_DIGIT_PLAN_CODES = frozenset({33, 262, 590, 594, 596})
_GEOGRAPHIC_TYPES = frozenset(
    {
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }
)


def _parse_phone(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.region_code_for_number(number) not in _FRENCH_REGIONS:
        return None
    return number


# First three digits of the national forms of overseas numbers (0262/0263/0269 Réunion and
# Mayotte, 0590/0594/0596 Antilles and Guyane, 069x and 0639 overseas mobiles, 0976/0977 VoIP).
_OVERSEAS_NATIONAL_PREFIXES = frozenset({"026", "059", "069", "063", "097"})


def _parse_french_phone(text: str) -> phonenumbers.PhoneNumber | None:
    """Parse a typed number (separators already checked) as a French or overseas number."""
    digits = re.sub(r"[^0-9+]", "", text)
    if digits.startswith(("+", "00")):
        # International form ("+33…", "0033…", "+590…"): the number says where it belongs.
        return _parse_phone(text, "FR")
    if _NATIONAL_PHONE_RE.fullmatch(digits) is None:
        return None
    # National form. libphonenumber's FR metadata also claims some overseas ranges (0269…,
    # 0596…): an overseas fixed or mobile match wins, so that "0596 70 12 34" becomes
    # +596596701234 (Martinique) rather than +33596701234.
    # Only numbers that start like an overseas range are tried there first: a mainland number
    # is then parsed once instead of eight times.
    if digits[:3] in _OVERSEAS_NATIONAL_PREFIXES:
        for region in _OVERSEAS_NATIONAL_REGIONS:
            number = _parse_phone(digits, region)
            if number is not None and phonenumbers.number_type(number) in _GEOGRAPHIC_TYPES:
                return number
    number = _parse_phone(digits, "FR")
    if number is not None:
        return number
    for region in _OVERSEAS_NATIONAL_REGIONS:
        number = _parse_phone(digits, region)
        if number is not None:
            return number
    return None


def _normalise_telephone(value: str) -> str:
    if not _usable(value):
        return value
    text = _unify_spaces(unicodedata.normalize("NFKC", value)).strip(" ")
    if _TYPED_PHONE_RE.fullmatch(text) is None:
        return value
    number = _parse_french_phone(text)
    if number is None:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _canonical_phone(value: str) -> phonenumbers.PhoneNumber | None:
    if not isinstance(value, str) or _E164_RE.fullmatch(value) is None:
        return None
    number = _parse_phone(value, None)
    if number is None:
        return None
    if phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) != value:
        return None
    return number


def _is_valid_telephone(value: str) -> bool:
    return _canonical_phone(value) is not None


def _display_telephone(value: str) -> str:
    number = _canonical_phone(value)
    if number is None:
        return value
    if number.country_code in _TEN_DIGIT_PLAN_CODES:
        national = "0" + phonenumbers.national_significant_number(number)
        if len(national) == 10:
            return " ".join(national[index : index + 2] for index in range(0, 10, 2))
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


# --- Registry ----------------------------------------------------------------------------------


def _identity(value: str) -> str:
    return value


@dataclass(frozen=True)
class FormatSpec:
    """One string format: its French error message, input attributes and behaviour.

    ``input_attrs`` is shared by every form: copy it before adding attributes.
    """

    name: str
    message: str
    input_attrs: dict = field(compare=False)
    _normaliser: Callable[[str], str] = field(repr=False, compare=False)
    _validator: Callable[[str], bool] = field(repr=False, compare=False)
    _displayer: Callable[[str], str] = field(default=_identity, repr=False, compare=False)

    def normalise(self, value: str) -> str:
        """Best-effort canonical form of ``value``; ``value`` unchanged when there is none."""
        try:
            return self._normaliser(value)
        except Exception:  # a library surprise must not turn a typo into a server error
            return value

    def is_valid(self, value: str) -> bool:
        """True only when ``value`` is a canonical, valid value of this format."""
        if not isinstance(value, str) or has_control_characters(value):
            return False
        return bool(self._validator(value))

    def display(self, value: str) -> str:
        """How a stored canonical value is shown back in a form."""
        try:
            return self._displayer(value)
        except Exception:
            return value


_DIGITS_ATTRS = {"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"}

FORMATS: dict[str, FormatSpec] = {
    spec.name: spec
    for spec in (
        FormatSpec(
            name="siret",
            message=(
                "Le numéro SIRET n'est pas valide : il doit comporter 14 chiffres "
                "et sa clé de contrôle doit être correcte."
            ),
            input_attrs=dict(_DIGITS_ATTRS),
            _normaliser=_digits_normaliser(_SIRET_RE),
            _validator=_is_valid_siret,
        ),
        FormatSpec(
            name="siren",
            message=(
                "Le numéro SIREN n'est pas valide : il doit comporter 9 chiffres "
                "et sa clé de contrôle doit être correcte."
            ),
            input_attrs=dict(_DIGITS_ATTRS),
            _normaliser=_digits_normaliser(_SIREN_RE),
            _validator=_is_valid_siren,
        ),
        FormatSpec(
            name="email",
            message=(
                "L'adresse électronique n'est pas valide : saisissez une seule adresse, "
                "de la forme nom@exemple.fr."
            ),
            input_attrs={"type": "email", "autocomplete": "email"},
            _normaliser=_normalise_email,
            _validator=_is_valid_email,
        ),
        FormatSpec(
            name="date",
            message=(
                "La date n'est pas valide : saisissez une date existante au format "
                "JJ/MM/AAAA, entre 1900 et 2100."
            ),
            input_attrs={"type": "date"},
            _normaliser=_normalise_date,
            _validator=_is_valid_date,
        ),
        FormatSpec(
            name="telephone",
            message=(
                "Le numéro de téléphone n'est pas valide : saisissez un numéro français "
                "à 10 chiffres (par exemple 01 23 45 67 89), y compris outre-mer, "
                "ou un numéro au format international (+33…)."
            ),
            input_attrs={"type": "tel", "autocomplete": "tel"},
            _normaliser=_normalise_telephone,
            _validator=_is_valid_telephone,
            _displayer=_display_telephone,
        ),
        FormatSpec(
            name="code-postal",
            message=(
                "Le code postal n'est pas valide : il doit comporter 5 chiffres "
                "et correspondre à une commune."
            ),
            input_attrs={"inputmode": "numeric", "autocomplete": "postal-code", "maxlength": "5"},
            _normaliser=_digits_normaliser(_POSTAL_CODE_RE),
            _validator=_is_valid_postal_code,
        ),
    )
}


def normalise(format_name: str, value: str) -> str:
    """Canonical form of ``value`` for the format; ``value`` unchanged for an unknown format."""
    spec = FORMATS.get(format_name)
    return spec.normalise(value) if spec is not None else value


def display(format_name: str, value: str) -> str:
    """How a stored canonical value is shown back in a form.

    Telephone numbers in E.164 are shown in the French national format ("01 23 45 67 89",
    overseas "05 90 12 34 56"; Saint-Pierre-et-Miquelon and the Pacific territories in
    international format); every other value is shown as stored.
    """
    spec = FORMATS.get(format_name)
    return spec.display(value) if spec is not None else value


def _checker_for(spec: FormatSpec) -> Callable[[object], bool]:
    def check(instance: object) -> bool:
        # Non-strings pass: rejecting them is the job of the "type" keyword.
        return not isinstance(instance, str) or spec.is_valid(instance)

    check.__name__ = f"check_{spec.name.replace('-', '_')}"
    return check


def format_checker() -> jsonschema.FormatChecker:
    """A new FormatChecker that checks exactly the formats of :data:`FORMATS`.

    jsonschema's own checkers (including its lenient "date") are not registered: any other
    format name is an annotation and is not checked.
    """
    checker = jsonschema.FormatChecker(formats=())
    for name, spec in FORMATS.items():
        checker.checks(name)(_checker_for(spec))
    return checker
