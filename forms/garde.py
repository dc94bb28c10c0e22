"""The safety gate for definitions typed by staff (reliability.md §1.10, §3.1 item 10).

A definition edited in the back-office is untrusted input: it is read here with caps on size
and depth *before* ``json.loads`` builds anything deep, with non-finite numbers refused, and
its regular expressions are refused when they can backtrack catastrophically. What remains
(metaschema, our vocabulary, ``$ref`` resolution without any retrieval) is the registry's.
"""

from __future__ import annotations

import json
import math
import re
from re import _constants as sre_constants
from re import _parser as sre_parse

from forms import motifs
from forms.vocabulary import Problem

MAX_OCTETS = 256 * 1024
MAX_PROFONDEUR = 64  # JSON nesting: a definition of 32 schema levels is ~64 JSON levels
MAX_MOTIF = 500

_REPEATS = {sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT}
_UNBOUNDED = sre_constants.MAXREPEAT


class DefinitionIllisible(ValueError):
    """The text is not a definition we accept to read; ``problem`` says why in French."""

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(str(problem))


def lire(texte: str) -> dict:
    """Parse a definition typed by staff, within the caps; raise DefinitionIllisible."""
    if len(texte.encode("utf-8", "surrogatepass")) > MAX_OCTETS:
        raise DefinitionIllisible(
            Problem("$", f"définition trop volumineuse (au plus {MAX_OCTETS // 1024} Kio)")
        )
    _profondeur_textuelle(texte)
    try:
        valeur = json.loads(texte, parse_constant=_refuser_constante, parse_float=_nombre_fini)
    except DefinitionIllisible:
        raise
    except (json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise DefinitionIllisible(Problem("$", f"JSON invalide : {exc}")) from exc
    if not isinstance(valeur, dict):
        raise DefinitionIllisible(Problem("$", "une définition est un objet JSON"))
    return valeur


def verifier_objet(schema: dict) -> list[Problem]:
    """The same caps for a definition already in memory (built by the structured editor)."""
    try:
        texte = json.dumps(schema, ensure_ascii=False, allow_nan=False)
    except (ValueError, TypeError, RecursionError) as exc:
        return [Problem("$", f"définition non sérialisable : {exc}")]
    try:
        lire(texte)
    except DefinitionIllisible as exc:
        return [exc.problem]
    return []


def _profondeur_textuelle(texte: str) -> None:
    """Refuse deep nesting by counting brackets outside strings: no recursion, no parse."""
    profondeur = 0
    dans_chaine = echappe = False
    for caractere in texte:
        if dans_chaine:
            if echappe:
                echappe = False
            elif caractere == "\\":
                echappe = True
            elif caractere == '"':
                dans_chaine = False
        elif caractere == '"':
            dans_chaine = True
        elif caractere in "[{":
            profondeur += 1
            if profondeur > MAX_PROFONDEUR:
                raise DefinitionIllisible(
                    Problem("$", f"définition trop imbriquée (au plus {MAX_PROFONDEUR} niveaux)")
                )
        elif caractere in "]}":
            profondeur -= 1


def _refuser_constante(nom: str):
    raise DefinitionIllisible(Problem("$", f"nombre non fini refusé : {nom}"))


def _nombre_fini(texte: str) -> float:
    valeur = float(texte)
    if not math.isfinite(valeur):
        raise DefinitionIllisible(Problem("$", f"nombre hors limites refusé : {texte[:20]}"))
    return valeur


def probleme_motif(motif: str) -> str | None:
    """Why ``motif`` may not be a field's ``pattern``, in French; None when it is safe.

    Refused: an invalid expression, one over MAX_MOTIF characters, one RE2 cannot run (the
    engine of ``forms.motifs``, linear time: no back-references nor look-arounds), and, as a
    second line of defence should a pattern ever reach Python's backtracking ``re`` (the
    browser's ``pattern`` attribute, an export), the shapes that make it exponential: a
    repetition containing another unbounded repetition (``(a+)+``, ``(\\w*\\s?)*``) or
    containing alternatives (``(a|ab)*``).
    """
    if not isinstance(motif, str):
        return "le motif doit être un texte"
    if len(motif) > MAX_MOTIF:
        return f"motif trop long (au plus {MAX_MOTIF} caractères)"
    try:
        arbre = sre_parse.parse(motif)
    except (re.error, RecursionError, OverflowError) as exc:
        return f"expression régulière invalide : {exc}"
    if _repetition_dangereuse(arbre, dans_repetition=False):
        return (
            "expression régulière refusée : une répétition en contient une autre "
            "(ou des alternatives), ce qui peut bloquer le serveur ; simplifiez le motif"
        )
    try:
        motifs.compiler(motif)  # what validation runs: RE2, linear time
    except motifs.MotifRefuse as exc:
        return (
            "expression régulière non prise en charge (références arrière, "
            f"lookahead ou lookbehind sont exclus) : {exc}"
        )
    return None


def _repetition_dangereuse(arbre, dans_repetition: bool) -> bool:
    for operation, argument in arbre:
        if operation in _REPEATS:
            _minimum, maximum, corps = argument
            if dans_repetition and maximum == _UNBOUNDED:
                return True
            repete = maximum == _UNBOUNDED or maximum > 1
            if _repetition_dangereuse(corps, dans_repetition or repete):
                return True
        elif operation == sre_constants.BRANCH:
            if dans_repetition:
                return True
            if any(_repetition_dangereuse(branche, False) for branche in argument[1]):
                return True
        elif operation == sre_constants.SUBPATTERN:
            if _repetition_dangereuse(argument[-1], dans_repetition):
                return True
        elif operation in {sre_constants.ASSERT, sre_constants.ASSERT_NOT}:
            if _repetition_dangereuse(argument[1], dans_repetition):
                return True
    return False
