"""Forms engine vs a hand-written Flask-WTF form vs plain jsonschema, on a 20-field form.

Run: ``.venv/bin/python -m bench.forms_engine`` (``make bench``). See bench/README.md.

Contenders, all measured in one process on the same documents:

1. the engine: ``engine.new_form`` + ``render_template("formulaires/show.html")`` for the page,
   ``engine.submit(definition, formdata)`` for a post (coercion, normalisation, cached
   jsonschema validator, French error mapping);
2. the baseline: a hand-written ``FlaskForm`` with the same 20 fields and equivalent WTForms
   validators, rendered by a Jinja template with the same DSFR markup (extending the same
   ``base.html``), validated with ``form.validate()``;
3. ``jsonschema.validate(document, schema)`` (one-shot: re-checks the schema on every call)
   and a reused ``Draft202012Validator``.

Each operation: warm-up, then N rounds of ``inner`` calls timed with ``time.perf_counter_ns``;
per-call time = round time / inner; min and median over the rounds are reported.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import jsonschema
import phonenumbers
from flask import render_template
from flask_wtf import FlaskForm
from jinja2 import ChoiceLoader, DictLoader
from stdnum.fr import siret as stdnum_siret
from werkzeug.datastructures import CombinedMultiDict, MultiDict
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    FormField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.validators import (
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from forms import engine, formats
from forms.registry import load_folder

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
FORM_ID = "benchmark-vingt-champs"
RESULTS_DIR = BENCH_DIR / "results"

# -- the documents ---------------------------------------------------------------------------

VALID_POST = {
    "siret": "732 829 320 00074",
    "raison_sociale": "Boulangerie du Canal",
    "code_naf": "10.71C",
    "forme_juridique": "SARL",
    "civilite": "mme",
    "nom_contact": "Lefèvre",
    "prenom_contact": "Anne-Sophie",
    "courriel": "contact@boulangerie-canal.fr",
    "telephone": "01 23 45 67 89",
    "date_debut": "2024-03-16",
    "date_fin": "2024-06-30",
    "motif": "approvisionnement",
    "effectif": "42",
    "salaries_concernes": "12",
    "heures_chomees": "120.5",
    "accord_collectif": "y",
    "adresse-voie": "12 quai de Valmy",
    "adresse-complement": "Bâtiment B",
    "adresse-code_postal": "75010",
    "adresse-ville": "Paris",
}
# Three errors every contender detects: a required field left empty, a pattern, a maximum.
INVALID_POST = {
    **VALID_POST,
    "raison_sociale": "",
    "code_naf": "10-71C",
    "effectif": "250000",
}
INVALID_FIELDS = {"raison_sociale", "code_naf", "effectif"}


def post(data: dict) -> CombinedMultiDict:
    """What the view hands to ``engine.submit``: files + form."""
    return CombinedMultiDict([MultiDict(), MultiDict(data)])


# -- the hand-written baseline ---------------------------------------------------------------

NAME_PATTERN = r"^[A-Za-zÀ-ÖØ-öø-ÿ' -]+$"


def siret_check(form, field):
    value = "".join((field.data or "").split())
    if not (
        len(value) == 14
        and value.isdigit()
        and value[:9] != "000000000"
        and stdnum_siret.is_valid(value)
    ):
        raise ValidationError(formats.FORMATS["siret"].message)


def telephone_check(form, field):
    try:
        number = phonenumbers.parse(field.data or "", "FR")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(formats.FORMATS["telephone"].message)


class AdresseForm(FlaskForm):
    class Meta:
        csrf = False

    voie = StringField("Numéro et voie", validators=[InputRequired(), Length(3, 200)])
    complement = StringField("Complément d'adresse", validators=[Optional(), Length(max=200)])
    code_postal = StringField(
        "Code postal",
        validators=[InputRequired(), Regexp(r"^[0-9]{5}$")],
        render_kw={"inputmode": "numeric", "autocomplete": "postal-code", "maxlength": "5"},
    )
    ville = StringField("Ville", validators=[InputRequired(), Length(1, 100)])


class HandWrittenForm(FlaskForm):
    siret = StringField(
        "N° de Siret de l'établissement",
        description="14 chiffres, sans espace.",
        validators=[InputRequired(), siret_check],
        render_kw={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"},
    )
    raison_sociale = StringField(
        "Raison sociale",
        validators=[InputRequired(), Length(2, 120)],
        render_kw={"maxlength": "120", "autocomplete": "organization"},
    )
    code_naf = StringField(
        "Code NAF (APE)",
        validators=[InputRequired(), Length(6, 6), Regexp(r"^[0-9]{2}\.[0-9]{2}[A-Z]$")],
        render_kw={"maxlength": "6", "placeholder": "47.11F"},
    )
    forme_juridique = SelectField(
        "Forme juridique",
        validators=[InputRequired()],
        choices=[
            ("", "Sélectionnez une option"),
            *[
                (v, v)
                for v in (
                    "EI",
                    "EURL",
                    "SARL",
                    "SAS",
                    "SASU",
                    "SA",
                    "SNC",
                    "SCOP",
                    "Association",
                    "Autre",
                )
            ],
        ],
    )
    civilite = RadioField(
        "Civilité du contact",
        validators=[InputRequired()],
        choices=[("mme", "Madame"), ("m", "Monsieur")],
    )
    nom_contact = StringField(
        "Nom du contact",
        validators=[InputRequired(), Length(1, 80), Regexp(NAME_PATTERN)],
        render_kw={"maxlength": "80", "autocomplete": "family-name"},
    )
    prenom_contact = StringField(
        "Prénom du contact",
        validators=[InputRequired(), Length(1, 80), Regexp(NAME_PATTERN)],
        render_kw={"maxlength": "80", "autocomplete": "given-name"},
    )
    courriel = StringField(
        "Courriel du contact",
        validators=[InputRequired(), Length(max=254), Email()],
        render_kw={"type": "email", "autocomplete": "email", "maxlength": "254"},
    )
    telephone = StringField(
        "Téléphone du contact",
        validators=[InputRequired(), telephone_check],
        render_kw={"type": "tel", "autocomplete": "tel"},
    )
    date_debut = DateField(
        "Début de la période d'activité partielle",
        validators=[InputRequired()],
        render_kw={"type": "date"},
    )
    date_fin = DateField(
        "Fin de la période (si connue)", validators=[Optional()], render_kw={"type": "date"}
    )
    motif = SelectField(
        "Motif du recours",
        validators=[InputRequired()],
        choices=[
            ("", "Sélectionnez une option"),
            ("conjoncture", "Conjoncture économique"),
            ("approvisionnement", "Difficultés d'approvisionnement"),
            ("sinistre", "Sinistre ou intempéries"),
            ("restructuration", "Transformation, restructuration ou modernisation"),
            ("autre", "Autre circonstance exceptionnelle"),
        ],
    )
    effectif = IntegerField(
        "Effectif de l'établissement",
        validators=[InputRequired(), NumberRange(1, 100000)],
        render_kw={"inputmode": "numeric"},
    )
    salaries_concernes = IntegerField(
        "Nombre de salariés concernés",
        validators=[InputRequired(), NumberRange(1, 100000)],
        render_kw={"inputmode": "numeric"},
    )
    heures_chomees = DecimalField(
        "Heures chômées prévues par salarié",
        description="Au plus 1 607 heures par salarié et par an.",
        validators=[InputRequired(), NumberRange(0, 1607)],
        render_kw={"inputmode": "decimal"},
    )
    accord_collectif = BooleanField("Un accord collectif d'activité partielle est en vigueur")
    adresse = FormField(AdresseForm, "Adresse de l'établissement")


# The same DSFR markup as public/templates/forms/_fields.html, written field by field.
HAND_WRITTEN_TEMPLATE = r"""{% extends "base.html" %}
{% macro messages(field) -%}
  <div class="fr-messages-group" id="{{ field.id }}-messages" aria-live="polite">
    {% for message in field.errors %}<p class="fr-message fr-message--error">{{ message }}</p>{% endfor %}
  </div>
{%- endmacro %}
{% macro label(field, required) -%}
  <label class="fr-label" for="{{ field.id }}">{{ field.label.text }}{% if required %}<span class="fr-required" aria-hidden="true"> *</span>{% endif %}
    {% if field.description %}<span class="fr-hint-text">{{ field.description }}</span>{% endif %}
  </label>
{%- endmacro %}
{% macro input(field, required=True) -%}
  <div class="fr-fieldset__element">
    <div class="fr-input-group{% if field.errors %} fr-input-group--error{% endif %}">
      {{ label(field, required) }}
      {{ field(class="fr-input" ~ (" fr-input--error" if field.errors else ""), **{"aria-describedby": field.id ~ "-messages"}) }}
      {{ messages(field) }}
    </div>
  </div>
{%- endmacro %}
{% macro select(field, required=True) -%}
  <div class="fr-fieldset__element">
    <div class="fr-select-group{% if field.errors %} fr-select-group--error{% endif %}">
      {{ label(field, required) }}
      {{ field(class="fr-select" ~ (" fr-select--error" if field.errors else ""), **{"aria-describedby": field.id ~ "-messages"}) }}
      {{ messages(field) }}
    </div>
  </div>
{%- endmacro %}
{% macro radios(field, required=True) -%}
  <div class="fr-fieldset__element">
  <fieldset class="fr-fieldset{% if field.errors %} fr-fieldset--error{% endif %}" id="{{ field.id }}" aria-labelledby="{{ field.id }}-legend {{ field.id }}-messages" role="radiogroup">
    <legend class="fr-fieldset__legend--regular fr-fieldset__legend" id="{{ field.id }}-legend">{{ field.label.text }}{% if required %}<span aria-hidden="true"> *</span>{% endif %}</legend>
    {% for option in field %}
    <div class="fr-fieldset__element fr-fieldset__element--inline">
      <div class="fr-radio-group">
        {{ option(**{"aria-describedby": field.id ~ "-messages"}) }}
        <label class="fr-label" for="{{ option.id }}">{{ option.label.text }}</label>
      </div>
    </div>
    {% endfor %}
    {{ messages(field) }}
  </fieldset>
  </div>
{%- endmacro %}
{% macro checkbox(field) -%}
  <div class="fr-fieldset__element">
    <div class="fr-checkbox-group{% if field.errors %} fr-checkbox-group--error{% endif %}">
      {{ field(**{"aria-describedby": field.id ~ "-messages"}) }}
      {{ label(field, False) }}
      {{ messages(field) }}
    </div>
  </div>
{%- endmacro %}
{% block title %}{{ title }}{% endblock %}
{% block content %}
<div class="fr-container fr-my-6w">
  <div class="fr-grid-row fr-grid-row--center">
    <div class="fr-col-12 fr-col-md-10 fr-col-lg-8">
      <h1>{{ title }}</h1>
      <p class="fr-text--sm">Les champs marqués d'un astérisque (<span aria-hidden="true">*</span>) sont obligatoires.</p>
      <form method="post" action="{{ url_for('formulaires.submit', form_id='benchmark-vingt-champs') }}" enctype="multipart/form-data" novalidate>
        {{ form.csrf_token() if form.meta.csrf }}
        {{ input(form.siret) }}
        {{ input(form.raison_sociale) }}
        {{ input(form.code_naf) }}
        {{ select(form.forme_juridique) }}
        {{ radios(form.civilite) }}
        {{ input(form.nom_contact) }}
        {{ input(form.prenom_contact) }}
        {{ input(form.courriel) }}
        {{ input(form.telephone) }}
        {{ input(form.date_debut) }}
        {{ input(form.date_fin, False) }}
        {{ select(form.motif) }}
        {{ input(form.effectif) }}
        {{ input(form.salaries_concernes) }}
        {{ input(form.heures_chomees) }}
        {{ checkbox(form.accord_collectif) }}
        <fieldset class="fr-fieldset fr-mb-4w app-section" id="{{ form.adresse.id }}">
          <legend class="fr-fieldset__legend"><h2 class="fr-h4 fr-mb-1w">{{ form.adresse.label.text }}</h2></legend>
          {{ input(form.adresse.voie) }}
          {{ input(form.adresse.complement, False) }}
          {{ input(form.adresse.code_postal) }}
          {{ input(form.adresse.ville) }}
        </fieldset>
        <ul class="fr-btns-group fr-btns-group--inline-md">
          <li><button class="fr-btn" type="submit">Envoyer la demande</button></li>
        </ul>
      </form>
    </div>
  </div>
</div>
{% endblock %}
"""
HAND_WRITTEN_NAME = "bench/hand_written.html"


def hand_written_render(title: str) -> str:
    return render_template(HAND_WRITTEN_NAME, form=HandWrittenForm(formdata=None), title=title)


def hand_written_validate(formdata) -> HandWrittenForm:
    form = HandWrittenForm(formdata=formdata)
    form.validate()
    return form


# -- the app ---------------------------------------------------------------------------------


def build_app(workdir: Path):
    """An app like tests/conftest.py's base_config: SQLite in a temp dir, CSRF off, migrated."""
    from flask_migrate import upgrade

    from app import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench-only-secret-key",
            "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(workdir / "bench.sqlite3"),
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "UPLOADS_DIR": str(workdir / "uploads"),
            "MAIL_SUPPRESS_SEND": True,
            "SERVER_NAME": None,
        }
    )
    with app.app_context():
        upgrade()
    # The baseline's template, looked up before the application's own (bench only).
    app.jinja_env.loader = ChoiceLoader(
        [DictLoader({HAND_WRITTEN_NAME: HAND_WRITTEN_TEMPLATE}), app.jinja_env.loader]
    )
    return app


# -- timing ----------------------------------------------------------------------------------


def measure(fn, *, rounds: int, round_ms: float, warmup_ms: float) -> dict:
    """Per-call nanoseconds of ``fn()``: min and median over ``rounds`` rounds."""
    # Warm-up, and calibration of the number of calls per round.
    calls, start = 0, time.perf_counter_ns()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter_ns() - start
        if elapsed >= warmup_ms * 1e6 and calls >= 3:
            break
    per_call = elapsed / calls
    inner = max(1, int(round_ms * 1e6 / per_call))
    samples = []
    gc.collect()
    for _ in range(rounds):
        start = time.perf_counter_ns()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter_ns() - start) / inner)
    samples.sort()
    return {
        "min_ns": samples[0],
        "median_ns": statistics.median(samples),
        "max_ns": samples[-1],
        "p90_round_ns": samples[int(0.9 * (len(samples) - 1))],
        "rounds": rounds,
        "calls_per_round": inner,
    }


# -- checks: every contender sees the same documents -----------------------------------------


def check_documents(definition, documents: dict) -> dict:
    """Fail loudly if a contender does not accept the valid document or reject the invalid one
    with exactly 3 errors. Returns what each found, for the results file."""
    found = {}
    valid = engine.submit(definition, post(VALID_POST))
    assert valid.valid, f"engine refuses the valid post: {valid.errors}"
    invalid = engine.submit(definition, post(INVALID_POST))
    assert set(invalid.errors) == INVALID_FIELDS, f"engine: {invalid.errors}"
    found["engine"] = {"valid": True, "invalid_fields": sorted(invalid.errors)}

    form = hand_written_validate(post(VALID_POST))
    assert not form.errors, f"hand-written refuses the valid post: {form.errors}"
    form = hand_written_validate(post(INVALID_POST))
    assert set(form.errors) == INVALID_FIELDS, f"hand-written: {form.errors}"
    found["hand_written"] = {"valid": True, "invalid_fields": sorted(form.errors)}

    validator = jsonschema.Draft202012Validator(definition.schema)
    assert not list(validator.iter_errors(documents["valid"]))
    errors = list(validator.iter_errors(documents["invalid"]))
    paths = sorted(e.validator for e in errors)
    assert len(errors) == 3, paths
    found["jsonschema"] = {"valid": True, "invalid_keywords": paths}
    assert engine.new_form(definition) is not None
    return found


# -- main --------------------------------------------------------------------------------------


def machine() -> dict:
    def version(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": {
            name: version(name)
            for name in (
                "Flask",
                "Jinja2",
                "WTForms",
                "Flask-WTF",
                "jsonschema",
                "python-stdnum",
                "phonenumbers",
                "email-validator",
            )
        },
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--rounds", type=int, default=25, help="timed rounds per operation (default 25)"
    )
    parser.add_argument(
        "--round-ms", type=float, default=60.0, help="target length of a round (default 60 ms)"
    )
    parser.add_argument(
        "--warmup-ms", type=float, default=300.0, help="warm-up per operation (default 300 ms)"
    )
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results/*.json")
    args = parser.parse_args(argv)

    definition = load_folder(BENCH_DIR / "schemas")[FORM_ID]
    schema = definition.schema
    workdir = Path(tempfile.mkdtemp(prefix="bench-forms-"))
    started = time.perf_counter()
    try:
        app = build_app(workdir)
        with app.test_request_context(f"/formulaires/{FORM_ID}"):
            documents = {
                "valid": engine.submit(definition, post(VALID_POST)).document,
                "invalid": engine.submit(definition, post(INVALID_POST)).document,
            }
            checks = check_documents(definition, documents)
            reused = jsonschema.Draft202012Validator(schema)
            reused_formats = jsonschema.Draft202012Validator(
                schema, format_checker=formats.format_checker()
            )
            valid_post, invalid_post = post(VALID_POST), post(INVALID_POST)

            def engine_render():
                return render_template(
                    "formulaires/show.html", definition=definition, form=engine.new_form(definition)
                )

            def one_shot(document):
                def run():
                    try:
                        jsonschema.validate(document, schema)
                    except jsonschema.ValidationError:
                        pass

                return run

            # (key, label, group, baseline key, callable)
            operations = [
                (
                    "hand_render",
                    "hand-written: form + DSFR template (page)",
                    "render",
                    "hand_render",
                    lambda: hand_written_render(definition.title),
                ),
                (
                    "engine_render",
                    "engine: new_form + formulaires/show.html (page)",
                    "render",
                    "hand_render",
                    engine_render,
                ),
                (
                    "hand_form_only",
                    "hand-written: form instance only",
                    "render",
                    "hand_render",
                    lambda: HandWrittenForm(formdata=None),
                ),
                (
                    "engine_form_only",
                    "engine: new_form only",
                    "render",
                    "hand_render",
                    lambda: engine.new_form(definition),
                ),
                (
                    "hand_valid",
                    "hand-written: bind + form.validate()",
                    "valid",
                    "hand_valid",
                    lambda: hand_written_validate(valid_post),
                ),
                (
                    "engine_valid",
                    "engine: submit()",
                    "valid",
                    "hand_valid",
                    lambda: engine.submit(definition, valid_post),
                ),
                (
                    "engine_errors_valid",
                    "engine: definition.errors(doc) (cached validator)",
                    "valid",
                    "hand_valid",
                    lambda: definition.errors(documents["valid"]),
                ),
                (
                    "oneshot_valid",
                    "jsonschema.validate(doc, schema) one-shot",
                    "valid",
                    "hand_valid",
                    one_shot(documents["valid"]),
                ),
                (
                    "reused_valid",
                    "Draft202012Validator reused: iter_errors",
                    "valid",
                    "hand_valid",
                    lambda: list(reused.iter_errors(documents["valid"])),
                ),
                (
                    "reused_formats_valid",
                    "Draft202012Validator reused + format_checker",
                    "valid",
                    "hand_valid",
                    lambda: list(reused_formats.iter_errors(documents["valid"])),
                ),
                (
                    "hand_invalid",
                    "hand-written: bind + form.validate()",
                    "invalid",
                    "hand_invalid",
                    lambda: hand_written_validate(invalid_post),
                ),
                (
                    "engine_invalid",
                    "engine: submit()",
                    "invalid",
                    "hand_invalid",
                    lambda: engine.submit(definition, invalid_post),
                ),
                (
                    "engine_errors_invalid",
                    "engine: definition.errors(doc) (cached validator)",
                    "invalid",
                    "hand_invalid",
                    lambda: definition.errors(documents["invalid"]),
                ),
                (
                    "oneshot_invalid",
                    "jsonschema.validate(doc, schema) one-shot",
                    "invalid",
                    "hand_invalid",
                    one_shot(documents["invalid"]),
                ),
                (
                    "reused_invalid",
                    "Draft202012Validator reused: iter_errors",
                    "invalid",
                    "hand_invalid",
                    lambda: list(reused.iter_errors(documents["invalid"])),
                ),
                (
                    "reused_formats_invalid",
                    "Draft202012Validator reused + format_checker",
                    "invalid",
                    "hand_invalid",
                    lambda: list(reused_formats.iter_errors(documents["invalid"])),
                ),
            ]
            results = {}
            for key, label, group, baseline, fn in operations:
                stats = measure(
                    fn, rounds=args.rounds, round_ms=args.round_ms, warmup_ms=args.warmup_ms
                )
                results[key] = {"label": label, "document": group, "baseline": baseline, **stats}
                print(f"  measured {key:<24} {stats['median_ns'] / 1000:>9.1f} µs", file=sys.stderr)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    for entry in results.values():
        base = results[entry["baseline"]]
        entry["median_us"] = entry["median_ns"] / 1000
        entry["min_us"] = entry["min_ns"] / 1000
        entry["ops_per_s"] = 1e9 / entry["median_ns"]
        entry["ratio_median"] = entry["median_ns"] / base["median_ns"]
        entry["ratio_min"] = entry["min_ns"] / base["min_ns"]
    elapsed = time.perf_counter() - started

    info = machine()
    print()
    print(
        f"Forms engine benchmark - {FORM_ID} (20 fields) - Python {info['python']}, "
        f"{info['nproc']} CPU ({info['cpu']})"
    )
    print(
        f"{args.rounds} rounds of ~{args.round_ms:.0f} ms per operation; median (min) per call; "
        f"ratio = median / hand-written form's median, r(min) = min / its min; same document"
    )
    header = f"{'document':<8} {'operation':<52} {'µs/call':>9} {'(min)':>9} {'ops/s':>9} {'ratio':>7} {'r(min)':>7}"
    print(header)
    print("-" * len(header))
    for entry in results.values():
        print(
            f"{entry['document']:<8} {entry['label']:<52} {entry['median_us']:>9.1f} "
            f"{entry['min_us']:>9.1f} {entry['ops_per_s']:>9.0f} {entry['ratio_median']:>6.2f}x {entry['ratio_min']:>6.2f}x"
        )
    print(f"\ntotal {elapsed:.1f} s")

    if not args.no_write:
        RESULTS_DIR.mkdir(exist_ok=True)
        stamp = datetime.datetime.now().strftime("%Y-%m-%dT%H%M%S")
        out = RESULTS_DIR / f"forms_engine-{stamp}.json"
        out.write_text(
            json.dumps(
                {
                    "benchmark": "forms_engine",
                    "definition": f"bench/schemas/{FORM_ID}.json",
                    "date": datetime.datetime.now().isoformat(timespec="seconds"),
                    "machine": info,
                    "settings": vars(args),
                    "elapsed_s": round(elapsed, 1),
                    "checks": checks,
                    "documents": {
                        "valid_post": VALID_POST,
                        "invalid_post": INVALID_POST,
                        "valid": documents["valid"],
                        "invalid": documents["invalid"],
                    },
                    "results": results,
                },
                indent=2,
                ensure_ascii=False,
            )
            + "\n",
            encoding="utf-8",
        )
        print(f"written {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
