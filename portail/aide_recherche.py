"""Search in the help articles: accent- and case-insensitive, title and keywords ranked above
the body, an excerpt per result with the matched words highlighted (``<mark>``).

Words are compared folded (no accents, no case, "œ" → "oe"). A query word of three letters
or more matches the words it begins ("oubli" finds "oublié"), a final "s" is ignored
("utilisateurs" finds "utilisateur"); shorter words ("48", "di") must match whole words.
Articles holding every query word come first; when none does, the articles holding some of
them are offered, flagged as partial.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from markupsafe import Markup, escape

WORD = re.compile(r"\w+")
MAX_QUERY_CHARS = 200
MAX_TERMS = 8
EXCERPT_BEFORE = 60
EXCERPT_LENGTH = 220
# Words too common to mean anything in a French question ("pas" would otherwise find "passe").
STOP_WORDS = frozenset(
    "a au aux avec ce ces comment d de des du en est et il j je l la le les leur lors ma me "
    "mes mon n ne ou par pas pour qu que quel quelle qui quoi sa se ses si son sur ta te un "
    "une vos votre y".split()
)
# Weight of a query word found in each part of an article; the body counts per occurrence.
WEIGHTS = {"title": 10, "keywords": 8, "summary": 3, "category": 2}
BODY_WEIGHT, BODY_MAX_OCCURRENCES = 1, 5
PHRASE_IN_TITLE_BONUS = 5


def fold(text: str) -> str:
    """Lower case, without accents: "Œuvre Créée" → "oeuvre creee"."""
    text = text.replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae").replace("Æ", "ae")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def terms_of(query: str) -> tuple[str, ...]:
    """The folded words of a query that take part in the search, in order, without repeats."""
    words = [fold(word) for word in WORD.findall((query or "")[:MAX_QUERY_CHARS])]
    kept = [word for word in words if word not in STOP_WORDS] or words
    unique: list[str] = []
    for word in kept:
        stem = _stem(word)
        if stem not in unique:
            unique.append(stem)
    return tuple(unique[:MAX_TERMS])


def matches(term: str, folded_word: str) -> bool:
    if len(term) >= 3:
        return folded_word.startswith(term)
    return folded_word == term


def _words(text: str) -> list[str]:
    return [fold(word) for word in WORD.findall(text)]


def highlight(text: str, terms: tuple[str, ...]) -> Markup:
    """``text`` escaped, each word matching a term wrapped in ``<mark>``."""
    pieces: list[Markup] = []
    last = 0
    for found in WORD.finditer(text):
        if any(matches(term, fold(found.group())) for term in terms):
            pieces.append(escape(text[last : found.start()]))
            pieces.append(Markup("<mark>{}</mark>").format(found.group()))
            last = found.end()
    pieces.append(escape(text[last:]))
    return Markup("").join(pieces)


@dataclass(frozen=True)
class Document:
    """What the search knows of one article: its text, part by part, and its body blocks."""

    key: object  # the article, handed back in the hits
    title: str
    keywords: tuple[str, ...]
    summary: str
    category: str
    segments: tuple[str, ...]  # plain text of the body's blocks (paragraphs, list items...)


@dataclass(frozen=True)
class Hit:
    article: object
    score: int
    title: Markup
    excerpt: Markup


@dataclass(frozen=True)
class Results:
    query: str
    terms: tuple[str, ...]
    hits: tuple[Hit, ...]
    partial: bool  # no article holds every word: these hold some of them

    def __len__(self) -> int:
        return len(self.hits)


class Index:
    """The folded words of every article, built once per loaded set of articles."""

    def __init__(self, documents: list[Document]):
        self._entries = [
            (
                document,
                {
                    "title": _words(document.title),
                    "keywords": _words(" ".join(document.keywords)),
                    "summary": _words(document.summary),
                    "category": _words(document.category),
                },
                [_words(segment) for segment in document.segments],
                fold(document.title),
            )
            for document in documents
        ]

    def search(self, query: str) -> Results:
        terms = terms_of(query)
        if not terms:
            return Results(query, terms, (), False)
        scored = []
        for position, (document, parts, segments, folded_title) in enumerate(self._entries):
            found, score = 0, 0
            for term in terms:
                term_score = sum(
                    weight
                    for part, weight in WEIGHTS.items()
                    if any(matches(term, word) for word in parts[part])
                )
                occurrences = sum(1 for words in segments for word in words if matches(term, word))
                term_score += BODY_WEIGHT * min(occurrences, BODY_MAX_OCCURRENCES)
                if term_score:
                    found += 1
                    score += term_score
            if not found:
                continue
            if len(terms) > 1 and " ".join(terms) in folded_title:
                score += PHRASE_IN_TITLE_BONUS
            scored.append((found, score, position, document, segments))
        complete = [entry for entry in scored if entry[0] == len(terms)]
        partial = not complete
        chosen = complete or scored
        chosen.sort(key=lambda entry: (-entry[0], -entry[1], entry[2]))
        hits = tuple(
            Hit(
                article=document.key,
                score=score,
                title=highlight(document.title, terms),
                excerpt=_excerpt(document, segments, terms),
            )
            for _, score, _, document, segments in chosen
        )
        return Results(query, terms, hits, partial)


def _excerpt(document: Document, segments: list[list[str]], terms: tuple[str, ...]) -> Markup:
    """The body block holding the most query words, cut around the first one; the summary
    when the words are only in the title or the keywords."""
    best, best_count = None, 0
    for index, words in enumerate(segments):
        count = sum(1 for term in terms if any(matches(term, word) for word in words))
        if count > best_count:
            best, best_count = index, count
    if best is None:
        return highlight(document.summary, terms)
    text = document.segments[best]
    first = next(
        found.start()
        for found in WORD.finditer(text)
        if any(matches(term, fold(found.group())) for term in terms)
    )
    start = 0
    if first > EXCERPT_BEFORE:
        start = text.rfind(" ", 0, first - EXCERPT_BEFORE) + 1
    end = len(text)
    if end - start > EXCERPT_LENGTH:
        cut = text.rfind(" ", start, start + EXCERPT_LENGTH)
        end = cut if cut > first else start + EXCERPT_LENGTH
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    return escape(prefix) + highlight(text[start:end].strip(), terms) + escape(suffix)
