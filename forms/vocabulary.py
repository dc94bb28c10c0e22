"""What a form definition may contain, checked before anything is rendered.

jsonschema's metaschema says whether a definition is a valid JSON Schema; this module says
whether the engine can *render* it faithfully. A keyword the engine cannot render is refused
with its JSON path: a definition is never rendered wrongly, nor a rule silently ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from forms import formats

PROPERTY_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}\Z")

# Names that shadow the WTForms / Flask-WTF form API (a field called "data" replaces form.data).
RESERVED_NAMES = frozenset(
    {
        "data",
        "errors",
        "meta",
        "validate",
        "process",
        "populate_obj",
        "csrf_token",
        "hidden_tag",
        "is_submitted",
        "validate_on_submit",
        "form_errors",
        "submit",
        "spec",
        "action",
    }
)

ANNOTATIONS = {"title", "description", "$comment", "examples", "default", "readOnly", "x-ui"}
ROOT_KEYWORDS = {
    "$schema",
    "$id",
    "$defs",
    "definitions",
    "x-version",
    "x-standalone",
    "x-submit-label",
    "x-confirmation",
    "x-bindings",
}
COMMON = ANNOTATIONS | {"type", "$ref", "enum", "const", "oneOf"}
BY_TYPE = {
    "object": {
        "properties",
        "required",
        "additionalProperties",
        "dependentRequired",
        "dependencies",
        "if",
        "then",
        "else",
        "allOf",
        "x-communes",
    },
    "string": {"minLength", "maxLength", "pattern", "format", "x-file"},
    "integer": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"},
    "number": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"},
    "boolean": set(),
    "array": {"items", "minItems", "maxItems", "uniqueItems"},
}
UI_KEYS = {
    "widget": str,
    "placeholder": str,
    "confirm": str,
    "autocomplete": str,
    "prefill": str,
    "pattern-message": str,
    "hint": str,
    "order": int,
    "step": bool,
    "width": str,
}
WIDGETS = {
    "string": {"text", "textarea", "select", "radios", "password", "file", "commune"},
    "integer": {"text", "select", "radios"},
    "number": {"text"},
    "boolean": {"checkbox", "radios"},
    "array": {"checkboxes", "repeat"},
    "object": {"section"},
}
FILE_TYPES = {
    "application/pdf": "PDF",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
    "application/vnd.oasis.opendocument.text": "ODT",
    "application/vnd.oasis.opendocument.spreadsheet": "ODS",
}
MAX_ENUM = 5000
MAX_DEPTH = 32


@dataclass(frozen=True)
class Problem:
    """One reason a definition is refused: where (JSON path) and why."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def json_path(parts: tuple) -> str:
    out = "$"
    for part in parts:
        out += (
            f"[{part}]"
            if isinstance(part, int)
            else ("." + part if PROPERTY_NAME.match(part) else f"[{part!r}]")
        )
    return out


class Checker:
    """Walks a definition and collects every problem (not only the first)."""

    def __init__(self, schema: dict, resolve) -> None:
        self.schema = schema
        self.resolve = resolve  # callable(ref, base) -> (schema, base), raises LookupError
        self.problems: list[Problem] = []

    def problem(self, path: tuple, message: str) -> None:
        self.problems.append(Problem(json_path(path), message))

    def run(self) -> list[Problem]:
        root = self.schema
        for key in ("$schema", "$id", "x-version", "title"):
            if key not in root:
                self.problem((), f"le mot-clé obligatoire {key!r} manque")
        version = root.get("x-version")
        if version is not None and (
            not isinstance(version, int) or isinstance(version, bool) or version < 1
        ):
            self.problem(("x-version",), "x-version doit être un entier supérieur ou égal à 1")
        if root.get("type") != "object":
            self.problem(("type",), "une définition de formulaire est un objet (type: object)")
        for key in ("x-standalone",):
            if key in root and not isinstance(root[key], bool):
                self.problem((key,), f"{key} doit être un booléen")
        for key in ("x-submit-label", "x-confirmation"):
            if key in root and not isinstance(root[key], str):
                self.problem((key,), f"{key} doit être un texte")
        for defs_key in ("$defs", "definitions"):
            for name, sub in (root.get(defs_key) or {}).items():
                self.node(sub, (defs_key, name), root=False, stack=())
        self.node(root, (), root=True, stack=())
        return self.problems

    # -- one schema node ------------------------------------------------------------------
    def node(
        self, node: Any, path: tuple, *, root: bool, stack: tuple, base: str | None = None
    ) -> None:
        if len(path) > MAX_DEPTH * 2:
            self.problem(path, "définition trop profonde")
            return
        if not isinstance(node, dict):
            self.problem(path, "un schéma doit être un objet JSON")
            return
        if "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or not (ref.startswith("#") or "://" in ref):
                self.problem((*path, "$ref"), "référence non prise en charge")
                return
            if ref in stack:
                self.problem((*path, "$ref"), f"référence circulaire {ref!r}")
                return
            try:
                target, target_base = self.resolve(ref, base)
            except LookupError as exc:
                self.problem((*path, "$ref"), str(exc))
                return
            others = set(node) - ANNOTATIONS - {"$ref"}
            if others:
                self.problem(
                    path,
                    f"mots-clés à côté de $ref non pris en charge : {', '.join(sorted(others))}",
                )
            self.node(target, path, root=False, stack=(*stack, ref), base=target_base)
            return
        kind = node_type(node)
        if kind is None:
            self.problem(
                path,
                "type absent ou non pris en charge (string, integer, number, boolean, array, object)",
            )
            return
        allowed = COMMON | BY_TYPE[kind] | (ROOT_KEYWORDS if root else set())
        for key in node:
            if key not in allowed:
                what = (
                    "mot-clé x- inconnu"
                    if key.startswith("x-")
                    else "mot-clé non pris en charge par le moteur de formulaires"
                )
                self.problem((*path, key), f"{what} : {key!r}")
        self.ui(node, path, kind)
        if "enum" in node and (not isinstance(node["enum"], list) or len(node["enum"]) > MAX_ENUM):
            self.problem((*path, "enum"), f"enum doit être une liste d'au plus {MAX_ENUM} valeurs")
        if "oneOf" in node:
            self.labelled_options(node["oneOf"], (*path, "oneOf"))
        if kind == "string":
            self.string(node, path)
        elif kind == "object":
            self.object(node, path, stack, base)
        elif kind == "array":
            self.array(node, path, stack, base)

    def ui(self, node: dict, path: tuple, kind: str) -> None:
        ui = node.get("x-ui")
        if ui is None:
            return
        if not isinstance(ui, dict):
            self.problem((*path, "x-ui"), "x-ui doit être un objet")
            return
        for key, value in ui.items():
            expected = UI_KEYS.get(key)
            if expected is None:
                self.problem((*path, "x-ui", key), f"indication d'affichage inconnue : {key!r}")
            elif not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                self.problem((*path, "x-ui", key), f"{key} doit être de type {expected.__name__}")
        widget = ui.get("widget")
        if isinstance(widget, str) and widget not in WIDGETS[kind]:
            self.problem(
                (*path, "x-ui", "widget"), f"widget {widget!r} impossible pour le type {kind}"
            )
        if widget in {"select", "radios"} and kind != "boolean" and not has_options(node):
            self.problem((*path, "x-ui", "widget"), "une liste de choix demande enum ou oneOf")

    def labelled_options(self, options: Any, path: tuple) -> None:
        if not isinstance(options, list) or not options or len(options) > MAX_ENUM:
            self.problem(path, "oneOf doit être une liste non vide d'options {const, title}")
            return
        for index, option in enumerate(options):
            if (
                not isinstance(option, dict)
                or set(option) - {"const", "title", "description"}
                or "const" not in option
            ):
                self.problem(
                    (*path, index), "oneOf n'est pris en charge que pour des options {const, title}"
                )

    def string(self, node: dict, path: tuple) -> None:
        fmt = node.get("format")
        if fmt is not None and fmt not in formats.FORMATS:
            self.problem((*path, "format"), f"format inconnu : {fmt!r}")
        pattern = node.get("pattern")
        if pattern is not None:
            from forms.garde import probleme_motif  # garde reads Problem from this module

            message = probleme_motif(pattern)
            if message:
                self.problem((*path, "pattern"), message)
        spec = node.get("x-file")
        if spec is not None:
            if not isinstance(spec, dict) or set(spec) - {"mime-types", "max-bytes"}:
                self.problem((*path, "x-file"), "x-file accepte mime-types et max-bytes")
                return
            types = spec.get("mime-types", [])
            if not isinstance(types, list) or not types or any(t not in FILE_TYPES for t in types):
                self.problem(
                    (*path, "x-file", "mime-types"), f"types acceptés : {', '.join(FILE_TYPES)}"
                )
            size = spec.get("max-bytes", 0)
            if not isinstance(size, int) or isinstance(size, bool) or size < 1:
                self.problem(
                    (*path, "x-file", "max-bytes"), "max-bytes doit être un entier positif"
                )

    def object(self, node: dict, path: tuple, stack: tuple, base: str | None = None) -> None:
        properties = node.get("properties", {})
        if not isinstance(properties, dict):
            self.problem((*path, "properties"), "properties doit être un objet")
            return
        for name, sub in properties.items():
            if not PROPERTY_NAME.match(name) or "__" in name:
                self.problem(
                    (*path, "properties", name),
                    "nom de propriété invalide : minuscules, chiffres et _ (sans __), commençant par une lettre",
                )
            elif name in RESERVED_NAMES:
                self.problem(
                    (*path, "properties", name),
                    f"nom de propriété réservé par le moteur : {name!r}",
                )
            self.node(sub, (*path, "properties", name), root=False, stack=stack, base=base)
        additional = node.get("additionalProperties", False)
        if additional is not False:
            self.problem(
                (*path, "additionalProperties"),
                "seul additionalProperties: false est pris en charge",
            )
        for key in ("required",):
            for name in node.get(key, []):
                if name not in properties:
                    self.problem(
                        (*path, key), f"{name!r} est obligatoire mais n'est pas une propriété"
                    )
        dependent = node.get("dependentRequired", {})
        deps = node.get("dependencies", {})
        for key, mapping in (("dependentRequired", dependent), ("dependencies", deps)):
            if not isinstance(mapping, dict):
                self.problem((*path, key), f"{key} doit être un objet")
                continue
            for name, needed in mapping.items():
                if (
                    not isinstance(needed, list)
                    or any(n not in properties for n in needed)
                    or name not in properties
                ):
                    self.problem(
                        (*path, key, name),
                        f"{key} ne porte que sur des propriétés de cet objet (forme liste)",
                    )
        for index, condition in enumerate(conditions_of(node)):
            self.condition(condition, properties, path + condition_path(node, index))
        for index, part in enumerate(node.get("allOf", [])):
            if (
                not isinstance(part, dict)
                or set(part) - {"if", "then", "else", "$comment"}
                or "if" not in part
            ):
                self.problem(
                    (*path, "allOf", index),
                    "allOf n'est pris en charge que pour des blocs if/then/else",
                )
        communes = node.get("x-communes")
        if communes is not None:
            if not isinstance(communes, dict) or len(communes) != 1:
                self.problem(
                    (*path, "x-communes"),
                    "x-communes associe un champ code postal à un champ ville",
                )
            else:
                ((postal, ville),) = communes.items()
                if postal not in properties or ville not in properties:
                    self.problem(
                        (*path, "x-communes"), "x-communes doit nommer deux propriétés de cet objet"
                    )

    def condition(self, block: dict, properties: dict, path: tuple) -> None:
        test = block.get("if")
        ok = (
            isinstance(test, dict)
            and set(test) <= {"properties", "required"}
            and test.get("properties")
        )
        if ok:
            for name, rule in test["properties"].items():
                if (
                    name not in properties
                    or not isinstance(rule, dict)
                    or set(rule) - {"const", "enum"}
                    or not rule
                ):
                    ok = False
        if not ok:
            self.problem(
                (*path, "if"),
                "condition non prise en charge : utilisez « if: {properties: {champ: {const|enum}}} »",
            )
        for branch in ("then", "else"):
            part = block.get(branch)
            if part is None:
                continue
            if not isinstance(part, dict) or set(part) - {"required", "properties"}:
                self.problem(
                    (*path, branch), f"{branch} ne peut contenir que required et properties"
                )
                continue
            for name in [*part.get("required", []), *part.get("properties", {})]:
                if name not in properties:
                    self.problem(
                        (*path, branch),
                        f"{name!r} doit être déclaré dans les propriétés de l'objet",
                    )

    def array(self, node: dict, path: tuple, stack: tuple, base: str | None = None) -> None:
        items = node.get("items")
        if not isinstance(items, dict):
            self.problem((*path, "items"), "un tableau doit décrire ses éléments (items)")
            return
        target = items
        if "$ref" in items:
            try:
                target, _ = self.resolve(items["$ref"], base)
            except LookupError:
                target = {}
        kind = node_type(target)
        if kind == "object":
            self.node(items, (*path, "items"), root=False, stack=stack, base=base)
        elif kind in {"string", "integer"} and has_options(target):
            if node.get("uniqueItems") is not True:
                self.problem((*path, "uniqueItems"), "un choix multiple demande uniqueItems: true")
            self.node(items, (*path, "items"), root=False, stack=stack, base=base)
        else:
            self.problem(
                (*path, "items"),
                "tableaux pris en charge : groupes répétables (objets) ou choix multiples (enum)",
            )


def node_type(node: dict) -> str | None:
    kind = node.get("type")
    if isinstance(kind, str) and kind in BY_TYPE:
        return kind
    if kind is None and "properties" in node:
        return "object"
    return None


def has_options(node: dict) -> bool:
    return "enum" in node or "oneOf" in node


def conditions_of(node: dict) -> list[dict]:
    """Every if/then/else block of an object: its own, then those of allOf."""
    blocks = [node] if "if" in node else []
    blocks += [part for part in node.get("allOf", []) if isinstance(part, dict) and "if" in part]
    return blocks


def condition_path(node: dict, index: int) -> tuple:
    offset = 1 if "if" in node else 0
    return () if index < offset else ("allOf", index - offset)
