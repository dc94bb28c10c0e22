"""Unit tests of forms.formats: the string formats of the forms engine and the bad-input corpus."""

import dataclasses
import json
from pathlib import Path

import jsonschema
import pytest

from forms import formats
from forms.formats import FORMATS, display, format_checker, has_control_characters, normalise

CORPUS_DIR = Path(__file__).resolve().parent.parent / "corpus"

# Corpus file -> format name.
CORPUS_FILES = {
    "siret.json": "siret",
    "siren.json": "siren",
    "telephone.json": "telephone",
    "email.json": "email",
    "code_postal.json": "code-postal",
    "date.json": "date",
}

REFERENCE_SIRET = "73282932000074"


def _load_corpus(file_name: str) -> list[dict]:
    return json.loads((CORPUS_DIR / file_name).read_text(encoding="utf-8"))


def _corpus_params(valid: bool | None = None, only: str | None = None) -> list:
    params = []
    for file_name, format_name in CORPUS_FILES.items():
        if only is not None and format_name != only:
            continue
        for case in _load_corpus(file_name):
            if valid is not None and case["valid"] is not valid:
                continue
            params.append(pytest.param(format_name, case, id=f"{format_name}: {case['why']}"))
    return params


def _full_width(text: str) -> str:
    return "".join(chr(ord(char) + 0xFEE0) for char in text)


def _other_digits(text: str, zero: int) -> str:
    return "".join(chr(zero + int(char)) for char in text)


# --- The corpus --------------------------------------------------------------------------------


@pytest.mark.parametrize("file_name", sorted(CORPUS_FILES))
def test_each_corpus_file_is_a_list_of_well_formed_cases_with_both_outcomes(file_name):
    cases = _load_corpus(file_name)
    assert {case["valid"] for case in cases} == {True, False}
    for case in cases:
        assert isinstance(case["input"], str)
        assert isinstance(case["why"], str) and case["why"]
        if case["valid"]:
            assert set(case) == {"input", "valid", "canonical", "why"}
        else:
            assert set(case) == {"input", "valid", "why"}
    whys = [case["why"] for case in cases]
    assert len(whys) == len(set(whys)), "each case needs its own explanation"


@pytest.mark.parametrize(("format_name", "case"), _corpus_params(valid=True))
def test_a_valid_corpus_input_normalises_to_its_canonical_form_which_is_valid(format_name, case):
    spec = FORMATS[format_name]
    canonical = spec.normalise(case["input"])
    assert canonical == case["canonical"]
    assert spec.is_valid(canonical)
    assert spec.normalise(canonical) == canonical, "normalising is idempotent"
    assert normalise(format_name, case["input"]) == canonical


@pytest.mark.parametrize(("format_name", "case"), _corpus_params(valid=False))
def test_an_invalid_corpus_input_is_rejected_before_and_after_normalisation(format_name, case):
    spec = FORMATS[format_name]
    assert not spec.is_valid(case["input"])
    assert not spec.is_valid(spec.normalise(case["input"]))


@pytest.mark.parametrize(("format_name", "case"), _corpus_params(valid=False))
def test_jsonschema_with_our_format_checker_rejects_every_invalid_corpus_input(format_name, case):
    validator = jsonschema.Draft202012Validator(
        {"type": "string", "format": format_name}, format_checker=format_checker()
    )
    assert not validator.is_valid(normalise(format_name, case["input"]))


@pytest.mark.parametrize(("format_name", "case"), _corpus_params(valid=True))
def test_jsonschema_with_our_format_checker_accepts_every_canonical_corpus_value(format_name, case):
    validator = jsonschema.Draft202012Validator(
        {"type": "string", "format": format_name}, format_checker=format_checker()
    )
    assert validator.is_valid(case["canonical"])


# --- SIRET and SIREN: generated cases ----------------------------------------------------------


def _substitutions(number: str) -> list[str]:
    return [
        number[:index] + digit + number[index + 1 :]
        for index in range(len(number))
        for digit in "0123456789"
        if digit != number[index]
    ]


def _adjacent_transpositions(number: str) -> list[str]:
    swapped = [
        number[:index] + number[index + 1] + number[index] + number[index + 2 :]
        for index in range(len(number) - 1)
    ]
    return [candidate for candidate in swapped if candidate != number]


def test_all_126_single_digit_substitutions_of_a_valid_siret_are_rejected():
    substitutions = _substitutions(REFERENCE_SIRET)
    assert len(substitutions) == 126
    accepted = [value for value in substitutions if FORMATS["siret"].is_valid(value)]
    assert accepted == []


def test_all_adjacent_transpositions_that_change_a_valid_siret_are_rejected():
    transpositions = _adjacent_transpositions(REFERENCE_SIRET)
    assert len(transpositions) == 10
    accepted = [value for value in transpositions if FORMATS["siret"].is_valid(value)]
    assert accepted == []


def test_the_reference_siret_is_valid():
    assert FORMATS["siret"].is_valid(REFERENCE_SIRET)


def test_a_full_width_siret_is_normalised_to_ascii_digits_and_valid():
    full_width = _full_width(REFERENCE_SIRET)
    assert normalise("siret", full_width) == REFERENCE_SIRET
    assert FORMATS["siret"].is_valid(normalise("siret", full_width))
    assert not FORMATS["siret"].is_valid(full_width), "only the canonical form is valid"


def test_a_siret_in_arabic_indic_digits_is_rejected_and_left_as_typed():
    arabic = _other_digits(REFERENCE_SIRET, 0x0660)
    assert arabic == "٧٣٢٨٢٩٣٢٠٠٠٠٧٤"
    assert normalise("siret", arabic) == arabic
    assert not FORMATS["siret"].is_valid(arabic)


def test_a_siret_followed_by_a_newline_is_rejected():
    assert not FORMATS["siret"].is_valid(REFERENCE_SIRET + "\n")
    assert not FORMATS["siret"].is_valid(normalise("siret", REFERENCE_SIRET + "\n"))


def test_a_siret_typed_with_spaces_is_normalised():
    assert normalise("siret", "732 829 320 00074") == REFERENCE_SIRET


def test_a_siret_that_cannot_be_canonicalised_is_returned_as_typed():
    assert normalise("siret", "732 829 320 0007") == "732 829 320 0007"
    assert normalise("siret", "732.829.320.00074") == "732.829.320.00074"


def test_la_poste_head_office_and_establishments_follow_the_356000000_rule():
    siret = FORMATS["siret"]
    assert siret.is_valid("35600000000048"), "head office passes Luhn"
    assert siret.is_valid("35600000049837"), "establishment: digit sum is a multiple of 5"
    assert not siret.is_valid("35600000049838"), "digit sum not a multiple of 5"
    assert not siret.is_valid("35600000049836")


def test_a_ten_thousand_digit_string_is_rejected():
    huge = "7" * 10_000
    assert not FORMATS["siret"].is_valid(huge)
    assert normalise("siret", huge) == huge
    assert not FORMATS["siren"].is_valid(huge)


@pytest.mark.parametrize("siret", ["00578096000042", "13000637200010"])
def test_the_sirets_of_the_seed_data_are_valid(siret):
    assert FORMATS["siret"].is_valid(siret)


def test_a_siren_passes_the_same_luhn_check_as_its_establishments():
    assert FORMATS["siren"].is_valid(REFERENCE_SIRET[:9])
    accepted = [value for value in _substitutions("732829320") if FORMATS["siren"].is_valid(value)]
    assert accepted == []


def test_a_siret_is_never_a_valid_siren_and_a_siren_never_a_valid_siret():
    assert not FORMATS["siren"].is_valid(REFERENCE_SIRET)
    assert not FORMATS["siret"].is_valid(REFERENCE_SIRET[:9])


# --- Other formats: targeted behaviour ---------------------------------------------------------


def test_a_french_date_is_converted_to_iso():
    assert normalise("date", "16/03/2020") == "2020-03-16"
    assert normalise("date", "31/02/2020") == "31/02/2020", "an impossible date stays as typed"


def test_jsonschema_own_date_format_is_replaced_by_ours():
    validator = jsonschema.Draft202012Validator(
        {"type": "string", "format": "date"}, format_checker=format_checker()
    )
    assert validator.is_valid("2020-03-16")
    assert not validator.is_valid("1899-12-31"), "jsonschema's date would accept it"
    assert not validator.is_valid("2020-02-30")


def test_overseas_numbers_typed_nationally_get_their_own_country_code():
    assert normalise("telephone", "0590 12 34 56") == "+590590123456"
    assert normalise("telephone", "0692 12 34 56") == "+262692123456"
    assert normalise("telephone", "0269 61 23 45") == "+262269612345"
    assert normalise("telephone", "0596 70 12 34") == "+596596701234"


def test_a_telephone_number_that_cannot_be_parsed_is_returned_as_typed():
    assert normalise("telephone", "01 23 45 67 8") == "01 23 45 67 8"
    assert normalise("telephone", "+44 20 7946 0958") == "+44 20 7946 0958"


def test_only_e164_is_a_valid_stored_telephone_number():
    assert FORMATS["telephone"].is_valid("+33123456789")
    assert not FORMATS["telephone"].is_valid("0123456789")
    assert not FORMATS["telephone"].is_valid("+33 1 23 45 67 89")


def test_an_email_address_is_trimmed_and_its_domain_lower_cased():
    assert normalise("email", " Jean.Dupont@EXEMPLE.FR ") == "Jean.Dupont@exemple.fr"


def test_an_internationalised_domain_name_is_accepted():
    assert FORMATS["email"].is_valid("contact@exemple-été.fr")


# --- display() ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("+33123456789", "01 23 45 67 89"),
        ("+33612345678", "06 12 34 56 78"),
        ("+33800123456", "08 00 12 34 56"),
        ("+590590123456", "05 90 12 34 56"),
        ("+262692123456", "06 92 12 34 56"),
        ("+262269612345", "02 69 61 23 45"),
        ("+596596701234", "05 96 70 12 34"),
        ("+687234567", "+687 23.45.67"),
    ],
)
def test_a_stored_telephone_number_is_displayed_in_french_national_format(stored, shown):
    assert display("telephone", stored) == shown


@pytest.mark.parametrize(("format_name", "case"), _corpus_params(valid=True, only="telephone"))
def test_a_displayed_telephone_number_normalises_back_to_the_stored_value(format_name, case):
    assert normalise(format_name, display(format_name, case["canonical"])) == case["canonical"]


def test_display_leaves_other_formats_and_invalid_values_unchanged():
    assert display("siret", REFERENCE_SIRET) == REFERENCE_SIRET
    assert display("date", "2020-03-16") == "2020-03-16"
    assert display("email", "jean@exemple.fr") == "jean@exemple.fr"
    assert display("telephone", "pas un numéro") == "pas un numéro"
    assert display("x-inconnu", "valeur") == "valeur"


# --- has_control_characters() ------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "abc\n",
        "a\rb",
        "a\tb",
        "a\x00b",
        "a\x7fb",
        "a\u200bb",
        "a\u202eb",
        "\ufeffabc",
        "a\u00adb",
        "a\ud800b",
    ],
    ids=["LF", "CR", "tab", "NUL", "DEL", "ZWSP", "RLO", "BOM", "soft hyphen", "lone surrogate"],
)
def test_control_and_format_characters_are_detected(value):
    assert has_control_characters(value)


@pytest.mark.parametrize(
    "value",
    ["", "abc", "Élodie Müller", "732 829 320 00074", "a\u00a0b", "日本語", "😀", "e\u0301"],
)
def test_ordinary_text_has_no_control_characters(value):
    assert not has_control_characters(value)


# --- Robustness --------------------------------------------------------------------------------

NASTY_INPUTS = [
    "",
    " ",
    "\x00",
    "\ud800",
    "\n",
    "٠" * 100,
    "9" * 1_048_576,
    "a" * 1_048_576 + "@exemple.fr",
    "e" + "\u0301" * 2000,
    "İ",
    "😀" * 50,
    "<script>alert(1)</script>",
    "'; DROP TABLE dossier;--",
    "{{7*7}}",
    "+",
    "@",
    "/",
    "00/00/",
]


@pytest.mark.parametrize("format_name", sorted(FORMATS))
@pytest.mark.parametrize("value", NASTY_INPUTS, ids=range(len(NASTY_INPUTS)))
def test_normalise_and_is_valid_never_raise_and_reject_nasty_input(format_name, value):
    spec = FORMATS[format_name]
    normalised = spec.normalise(value)
    assert isinstance(normalised, str)
    assert not spec.is_valid(normalised)
    assert spec.display(value) == value


@pytest.mark.parametrize("format_name", sorted(FORMATS))
@pytest.mark.parametrize("value", [None, 73282932000074, ["73282932000074"]])
def test_non_string_values_are_never_valid_and_pass_through_normalise(format_name, value):
    assert FORMATS[format_name].normalise(value) == value
    assert not FORMATS[format_name].is_valid(value)


def test_an_unknown_format_leaves_the_value_unchanged():
    assert normalise("x-inconnu", " 732 829 ") == " 732 829 "


# --- format_checker() --------------------------------------------------------------------------


def test_a_jsonschema_validator_with_our_checker_rejects_an_invalid_siret_and_accepts_a_valid_one():
    validator = jsonschema.Draft202012Validator(
        {"type": "string", "format": "siret"}, format_checker=format_checker()
    )
    assert validator.is_valid(REFERENCE_SIRET)
    assert not validator.is_valid("73282932000075")
    errors = list(validator.iter_errors("73282932000075"))
    assert [error.validator for error in errors] == ["format"]
    assert errors[0].validator_value == "siret"


def test_an_unknown_format_is_not_checked():
    validator = jsonschema.Draft202012Validator(
        {"type": "string", "format": "x-inconnu"}, format_checker=format_checker()
    )
    assert validator.is_valid("n'importe quoi")


def test_jsonschema_own_formats_are_not_registered():
    checker = format_checker()
    assert set(checker.checkers) == set(FORMATS)
    validator = jsonschema.Draft202012Validator(
        {"type": "string", "format": "ipv4"}, format_checker=checker
    )
    assert validator.is_valid("pas une adresse IP")


def test_a_non_string_instance_passes_the_format_and_is_left_to_the_type_keyword():
    validator = jsonschema.Draft202012Validator(
        {"type": "string", "format": "siret"}, format_checker=format_checker()
    )
    errors = list(validator.iter_errors(73282932000074))
    assert [error.validator for error in errors] == ["type"]
    assert jsonschema.Draft202012Validator(
        {"format": "siret"}, format_checker=format_checker()
    ).is_valid(12)


def test_each_call_returns_a_new_checker_and_jsonschema_defaults_are_untouched():
    assert format_checker() is not format_checker()
    assert "siret" not in jsonschema.FormatChecker().checkers
    assert "siret" not in jsonschema.Draft202012Validator.FORMAT_CHECKER.checkers


def test_a_value_with_control_characters_fails_the_format_even_if_the_library_accepts_it():
    assert not format_checker().conforms("2020-03-16\u200b", "date")
    assert not format_checker().conforms(REFERENCE_SIRET + "\n", "siret")


# --- FormatSpec --------------------------------------------------------------------------------


def test_the_registry_holds_exactly_the_six_formats_under_their_names():
    assert set(FORMATS) == {"siret", "siren", "email", "date", "telephone", "code-postal"}
    for name, spec in FORMATS.items():
        assert spec.name == name


def test_every_format_has_a_french_error_message_ending_with_a_full_stop():
    for spec in FORMATS.values():
        assert spec.message.endswith(".")
        assert "n'est pas valide" in spec.message
    assert FORMATS["siret"].message == (
        "Le numéro SIRET n'est pas valide : il doit comporter 14 chiffres "
        "et sa clé de contrôle doit être correcte."
    )


def test_each_format_declares_the_html_attributes_of_its_input():
    assert FORMATS["siret"].input_attrs == {
        "inputmode": "numeric",
        "autocomplete": "off",
        "spellcheck": "false",
    }
    assert FORMATS["siren"].input_attrs == FORMATS["siret"].input_attrs
    assert FORMATS["email"].input_attrs == {"type": "email", "autocomplete": "email"}
    assert FORMATS["telephone"].input_attrs == {"type": "tel", "autocomplete": "tel"}
    assert FORMATS["date"].input_attrs == {"type": "date"}
    assert FORMATS["code-postal"].input_attrs == {
        "inputmode": "numeric",
        "autocomplete": "postal-code",
        "maxlength": "5",
    }


def test_a_format_spec_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        FORMATS["siret"].message = "autre"


def test_the_module_exports_the_public_api():
    assert set(formats.__all__) == {
        "FORMATS",
        "FormatSpec",
        "display",
        "format_checker",
        "has_control_characters",
        "normalise",
    }
