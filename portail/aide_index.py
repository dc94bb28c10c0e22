"""The documentation base: help articles written in Markdown, one file per article.

An article is ``<slug>.md`` (lower-case letters, digits and hyphens) in the folder of the
``AIDE_DIR`` setting (``aide/`` by default). It starts with a front matter block::

    ---
    title: Mot de passe oublié ou lien expiré
    summary: Recevoir un nouveau lien pour choisir votre mot de passe.
    keywords: mot de passe, lien, expiré, question secrète
    category: Se connecter
    order: 20
    ---
    ## First heading of the body (level 2: the title is the page's level 1)

``title``, ``summary`` and ``category`` are required; ``keywords`` (comma separated) and
``order`` (an integer, default 100) are optional. Rubriques are the categories, ordered by
their smallest ``order``; articles within one by ``order`` then title. Other files are ignored.

Rendering is safe whoever wrote the file: raw HTML is shown as text, never interpreted, and
a link or image whose address is not http(s), mailto, tel or relative loses that address. A
relative link must name an existing article (``[texte](autre-article)``) or ``assistance``.
A file that breaks these rules stops the loading with its name and the reason.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor
from markupsafe import Markup

from portail import aide_recherche

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Paths under /aide taken by other pages: no article may have these names.
RESERVED = frozenset({"assistance"})
KEYS = frozenset({"title", "summary", "keywords", "category", "order"})
REQUIRED = ("title", "summary", "category")
DEFAULT_ORDER = 100
SAFE_SCHEMES = frozenset({"", "http", "https", "mailto", "tel"})
BLOCKS = frozenset(
    {"p", "li", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "td", "th", "dt", "dd"}
)


class AideError(Exception):
    """An article cannot be used; the message names its file and the reason (French)."""


@dataclass(frozen=True)
class Article:
    slug: str
    title: str
    summary: str
    keywords: tuple[str, ...]
    category: str
    order: int
    html: Markup
    segments: tuple[str, ...]  # plain text of the body's blocks, for the search
    links: tuple[str, ...]  # relative links to other articles


@dataclass(frozen=True)
class Rubrique:
    title: str
    articles: tuple[Article, ...]


class Base:
    """Every article of the folder, by slug and by rubrique, with the search index."""

    def __init__(self, articles: list[Article]):
        ordered = sorted(articles, key=lambda a: (a.order, a.title.casefold()))
        self.articles: dict[str, Article] = {article.slug: article for article in ordered}
        rubriques: dict[str, list[Article]] = {}
        for article in ordered:
            rubriques.setdefault(article.category, []).append(article)
        self.rubriques = tuple(Rubrique(title, tuple(items)) for title, items in rubriques.items())
        self._index = aide_recherche.Index(
            [
                aide_recherche.Document(a, a.title, a.keywords, a.summary, a.category, a.segments)
                for a in ordered
            ]
        )

    def __len__(self) -> int:
        return len(self.articles)

    def get(self, slug: str) -> Article | None:
        return self.articles.get(slug)

    def rubrique_of(self, article: Article) -> Rubrique:
        return next(r for r in self.rubriques if r.title == article.category)

    def search(self, query: str) -> aide_recherche.Results:
        return self._index.search(query)


# -- Markdown ---------------------------------------------------------------------------------


class _SafeAddresses(Treeprocessor):
    """Drop addresses with a dangerous scheme (``javascript:``...); note relative links."""

    def run(self, root):
        self.md.relative_links = []
        for element in root.iter():
            for attribute in ("href", "src"):
                value = element.get(attribute)
                if value is None:
                    continue
                compact = re.sub(r"[\x00-\x20\x7f]", "", value)
                try:
                    parts = urlsplit(compact)
                except ValueError:
                    del element.attrib[attribute]
                    continue
                if parts.scheme.lower() not in SAFE_SCHEMES:
                    del element.attrib[attribute]
                elif not parts.scheme and not parts.netloc and parts.path[:1] not in ("", "/"):
                    self.md.relative_links.append(parts.path)
        return None


class _SafeMarkdown(Extension):
    def extendMarkdown(self, md):
        # No raw HTML, block or inline: it is escaped and shown as text.
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.treeprocessors.register(_SafeAddresses(md), "safe_addresses", -10)


def _renderer() -> markdown.Markdown:
    return markdown.Markdown(
        extensions=["sane_lists", "toc", _SafeMarkdown()], output_format="html"
    )


class _Blocks(HTMLParser):
    """Plain text of each block of rendered HTML (a paragraph, a list item, a heading)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self._current: list[str] = []

    def _flush(self):
        text = " ".join("".join(self._current).split())
        if text:
            self.blocks.append(text)
        self._current = []

    def handle_starttag(self, tag, attrs):
        if tag in BLOCKS or tag in {"ul", "ol"}:
            self._flush()

    def handle_endtag(self, tag):
        if tag in BLOCKS:
            self._flush()

    def handle_data(self, data):
        self._current.append(data)

    def close(self):
        super().close()
        self._flush()


def _segments(html: str) -> tuple[str, ...]:
    parser = _Blocks()
    parser.feed(html)
    parser.close()
    return tuple(parser.blocks)


# -- files ------------------------------------------------------------------------------------


def _front_matter(name: str, text: str) -> tuple[dict[str, str], str]:
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise AideError(f"{name} : l'article doit commencer par un en-tête entre deux lignes ---")
    try:
        end = next(i for i, line in enumerate(lines[1:], start=1) if line.strip() == "---")
    except StopIteration:
        raise AideError(f"{name} : en-tête non terminé (ligne --- manquante)") from None
    meta: dict[str, str] = {}
    for number, line in enumerate(lines[1:end], start=2):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or key not in KEYS:
            raise AideError(f"{name}, ligne {number} : clé d'en-tête inconnue « {key} »")
        if key in meta:
            raise AideError(f"{name}, ligne {number} : clé « {key} » répétée")
        meta[key] = value.strip()
    return meta, "\n".join(lines[end + 1 :])


def parse(slug: str, text: str, name: str | None = None) -> Article:
    """One article from the text of its file.

    :raise AideError: missing or unknown header key, bad order, empty body, level-1 heading.
    """
    name = name or f"{slug}.md"
    meta, body = _front_matter(name, text)
    for key in REQUIRED:
        if not meta.get(key):
            raise AideError(f"{name} : la clé d'en-tête « {key} » est obligatoire")
    try:
        order = int(meta.get("order") or DEFAULT_ORDER)
    except ValueError:
        raise AideError(f"{name} : « order » doit être un nombre entier") from None
    if not body.strip():
        raise AideError(f"{name} : l'article est vide")
    renderer = _renderer()
    html = renderer.convert(body)
    if "<h1" in html:
        raise AideError(
            f"{name} : pas de titre de niveau 1 (#) dans le texte, le titre vient de l'en-tête ; "
            "commencez les intertitres à ##"
        )
    keywords = tuple(word.strip() for word in meta.get("keywords", "").split(",") if word.strip())
    return Article(
        slug=slug,
        title=meta["title"],
        summary=meta["summary"],
        keywords=keywords,
        category=meta["category"],
        order=order,
        # Built by the safe renderer above: raw HTML is escaped, unsafe addresses dropped.
        html=Markup(html),  # noqa: S704
        segments=_segments(html),
        links=tuple(renderer.relative_links),
    )


def article_files(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.glob("*.md")
        if path.is_file() and SLUG.fullmatch(path.stem) and path.stem not in RESERVED
    )


def load(folder: Path) -> Base:
    """Every article of ``folder``. :raise AideError: a broken file or a link to no article."""
    if not folder.is_dir():
        raise AideError(f"{folder} : dossier de la base documentaire introuvable")
    articles = []
    for path in article_files(folder):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise AideError(f"{path.name} : le fichier doit être encodé en UTF-8") from None
        articles.append(parse(path.stem, text, path.name))
    slugs = {article.slug for article in articles}
    for article in articles:
        for link in article.links:
            if link not in slugs and link not in RESERVED:
                raise AideError(f"{article.slug}.md : lien vers un article inexistant « {link} »")
    return Base(articles)


def signature(folder: Path) -> tuple:
    """What changes when an article is added, removed or edited."""
    return tuple(
        (path.name, path.stat().st_mtime_ns, path.stat().st_size) for path in article_files(folder)
    )


class Bibliotheque:
    """The articles of one folder, loaded once; ``actualiser()`` reloads them when a file
    changed (the application calls it in debug mode only)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._signature = signature(self.folder) if self.folder.is_dir() else ()
        self.base = load(self.folder)

    def actualiser(self) -> Base:
        current = signature(self.folder)
        if current != self._signature:
            with self._lock:
                if current != self._signature:
                    self.base = load(self.folder)
                    self._signature = current
        return self.base
