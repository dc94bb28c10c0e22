"""Fixtures of the forms-engine tests: the test definitions of ``tests/schemas`` and a small
HTML reader (the standard library's parser: no new dependency)."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEST_SCHEMAS = ROOT / "tests" / "schemas"
SHIPPED_SCHEMAS = ROOT / "forms" / "schemas"
SHIPPED_EXAMPLES = ROOT / "forms" / "examples"
ATELIER = "inscription-atelier"
ATELIER_URL = "/formulaires/inscription-atelier"

VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


class Element:
    def __init__(self, tag: str, attrs: dict, parent: Element | None):
        self.tag = tag
        self.attrs = attrs
        self.parent = parent
        self.children: list[Element] = []
        self.parts: list[str] = []

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.parts).split())

    def get(self, name: str, default=None):
        return self.attrs.get(name, default)

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def descendants(self):
        for child in self.children:
            yield child
            yield from child.descendants()

    def __repr__(self) -> str:
        return f"<{self.tag} {self.attrs}>"


class Page(HTMLParser):
    """Every element of a page with its attributes, its text and its place in the tree."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.source = text
        self.root = Element("#document", {}, None)
        self.elements: list[Element] = []
        self._stack = [self.root]
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {k: ("" if v is None else v) for k, v in attrs}, self._stack[-1])
        self._stack[-1].children.append(element)
        self.elements.append(element)
        if tag not in VOID:
            self._stack.append(element)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self._stack.pop()

    def handle_endtag(self, tag):
        for index in range(len(self._stack) - 1, 0, -1):
            if self._stack[index].tag == tag:
                del self._stack[index:]
                return

    def handle_data(self, data):
        for element in self._stack:
            element.parts.append(data)

    # -- queries ---------------------------------------------------------------------------
    def find_all(self, tag: str | None = None, **attrs) -> list[Element]:
        found = []
        for element in self.elements:
            if tag is not None and element.tag != tag:
                continue
            if all(
                element.attrs.get(k.replace("_", "-").rstrip("-")) == v for k, v in attrs.items()
            ):
                found.append(element)
        return found

    def by_id(self, element_id: str) -> Element:
        matches = [e for e in self.elements if e.attrs.get("id") == element_id]
        assert len(matches) == 1, f"{len(matches)} elements with id={element_id!r}"
        return matches[0]

    def has_id(self, element_id: str) -> bool:
        return any(e.attrs.get("id") == element_id for e in self.elements)

    def named(self, name: str) -> list[Element]:
        return [
            e
            for e in self.elements
            if e.tag in {"input", "select", "textarea"} and e.attrs.get("name") == name
        ]

    def value_of(self, name: str):
        """What the page shows for the control named ``name`` (as a browser would post it)."""
        controls = self.named(name)
        assert controls, f"no control named {name!r}"
        control = controls[0]
        if control.tag == "select":
            chosen = [
                o.get("value")
                for o in control.descendants()
                if o.tag == "option" and "selected" in o.attrs
            ]
            return chosen[0] if chosen else None
        if control.tag == "textarea":
            return html.unescape("".join(control.parts)).strip("\n")
        if control.get("type") in {"radio", "checkbox"}:
            checked = [c.get("value") for c in controls if "checked" in c.attrs]
            return checked
        return control.get("value")

    def messages(self, field_id: str) -> list[str]:
        container = self.by_id(f"{field_id}-messages")
        return [p.text for p in container.descendants() if p.tag == "p"]

    def summary_links(self) -> dict[str, str]:
        summary = self.by_id("resume-erreurs")
        return {a.get("href"): a.text for a in summary.descendants() if a.tag == "a"}


@pytest.fixture
def page():
    """``page(response)`` → the parsed page."""

    def _parse(response_or_text) -> Page:
        text = (
            response_or_text
            if isinstance(response_or_text, str)
            else response_or_text.get_data(as_text=True)
        )
        return Page(text)

    return _parse


@pytest.fixture
def atelier_app(make_app):
    """An app whose definitions are the test folder ``tests/schemas``."""
    return make_app(FORMS_SCHEMAS_DIR=str(TEST_SCHEMAS))


@pytest.fixture
def atelier_client(atelier_app):
    return atelier_app.test_client()


@pytest.fixture
def atelier(atelier_app):
    return atelier_app.extensions["forms"][ATELIER]


def valid_post() -> dict:
    """A complete, valid post of ``inscription-atelier``, as a browser sends it."""
    return {
        "nom": "Mathilde Gérard",
        "code_interne": "a1b",
        "siret": "732 829 320 00074",
        "courriel": "mathilde.gerard@example.fr",
        "courriel__confirmation": "mathilde.gerard@example.fr",
        "atelier": "droit",
        "modalite": "presentiel",
        "salle": "Salle B",
        "niveau": "2",
        "themes": ["indemnisation", "controle"],
        "nombre_places": "3",
        "accepte_conditions": "y",
        "entreprise-raison_sociale": "Boulangerie Gérard",
        "entreprise-effectif": "12",
        "salaries-0-nom": "Durand",
        "salaries-0-prenom": "Paul",
    }


@pytest.fixture
def valid_data():
    return valid_post()


def strip_tags(text: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())
