"""From a checked definition to a field tree and a Flask-WTF form class.

The tree (``FieldSpec``) is what templates render and what ``forms.document`` walks; the form
class only renders and coerces: jsonschema decides validity. Scalars are plain text inputs
whose values the document builder coerces, so every message stays ours and French.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from forms import formats, vocabulary

CONFIRM_SUFFIX = "__confirmation"
TOKEN_SUFFIX = "__token"  # noqa: S105 (a field-name suffix, not a secret)
BOOLEAN_CHOICES = [("true", "Oui"), ("false", "Non")]


@dataclass(frozen=True)
class Condition:
    """Show and require a field only when siblings hold given values (``if``/``then``)."""

    tests: tuple[tuple[str, tuple], ...]  # ((sibling property, accepted values), ...)
    negate: bool = False  # an ``else`` branch

    def holds(self, siblings: dict) -> bool:
        matched = all(siblings.get(name) in values for name, values in self.tests)
        return matched != self.negate


@dataclass
class FieldSpec:
    name: str
    kind: str
    json_type: str
    schema: dict = field(repr=False)
    label: str = ""
    hint: str | None = None
    placeholder: str | None = None
    required: bool = False
    required_when: Condition | None = None
    condition: Condition | None = None
    read_only: bool = False
    confirm: str | None = None
    choices: list[tuple[Any, str]] = field(default_factory=list)
    input_attrs: dict = field(default_factory=dict)
    children: list[FieldSpec] = field(default_factory=list)
    item_required: bool = False
    min_entries: int = 0
    max_entries: int | None = None
    commune_postal: str | None = None
    file: dict | None = None
    format: str | None = None
    confirm_of: str | None = None  # for the second entry of a double entry
    step: bool = False

    @property
    def is_container(self) -> bool:
        return self.kind in {"section", "repeat"}

    def condition_label(self, siblings: dict[str, FieldSpec]) -> str | None:
        """'obligatoire si « Question » vaut « Oui »', for pages read without JavaScript."""
        condition = self.condition
        if condition is None:
            return None
        parts = []
        for name, values in condition.tests:
            sibling = siblings.get(name)
            labels = dict((str(v), lbl) for v, lbl in (sibling.choices if sibling else []))
            shown = " ou ".join(f"« {labels.get(_choice_value(v), v)} »" for v in values)
            label = sibling.label if sibling else name
            verb = "ne vaut pas" if condition.negate else "vaut"
            parts.append(f"« {label} » {verb} {shown}")
        return "À remplir si " + " et ".join(parts)


def widget_choices(pairs) -> list[SelectChoice]:
    """WTForms' own option objects for (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def _choice_value(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def options_of(node: dict) -> list[tuple[Any, str]]:
    if "oneOf" in node:
        return [
            (option["const"], option.get("title", str(option["const"]))) for option in node["oneOf"]
        ]
    return [(value, str(value)) for value in node.get("enum", [])]


def build_tree(definition) -> list[FieldSpec]:
    return _object_children(definition, definition.schema, None)


def _resolve(definition, node: dict, base: str | None) -> tuple[dict, str | None]:
    """Follow ``$ref`` chains; annotations beside a ``$ref`` win over the target's."""
    while "$ref" in node:
        target, base = definition.resolve(node["$ref"], base)
        merged = {k: v for k, v in node.items() if k != "$ref"}
        node = {**target, **merged}
    return node, base


def _object_children(definition, node: dict, base: str | None) -> list[FieldSpec]:
    node, base = _resolve(definition, node, base)
    properties = node.get("properties", {})
    required = set(node.get("required", []))
    conditional: dict[str, Condition] = {}
    required_when: dict[str, Condition] = {}
    for block in vocabulary.conditions_of(node):
        tests = tuple(
            (name, tuple(rule["enum"]) if "enum" in rule else (rule["const"],))
            for name, rule in block["if"]["properties"].items()
        )
        for branch, negate in (("then", False), ("else", True)):
            part = block.get(branch) or {}
            condition = Condition(tests, negate)
            for name in [*part.get("properties", {}), *part.get("required", [])]:
                conditional.setdefault(name, condition)
            for name in part.get("required", []):
                required_when.setdefault(name, condition)
    communes = {ville: postal for postal, ville in (node.get("x-communes") or {}).items()}
    specs = []
    for name, sub in properties.items():
        spec = _spec(definition, name, sub, name in required, base)
        spec.condition = conditional.get(name)
        spec.required_when = required_when.get(name)
        if name in communes:
            spec.kind = "commune"
            spec.commune_postal = communes[name]
        specs.append(spec)
    specs.sort(key=lambda s: (s.schema.get("x-ui") or {}).get("order", 0))
    return specs


def _spec(definition, name: str, raw: dict, required: bool, base: str | None) -> FieldSpec:
    node, base = _resolve(definition, raw, base)
    kind_of_json = vocabulary.node_type(node)
    ui = node.get("x-ui") or {}
    spec = FieldSpec(
        name=name,
        kind="text",
        json_type=kind_of_json,
        schema=node,
        label=node.get("title", name.replace("_", " ").capitalize()),
        hint=node.get("description") or ui.get("hint"),
        placeholder=ui.get("placeholder"),
        required=required,
        read_only=bool(node.get("readOnly")),
        confirm=ui.get("confirm"),
        step=bool(ui.get("step")),
    )
    widget = ui.get("widget")
    if kind_of_json == "object":
        spec.kind = "section"
        spec.children = _object_children(definition, node, base)
    elif kind_of_json == "array":
        items, items_base = _resolve(definition, node["items"], base)
        spec.min_entries = node.get("minItems", 0)
        spec.max_entries = node.get("maxItems")
        if vocabulary.node_type(items) == "object":
            spec.kind = "repeat"
            spec.children = _object_children(definition, items, items_base)
            spec.item_required = True
        else:
            spec.kind = "checkboxes"
            spec.choices = options_of(items)
            spec.schema = {**node, "items": items}
    elif kind_of_json == "boolean":
        spec.kind = "boolean-radios" if widget == "radios" else "checkbox"
        spec.choices = list(BOOLEAN_CHOICES)
    elif vocabulary.has_options(node):
        spec.kind = "radios" if widget == "radios" else "select"
        spec.choices = options_of(node)
    elif "x-file" in node:
        spec.kind = "file"
        spec.file = node["x-file"]
    elif kind_of_json in {"integer", "number"}:
        spec.kind = "number"
        spec.input_attrs = {"inputmode": "numeric" if kind_of_json == "integer" else "decimal"}
    else:
        spec.kind = {"textarea": "textarea", "password": "password"}.get(widget, "text")
        spec.format = node.get("format")
        if spec.format:
            spec.input_attrs = dict(formats.FORMATS[spec.format].input_attrs)
        if "maxLength" in node and spec.kind == "text":
            spec.input_attrs.setdefault("maxlength", str(node["maxLength"]))
    if ui.get("autocomplete"):
        spec.input_attrs["autocomplete"] = ui["autocomplete"]
    if spec.placeholder:
        spec.input_attrs["placeholder"] = spec.placeholder
    if spec.read_only:
        spec.input_attrs["readonly"] = "readonly"
    return spec


# -- form classes ------------------------------------------------------------------------------


class _SpecsMixin:
    """Gives each bound field its ``spec`` (forms.builder.FieldSpec); the csrf field has none."""

    _specs: ClassVar[dict[str, FieldSpec]] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, bound in self._fields.items():
            bound.spec = self._specs.get(name)
        self._prepare_communes()

    def _prepare_communes(self) -> None:
        from referentiels import codes_postaux

        for bound in self._fields.values():
            spec = bound.spec
            if spec is None or spec.kind != "commune":
                continue
            postal = formats.normalise("code-postal", self._fields[spec.commune_postal].data or "")
            found = (
                codes_postaux.communes(postal)
                if formats.FORMATS["code-postal"].is_valid(postal)
                else ()
            )
            if not found:
                bound.choices = widget_choices([("", "Saisissez d'abord un code postal valide")])
            else:
                bound.choices = widget_choices(
                    [("", "Sélectionnez la ville")] + [(c.nom, c.nom_usuel) for c in found]
                )
            if bound.data:
                match = codes_postaux.commune_for(postal, bound.data) if found else None
                if match is not None:
                    bound.data = match.nom
                elif bound.data not in {choice.value for choice in bound.choices}:
                    # Keep what was typed or prefilled visible; validation says it does not fit.
                    bound.choices.append(SelectChoice(bound.data, bound.data))


class SchemaForm(_SpecsMixin, FlaskForm):
    """Base of the top-level form classes (with the CSRF token)."""


class SchemaSubForm(_SpecsMixin, FlaskForm):
    """Base of sections and repeated entries: a FlaskForm so that messages and locale match
    the parent, without a CSRF token of its own."""

    class Meta:
        csrf = False


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _field_for(spec: FieldSpec):
    common = {
        "label": spec.label,
        "description": spec.hint or "",
        "render_kw": spec.input_attrs or None,
    }
    default = spec.schema.get("default")
    if spec.kind == "section":
        return FormField(_class_for(spec.children, SchemaSubForm, spec.name), label=spec.label)
    if spec.kind == "repeat":
        entry = FormField(_class_for(spec.children, SchemaSubForm, spec.name))
        # No max_entries: WTForms would silently drop extra posted entries; maxItems refuses them.
        return FieldList(entry, label=spec.label, min_entries=max(spec.min_entries, 1))
    if spec.kind == "checkboxes":
        choices = widget_choices((_choice_value(v), lbl) for v, lbl in spec.choices)
        return MultiCheckboxField(choices=choices, validate_choice=False, default=default, **common)
    if spec.kind in {"select", "radios"}:
        choices = [(_choice_value(v), lbl) for v, lbl in spec.choices]
        if spec.kind == "select":
            return SelectField(
                choices=widget_choices([("", "Sélectionnez une option"), *choices]),
                validate_choice=False,
                default=_choice_value(default) if default is not None else None,
                **common,
            )
        return RadioField(
            choices=widget_choices(choices),
            validate_choice=False,
            default=_choice_value(default) if default is not None else None,
            **common,
        )
    if spec.kind == "commune":
        return SelectField(choices=[], validate_choice=False, default=default, **common)
    if spec.kind == "checkbox":
        return BooleanField(default=bool(default), false_values=("false", "", "0", "off"), **common)
    if spec.kind == "boolean-radios":
        return RadioField(
            choices=widget_choices(BOOLEAN_CHOICES),
            validate_choice=False,
            default=_choice_value(default) if default is not None else None,
            **common,
        )
    if spec.kind == "file":
        return FileField(**common)
    if spec.kind == "textarea":
        return TextAreaField(default=default, **common)
    return StringField(default=None if default is None else str(default), **common)


def _class_for(specs: list[FieldSpec], base, name: str):
    attributes: dict[str, Any] = {}
    all_specs: dict[str, FieldSpec] = {}
    for spec in specs:
        attributes[spec.name] = _field_for(spec)
        all_specs[spec.name] = spec
        if spec.confirm:
            confirm = FieldSpec(
                name=spec.name + CONFIRM_SUFFIX,
                kind="text",
                json_type="string",
                schema={},
                label=spec.confirm,
                required=spec.required,
                input_attrs={**spec.input_attrs, "autocomplete": "off"},
                confirm_of=spec.name,
                condition=spec.condition,
            )
            attributes[confirm.name] = StringField(
                label=confirm.label, render_kw=confirm.input_attrs
            )
            all_specs[confirm.name] = confirm
        if spec.kind == "file":
            token = FieldSpec(
                name=spec.name + TOKEN_SUFFIX, kind="hidden", json_type="string", schema={}
            )
            attributes[token.name] = HiddenField()
            all_specs[token.name] = token
    attributes["_specs"] = all_specs
    class_name = (
        "".join(part.capitalize() for part in name.replace("-", "_").split("_")) or "Schema"
    )
    return type(f"{class_name}Form", (base,), attributes)


def build_form_class(definition):
    return _class_for(definition.tree, SchemaForm, definition.id)
