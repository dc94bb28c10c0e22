"""Forms in steps: one page per top-level section, each page validated on its own.

A definition is *in steps* when one of its top-level sections is marked
``"x-ui": {"step": true}``. Then every top-level section is a page, in the order of the tree,
and the top-level questions that are not sections go on the first page.

A step is validated alone: its fields are bound and coerced by a form class of their own, the
step's answers are merged into the draft document (the answers of the other steps), and the
full validator checks the merged document; only the errors of the step's properties are kept.
The final filing validates the whole document with the full validator, which stays the
authority. Nothing here reads the request: views pass the posted data in.
"""

from __future__ import annotations

import copy
import re
import threading
from dataclasses import dataclass, field, replace
from typing import Any

from forms import engine, formats
from forms.builder import SchemaForm, _choice_value, _class_for
from forms.document import DocumentBuilder, prefill_object
from forms.registry import FormDefinition

_LOCK = threading.Lock()
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Etape:
    """One page: its number (from 1), its title and the top-level properties it holds."""

    numero: int
    titre: str
    noms: tuple[str, ...]
    hint: str | None = None

    def contient(self, field_name: str) -> bool:
        """True when the field (WTForms name, ``section-propriete``) is on this page."""
        return field_name.split("-", 1)[0] in self.noms


@dataclass
class StepOutcome:
    """What a step post produced: the bound step form, the merged draft, the step's errors."""

    form: Any
    data: dict
    errors: dict[str, list[str]] = field(default_factory=dict)
    action: str | None = None

    @property
    def valid(self) -> bool:
        return self.action is None and not self.errors


def en_etapes(definition: FormDefinition) -> bool:
    """True when at least one top-level section is marked as a step."""
    return any(spec.kind == "section" and spec.step for spec in definition.tree)


def etapes(definition: FormDefinition) -> list[Etape]:
    """The pages of a definition in steps (empty for a one-page definition)."""
    cached = definition.__dict__.get("_etapes")
    if cached is not None:
        return cached
    found: list[Etape] = []
    if en_etapes(definition):
        sections = [spec for spec in definition.tree if spec.kind == "section"]
        loose = [spec.name for spec in definition.tree if spec.kind != "section"]
        for numero, section in enumerate(sections, start=1):
            noms = [section.name]
            if numero == 1:
                # Keep the tree's order on the first page: loose questions where they stand.
                noms = [
                    spec.name
                    for spec in definition.tree
                    if spec.name in loose or spec.name == section.name
                ]
            found.append(Etape(numero, section.label, tuple(noms), section.hint))
    definition.__dict__["_etapes"] = found
    return found


def etape(definition: FormDefinition, numero: int) -> Etape | None:
    pages = etapes(definition)
    return pages[numero - 1] if 1 <= numero <= len(pages) else None


def etape_du_champ(definition: FormDefinition, field_name: str) -> Etape | None:
    """The page holding a field; errors of the whole form ("") belong to the first page."""
    pages = etapes(definition)
    for page in pages:
        if page.contient(field_name):
            return page
    return pages[0] if pages else None


def specs_of(definition: FormDefinition, page: Etape) -> list:
    return [spec for spec in definition.tree if spec.name in page.noms]


def form_class(definition: FormDefinition, page: Etape):
    """A form class with only the fields of ``page`` (CSRF included), built once per version."""
    classes = definition.__dict__.setdefault("_etapes_classes", {})
    if page.numero not in classes:
        with _LOCK:
            if page.numero not in classes:
                classes[page.numero] = _class_for(
                    specs_of(definition, page), SchemaForm, f"{definition.id}-etape-{page.numero}"
                )
    return classes[page.numero]


def new_form(definition: FormDefinition, page: Etape, data: dict | None):
    """The step form showing what the draft holds."""
    return form_class(definition, page)(
        formdata=None, obj=prefill_object(data or {}, specs_of(definition, page))
    )


def submit(
    definition: FormDefinition,
    page: Etape,
    formdata,
    data: dict | None,
    prefill: dict | None = None,
) -> StepOutcome:
    """Bind a step post, merge its answers into the draft ``data`` and check the step.

    ``prefill`` holds the server's values (the only source of read-only fields). The merged
    draft is returned even when the step has errors: nothing typed is lost.
    """
    specs = specs_of(definition, page)
    form = form_class(definition, page)(formdata=formdata, obj=prefill_object(prefill, specs))
    data = copy.deepcopy(data or {})
    action = formdata.get(engine.ACTION_FIELD)
    if action and engine._apply_action(form, action):
        return StepOutcome(form=form, data=data, action=action)

    form.validate()  # CSRF and WTForms' own checks; validity itself is jsonschema's
    errors: dict[str, list[str]] = {}
    for bound in engine._walk(form):
        if bound.errors:
            errors[bound.name] = list(bound.errors)

    # Top-level conditions may name questions of other pages: they are applied on the merged
    # document below, not on this page's answers alone.
    builder = DocumentBuilder(prefill)
    answers = builder.object(form, [replace(spec, condition=None) for spec in specs], prefill or {})
    for name in page.noms:
        data.pop(name, None)
    data.update(answers)
    dropped = elaguer(definition, data)
    for name, messages in builder.errors.items():
        if name.split("-", 1)[0] in dropped:
            continue
        errors.setdefault(name, []).extend(messages)
    for name, messages in definition.errors(data).items():
        if not page.contient(name) or name.split("-", 1)[0] in dropped:
            continue
        if name in builder.errors:
            continue  # the coercion message already says what is wrong
        errors.setdefault(name, []).extend(m for m in messages if m not in errors.get(name, []))
    errors = {name: messages for name, messages in errors.items() if messages}
    engine._attach(form, errors)
    return StepOutcome(form=form, data=data, errors=errors)


def show_errors(definition: FormDefinition, page: Etape, form, data: dict) -> dict:
    """Attach to a displayed step form the errors its stored answers have (a resumed draft
    checked against a newer version, an answer another page made necessary)."""
    errors = {
        name: messages
        for name, messages in definition.errors(data).items()
        if name and page.contient(name)
    }
    engine._attach(form, errors)
    return errors


def elaguer(definition: FormDefinition, data: dict) -> set[str]:
    """Drop, in place, the top-level answers whose condition does not hold; their names."""
    dropped = set()
    for spec in definition.tree:
        if spec.condition is not None and not spec.condition.holds(data) and spec.name in data:
            data.pop(spec.name)
            dropped.add(spec.name)
    return dropped


def etape_visible(definition: FormDefinition, page: Etape, data: dict) -> bool:
    """False when every question of the page is hidden by a condition that does not hold."""
    specs = specs_of(definition, page)
    return any(spec.condition is None or spec.condition.holds(data) for spec in specs)


def conformer(definition: FormDefinition, data: dict) -> dict:
    """The draft reduced to the questions the definition still has (after a new version)."""
    return _conformer(definition.tree, data if isinstance(data, dict) else {})


def _conformer(specs, data: dict) -> dict:
    kept: dict[str, Any] = {}
    for spec in specs:
        if spec.name not in data:
            continue
        value = data[spec.name]
        if spec.kind == "section":
            if isinstance(value, dict):
                kept[spec.name] = _conformer(spec.children, value)
        elif spec.kind == "repeat":
            if isinstance(value, list):
                kept[spec.name] = [
                    _conformer(spec.children, item) for item in value if isinstance(item, dict)
                ]
        else:
            kept[spec.name] = value
    return kept


def erreurs_par_etape(definition: FormDefinition, data: dict) -> dict[int, dict[str, list[str]]]:
    """The full validator's errors of the document, grouped by page number."""
    grouped: dict[int, dict[str, list[str]]] = {}
    for name, messages in definition.errors(data).items():
        page = etape_du_champ(definition, name)
        if page is not None:
            grouped.setdefault(page.numero, {})[name] = messages
    return grouped


def premiere_etape_en_erreur(definition: FormDefinition, data: dict) -> int | None:
    grouped = erreurs_par_etape(definition, data)
    return min(grouped) if grouped else None


def document_final(definition: FormDefinition, data: dict) -> tuple[dict, dict[str, list[str]]]:
    """The document to file and the full validator's errors (empty when it may be filed)."""
    document = conformer(definition, data)
    elaguer(definition, document)
    return document, definition.errors(document)


# -- « Vérifiez vos réponses » -------------------------------------------------------------------


@dataclass(frozen=True)
class Reponse:
    """One answer as the check page shows it: its label, its value, the field to change it."""

    libelle: str
    valeur: str
    champ: str  # WTForms field id, the anchor of the « Modifier » link
    niveau: int = 0  # 0 for a question, 1 for a question inside a repeated group


def reponses(definition: FormDefinition, page: Etape, data: dict) -> list[Reponse]:
    """Every answer of a page, in page order, with a readable value ("Non renseigné" if none)."""
    lines: list[Reponse] = []
    for spec in specs_of(definition, page):
        if spec.condition is not None and not spec.condition.holds(data):
            continue
        _answers(spec, data.get(spec.name), spec.name, data, lines, "")
    return lines


def _answers(spec, value, name: str, siblings: dict, lines: list, prefix: str) -> None:
    if spec.kind == "section":
        sub = value if isinstance(value, dict) else {}
        for child in spec.children:
            if child.condition is not None and not child.condition.holds(sub):
                continue
            _answers(child, sub.get(child.name), f"{name}-{child.name}", sub, lines, prefix)
        return
    if spec.kind == "repeat":
        items = value if isinstance(value, list) else []
        if not items:
            lines.append(Reponse(prefix + spec.label, "Non renseigné", name))
        for index, item in enumerate(items):
            label = f"{prefix}{spec.label} n° {index + 1} – "
            for child in spec.children:
                if child.condition is not None and not child.condition.holds(item):
                    continue
                _answers(
                    child, item.get(child.name), f"{name}-{index}-{child.name}", item, lines, label
                )
        return
    lines.append(Reponse(prefix + spec.label, valeur_lisible(spec, value), name))


def valeur_lisible(spec, value) -> str:
    """A stored value as people read it: option labels, Oui/Non, formatted numbers."""
    if value is None or value == "" or value == []:
        return "Non renseigné"
    if spec.kind in {"select", "radios", "boolean-radios", "checkboxes", "checkbox"}:
        labels = {_choice_value(v): label for v, label in spec.choices}
        values = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(_choice_value(v), str(v)) for v in values)
    if spec.kind == "file":
        return "Fichier joint"
    if spec.format == "date" and isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return "/".join(reversed(value.split("-")))
    if spec.format and isinstance(value, str):
        return formats.display(spec.format, value)
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    return str(value)
