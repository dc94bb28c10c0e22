"""The structured editor's operations on a definition (a JSON Schema dict), without Flask.

The back-office's « Formulaires » editor calls these functions, then saves the result through
``workflows.definitions.enregistrer_brouillon`` (which checks it). Each operation takes a
schema and returns a *new* one (the argument is never modified); a change the editor must
not make raises ``EditionRefusee`` with a French message.

Vocabulary:

- a **chemin** is the dotted path of a property from the root, as in ``x-bindings``:
  ``etablissement.siret``; a property of a repeatable group's entries is
  ``salaries.nom`` (the ``items`` level is implicit); the root container is ``""``;
- a **question** is a scalar property (or a multiple choice); a **section** is an object
  property; a **groupe** (repeatable group) is an array of objects;
- the **order** is the engine's (``forms.builder``): the properties' order, stably sorted by
  ``x-ui.order``.

Bound properties (listed in the schema's ``x-bindings``: the code reads them) are never
removed, moved or retyped, and ``x-bindings`` itself is never changed.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from forms import vocabulary

ADVANCED_HINT = "modifiable dans l'onglet « Avancé »"


class EditionRefusee(Exception):
    """A change the editor refuses; ``str()`` is the French message for the administrator."""


# --- question types ----------------------------------------------------------------------------

TYPES: dict[str, str] = {
    "texte": "Texte court",
    "texte_long": "Texte long",
    "nombre": "Nombre",
    "date": "Date",
    "email": "Adresse électronique",
    "telephone": "Téléphone",
    "siret": "N° SIRET",
    "code_postal": "Code postal",
    "oui_non": "Oui / non",
    "liste": "Choix unique dans une liste déroulante",
    "boutons_radio": "Choix unique par boutons radio",
    "choix_multiples": "Choix multiples (cases à cocher)",
    "fichier": "Fichier joint",
}
OTHER = "autre"
OTHER_LABEL = "Autre (" + ADVANCED_HINT + ")"
FORMAT_TYPES = {
    "date": "date",
    "email": "email",
    "telephone": "telephone",
    "siret": "siret",
    "code_postal": "code-postal",
}
WITH_OPTIONS = {"liste", "boutons_radio", "choix_multiples"}
WITH_LENGTH = {"texte", "texte_long"}
DEFAULT_FILE_TYPES = ["application/pdf", "image/png", "image/jpeg"]
DEFAULT_FILE_MB = 5
MAX_LABEL = 300
MAX_NAME = 40  # leaves room for a numeric suffix within vocabulary.PROPERTY_NAME's 63
# Keywords that say what a value is (dropped when a question changes type).
TYPE_KEYWORDS = {
    "type",
    "format",
    "enum",
    "const",
    "oneOf",
    "items",
    "uniqueItems",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "x-file",
    "default",
    "examples",
}
TYPE_UI_KEYS = {"widget", "pattern-message", "autocomplete", "prefill"}


def new_node(kind: str) -> dict:
    """The JSON Schema of a new question of type ``kind`` (a key of ``TYPES``)."""
    if kind == "texte":
        return {"type": "string", "maxLength": 200}
    if kind == "texte_long":
        return {"type": "string", "maxLength": 5000, "x-ui": {"widget": "textarea"}}
    if kind == "nombre":
        return {"type": "number"}
    if kind in FORMAT_TYPES:
        node = {"type": "string", "format": FORMAT_TYPES[kind]}
        if kind == "email":
            node["maxLength"] = 254
        return node
    if kind == "oui_non":
        return {"type": "boolean", "x-ui": {"widget": "radios"}}
    if kind == "liste":
        return {"type": "string", "oneOf": []}
    if kind == "boutons_radio":
        return {"type": "string", "oneOf": [], "x-ui": {"widget": "radios"}}
    if kind == "choix_multiples":
        return {
            "type": "array",
            "uniqueItems": True,
            "items": {"type": "string", "oneOf": []},
            "x-ui": {"widget": "checkboxes"},
        }
    if kind == "fichier":
        return {
            "type": "string",
            "x-file": {
                "mime-types": list(DEFAULT_FILE_TYPES),
                "max-bytes": DEFAULT_FILE_MB * 1024 * 1024,
            },
        }
    raise EditionRefusee(f"Type de question inconnu : {kind!r}.")


def kind_of(node: dict, schema: dict | None = None) -> str:
    """The editor's name for what ``node`` (resolved) is: a key of ``TYPES``, ``section``,
    ``groupe`` or ``autre``; ``schema`` resolves a local ``$ref`` of its items."""
    json_type = vocabulary.node_type(node)
    ui = node.get("x-ui") if isinstance(node.get("x-ui"), dict) else {}
    widget = ui.get("widget")
    if json_type == "object":
        return "section"
    if json_type == "array":
        items = node.get("items") if isinstance(node.get("items"), dict) else {}
        if schema is not None:
            items = _resolve(schema, items)
        if vocabulary.node_type(items) == "object" or "$ref" in items:
            return "groupe"
        return "choix_multiples"
    if json_type == "boolean":
        return "oui_non"
    if vocabulary.has_options(node):
        return "boutons_radio" if widget == "radios" else "liste"
    if json_type in {"integer", "number"}:
        return "nombre"
    if json_type != "string":
        return OTHER
    if "x-file" in node:
        return "fichier"
    fmt = node.get("format")
    if fmt is not None:
        for kind, name in FORMAT_TYPES.items():
            if name == fmt:
                return kind
        return OTHER
    if widget == "textarea":
        return "texte_long"
    if widget in {None, "text"}:
        return "texte"
    return OTHER


# --- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """« afficher et rendre obligatoire quand ``source`` vaut ``valeur`` » (``simple``), or a
    condition the editor shows but does not edit (``simple`` False: else branch, several
    tests, a list of values)."""

    source: str
    valeurs: tuple
    simple: bool = True
    negation: bool = False


@dataclass
class Element:
    """One question, section or repeatable group of the outline."""

    chemin: str
    nom: str
    genre: str  # "question", "section" or "groupe"
    type: str  # a key of TYPES, "section", "groupe" or "autre"
    libelle: str
    profondeur: int
    aide: str = ""
    obligatoire: bool = False
    lie: bool = False  # listed in x-bindings
    contient_lie: bool = False  # a section or group holding a bound property
    lecture_seule: bool = False
    etape: bool = False
    condition: Condition | None = None
    reference: bool = False  # defined by a $ref: its content is edited in « Avancé »
    min_entrees: int = 0
    max_entrees: int | None = None
    options: list[tuple[Any, str]] = field(default_factory=list)
    enfants: list[Element] = field(default_factory=list)

    @property
    def type_libelle(self) -> str:
        if self.genre == "section":
            return "Section"
        if self.genre == "groupe":
            return "Groupe répétable"
        return TYPES.get(self.type, OTHER_LABEL)

    @property
    def parent(self) -> str:
        return self.chemin.rpartition(".")[0]

    @property
    def est_conteneur(self) -> bool:
        return self.genre in {"section", "groupe"}


def elements(schema: dict) -> list[Element]:
    """The outline of a definition: its questions, sections and groups, in the engine's order."""
    return _children(schema, schema, "", 0)


def flatten(items: list[Element]):
    """Every element of an outline, depth first, in order."""
    for item in items:
        yield item
        yield from flatten(item.enfants)


def element(schema: dict, chemin: str) -> Element:
    """The element at ``chemin``. :raise EditionRefusee: no such question."""
    for item in flatten(elements(schema)):
        if item.chemin == chemin:
            return item
    raise EditionRefusee(f"La question « {chemin} » n'existe pas dans ce brouillon.")


def containers(schema: dict) -> list[Element]:
    """The sections and groups a question can be moved into (the root excluded)."""
    return [item for item in flatten(elements(schema)) if item.est_conteneur and not item.reference]


def order(container: dict) -> list[str]:
    """The names of a container's properties in the engine's order."""
    properties = container.get("properties")
    if not isinstance(properties, dict):
        return []

    def rank(name: str):
        value = _ui(properties[name]).get("order", 0)
        return value if isinstance(value, int | float) and not isinstance(value, bool) else 0

    return sorted(properties, key=rank)


def bindings(schema: dict) -> list[str]:
    value = schema.get("x-bindings")
    return [b for b in value if isinstance(b, str)] if isinstance(value, list) else []


def bound_within(schema: dict, chemin: str) -> list[str]:
    """The bound paths at ``chemin`` or below it."""
    return [b for b in bindings(schema) if b == chemin or b.startswith(chemin + ".")]


def _children(schema: dict, container: dict, prefix: str, depth: int) -> list[Element]:
    container = _resolve(schema, container)
    properties = container.get("properties")
    if not isinstance(properties, dict):
        return []
    required = set(_names(container.get("required")))
    conditions = _conditions(container)
    out = []
    for name in order(container):
        raw = properties[name]
        if not isinstance(raw, dict):
            continue
        node = _resolve(schema, raw)
        chemin = f"{prefix}.{name}" if prefix else name
        kind = kind_of(node, schema)
        genre = kind if kind in {"section", "groupe"} else "question"
        ui = _ui(node)
        item = Element(
            chemin=chemin,
            nom=name,
            genre=genre,
            type=kind,
            libelle=str(node.get("title") or name.replace("_", " ").capitalize()),
            profondeur=depth,
            aide=str(node.get("description") or ui.get("hint") or ""),
            obligatoire=name in required,
            lie=chemin in bindings(schema),
            contient_lie=bool(bound_within(schema, chemin)),
            lecture_seule=bool(node.get("readOnly")),
            etape=bool(ui.get("step")),
            condition=conditions.get(name),
            reference="$ref" in raw or (genre == "groupe" and "$ref" in node.get("items", {})),
        )
        if genre == "section":
            item.enfants = _children(schema, node, chemin, depth + 1)
        elif genre == "groupe":
            item.min_entrees = node.get("minItems", 0)
            item.max_entrees = node.get("maxItems")
            items = node.get("items")
            item.enfants = _children(
                schema, items if isinstance(items, dict) else {}, chemin, depth + 1
            )
        else:
            item.options = options(schema, node)
        out.append(item)
    return out


def options(schema: dict, node: dict) -> list[tuple[Any, str]]:
    """(value, label) of a question's choices; Oui/Non for a yes/no question."""
    if vocabulary.node_type(node) == "boolean":
        return [(True, "Oui"), (False, "Non")]
    if vocabulary.node_type(node) == "array":
        node = _resolve(schema, node.get("items") or {})
    if isinstance(node.get("oneOf"), list):
        return [
            (o.get("const"), str(o.get("title", o.get("const"))))
            for o in node["oneOf"]
            if isinstance(o, dict)
        ]
    if isinstance(node.get("enum"), list):
        return [(value, str(value)) for value in node["enum"]]
    return []


def _conditions(container: dict) -> dict[str, Condition]:
    """For each conditional property of a container, its (first) condition, as the engine."""
    found: dict[str, Condition] = {}
    for block in vocabulary.conditions_of(container):
        test = block.get("if") if isinstance(block.get("if"), dict) else {}
        tests = test.get("properties") if isinstance(test.get("properties"), dict) else {}
        if not tests:
            continue
        (source, rule), *others = tests.items()
        rule = rule if isinstance(rule, dict) else {}
        values = tuple(rule["enum"]) if "enum" in rule else (rule.get("const"),)
        for branch, negation in (("then", False), ("else", True)):
            part = block.get(branch) if isinstance(block.get(branch), dict) else {}
            required = part.get("required") or []
            for name in [*(part.get("properties") or {}), *required]:
                simple = (
                    not others
                    and "const" in rule
                    and not negation
                    and name in required
                    and source in (test.get("required") or [])
                )
                found.setdefault(name, Condition(source, values, simple, negation))
    return found


# --- settings of a question --------------------------------------------------------------------


@dataclass
class Question:
    """What the question form edits. ``None`` limits mean « no limit »."""

    libelle: str
    type: str = "texte"
    aide: str = ""
    placeholder: str = ""
    obligatoire: bool = False
    options: list[tuple[Any, str]] = field(default_factory=list)
    longueur_min: int | None = None
    longueur_max: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    entier: bool = False
    double_saisie: str = ""  # label of the second entry; empty: no double entry
    lecture_seule: bool = False
    condition: tuple[str, Any] | None = None  # (sibling property, value)
    garder_condition: bool = False  # keep an advanced condition as it is
    fichier_types: list[str] = field(default_factory=lambda: list(DEFAULT_FILE_TYPES))
    fichier_max_mo: int | None = DEFAULT_FILE_MB


def question(schema: dict, chemin: str) -> Question:
    """The settings of the question at ``chemin``, as the question form shows them."""
    container, name = _parent(schema, chemin)
    raw = container["properties"][name]
    node = _resolve(schema, raw)
    kind = kind_of(node, schema)
    if kind in {"section", "groupe"}:
        raise EditionRefusee(f"« {chemin} » est une section, pas une question.")
    ui = _ui(node)
    condition = _conditions(container).get(name)
    settings = Question(
        libelle=str(node.get("title") or ""),
        type=kind,
        aide=str(node.get("description") or ui.get("hint") or ""),
        placeholder=str(ui.get("placeholder") or ""),
        obligatoire=name in (container.get("required") or []),
        options=options(schema, node) if kind in WITH_OPTIONS else [],
        longueur_min=node.get("minLength"),
        longueur_max=node.get("maxLength"),
        minimum=node.get("minimum"),
        maximum=node.get("maximum"),
        entier=node.get("type") == "integer",
        double_saisie=str(ui.get("confirm") or ""),
        lecture_seule=bool(node.get("readOnly")),
    )
    if condition is not None:
        if condition.simple:
            settings.condition = (condition.source, condition.valeurs[0])
        else:
            settings.garder_condition = True
    spec = node.get("x-file")
    if isinstance(spec, dict):
        settings.fichier_types = list(spec.get("mime-types") or [])
        size = spec.get("max-bytes")
        settings.fichier_max_mo = (
            max(1, round(size / (1024 * 1024))) if isinstance(size, int) else None
        )
    return settings


def condition_sources(schema: dict, chemin: str) -> list[tuple[str, str, list[tuple[Any, str]]]]:
    """The siblings a question's condition may test: (name, label, choices), those with
    choices (lists, radios, yes/no), the question itself excluded."""
    container, name = _parent(schema, chemin) if chemin else (schema, None)
    return _sources(schema, container, name)


def condition_sources_in(schema: dict, conteneur: str) -> list[tuple[str, str, list]]:
    """Same, for a question about to be added to ``conteneur``."""
    return _sources(schema, _container(schema, conteneur), None)


def _sources(schema: dict, container: dict, exclude: str | None) -> list:
    found = []
    properties = container.get("properties") or {}
    for name in order(container):
        node = _resolve(schema, properties[name])
        if name == exclude or kind_of(node) not in {"liste", "boutons_radio", "oui_non"}:
            continue
        found.append((name, str(node.get("title") or name), options(schema, node)))
    return found


# --- names -------------------------------------------------------------------------------------


def property_name(libelle: str, taken) -> str:
    """A stable property name made from a label: ``Numéro de TVA`` → ``numero_de_tva``;
    lower-case ASCII letters, digits and single ``_``, starting with a letter, not reserved by
    the engine, not in ``taken`` (a numeric suffix is added)."""
    text = unicodedata.normalize("NFKD", libelle).encode("ascii", "ignore").decode().lower()
    base = re.sub(r"[^a-z0-9]+", "_", text).strip("_")
    if not base or not base[0].isalpha():
        base = ("question_" + base).rstrip("_")
    base = base[:MAX_NAME].rstrip("_")
    taken = set(taken)
    candidate, suffix = base, 2
    while (
        candidate in taken
        or candidate in vocabulary.RESERVED_NAMES
        or not vocabulary.PROPERTY_NAME.match(candidate)
    ):
        candidate = f"{base}_{suffix}"
        suffix += 1
    return candidate


# --- operations --------------------------------------------------------------------------------


def add_question(schema: dict, conteneur: str, settings: Question) -> tuple[dict, str]:
    """Add a question at the end of ``conteneur`` (``""``: the root); return the new schema
    and the question's chemin."""
    schema = copy.deepcopy(schema)
    container = _editable_container(schema, conteneur)
    properties = container.setdefault("properties", {})
    name = property_name(settings.libelle, properties)
    node = new_node(settings.type)
    if settings.type in WITH_LENGTH and settings.longueur_max is None:
        settings = dataclasses.replace(settings, longueur_max=node["maxLength"])
    _place_last(container, name, node)
    _apply(schema, container, name, settings, retype=True)
    return schema, _join(conteneur, name)


def update_question(schema: dict, chemin: str, settings: Question) -> dict:
    """Apply the settings of the question form to the question at ``chemin``."""
    schema = copy.deepcopy(schema)
    container, name = _parent(schema, chemin, editable=True)
    raw = container["properties"][name]
    current = kind_of(_resolve(schema, raw), schema)
    if current in {"section", "groupe"}:
        raise EditionRefusee(f"« {chemin} » est une section, pas une question.")
    new_kind = settings.type
    retype = new_kind != current or (
        new_kind == "nombre" and settings.entier != (raw.get("type") == "integer")
    )
    if retype and chemin in bindings(schema):
        raise EditionRefusee(
            f"La question « {chemin} » est lue par l'application (x-bindings) : "
            "son type ne peut pas être changé."
        )
    if chemin in bindings(schema):
        if name in (container.get("required") or []) and not settings.obligatoire:
            raise EditionRefusee(
                f"La question « {chemin} » est lue par l'application (x-bindings) : "
                "elle doit rester obligatoire."
            )
        if settings.condition is not None or settings.garder_condition:
            raise EditionRefusee(
                f"La question « {chemin} » est lue par l'application (x-bindings) : "
                "elle ne peut pas dépendre d'une condition."
            )
    if retype and "$ref" in raw:
        raise EditionRefusee(
            f"La question « {chemin} » est définie par une référence : son type est "
            + ADVANCED_HINT
            + "."
        )
    if retype and new_kind == OTHER:
        raise EditionRefusee("Choisissez un type de question.")
    if retype and _is_source(container, name):
        raise EditionRefusee(
            f"La question « {chemin} » conditionne l'affichage d'autres questions : "
            "retirez d'abord ces conditions pour changer son type."
        )
    if retype:
        kept = {k: v for k, v in raw.items() if k not in TYPE_KEYWORDS}
        ui = {k: v for k, v in _ui(raw).items() if k not in TYPE_UI_KEYS}
        node = {**new_node(new_kind), **{k: v for k, v in kept.items() if k != "x-ui"}}
        if ui or "x-ui" in node:
            node["x-ui"] = {**_ui(node), **ui}
        container["properties"][name] = node
    _apply(schema, container, name, settings, retype=retype)
    _check_tested_values(schema, container, name)
    return schema


def _check_tested_values(schema: dict, container: dict, name: str) -> None:
    """The values other questions' conditions test on ``name`` must remain possible."""
    values = [v for v, _ in options(schema, _resolve(schema, container["properties"][name]))]
    for block in vocabulary.conditions_of(container):
        rule = ((block.get("if") or {}).get("properties") or {}).get(name)
        if not isinstance(rule, dict):
            continue
        tested = rule["enum"] if isinstance(rule.get("enum"), list) else [rule.get("const")]
        for value in tested:
            if value not in values:
                raise EditionRefusee(
                    f"La réponse « {value} » conditionne l'affichage d'autres questions : "
                    "gardez cette option, ou retirez d'abord ces conditions."
                )


def remove(schema: dict, chemin: str) -> dict:
    """Remove a question, a section or a group (with its content)."""
    schema = copy.deepcopy(schema)
    item = element(schema, chemin)
    bound = bound_within(schema, chemin)
    if bound:
        raise EditionRefusee(
            _bound_message(bound, "ne peut pas être retirée", item.genre != "question")
        )
    container, name = _parent(schema, chemin, editable=True)
    if _is_source(container, name):
        raise EditionRefusee(
            f"« {item.libelle} » conditionne l'affichage d'autres questions : "
            "retirez d'abord ces conditions."
        )
    communes = container.get("x-communes")
    if isinstance(communes, dict) and name in {*communes, *communes.values()}:
        raise EditionRefusee(
            f"« {item.libelle} » est associée au choix de la ville par code postal : "
            + ADVANCED_HINT
            + "."
        )
    _forget(container, name)
    return schema


def move(schema: dict, chemin: str, sens: int) -> dict:
    """Move an element one place up (``sens`` -1) or down (+1) among its siblings."""
    schema = copy.deepcopy(schema)
    container, name = _parent(schema, chemin, editable=True)
    names = order(container)
    index = names.index(name)
    target = index + (1 if sens > 0 else -1)
    if 0 <= target < len(names):
        names[index], names[target] = names[target], names[index]
        _reorder(container, names)
    return schema


def move_into(schema: dict, chemin: str, conteneur: str) -> tuple[dict, str]:
    """Move an element to the end of another section or group (``""``: the root)."""
    schema = copy.deepcopy(schema)
    source, name = _parent(schema, chemin, editable=True)
    if conteneur == chemin or conteneur.startswith(chemin + "."):
        raise EditionRefusee("Une section ne peut pas être déplacée dans elle-même.")
    if _join(conteneur, name) == chemin:
        return schema, chemin
    bound = bound_within(schema, chemin)
    if bound:
        raise EditionRefusee(_bound_message(bound, "ne peut pas être déplacée", False))
    if _is_source(source, name) or name in _conditions(source):
        raise EditionRefusee(
            "Cette question porte ou conditionne une condition d'affichage : "
            "retirez d'abord la condition, qui ne vaut qu'entre questions d'une même section."
        )
    communes = source.get("x-communes")
    if isinstance(communes, dict) and name in {*communes, *communes.values()}:
        raise EditionRefusee(
            "Cette question est associée au choix de la ville par code postal : "
            + ADVANCED_HINT
            + "."
        )
    target = _editable_container(schema, conteneur)
    properties = target.setdefault("properties", {})
    new_name = name if name not in properties else property_name(name, properties)
    node = source["properties"][name]
    required = name in (source.get("required") or [])
    _forget(source, name)
    _reorder(source, order(source))
    _place_last(target, new_name, node)
    if required:
        target.setdefault("required", []).append(new_name)
    if node.get("x-ui", {}).get("step") and conteneur:
        del node["x-ui"]["step"]
    return schema, _join(conteneur, new_name)


@dataclass
class Section:
    libelle: str
    aide: str = ""
    etape: bool = False
    repetable: bool = False  # a repeatable group (chosen when it is added)
    min_entrees: int = 0
    max_entrees: int | None = None


def add_section(schema: dict, conteneur: str, settings: Section) -> tuple[dict, str]:
    """Add an empty section (or repeatable group) at the end of ``conteneur``."""
    schema = copy.deepcopy(schema)
    container = _editable_container(schema, conteneur)
    properties = container.setdefault("properties", {})
    name = property_name(settings.libelle, properties)
    body = {"type": "object", "additionalProperties": False, "properties": {}}
    node: dict = (
        {"type": "array", "items": {**body, "title": settings.libelle.strip()}}
        if settings.repetable
        else body
    )
    _place_last(container, name, node)
    chemin = _join(conteneur, name)
    return update_section(schema, chemin, settings, _copied=True), chemin


def update_section(schema: dict, chemin: str, settings: Section, _copied: bool = False) -> dict:
    """Label, help text, step mark and (for a group) the number of entries of a section."""
    if not _copied:
        schema = copy.deepcopy(schema)
    container, name = _parent(schema, chemin, editable=True)
    node = container["properties"][name]
    kind = kind_of(_resolve(schema, node), schema)
    if kind not in {"section", "groupe"}:
        raise EditionRefusee(f"« {chemin} » est une question, pas une section.")
    libelle = _label(settings.libelle)
    node["title"] = libelle
    _set(node, "description", settings.aide.strip() or None)
    ui = _ui(node, create=True)
    ui.pop("hint", None)
    if settings.etape and "." in chemin:
        raise EditionRefusee("Seules les sections du premier niveau peuvent être des étapes.")
    if settings.etape:
        ui["step"] = True
    else:
        ui.pop("step", None)
    if not ui:
        del node["x-ui"]
    if kind == "groupe":
        minimum, maximum = settings.min_entrees or 0, settings.max_entrees
        if minimum < 0 or (maximum is not None and maximum < max(minimum, 1)):
            raise EditionRefusee(
                "Le nombre maximal d'entrées doit être supérieur ou égal au nombre minimal "
                "(et à 1)."
            )
        _set(node, "minItems", minimum or None)
        _set(node, "maxItems", maximum)
        if isinstance(node.get("items"), dict) and "$ref" not in node["items"]:
            node["items"]["title"] = libelle
    return schema


@dataclass
class Reglages:
    """The settings of the whole form."""

    titre: str
    description: str = ""
    autonome: bool = False  # x-standalone: served at /formulaires/<id>
    bouton: str = ""  # x-submit-label
    confirmation: str = ""  # x-confirmation


def form_settings(schema: dict) -> Reglages:
    return Reglages(
        titre=str(schema.get("title") or ""),
        description=str(schema.get("description") or ""),
        autonome=bool(schema.get("x-standalone")),
        bouton=str(schema.get("x-submit-label") or ""),
        confirmation=str(schema.get("x-confirmation") or ""),
    )


def update_form(schema: dict, settings: Reglages) -> dict:
    """Title, introduction, « standalone » mark, submit label and confirmation text."""
    schema = copy.deepcopy(schema)
    schema["title"] = _label(settings.titre)
    _set(schema, "description", settings.description.strip() or None)
    if settings.autonome:
        schema["x-standalone"] = True
    elif "x-standalone" in schema:
        schema["x-standalone"] = False
    _set(schema, "x-submit-label", " ".join(settings.bouton.split()) or None)
    _set(schema, "x-confirmation", settings.confirmation.strip() or None)
    return schema


def fingerprint(schema: dict) -> str:
    """A short digest of a schema's content (key order aside): a form posted against an older
    state of the draft is detected instead of silently undoing someone else's change."""
    text = json.dumps(schema, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def pin_order(schema: dict, reference: dict | None = None) -> dict:
    """``schema`` with the order of every object's properties written as ``x-ui.order``
    (1..n): the engine's order, or the order of the same object in ``reference`` (the same
    definition before it lost its key order). A schema stored as PostgreSQL JSONB loses its
    key order; once pinned, it renders in the same order whatever the storage."""
    schema = copy.deepcopy(schema)

    def walk(node, like) -> None:
        if not isinstance(node, dict):
            return
        like = like if isinstance(like, dict) else {}
        properties = node.get("properties")
        if isinstance(properties, dict) and all(isinstance(p, dict) for p in properties.values()):
            names = order(node)
            ranks = {name: index for index, name in enumerate(order(like))}
            names.sort(key=lambda name: ranks.get(name, len(ranks)))
            _reorder(node, names)
            others = like.get("properties") if isinstance(like.get("properties"), dict) else {}
            for name, sub in node["properties"].items():
                walk(sub, others.get(name))
        if isinstance(node.get("items"), dict):
            walk(node["items"], like.get("items"))
        for key in ("$defs", "definitions"):
            if isinstance(node.get(key), dict):
                others = like.get(key) if isinstance(like.get(key), dict) else {}
                for name, sub in node[key].items():
                    walk(sub, others.get(name))

    walk(schema, reference)
    return schema


KEY_ORDER = (
    "$schema",
    "$id",
    "x-version",
    "x-standalone",
    "x-bindings",
    "title",
    "description",
    "x-submit-label",
    "x-confirmation",
    "type",
    "format",
    "readOnly",
    "x-ui",
    "additionalProperties",
    "required",
    "properties",
)


def readable(schema):
    """A copy of ``schema`` whose keys read in a usual order (``$schema``, ``$id``, title…,
    the properties in the form's order), for the « Avancé » tab: a schema stored as JSONB
    comes back with its keys sorted by length."""
    if isinstance(schema, list):
        return [readable(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    rank = {key: index for index, key in enumerate(KEY_ORDER)}
    out = {}
    for key in sorted(schema, key=lambda k: rank.get(k, len(rank))):
        value = schema[key]
        if key == "properties" and isinstance(value, dict):
            names = order(schema) if all(isinstance(v, dict) for v in value.values()) else value
            out[key] = {name: readable(value[name]) for name in names}
        elif key in {"$defs", "definitions"} and isinstance(value, dict):
            out[key] = {name: readable(sub) for name, sub in value.items()}
        else:
            out[key] = readable(value)
    return out


def check_bindings(before: dict, after: dict) -> list[vocabulary.Problem]:
    """What an edit in « Avancé » may not do to the properties the code reads: change
    ``x-bindings``, remove a bound property or change its type."""
    problems = []
    if after.get("x-bindings") != before.get("x-bindings"):
        problems.append(
            vocabulary.Problem(
                "$['x-bindings']",
                "la liste x-bindings est fixée par le code de l'application : remettez-la telle "
                "qu'elle était",
            )
        )
    for chemin in bindings(before):
        try:
            old = element(before, chemin)
        except EditionRefusee:
            continue  # a binding the shipped definition does not define: nothing to keep
        try:
            new = element(after, chemin)
        except EditionRefusee:
            problems.append(
                vocabulary.Problem(
                    _pointer(chemin),
                    f"la propriété « {chemin} » est lue par l'application : elle ne peut pas "
                    "être retirée ni renommée",
                )
            )
            continue
        if old.type != new.type:
            problems.append(
                vocabulary.Problem(
                    _pointer(chemin),
                    f"la propriété « {chemin} » est lue par l'application : son type ne peut "
                    "pas changer",
                )
            )
    return problems


# --- helpers -----------------------------------------------------------------------------------


def _apply(schema: dict, container: dict, name: str, settings: Question, *, retype: bool) -> None:
    node = container["properties"][name]
    target = _resolve(schema, node)
    kind = settings.type if retype else kind_of(target, schema)
    by_ref = "$ref" in node
    node["title"] = _label(settings.libelle)
    _set(node, "description", settings.aide.strip() or None)
    _set(node, "readOnly", True if settings.lecture_seule else None)
    ui = _ui(node, create=True)
    ui.pop("hint", None)
    _set(ui, "placeholder", settings.placeholder.strip() or None)
    if settings.double_saisie.strip():
        if kind in {"oui_non", "liste", "boutons_radio", "choix_multiples", "fichier"}:
            raise EditionRefusee("La double saisie ne s'applique qu'aux champs de saisie.")
        ui["confirm"] = _label(settings.double_saisie)
    else:
        ui.pop("confirm", None)
    if not ui:
        del node["x-ui"]
    if not by_ref:
        _apply_type(node, kind, settings)
    _set_required(container, name, settings.obligatoire and settings.condition is None)
    if not settings.garder_condition:
        _set_condition(schema, container, name, settings.condition)
        if settings.condition is not None:
            _set_required(container, name, False)


def _apply_type(node: dict, kind: str, settings: Question) -> None:
    if kind in WITH_LENGTH:
        low, high = settings.longueur_min, settings.longueur_max
        if (low is not None and low < 0) or (high is not None and high < 1):
            raise EditionRefusee("Les longueurs doivent être des nombres positifs.")
        if low is not None and high is not None and low > high:
            raise EditionRefusee("La longueur minimale dépasse la longueur maximale.")
        _set(node, "minLength", low or None)
        _set(node, "maxLength", high)
    if kind == "nombre":
        node["type"] = "integer" if settings.entier else "number"
        low, high = settings.minimum, settings.maximum
        if low is not None and high is not None and low > high:
            raise EditionRefusee("La valeur minimale dépasse la valeur maximale.")
        for key, value in (("minimum", low), ("maximum", high)):
            if value is not None and settings.entier:
                if value != int(value):
                    raise EditionRefusee("Les limites d'un nombre entier sont des entiers.")
                value = int(value)
            _set(node, key, value)
    if kind in WITH_OPTIONS:
        target = node["items"] if kind == "choix_multiples" else node
        integer = target.get("type") == "integer"
        target.pop("enum", None)
        target["oneOf"] = _options(settings.options, integer)
    if kind == "fichier":
        types = [t for t in settings.fichier_types if t in vocabulary.FILE_TYPES]
        if not types:
            raise EditionRefusee("Choisissez au moins un type de fichier accepté.")
        size = settings.fichier_max_mo or DEFAULT_FILE_MB
        if size < 1 or size > 100:
            raise EditionRefusee("La taille maximale d'un fichier va de 1 à 100 Mo.")
        node["x-file"] = {"mime-types": types, "max-bytes": int(size) * 1024 * 1024}


def _options(pairs: list[tuple[Any, str]], integer: bool) -> list[dict]:
    if not pairs:
        raise EditionRefusee("Indiquez au moins une option.")
    seen = set()
    out = []
    for value, label in pairs:
        label = str(label).strip()
        if not label:
            raise EditionRefusee("Chaque option doit avoir un libellé.")
        if integer:
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise EditionRefusee(
                    f"La valeur de l'option « {label} » doit être un nombre entier."
                ) from None
        elif value is None or str(value).strip() == "":
            raise EditionRefusee(f"L'option « {label} » n'a pas de valeur.")
        else:
            value = str(value).strip()
        if value in seen:
            raise EditionRefusee(f"La valeur « {value} » est donnée à deux options.")
        seen.add(value)
        out.append({"const": value, "title": label})
    if len(out) > vocabulary.MAX_ENUM:
        raise EditionRefusee(f"Une liste compte au plus {vocabulary.MAX_ENUM} options.")
    return out


def parse_options(text: str) -> list[tuple[str, str]]:
    """One option a line: ``libellé`` (its value is made from it) or ``valeur | libellé``."""
    pairs = []
    taken: set[str] = set()
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        value, bar, label = line.partition("|")
        if bar:
            value, label = value.strip(), label.strip()
        else:
            label = line
            value = property_name(line, taken).replace("_", "-")
        taken.add(value.replace("-", "_"))
        pairs.append((value, label))
    return pairs


def format_options(pairs: list[tuple[Any, str]]) -> str:
    """The text of ``parse_options`` that gives ``pairs`` back."""
    lines = []
    taken: set[str] = set()
    for value, label in pairs:
        generated = property_name(label, taken).replace("_", "-")
        taken.add(generated.replace("-", "_"))
        lines.append(label if generated == value else f"{value} | {label}")
    return "\n".join(lines)


def _set_required(container: dict, name: str, required: bool) -> None:
    names = list(container.get("required") or [])
    if required and name not in names:
        names.append(name)
    elif not required and name in names:
        names.remove(name)
    _set(container, "required", names or None)


def _set_condition(schema: dict, container: dict, name: str, condition) -> None:
    current = _conditions(container).get(name)
    if condition is not None:
        source, value = condition
        properties = container.get("properties") or {}
        if source == name or source not in properties:
            raise EditionRefusee("La condition doit porter sur une autre question de la section.")
        node = _resolve(schema, properties[source])
        if kind_of(node) not in {"liste", "boutons_radio", "oui_non"}:
            raise EditionRefusee("La condition doit porter sur une question à choix.")
        if value not in [v for v, _ in options(schema, node)]:
            raise EditionRefusee("La valeur choisie n'est pas une réponse possible.")
        if _is_source(container, name):
            raise EditionRefusee(
                "Cette question conditionne déjà d'autres questions : elle ne peut pas être "
                "elle-même conditionnelle."
            )
        if _conditions(container).get(source) is not None:
            raise EditionRefusee(
                "La question choisie est elle-même conditionnelle : choisissez une question "
                "toujours affichée."
            )
        if current is not None and current.simple and current.valeurs == (value,):
            if current.source == source:
                return
    elif current is None:
        return
    _drop_from_conditions(container, name)
    if condition is None:
        return
    source, value = condition
    test = {"properties": {source: {"const": value}}, "required": [source]}
    for block in vocabulary.conditions_of(container):
        if block.get("if") == test and isinstance(block.get("then"), dict):
            then = block["then"]
            if set(then) <= {"required", "properties"}:
                then.setdefault("required", []).append(name)
                return
    container.setdefault("allOf", []).append({"if": test, "then": {"required": [name]}})


def _drop_from_conditions(container: dict, name: str) -> None:
    def clean(block: dict) -> bool:
        """Remove ``name`` from the branches; True when the block still says something."""
        for branch in ("then", "else"):
            part = block.get(branch)
            if not isinstance(part, dict):
                continue
            if name in (part.get("required") or []):
                part["required"] = [n for n in part["required"] if n != name]
                if not part["required"]:
                    del part["required"]
            if name in (part.get("properties") or {}):
                del part["properties"][name]
                if not part["properties"]:
                    del part["properties"]
            if not part:
                del block[branch]
        return "then" in block or "else" in block

    if "if" in container and not clean(container):
        container.pop("if", None)
    if isinstance(container.get("allOf"), list):
        container["allOf"] = [
            block for block in container["allOf"] if not isinstance(block, dict) or clean(block)
        ]
        if not container["allOf"]:
            del container["allOf"]


def _is_source(container: dict, name: str) -> bool:
    for block in vocabulary.conditions_of(container):
        test = block.get("if") if isinstance(block.get("if"), dict) else {}
        if name in (test.get("properties") or {}):
            return True
    return False


def _forget(container: dict, name: str) -> None:
    """Remove a property and every mention of it in its container."""
    del container["properties"][name]
    _set_required(container, name, False)
    _drop_from_conditions(container, name)
    for key in ("dependentRequired", "dependencies"):
        mapping = container.get(key)
        if not isinstance(mapping, dict):
            continue
        mapping.pop(name, None)
        for other in list(mapping):
            if isinstance(mapping[other], list) and name in mapping[other]:
                mapping[other] = [n for n in mapping[other] if n != name]
                if not mapping[other]:
                    del mapping[other]
        if not mapping:
            del container[key]


def _reorder(container: dict, names: list[str]) -> None:
    """Put the properties in the order ``names``: in the dict and as ``x-ui.order`` 1..n
    (the database may store the schema as PostgreSQL JSONB, which keeps no key order)."""
    properties = container.get("properties") or {}
    container["properties"] = {name: properties[name] for name in names}
    for index, name in enumerate(names, 1):
        _ui(container["properties"][name], create=True)["order"] = index


def _place_last(container: dict, name: str, node: dict) -> None:
    names = order(container)
    container.setdefault("properties", {})[name] = node
    _reorder(container, [*names, name])


def _ui(node: dict, create: bool = False) -> dict:
    if not isinstance(node, dict):
        return {}
    ui = node.get("x-ui")
    if isinstance(ui, dict):
        return ui
    if create:
        node["x-ui"] = {}
        return node["x-ui"]
    return {}


def _names(value) -> list[str]:
    return [n for n in value if isinstance(n, str)] if isinstance(value, list) else []


def _set(mapping: dict, key: str, value) -> None:
    if value is None:
        mapping.pop(key, None)
    else:
        mapping[key] = value


def _label(text: str) -> str:
    text = " ".join((text or "").split())
    if not text:
        raise EditionRefusee("Le libellé est obligatoire.")
    if len(text) > MAX_LABEL:
        raise EditionRefusee(f"Le libellé compte au plus {MAX_LABEL} caractères.")
    return text


def _join(conteneur: str, name: str) -> str:
    return f"{conteneur}.{name}" if conteneur else name


def _pointer(chemin: str) -> str:
    return "$." + ".".join(f"properties.{part}" for part in chemin.split("."))


def _bound_message(bound: list[str], what: str, container: bool) -> str:
    names = ", ".join(f"« {b} »" for b in bound)
    if container:
        return (
            f"Cette section {what} : elle contient des propriétés lues par l'application "
            f"(x-bindings) : {names}."
        )
    return f"La propriété {names} est lue par l'application (x-bindings) : elle {what}."


def _resolve(schema: dict, node: dict) -> dict:
    """``node`` with a local ``$ref`` (``#/$defs/…``) followed; annotations beside it win."""
    seen = set()
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if not ref.startswith("#/") or ref in seen:
            return node
        seen.add(ref)
        target: Any = schema
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, dict) else None
        if not isinstance(target, dict):
            return node
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _target(schema: dict, node: dict) -> dict:
    """The dict to *edit* for ``node``: the ``$defs`` entry a local ``$ref`` points at."""
    seen = set()
    while isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if not ref.startswith("#/") or ref in seen:
            raise EditionRefusee("Cette section est définie ailleurs : " + ADVANCED_HINT + ".")
        seen.add(ref)
        target: Any = schema
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        if not isinstance(target, dict):
            raise EditionRefusee(f"Référence introuvable : {ref}.")
        node = target
    return node


def _container(schema: dict, conteneur: str) -> dict:
    """The object node whose properties are those of ``conteneur`` (resolved, for reading)."""
    node = _resolve(schema, schema)
    for part in conteneur.split(".") if conteneur else []:
        node = _resolve(schema, (node.get("properties") or {}).get(part) or {})
        if vocabulary.node_type(node) == "array":
            node = _resolve(schema, node.get("items") or {})
        if vocabulary.node_type(node) != "object":
            raise EditionRefusee(f"« {conteneur} » n'est pas une section.")
    return node


def _editable_container(schema: dict, conteneur: str) -> dict:
    """The object node to modify for ``conteneur`` (the ``$defs`` entry of a referenced one)."""
    node = schema
    for part in conteneur.split(".") if conteneur else []:
        properties = node.get("properties") or {}
        if part not in properties:
            raise EditionRefusee(f"La section « {conteneur} » n'existe pas dans ce brouillon.")
        node = _target(schema, properties[part])
        if vocabulary.node_type(node) == "array":
            if not isinstance(node.get("items"), dict):
                raise EditionRefusee(f"« {conteneur} » n'est pas une section.")
            node = _target(schema, node["items"])
        if vocabulary.node_type(node) != "object":
            raise EditionRefusee(f"« {conteneur} » n'est pas une section.")
    return node


def _parent(schema: dict, chemin: str, editable: bool = False) -> tuple[dict, str]:
    if not chemin:
        raise EditionRefusee("Aucune question choisie.")
    conteneur, _, name = chemin.rpartition(".")
    container = (
        _editable_container(schema, conteneur) if editable else _container(schema, conteneur)
    )
    if name not in (container.get("properties") or {}):
        raise EditionRefusee(f"La question « {chemin} » n'existe pas dans ce brouillon.")
    return container, name
