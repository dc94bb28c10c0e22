"""Between a filled form and the JSON document jsonschema validates and we store.

``to_document`` walks the field tree beside the bound fields: it trims and NFC-normalises
text, canonicalises formatted values (SIRET, telephone...), coerces numbers and choices,
takes read-only values from the server's prefill (never from the post), drops the answers of
questions whose condition does not hold, and leaves out what was not answered so that
``required`` speaks. ``prefill_object`` turns a document back into what WTForms can display.
"""

from __future__ import annotations

import secrets
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from forms import formats, validation
from forms.builder import CONFIRM_SUFFIX, TOKEN_SUFFIX, FieldSpec, _choice_value

NOT_ANSWERED = object()


class _Namespace:
    """Attribute access over a dict, which is how WTForms reads ``obj=`` data, nested."""

    def __init__(self, data: dict):
        self._data = data

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(name) from None


def prefill_object(document: dict | None, specs: list[FieldSpec]) -> _Namespace | None:
    """The ``obj=`` argument that shows ``document`` in a form built from ``specs``."""
    if document is None:
        return None
    data: dict[str, Any] = {}
    for spec in specs:
        if spec.name not in document:
            continue
        value = document[spec.name]
        if spec.kind == "section" and isinstance(value, dict):
            data[spec.name] = prefill_object(value, spec.children)
        elif spec.kind == "repeat" and isinstance(value, list):
            data[spec.name] = [
                prefill_object(item, spec.children) for item in value if isinstance(item, dict)
            ]
        elif spec.kind == "checkboxes" and isinstance(value, list):
            data[spec.name] = [_choice_value(item) for item in value]
        elif spec.kind in {"select", "radios", "boolean-radios"}:
            data[spec.name] = _choice_value(value)
        elif spec.kind == "checkbox":
            data[spec.name] = bool(value)
        elif spec.format:
            data[spec.name] = (
                formats.display(spec.format, value) if isinstance(value, str) else value
            )
        else:
            data[spec.name] = value
        if spec.confirm:
            data[spec.name + CONFIRM_SUFFIX] = data[spec.name]
        if spec.kind == "file":
            data[spec.name + TOKEN_SUFFIX] = value
    return _Namespace(data)


def clean_text(value: Any) -> str:
    if value is None:
        return ""
    return unicodedata.normalize("NFC", str(value)).strip()


def unstorable(text: str) -> bool:
    """NUL and other control characters (tabs and line breaks aside) and lone surrogates:
    never meant by a person typing, and refused by PostgreSQL or UTF-8 further down."""
    return any(
        (unicodedata.category(ch) == "Cc" and ch not in "\t\n\r")
        or unicodedata.category(ch) == "Cs"
        for ch in text
    )


class DocumentBuilder:
    """One conversion: the document, plus the errors found while coercing."""

    def __init__(self, prefill: dict | None = None, *, stocker: bool = True):
        self.prefill = prefill or {}
        # False for a dry run (the back-office preview): files are checked, never stored.
        self.stocker = stocker
        self.errors: dict[str, list[str]] = {}

    def error(self, bound, message: str) -> None:
        self.errors.setdefault(bound.name, []).append(message)

    def build(self, form) -> dict:
        specs = [bound.spec for bound in form if getattr(bound, "spec", None)]
        return self.object(form, specs, self.prefill)

    def object(self, container, specs: list[FieldSpec], prefill: dict) -> dict:
        document: dict[str, Any] = {}
        fields = container._fields if hasattr(container, "_fields") else container
        for spec in specs:
            if spec.confirm_of or spec.kind == "hidden":
                continue
            bound = fields[spec.name]
            if spec.read_only:
                if spec.name in prefill:
                    document[spec.name] = prefill[spec.name]
                elif "default" in spec.schema:
                    document[spec.name] = spec.schema["default"]
                continue
            value = self.value(bound, spec, fields, prefill.get(spec.name))
            if value is not NOT_ANSWERED:
                document[spec.name] = value
            if spec.confirm and value is not NOT_ANSWERED:
                self.check_confirmation(fields, spec, value)
        # A question whose condition does not hold was hidden: its answer is not kept.
        for spec in specs:
            if spec.condition is not None and not spec.condition.holds(document):
                document.pop(spec.name, None)
                fields_confirm = spec.name + CONFIRM_SUFFIX
                if fields_confirm in fields:
                    self.errors.pop(fields[fields_confirm].name, None)
                self.errors.pop(fields[spec.name].name, None)
        return document

    def check_confirmation(self, fields, spec: FieldSpec, value: Any) -> None:
        confirm = fields[spec.name + CONFIRM_SUFFIX]
        again = clean_text(confirm.data)
        if spec.format:
            again = formats.normalise(spec.format, again)
        if again != value:
            word = "adresses" if spec.format == "email" else "saisies"
            self.error(confirm, f"Les deux {word} ne sont pas identiques.")

    def value(self, bound, spec: FieldSpec, siblings, prefilled) -> Any:
        kind = spec.kind
        if kind == "section":
            sub = self.object(
                bound.form, spec.children, prefilled if isinstance(prefilled, dict) else {}
            )
            if not spec.required and not _answered(sub):
                return NOT_ANSWERED
            return sub
        if kind == "repeat":
            items = []
            prefilled_items = prefilled if isinstance(prefilled, list) else []
            for index, entry in enumerate(bound.entries):
                item_prefill = prefilled_items[index] if index < len(prefilled_items) else {}
                items.append(self.object(entry.form, spec.children, item_prefill or {}))
            kept = [item for item in items if _answered(item)]
            floor = max(spec.min_entries, 1 if spec.required else 0)
            while len(kept) < floor and len(kept) < len(items):
                kept.append(next(item for item in items if item not in kept))
            return kept if kept or spec.required else NOT_ANSWERED
        if kind == "checkboxes":
            item_type = spec.schema["items"].get("type", "string")
            values = [self.coerce_choice(v, item_type) for v in (bound.data or [])]
            return values if values else NOT_ANSWERED
        if kind == "checkbox":
            return bool(bound.data)
        if kind == "boolean-radios":
            raw = clean_text(bound.data)
            return {"true": True, "false": False}.get(raw, NOT_ANSWERED)
        if kind in {"select", "radios"}:
            raw = clean_text(bound.data)
            if raw == "" or raw == "None":
                return NOT_ANSWERED
            return self.coerce_choice(raw, spec.json_type, spec.choices)
        if kind == "file":
            return self.file_value(bound, spec, siblings)
        if kind == "number":
            return self.number(bound, spec)
        text = clean_text(bound.data)
        if text == "":
            return NOT_ANSWERED
        if unstorable(text):
            self.error(bound, validation.MESSAGES["control"])
            return NOT_ANSWERED
        if spec.format:
            text = formats.normalise(spec.format, text)
        return text

    def coerce_choice(self, raw: str, json_type: str, choices=None) -> Any:
        for value, _label in choices or []:
            if _choice_value(value) == raw:
                return value
        if json_type == "integer":
            try:
                return int(raw)
            except ValueError:
                return raw
        return raw

    def number(self, bound, spec: FieldSpec) -> Any:
        text = clean_text(bound.data).replace("\u202f", "").replace("\u00a0", "").replace(" ", "")
        if text == "":
            return NOT_ANSWERED
        if not text.isascii():
            self.error(bound, "Saisissez un nombre avec les chiffres 0 à 9.")
            return NOT_ANSWERED
        try:
            if spec.json_type == "integer":
                return int(text)
            number = Decimal(text.replace(",", "."))
        except (ValueError, InvalidOperation):
            self.error(
                bound,
                "Saisissez un nombre entier."
                if spec.json_type == "integer"
                else "Saisissez un nombre.",
            )
            return NOT_ANSWERED
        if not number.is_finite():
            self.error(bound, "Saisissez un nombre.")
            return NOT_ANSWERED
        return int(number) if number == number.to_integral_value() else float(number)

    def file_value(self, bound, spec: FieldSpec, siblings) -> Any:
        from forms import uploads

        token_field = siblings[spec.name + TOKEN_SUFFIX]
        storage = bound.data
        if storage is not None and getattr(storage, "filename", ""):
            try:
                if not self.stocker:
                    uploads.check(storage, spec.file or {})
                    # A token of the real shape, so the schema judges it as it would a
                    # stored one; it names no file and is not kept in the page.
                    return secrets.token_hex(16)
                upload = uploads.store(storage, spec.file or {})
            except uploads.UploadRefused as refused:
                self.error(bound, str(refused))
                return NOT_ANSWERED
            token_field.data = upload.token
            return upload.token
        token = clean_text(token_field.data)
        if token and uploads.exists(token):
            return token
        return NOT_ANSWERED


def _answered(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_answered(v) for v in value.values())
    if isinstance(value, list):
        return bool(value)
    return value is not False and value is not None and value != ""
