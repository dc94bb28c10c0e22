"""Mail templates edited by staff (issue #7 item 6): checking, rendering, defaults, freshness.

**What staff edit.** A subject (one line) and a plain-text body, with placeholders
``{{ nom }}`` among the fixed list of the mail (``catalogue.variables_de``: its context
variables, then the globals ``site_name``, ``support_email``, ``site_url``). Nothing else of
Jinja is accepted: no ``{% ... %}`` statement, no ``{# ... #}`` comment, no attribute or item
access, no call, no literal, and no filter except ``FILTRES`` (``upper``, ``lower``,
``capitalize``: pure case changes of a string, which reach no object). ``verifier`` refuses
anything else with a French message that names it.

**How a version is rendered.** In a ``SandboxedEnvironment`` with ``StrictUndefined``, no
globals and only the whitelisted filters (belt and braces: the check above already refuses the
rest). Placeholders show display values (``afficher``: dates in French, numbers with their
thousands separator, lists as bullets). The plain-text part is the body as written; the HTML
part is built from the same body, never written by hand: the literal text is escaped, blank
lines make paragraphs, line breaks ``<br>``, web addresses links, and the placeholders are
rendered with autoescape (a list becomes ``<ul>``, built from escaped items). Both parts are
then framed by the shipped ``_base`` files (greeting, signature, footer) through
``_modele.txt`` / ``_modele.html``. Staff therefore cannot put markup, a script, an image or a
tracker in a mail.

**Defaults.** Without a published version, the shipped files of ``templates/mail/`` are used
unchanged. A new draft starts from the current published version, else from the shipped
files converted to placeholders (``defaut``: filters and format macros dropped, a loop over a
list replaced by the list; two mails the conversion cannot express are written in
``DEFAUTS``).

**Which version a mail uses.** ``outbox.notifier`` records on the notification the version
published at that moment (``Publications.courante``); the send job renders that version, so a
publication applies to mails queued afterwards and never changes a mail already queued.
Each process checks at most every ``FORMS_REFRESH_SECONDS`` (the forms catalogue's period)
whether something was published, with one indexed query (``fraicheur.Fraicheur``: ``max(id)``
and ``count(*)`` of the published rows); publishing inserts a new row, so that pair moves.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from flask import Flask, current_app
from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.filters import FILTERS
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from fraicheur import Fraicheur, Marque, marque_publiees
from mailer.catalogue import GLOBALES, TEMPLATES, VARIABLES, Variable, variables_de

log = logging.getLogger(__name__)

MAIL_DIR = Path(__file__).parent / "templates" / "mail"
# Jinja's own filters (they keep a Markup value Markup): pure case changes of a string.
FILTRES = {nom: FILTERS[nom] for nom in ("upper", "lower", "capitalize")}
MAX_SUJET = 200
MAX_CORPS = 20_000
GENRES_BLOC = frozenset({"liste", "comptes", "multiligne"})
MOIS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
STYLE_PARAGRAPHE = "margin:0 0 16px 0;"
STYLE_LIEN = "color:#000091;word-break:break-all;"

# One expression: {{ nom }} or {{ nom|filtre }}, with optional whitespace control dashes.
_EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_SIMPLE = re.compile(r"-?\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\|\s*([A-Za-z_][A-Za-z0-9_]*)\s*)?-?")
_INSTRUCTION = re.compile(r"\{%-?\s*(.*?)\s*-?%\}|\{%", re.DOTALL)
_URL = re.compile(r"https?://[^\s<>\"'\ue000\ue001]+")
# Private-use characters fencing, in the rendered HTML, the values that must not become links.
DEBUT_TEXTE, FIN_TEXTE = "\ue000", "\ue001"


class ModeleInvalide(ValueError):
    """An edited template that cannot be accepted; ``messages`` say why, in French."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = messages
        super().__init__(" ".join(messages))


# --- checking ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Morceau:
    """A piece of an edited template: literal ``texte``, or the placeholder ``nom``."""

    texte: str = ""
    nom: str | None = None
    filtre: str | None = None

    @property
    def expression(self) -> str:
        return f"{{{{ {self.nom}|{self.filtre} }}}}" if self.filtre else f"{{{{ {self.nom} }}}}"


def _ligne(source: str, position: int) -> int:
    return source.count("\n", 0, position) + 1


def _court(texte: str, limite: int = 60) -> str:
    texte = " ".join(texte.split())
    return texte if len(texte) <= limite else texte[: limite - 1] + "…"


def decouper(source: str, autorisees: set[str], champ: str) -> list[Morceau]:
    """The pieces of ``source``; raise ``ModeleInvalide`` naming every construct refused."""
    messages: list[str] = []
    morceaux: list[Morceau] = []
    litteraux: list[tuple[int, str]] = []  # (position, text) of the literal pieces
    debut = 0
    for trouve in _EXPRESSION.finditer(source):
        litteraux.append((debut, source[debut : trouve.start()]))
        morceaux.append(Morceau(texte=source[debut : trouve.start()]))
        debut = trouve.end()
        ligne = _ligne(source, trouve.start())
        simple = _SIMPLE.fullmatch(trouve.group(1))
        if simple is None:
            interieur = trouve.group(1)
            if "." in interieur or "[" in interieur:
                raison = "l'accès à un attribut ou à un élément n'est pas autorisé"
            elif "(" in interieur:
                raison = "les appels de fonction ne sont pas autorisés"
            else:
                raison = "seul le nom d'une variable de la liste est autorisé entre {{ et }}"
            messages.append(
                f"{champ}, ligne {ligne} : « {_court(trouve.group(0))} » est refusé ({raison})."
            )
            continue
        nom, filtre = simple.group(1), simple.group(2)
        if nom not in autorisees:
            messages.append(
                f"{champ}, ligne {ligne} : « {{{{ {nom} }}}} » n'est pas une variable de ce "
                f"courriel. Variables possibles : {', '.join(sorted(autorisees))}."
            )
            continue
        if filtre is not None and filtre not in FILTRES:
            messages.append(
                f"{champ}, ligne {ligne} : le filtre « {filtre} » n'est pas autorisé "
                f"(filtres possibles : {', '.join(sorted(FILTRES))})."
            )
            continue
        morceaux.append(Morceau(nom=nom, filtre=filtre))
    morceaux.append(Morceau(texte=source[debut:]))
    litteraux.append((debut, source[debut:]))
    for position, texte in litteraux:
        for instruction in _INSTRUCTION.finditer(texte):
            messages.append(
                f"{champ}, ligne {_ligne(source, position + instruction.start())} : "
                f"l'instruction « {_court(instruction.group(0))} » n'est pas autorisée : "
                "seules les variables {{ nom }} le sont."
            )
        commentaire = texte.find("{#")
        if commentaire >= 0:
            messages.append(
                f"{champ}, ligne {_ligne(source, position + commentaire)} : les commentaires "
                "« {# … #} » ne sont pas autorisés."
            )
    if messages:
        raise ModeleInvalide(messages)
    morceaux = [m for m in morceaux if m.nom is not None or m.texte]
    _verifier_arbre(_source_canonique(morceaux), champ)
    return morceaux


def _source_canonique(morceaux: list[Morceau]) -> str:
    return "".join(m.expression if m.nom is not None else m.texte for m in morceaux)


def _verifier_arbre(source: str, champ: str) -> None:
    """Second line of defence: the template Jinja will compile holds nothing but output of
    literal text, names and whitelisted filters."""
    try:
        arbre = _sandbox(False).parse(source)
    except TemplateSyntaxError as exc:
        raise ModeleInvalide(
            [f"{champ}, ligne {exc.lineno} : syntaxe invalide ({exc.message})."]
        ) from None
    for noeud in arbre.body:
        if not isinstance(noeud, nodes.Output):
            raise ModeleInvalide([f"{champ} : instruction « {type(noeud).__name__} » refusée."])
        for element in noeud.nodes:
            if isinstance(element, nodes.TemplateData | nodes.Name):
                continue
            if (
                isinstance(element, nodes.Filter)
                and element.name in FILTRES
                and isinstance(element.node, nodes.Name)
                and not (element.args or element.kwargs or element.dyn_args or element.dyn_kwargs)
            ):
                continue
            raise ModeleInvalide([f"{champ} : expression « {type(element).__name__} » refusée."])


def verifier(modele: str, sujet: str, corps: str) -> tuple[list[Morceau], list[Morceau]]:
    """Check an edited version of ``modele``; return the pieces of its subject and body.

    :raise ModeleInvalide: every reason, in French.
    """
    if modele not in TEMPLATES:
        raise ModeleInvalide([f"Courriel inconnu : {modele}."])
    autorisees = {variable.nom for variable in variables_de(modele)}
    messages: list[str] = []
    if not sujet.strip():
        messages.append("Le sujet est obligatoire.")
    elif "\n" in sujet or "\r" in sujet:
        messages.append("Le sujet tient sur une seule ligne.")
    elif len(sujet) > MAX_SUJET:
        messages.append(f"Le sujet compte au plus {MAX_SUJET} caractères.")
    if not corps.strip():
        messages.append("Le texte du courriel est obligatoire.")
    elif len(corps) > MAX_CORPS:
        messages.append(f"Le texte du courriel compte au plus {MAX_CORPS} caractères.")
    resultat: list[list[Morceau]] = []
    for source, champ in ((sujet, "Sujet"), (corps, "Texte")):
        try:
            resultat.append(decouper(source, autorisees, champ))
        except ModeleInvalide as exc:
            messages.extend(exc.messages)
    if messages:
        raise ModeleInvalide(messages)
    return resultat[0], resultat[1]


# --- display values ---------------------------------------------------------------------------


def _date_fr(valeur) -> str:
    if isinstance(valeur, str):
        valeur = date.fromisoformat(valeur[:10])
    return f"{valeur.day} {MOIS[valeur.month - 1]} {valeur.year}"


def _nombre(valeur) -> str:
    if isinstance(valeur, bool):
        return str(valeur)
    if isinstance(valeur, int):
        return f"{valeur:,}".replace(",", "\u00a0")
    if isinstance(valeur, float):
        return f"{valeur:,.2f}".replace(",", "\u00a0").replace(".", ",")
    return str(valeur)


def _texte_comptes(comptes) -> str:
    blocs = []
    for compte in comptes or []:
        lignes = [
            f"Identifiant : {compte.get('identifiant', '')} "
            f"({compte.get('prenom') or ''} {compte.get('nom') or ''})"
        ]
        etablissements = compte.get("etablissements") or []
        if etablissements:
            lignes.append("Établissements pour lesquels cet identifiant est habilité :")
            lignes += [
                f"- {e.get('denomination', '')} (SIRET {e.get('siret', '')})"
                for e in etablissements
            ]
        else:
            lignes.append("Cet identifiant n'est encore habilité pour aucun établissement.")
        blocs.append("\n".join(lignes))
    return "\n\n".join(blocs)


def _html_liste(elements) -> Markup:
    items = Markup("").join(
        Markup('<li style="margin:0 0 4px 0;">{}</li>').format(element) for element in elements
    )
    return Markup('<ul style="margin:0 0 16px 0;padding-left:24px;">{}</ul>').format(items)


def _html_comptes(comptes) -> Markup:
    blocs = []
    for compte in comptes or []:
        bloc = Markup('<p style="margin:0 0 8px 0;">Identifiant : <strong>{}</strong> ({} {})</p>')
        bloc = bloc.format(
            compte.get("identifiant", ""), compte.get("prenom") or "", compte.get("nom") or ""
        )
        etablissements = compte.get("etablissements") or []
        if etablissements:
            bloc += Markup(
                '<p style="margin:0 0 8px 0;">Établissements pour lesquels cet identifiant est '
                "habilité :</p>"
            )
            bloc += _html_liste(
                f"{e.get('denomination', '')} (SIRET {e.get('siret', '')})" for e in etablissements
            )
        else:
            bloc += Markup(
                '<p style="margin:0 0 16px 0;">Cet identifiant n\'est encore habilité pour aucun '
                "établissement.</p>"
            )
        blocs.append(bloc)
    return Markup("").join(blocs)


def afficher(variable: Variable, valeur, html: bool):
    """The display value of ``valeur`` (str; Markup for the HTML blocks)."""
    genre = variable.genre
    if valeur is None:
        return ""
    try:
        if genre == "date":
            return _date_fr(valeur)
        if genre == "datetime":
            from mailer.render import datetime_fr

            return datetime_fr(valeur)
        if genre == "mois":
            annee, mois = str(valeur)[:7].split("-")
            return f"{MOIS[int(mois) - 1]} {annee}"
        if genre == "jours":
            return f"{valeur} jour{'s' if int(valeur) > 1 else ''}"
    except (TypeError, ValueError, IndexError):
        return str(valeur)  # a value that is not what its kind says: shown as it is
    if genre == "nombre":
        return _nombre(valeur)
    if genre == "liste":
        elements = [str(e) for e in valeur] if isinstance(valeur, list) else [str(valeur)]
        if not elements:
            if html:
                return _html_liste([variable.vide.removeprefix("- ")]) if variable.vide else ""
            return variable.vide
        if html:
            return _html_liste(elements)
        return "\n".join(f"- {element}" for element in elements)
    if genre == "comptes":
        return _html_comptes(valeur) if html else _texte_comptes(valeur)
    if genre == "multiligne" and html:
        return Markup("<br>").join(str(valeur).splitlines())
    return str(valeur)


def valeurs(modele: str, context: dict, globales: dict, html: bool) -> dict:
    resultat = {}
    for variable in variables_de(modele):
        brute = globales[variable.nom] if variable in GLOBALES else context.get(variable.nom)
        valeur = afficher(variable, brute, html)
        if html:  # the markers of ``_lier`` only ever come from the template
            valeur = valeur.replace(DEBUT_TEXTE, "").replace(FIN_TEXTE, "")
        resultat[variable.nom] = valeur
    return resultat


def exemple(modele: str) -> dict:
    """The sample context of ``modele`` (preview)."""
    return {nom: VARIABLES[nom].exemple for nom in TEMPLATES[modele].context}


# --- rendering --------------------------------------------------------------------------------

_environnements: dict[bool, SandboxedEnvironment] = {}
_GENRES = {variable.nom: variable.genre for variable in (*VARIABLES.values(), *GLOBALES)}


def _sandbox(html: bool) -> SandboxedEnvironment:
    env = _environnements.get(html)
    if env is None:
        env = SandboxedEnvironment(
            autoescape=html, undefined=StrictUndefined, keep_trailing_newline=True
        )
        env.globals.clear()
        env.filters = dict(FILTRES)
        env.tests = {}
        _environnements[html] = env
    return env


def _source_html(morceaux: list[Morceau]) -> str:
    """The HTML template of an edited body: escaped literal text in paragraphs, placeholders
    kept as expressions (rendered with autoescape)."""
    paragraphes: list[list[Morceau]] = [[]]
    for morceau in morceaux:
        if morceau.nom is not None:
            paragraphes[-1].append(morceau)
            continue
        texte = morceau.texte.replace("\r\n", "\n").replace(DEBUT_TEXTE, "")
        parties = re.split(r"\n[ \t]*(?:\n[ \t]*)+", texte.replace(FIN_TEXTE, ""))
        for rang, partie in enumerate(parties):
            if rang:
                paragraphes.append([])
            if partie:
                paragraphes[-1].append(Morceau(texte=partie))
    sortie = []
    for paragraphe in paragraphes:
        if all(m.nom is None and not m.texte.strip() for m in paragraphe):
            continue
        if paragraphe[0].nom is None:
            paragraphe[0] = Morceau(texte=paragraphe[0].texte.lstrip())
        if paragraphe[-1].nom is None:
            paragraphe[-1] = Morceau(texte=paragraphe[-1].texte.rstrip())
        bloc = any(_GENRES.get(m.nom) in GENRES_BLOC for m in paragraphe)
        balise = "div" if bloc else "p"
        interieur = "".join(
            _expression_html(m)
            if m.nom is not None
            else str(escape(m.texte)).replace("\n", "<br>\n")
            for m in paragraphe
        )
        sortie.append(f'<{balise} style="{STYLE_PARAGRAPHE}">{interieur}</{balise}>')
    return "\n".join(sortie)


def _expression_html(morceau: Morceau) -> str:
    """A placeholder in the HTML template; a value that is not an address of the service is
    fenced so that ``_lier`` never makes a link of what a user typed."""
    if _GENRES.get(morceau.nom) == "lien":
        return morceau.expression
    return DEBUT_TEXTE + morceau.expression + FIN_TEXTE


def _lier(html: str) -> str:
    """Make every web address of the template's text and of the ``lien`` values a link (the
    text is already escaped); the fenced values are left as they are, then unfenced."""
    morceaux = re.split(f"({DEBUT_TEXTE}.*?{FIN_TEXTE})", html, flags=re.DOTALL)
    return (
        "".join(
            morceau[1:-1] if morceau.startswith(DEBUT_TEXTE) else _URL.sub(_lien, morceau)
            for morceau in morceaux
        )
        .replace(DEBUT_TEXTE, "")
        .replace(FIN_TEXTE, "")
    )


def _lien(trouve: re.Match) -> str:
    adresse, fin = trouve.group(0), ""
    while adresse and adresse[-1] in ".,;:!?)":  # the sentence's punctuation, not the address
        adresse, fin = adresse[:-1], adresse[-1] + fin
    return f'<a href="{adresse}" style="{STYLE_LIEN}">{adresse}</a>{fin}'


@dataclass(frozen=True)
class Compile:
    """An edited version ready to render (cached per published version: they never change)."""

    modele: str
    sujet: object  # jinja2.Template
    texte: object
    html: object


def compiler(modele: str, sujet: str, corps: str) -> Compile:
    morceaux_sujet, morceaux_corps = verifier(modele, sujet, corps)
    source_html = _source_html(morceaux_corps)
    _verifier_arbre(source_html, "Texte")
    return Compile(
        modele,
        _sandbox(False).from_string(_source_canonique(morceaux_sujet)),
        _sandbox(False).from_string(_source_canonique(morceaux_corps)),
        _sandbox(True).from_string(source_html),
    )


def _corps_html(compile_: Compile, context: dict, globales: dict) -> Markup:
    html_valeurs = valeurs(compile_.modele, context, globales, html=True)
    # Safe: rendered with autoescape from escaped literal text; ``_lier`` only wraps the
    # (escaped) web addresses of that text in links.
    return Markup(_lier(compile_.html.render(html_valeurs)))  # noqa: S704


def rendre(compile_: Compile, context: dict) -> tuple[str, str, str]:
    """(subject, text, html) of an edited version with ``context``, framed like every mail."""
    return _rendre(compile_, context)[:3]


def _rendre(compile_: Compile, context: dict) -> tuple[str, str, str, Markup]:
    from mailer import render

    values = render._values(context)
    globales = {v.nom: values[v.nom] for v in GLOBALES}
    texte_valeurs = valeurs(compile_.modele, context, globales, html=False)
    sujet = render.one_line(compile_.sujet.render(texte_valeurs))
    contenu_texte = compile_.texte.render(texte_valeurs).strip("\n")
    contenu_html = _corps_html(compile_, context, globales)
    env = render.environment()
    texte = env.get_template("mail/_modele.txt").render({**values, "contenu": contenu_texte})
    html = env.get_template("mail/_modele.html").render({**values, "contenu": contenu_html})
    return sujet, texte, html, contenu_html


def apercu(modele: str, sujet: str, corps: str) -> tuple[str, str, str, Markup]:
    """(subject, text, html, HTML body alone) of a version with the sample data."""
    return _rendre(compiler(modele, sujet, corps), exemple(modele))


# --- the shipped files as defaults ------------------------------------------------------------

# Mails whose shipped text the conversion cannot express: their equivalent with placeholders.
DEFAUTS: dict[str, str] = {
    "identifiants_oublies": (
        "Vous avez demandé, depuis la page « J'ai oublié mon identifiant » de l'extranet "
        "{{ site_name }}, les identifiants de connexion associés à cette adresse électronique."
        "\n\n{{ comptes }}\n\n"
        "Saisissez votre identifiant dans le champ « Utilisateur » de la page de connexion : "
        "{{ site_url }}/connexion\n\n"
        "Pour des raisons de sécurité, ce message ne contient aucun mot de passe. Si vous l'avez "
        "également oublié, utilisez « J'ai oublié mon mot de passe » sur la page de connexion."
        "\n\n"
        "Si vous n'êtes pas à l'origine de cette demande, vous pouvez ne pas tenir compte de ce "
        "message : vos identifiants restent inchangés."
    ),
    "di_deposee": (
        "Nous accusons réception de votre demande d'indemnisation pour le mois : {{ mois }}.\n\n"
        "- Établissement : {{ denomination }}\n- SIRET : {{ siret }}\n"
        "- Numéro de la demande d'indemnisation : {{ numero_di }}\n"
        "- Mois concerné : {{ mois }}\n\n"
        "Votre demande va être examinée par les services de l'État puis, après validation, mise "
        "en paiement par l'Agence de services et de paiement (ASP). Un courriel vous informera de "
        "sa validation, puis de son paiement.\n\n"
        "Vous pouvez suivre l'état de votre demande depuis votre espace : {{ site_url }}/"
    ),
}
_CONTENU = re.compile(r"\{%-?\s*block content\s*-?%\}(.*?)\{%-?\s*endblock\s*-?%\}", re.DOTALL)
_CONVERSIONS = (
    (re.compile(r"\{\{\s*(\w+)\s*\|\s*(?:date_fr|datetime_fr)\s*\}\}"), r"{{ \1 }}"),
    (re.compile(r"\{\{\s*f\.(?:nombre|jours|mois_fr)\((\w+)\)\s*\}\}"), r"{{ \1 }}"),
)


_BOUCLE = re.compile(r"\{%-?\s*for\s+\w+\s+in\s+(\w+)\s*-?%\}.*?\{%-?\s*endfor\s*-?%\}", re.DOTALL)


def _boucle(trouve: re.Match) -> str:
    """A loop over a list placeholder ("- {{ element }}" per item) is the placeholder itself."""
    variable = VARIABLES.get(trouve.group(1))
    if variable is None or variable.genre != "liste":
        return trouve.group(0)
    return "\n{{ " + variable.nom + " }}"


def defaut(modele: str) -> tuple[str, str]:
    """(subject, body) of the shipped files of ``modele``, in the edited form."""
    sujet = (MAIL_DIR / f"{modele}.subject.txt").read_text(encoding="utf-8").strip()
    if modele in DEFAUTS:
        return sujet, DEFAUTS[modele]
    source = (MAIL_DIR / f"{modele}.txt").read_text(encoding="utf-8")
    trouve = _CONTENU.search(source)
    corps = trouve.group(1) if trouve else source
    corps = _BOUCLE.sub(_boucle, corps)
    for motif, remplacement in _CONVERSIONS:
        corps = motif.sub(remplacement, corps)
    return sujet, corps.strip()


# --- which version is current: the per-process cache -----------------------------------------


class Publications:
    """The current published version of each mail template, as this process knows it.

    ``courante(modele)`` answers from memory, kept fresh by ``fraicheur.Fraicheur`` (one
    cheap query at most every ``FORMS_REFRESH_SECONDS``, the map reloaded only when a
    publication happened). Compiled published versions are kept (they never change).
    """

    def __init__(self, app: Flask) -> None:
        self._app = app
        self._courantes: dict[str, int] = {}
        self._compilees: dict[int, Compile] = {}
        self._fraicheur = Fraicheur(
            float(app.config.get("FORMS_REFRESH_SECONDS", 2.0)), self._lire_marque, self._recharger
        )

    def invalider(self) -> None:
        """Check the database on the next question (this process just published)."""
        self._fraicheur.invalider()

    def courante(self, modele: str) -> int | None:
        self._fraicheur.verifier()
        return self._courantes.get(modele)

    def rafraichir(self) -> None:
        self._fraicheur.rafraichir()

    def _lire_marque(self) -> Marque | None:
        from extensions import db
        from models.modeles_courriel import EtatModele, ModeleCourrielVersion

        table = ModeleCourrielVersion
        try:
            with self._app.app_context(), db.engine.connect() as connexion:
                return marque_publiees(connexion, table.id, table.etat == EtatModele.PUBLIEE)
        except SQLAlchemyError as exc:
            # No table yet (before `flask db upgrade`) or the database is away: keep going.
            log.warning("versions des modèles de courriel illisibles : %s", type(exc).__name__)
            return None

    def _recharger(self) -> bool:
        from extensions import db
        from models.modeles_courriel import EtatModele, ModeleCourrielVersion

        table = ModeleCourrielVersion
        publiee = table.etat == EtatModele.PUBLIEE
        derniere = (
            select(table.modele, func.max(table.version).label("version"))
            .where(publiee)
            .group_by(table.modele)
            .subquery()
        )
        try:
            with self._app.app_context(), db.engine.connect() as connexion:
                lignes = connexion.execute(
                    select(table.modele, table.id).join(
                        derniere,
                        (table.modele == derniere.c.modele) & (table.version == derniere.c.version),
                    )
                ).all()
        except SQLAlchemyError as exc:
            log.warning("versions des modèles de courriel illisibles : %s", type(exc).__name__)
            return False
        self._courantes = {modele: version_id for modele, version_id in lignes}
        return True

    def compilee(self, version) -> Compile:
        """The compiled form of a published ``ModeleCourrielVersion``."""
        trouvee = self._compilees.get(version.id)
        if trouvee is None:
            trouvee = compiler(version.modele, version.sujet, version.corps)
            if len(self._compilees) > 256:
                self._compilees.clear()
            self._compilees[version.id] = trouvee
        return trouvee


def publications(app: Flask | None = None) -> Publications:
    app = app or current_app._get_current_object()
    cache = app.extensions.get("modeles_courriel")
    if cache is None:
        cache = app.extensions["modeles_courriel"] = Publications(app)
    return cache


def version_courante(modele: str) -> int | None:
    """The id of the version a mail queued now must be rendered with (None: the files)."""
    return publications().courante(modele)


def rendre_version(version_id: int, modele: str, context: dict) -> tuple[str, str, str]:
    """(subject, text, html) of a notification queued with the published ``version_id``."""
    from extensions import db
    from models.modeles_courriel import ModeleCourrielVersion

    version = db.session.get(ModeleCourrielVersion, version_id)
    if version is None or version.modele != modele:
        raise LookupError(f"version {version_id} du modèle {modele} introuvable")
    return rendre(publications().compilee(version), context)
