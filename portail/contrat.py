"""« CONTRAT DE PRESTATION »: the procedure for an accounting firm filing for a client, and the
contract itself, built from ``forms/schemas/contrat-prestation.json``.

Stateless on purpose: the signed contract is kept by both parties and never sent to the ASP,
so nothing is stored. A valid post shows the printable contract; that page carries the
validated document back in hidden fields (with the CSRF token) to ``/contrat-de-prestation/pdf``,
which validates it again with the engine before WeasyPrint renders the same contract as a PDF.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import Blueprint, Response, current_app, render_template, request
from flask_wtf import FlaskForm
from werkzeug.datastructures import CombinedMultiDict
from wtforms import StringField

from extensions import limiter
from forms import engine, formats
from referentiels import annuaire

bp = Blueprint("contrat", __name__, template_folder="templates")

FORM_ID = "contrat-prestation"
PDF_STYLESHEET = "css/contrat.css"
# Values INSEE publishes for a field it does not disseminate ("non diffusible").
NON_DIFFUSE = "[ND]"
INDICES = {"B": "bis", "T": "ter", "Q": "quater", "C": "quinquies"}
# The system fonts of the PDF without the État brand (Liberation and DejaVu are on the servers).
SYSTEM_FONTS = '"Liberation Sans", "DejaVu Sans", Arial, sans-serif'
MARIANNE_FACES = (
    ("Marianne-Regular.woff2", "normal", 400),
    ("Marianne-Regular_Italic.woff2", "italic", 400),
    ("Marianne-Bold.woff2", "normal", 700),
)


class Recherche(FlaskForm):
    """The optional "Rechercher" step: SIRETs looked up in the directory (a GET, no CSRF)."""

    class Meta:
        csrf = False

    siret_etablissement = StringField(
        "N° de Siret de l'établissement client",
        render_kw={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"},
    )
    siret_prestataire = StringField(
        "N° de Siret du cabinet",
        render_kw={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"},
    )


def _definition():
    return current_app.extensions["forms"][FORM_ID]


def _forms_limit() -> str:
    return current_app.config["RATELIMIT_FORMS"]


def _page_without_lookup() -> bool:
    return request.method == "GET" and not request.args


# -- prefill from the directory ------------------------------------------------------------------


def _propre(value: str | None) -> str | None:
    value = (value or "").strip()
    return value if value and value != NON_DIFFUSE else None


def adresse_de(fiche: annuaire.EtablissementInfo) -> str | None:
    """One address line from the directory's parts: "48 RUE DE LA ROQUETTE"."""
    numero = _propre(fiche.numero_voie)
    indice = _propre(fiche.indice_repetition)
    voie = " ".join(
        part
        for part in (
            numero,
            INDICES.get(indice or "", indice) if numero else None,
            _propre(fiche.type_voie),
            _propre(fiche.libelle_voie),
        )
        if part
    )
    parts = [part for part in (_propre(fiche.complement_adresse), voie) if part]
    return ", ".join(parts) or None


def _recherche(field, section: str, nom: str) -> tuple[dict, str | None]:
    """The part of the document the directory knows for the SIRET typed in ``field``, and a
    notice for the page; put a message on the field when the SIRET is not valid."""
    typed = (field.data or "").strip()
    if not typed:
        return {}, None
    siret = formats.normalise("siret", typed)
    if not formats.FORMATS["siret"].is_valid(siret):
        field.errors = [formats.FORMATS["siret"].message]
        return {}, None
    partie = {"siret": siret}
    fiche = annuaire.rechercher_etablissement(siret)
    if fiche is None:
        return partie, (
            f"Le SIRET {siret} ({section}) n'a pas été trouvé dans le répertoire SIRENE : "
            "renseignez vous-même les informations."
        )
    known = {
        nom: _propre(fiche.denomination),
        "adresse": adresse_de(fiche),
        "code_postal": _propre(fiche.code_postal),
        "ville": _propre(fiche.commune),
    }
    partie.update({key: value for key, value in known.items() if value})
    if not fiche.actif:
        return partie, (
            f"L'établissement {siret} ({section}) est fermé dans le répertoire SIRENE : "
            "vérifiez le numéro."
        )
    return partie, None


def _prefill(recherche: Recherche) -> tuple[dict, list[str], bool]:
    document: dict = {}
    notices = []
    for field, section, key, nom in (
        (recherche.siret_etablissement, "établissement client", "etablissement", "denomination"),
        (recherche.siret_prestataire, "cabinet", "prestataire", "raison_sociale"),
    ):
        partie, notice = _recherche(field, section, nom)
        if partie:
            document[key] = partie
        if notice:
            notices.append(notice)
    found = any(len(partie) > 1 for partie in document.values())
    return document, notices, found


# -- the contract -------------------------------------------------------------------------------


def champs_caches(document: dict, specs, prefix: str = "") -> list[tuple[str, str]]:
    """(field name, value) pairs that post ``document`` again as the form would.

    Values are canonical (SIRET digits, E.164 telephone, ISO date): the engine's normalisers
    accept them as typed input, and the receiving view validates everything again.
    """
    pairs: list[tuple[str, str]] = []
    for spec in specs:
        if spec.name not in document or spec.kind == "file":
            continue
        value, name = document[spec.name], prefix + spec.name
        if spec.kind == "section":
            pairs += champs_caches(value, spec.children, f"{name}-")
        elif spec.kind == "repeat":
            for index, item in enumerate(value):
                pairs += champs_caches(item, spec.children, f"{name}-{index}-")
        elif spec.kind == "checkboxes":
            pairs += [(name, _texte(item)) for item in value]
        else:
            pairs.append((name, _texte(value)))
            if spec.confirm:
                pairs.append((f"{name}__confirmation", _texte(value)))
    return pairs


def _texte(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _choix(specs, *path: str) -> dict:
    """{value: label} of the options of the field at ``path`` in the definition's tree."""
    for name in path:
        spec = next((s for s in specs if s.name == name), None)
        if spec is None:
            return {}
        specs = spec.children
    return dict(spec.choices)


def _date_fr(iso: str) -> str:
    try:
        return datetime.date.fromisoformat(iso).strftime("%d/%m/%Y")
    except (TypeError, ValueError):
        return iso


def contrat_de(definition, document: dict) -> dict:
    """What the contract shows: both parties, the scope (with the definition's labels), the
    dates; telephones as people write them."""
    etablissement = dict(document["etablissement"])
    prestataire = dict(document["prestataire"])
    if prestataire.get("telephone"):
        prestataire["telephone"] = formats.display("telephone", prestataire["telephone"])
    mission = document["mission"]
    labels = _choix(definition.tree, "mission", "perimetre")
    return {
        "etablissement": etablissement,
        "prestataire": prestataire,
        "perimetre": [(value, labels.get(value, value)) for value in mission["perimetre"]],
        "date_debut": _date_fr(mission["date_debut"]),
        "duree": mission["duree"],
        "duree_mois": mission.get("duree_mois"),
    }


def _page_formulaire(definition, form, *, summary=None, recherche=None, notices=(), found=False):
    return render_template(
        "contrat/formulaire.html",
        definition=definition,
        form=form,
        summary=summary,
        recherche=recherche or Recherche(formdata=None),
        notices=notices,
        prerempli=found,
    )


@bp.route("/contrat-de-prestation", methods=["GET", "POST"])
@limiter.limit(_forms_limit, exempt_when=_page_without_lookup)
def contrat():
    definition = _definition()
    if request.method == "GET":
        recherche = Recherche(request.args)
        prefill, notices, found = _prefill(recherche)
        return _page_formulaire(
            definition,
            engine.new_form(definition, prefill or None),
            recherche=recherche,
            notices=notices,
            found=found,
        )
    outcome = engine.submit(definition, CombinedMultiDict([request.files, request.form]))
    if not outcome.valid or request.form.get("modifier"):
        # "Modifier" on the contract page comes back here with the document: show it to edit.
        invalid = not outcome.valid and not outcome.action
        summary = engine.summary(outcome.form) if invalid else None
        return _page_formulaire(definition, outcome.form, summary=summary), (
            422 if invalid else 200
        )
    return render_template(
        "contrat/contrat.html",
        definition=definition,
        contrat=contrat_de(definition, outcome.document),
        champs=champs_caches(outcome.document, definition.tree),
    )


@bp.post("/contrat-de-prestation/pdf")
@limiter.limit(_forms_limit)
def pdf():
    definition = _definition()
    outcome = engine.submit(definition, CombinedMultiDict([request.files, request.form]))
    if not outcome.valid:
        return _page_formulaire(definition, outcome.form, summary=engine.summary(outcome.form)), 422
    document = outcome.document
    html = render_template(
        "contrat/pdf.html", definition=definition, contrat=contrat_de(definition, document)
    )
    siret = document["etablissement"]["siret"]
    return Response(
        rendre_pdf(html),
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="contrat-de-prestation-{siret}.pdf"',
            "Cache-Control": "no-store",
        },
    )


# -- PDF ----------------------------------------------------------------------------------------


def _polices() -> str:
    """The font of the PDF (on ``html``: the page-number margin box inherits from the root):
    Marianne, shipped with the DSFR, only under the État brand."""
    if not current_app.config.get("DSFR_MARQUE_ETAT"):
        return f"html {{ font-family: {SYSTEM_FONTS}; }}"
    fonts = Path(current_app.static_folder or "") / "dsfr" / "fonts"
    faces = [
        f'@font-face {{ font-family: "Marianne"; font-style: {style}; font-weight: {weight}; '
        f'src: url("{(fonts / name).as_uri()}") format("woff2"); }}'
        for name, style, weight in MARIANNE_FACES
    ]
    return "\n".join([*faces, f'html {{ font-family: "Marianne", {SYSTEM_FONTS}; }}'])


def rendre_pdf(html: str) -> bytes:
    """``html`` as a PDF (A4, text embedded); only files of the static folder may be read."""
    import weasyprint  # imported here: heavy, and needed by this view only
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher

    static = Path(current_app.static_folder or "").resolve()

    class StaticOnly(URLFetcher):
        """No network and no file outside ``static/``: a contract never needs more."""

        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            if parts.scheme == "file" and parts.netloc in {"", "localhost"}:
                if Path(unquote(parts.path)).resolve().is_relative_to(static):
                    return super().fetch(url, headers)
            raise ValueError(f"ressource refusée : {url}")

    fetcher = StaticOnly()
    fonts = FontConfiguration()  # what makes @font-face rules count
    stylesheets = [
        weasyprint.CSS(filename=str(static / PDF_STYLESHEET), url_fetcher=fetcher),
        weasyprint.CSS(string=_polices(), url_fetcher=fetcher, font_config=fonts),
    ]
    document = weasyprint.HTML(string=html, base_url=static.as_uri() + "/", url_fetcher=fetcher)
    return document.write_pdf(stylesheets=stylesheets, font_config=fonts)
