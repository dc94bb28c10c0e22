"""Loads every form definition at start-up, checks it, and caches what each needs.

A definition is a JSON Schema file ``forms/schemas/<id>.json``. Loading checks, in order:
JSON syntax, ``$schema`` (draft 2020-12 or draft-07), the metaschema, then our vocabulary
(``forms.vocabulary``). Any problem fails the whole load with the file and JSON path named.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator, Draft202012Validator
from jsonschema.exceptions import SchemaError
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable

from forms import validation, vocabulary

DRAFTS = {
    "https://json-schema.org/draft/2020-12/schema": Draft202012Validator,
    "http://json-schema.org/draft-07/schema#": Draft7Validator,
    "http://json-schema.org/draft-07/schema": Draft7Validator,
}


class DefinitionError(Exception):
    """A form definition cannot be used; ``problems`` say where and why."""

    def __init__(self, source: str, problems: list[vocabulary.Problem]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{source}: définition refusée\n{lines}")


@dataclass
class FormDefinition:
    """One checked definition, with its compiled validator and (lazily) its form class."""

    id: str
    schema: dict
    source: str
    registry: Registry = field(repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def version(self) -> int:
        return self.schema["x-version"]

    @property
    def title(self) -> str:
        return self.schema["title"]

    @property
    def description(self) -> str | None:
        return self.schema.get("description")

    @property
    def standalone(self) -> bool:
        return bool(self.schema.get("x-standalone"))

    @property
    def submit_label(self) -> str:
        return self.schema.get("x-submit-label", "Envoyer")

    @property
    def confirmation(self) -> str:
        return self.schema.get(
            "x-confirmation", "Votre demande a bien été transmise. Conservez sa référence."
        )

    @cached_property
    def validator(self):
        draft = DRAFTS[self.schema["$schema"]]
        return validation.extend(draft)(self.schema, registry=self.registry)

    def resolve(self, ref: str, base: str | None = None) -> tuple[dict, str]:
        """The schema a ``$ref`` points at and the base URI to resolve *its* refs against.

        ``base`` is the ``$id`` of the file the ``$ref`` was written in (this definition's by
        default): ``#/$defs/x`` inside another file's schema means that file's ``$defs``.
        """
        base = base or self.schema["$id"]
        try:
            resolved = self.registry.resolver(base_uri=base).lookup(ref)
        except Unresolvable as exc:
            raise LookupError(f"référence introuvable : {ref!r}") from exc
        target_base = ref.split("#", 1)[0] if "://" in ref else base
        return resolved.contents, target_base

    @cached_property
    def form_class(self):
        # Built once per (id, version): the class is immutable afterwards and shared by threads.
        from forms.builder import build_form_class

        with self._lock:
            return build_form_class(self)

    @cached_property
    def tree(self):
        from forms.builder import build_tree

        return build_tree(self)

    def errors(self, document: dict) -> dict[str, list[str]]:
        return validation.errors_by_field(self.validator, document)


class FormRegistry:
    """Every definition of a folder, by id. Immutable once loaded."""

    def __init__(self, definitions: dict[str, FormDefinition]):
        self._definitions = definitions

    def __contains__(self, form_id: str) -> bool:
        return form_id in self._definitions

    def __iter__(self):
        return iter(sorted(self._definitions.values(), key=lambda d: d.id))

    def get(self, form_id: str) -> FormDefinition | None:
        return self._definitions.get(form_id)

    def __getitem__(self, form_id: str) -> FormDefinition:
        return self._definitions[form_id]

    def standalone(self) -> list[FormDefinition]:
        return [definition for definition in self if definition.standalone]

    def version(self, form_id: str, version: int) -> FormDefinition | None:
        """The definition of ``form_id`` as it was at ``version`` (None when unknown)."""
        definition = self.get(form_id)
        return definition if definition is not None and definition.version == version else None

    def versions(self, form_id: str) -> list[FormDefinition]:
        """Every known version of ``form_id``, oldest first."""
        definition = self.get(form_id)
        return [definition] if definition is not None else []


def read_definition(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(
            str(path), [vocabulary.Problem("$", f"fichier illisible : {exc}")]
        ) from exc
    try:
        schema = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise DefinitionError(
            str(path), [vocabulary.Problem("$", f"JSON invalide : {exc}")]
        ) from exc
    if not isinstance(schema, dict):
        raise DefinitionError(
            str(path), [vocabulary.Problem("$", "une définition est un objet JSON")]
        )
    return schema


def load_folder(folder: str | Path) -> FormRegistry:
    """Load and check every ``*.json`` of ``folder``.

    :raise DefinitionError: for the first file with problems (all its problems listed).
    """
    folder = Path(folder)
    schemas = {path: read_definition(path) for path in sorted(folder.glob("*.json"))}
    return build_registry(schemas)


def build_registry(schemas: dict[Any, dict]) -> FormRegistry:
    """Check ``{source: schema}`` definitions and register them together (cross-file $ref)."""
    for source, schema in schemas.items():
        draft = DRAFTS.get(schema.get("$schema"))
        if draft is None:
            raise DefinitionError(
                str(source),
                [vocabulary.Problem("$.$schema", "indiquez $schema : draft 2020-12 ou draft-07")],
            )
        try:
            draft.check_schema(schema)
        except SchemaError as exc:
            raise DefinitionError(
                str(source),
                [
                    vocabulary.Problem(
                        vocabulary.json_path(tuple(exc.absolute_path)) or "$",
                        f"schéma invalide selon le métaschéma : {exc.message}",
                    )
                ],
            ) from exc
    resources = []
    for source, schema in schemas.items():
        if not isinstance(schema.get("$id"), str):
            raise DefinitionError(
                str(source), [vocabulary.Problem("$", "le mot-clé obligatoire '$id' manque")]
            )
        resources.append((schema["$id"], Resource.from_contents(schema)))
    # No retrieve function: a $ref to anything not registered here (http, file...) fails.
    registry = Registry().with_resources(resources)

    definitions: dict[str, FormDefinition] = {}
    for source, schema in schemas.items():
        form_id = schema["$id"].rstrip("/").rsplit("/", 1)[-1]
        definition = FormDefinition(
            id=form_id, schema=schema, source=str(source), registry=registry
        )
        expected = Path(str(source)).stem
        problems = vocabulary.Checker(schema, definition.resolve).run()
        if isinstance(source, Path) and form_id != expected:
            problems.append(
                vocabulary.Problem(
                    "$.$id", f"l'identifiant {form_id!r} doit être le nom du fichier ({expected!r})"
                )
            )
        if form_id in definitions:
            problems.append(
                vocabulary.Problem(
                    "$.$id", f"identifiant déjà utilisé par {definitions[form_id].source}"
                )
            )
        if problems:
            raise DefinitionError(str(source), problems)
        definitions[form_id] = definition
    return FormRegistry(definitions)
