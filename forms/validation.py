"""jsonschema, the authority on validity, with errors mapped to WTForms field names in French.

Three things jsonschema does not do for us:
- ``required`` (and ``dependentRequired``) errors point at the parent object, naming the
  missing property only in the English message; ours point at the missing property itself.
- ``pattern`` is unanchored and Python's ``$`` matches before a final newline; we refuse any
  control or invisible character wherever a pattern or a format applies. Patterns run on RE2
  (``forms.motifs``): linear time whatever staff write, so no post can pin a worker.
- ``x-communes`` checks that the chosen ville is a commune of the postal code.
"""

from __future__ import annotations

from collections.abc import Iterator

from jsonschema import ValidationError, validators

from forms import formats, motifs

MESSAGES = {
    "required": "Ce champ est obligatoire.",
    "minLength": "Ce champ doit contenir au moins {value} caractère(s).",
    "maxLength": "Ce champ doit contenir au plus {value} caractères.",
    "pattern": "Le format de ce champ n'est pas valide.",
    "minimum": "La valeur doit être supérieure ou égale à {value}.",
    "maximum": "La valeur doit être inférieure ou égale à {value}.",
    "exclusiveMinimum": "La valeur doit être strictement supérieure à {value}.",
    "exclusiveMaximum": "La valeur doit être strictement inférieure à {value}.",
    "multipleOf": "La valeur doit être un multiple de {value}.",
    "enum": "Choisissez une des valeurs proposées.",
    "oneOf": "Choisissez une des valeurs proposées.",
    "minItems": "Indiquez au moins {value} élément(s).",
    "maxItems": "Indiquez au plus {value} élément(s).",
    "uniqueItems": "Chaque valeur ne peut être indiquée qu'une fois.",
    "additionalProperties": "Le formulaire contient des champs inattendus.",
    "control": "Ce champ contient des caractères non autorisés (retour à la ligne, tabulation ou caractère invisible).",
    "x-communes": "Choisissez la ville parmi les communes du code postal {value}.",
}
TYPE_MESSAGES = {
    "integer": "Saisissez un nombre entier.",
    "number": "Saisissez un nombre.",
    "boolean": "Répondez par oui ou par non.",
    "string": "Saisissez un texte.",
    "object": "Cette rubrique est mal remplie.",
    "array": "Cette liste est mal remplie.",
}
GENERIC = "La valeur saisie n'est pas valide."


def _required(validator, required, instance, schema) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for name in required:
        if name not in instance:
            yield ValidationError(
                f"{name!r} is a required property", path=[name], validator_value=name
            )


def _dependent_required(validator, dependent, instance, schema) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for trigger, needed in dependent.items():
        if trigger not in instance or not isinstance(needed, list):
            continue
        for name in needed:
            if name not in instance:
                yield ValidationError(
                    f"{name!r} is required by {trigger!r}", path=[name], validator_value=name
                )


def _pattern(validator, pattern, instance, schema) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "string"):
        return
    if formats.has_control_characters(instance):
        yield ValidationError("control characters", validator_value="control")
    elif not motifs.cherche(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _format(validator, fmt, instance, schema) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "string"):
        return
    if formats.has_control_characters(instance):
        yield ValidationError("control characters", validator_value="control")
    elif fmt in formats.FORMATS and not formats.FORMATS[fmt].is_valid(instance):
        yield ValidationError(f"{instance!r} is not a {fmt!r}")


def _communes(validator, mapping, instance, schema) -> Iterator[ValidationError]:
    from referentiels import codes_postaux

    if not validator.is_type(instance, "object"):
        return
    for postal_name, ville_name in mapping.items():
        postal, ville = instance.get(postal_name), instance.get(ville_name)
        if not isinstance(postal, str) or not isinstance(ville, str):
            continue
        if not formats.FORMATS["code-postal"].is_valid(postal):
            continue  # the postal code's own error says what is wrong
        if codes_postaux.commune_for(postal, ville) is None:
            yield ValidationError(
                f"{ville!r} not in {postal!r}", path=[ville_name], validator_value=postal
            )


def extend(validator_class):
    """The validator class of a draft, with our keywords in place of jsonschema's."""
    overrides = {
        "required": _required,
        "pattern": _pattern,
        "format": _format,
        "x-communes": _communes,
    }
    if "dependentRequired" in validator_class.VALIDATORS:
        overrides["dependentRequired"] = _dependent_required
    else:  # draft-07: only the list form of "dependencies" is accepted by the vocabulary
        overrides["dependencies"] = _dependent_required
    return validators.extend(validator_class, overrides)


def field_name(path) -> str:
    """WTForms' name of the field at a JSON path: ``salaries-0-nom``."""
    return "-".join(str(part) for part in path)


def message_for(error: ValidationError) -> str:
    """The French message of one jsonschema error."""
    keyword = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator_value == "control":
        return MESSAGES["control"]
    if keyword == "format":
        spec = formats.FORMATS.get(error.validator_value)
        return spec.message if spec else GENERIC
    if keyword == "pattern":
        return (schema.get("x-ui") or {}).get("pattern-message") or MESSAGES["pattern"]
    if keyword == "type":
        expected = error.validator_value
        expected = expected[0] if isinstance(expected, list) else expected
        return TYPE_MESSAGES.get(expected, GENERIC)
    if keyword == "const":
        return (
            "Vous devez cocher cette case." if error.validator_value is True else MESSAGES["enum"]
        )
    if (
        keyword in {"minItems", "maxItems"}
        and (schema.get("x-ui") or {}).get("widget") == "checkboxes"
    ):
        return (
            "Cochez au moins {value} case(s)."
            if keyword == "minItems"
            else "Cochez au plus {value} case(s)."
        ).format(value=error.validator_value)
    if keyword in {"dependentRequired", "dependencies"}:
        return MESSAGES["required"]
    template = MESSAGES.get(keyword)
    if template is None:
        return GENERIC
    return template.format(value=error.validator_value)


def errors_by_field(validator, document: dict) -> dict[str, list[str]]:
    """Every error of ``document``, keyed by field name ("" for the form as a whole)."""
    found: dict[str, list[str]] = {}
    for error in validator.iter_errors(document):
        name = "" if error.validator == "additionalProperties" else field_name(error.absolute_path)
        messages = found.setdefault(name, [])
        message = message_for(error)
        if message not in messages:
            messages.append(message)
    return found
