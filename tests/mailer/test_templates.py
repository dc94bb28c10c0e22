"""The mail templates against their catalogue: pure Jinja, no application needed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from mailer.catalogue import TEMPLATES, MailTemplate

ROOT = Path(__file__).resolve().parents[2] / "mailer" / "templates"
MAIL = ROOT / "mail"
HOSTILE = "<script>alert(1)</script>"
GLOBALS = {
    "site_name": "Activité partielle",
    "support_email": "contact-ap@asp-public.fr",
    "site_url": "http://127.0.0.1:5000",
}

# One sample value per context key used by the catalogue; a new key needs a sample here.
SAMPLES = {
    "nom": "GERARD",
    "prenom": "Mathilde",
    "identifiant": "AP0012345",
    "siret": "00578096000042",
    "denomination": "SOCIETE IMMOBILIERE TOURISTIQUE",
    "lien": "http://127.0.0.1:5000/mot-de-passe/choisir/jeton-a-usage-unique",
    "expiration": "2026-03-16T14:30:00",
    "motif": "Le SIRET ne correspond pas à la dénomination.\nMerci de vérifier votre saisie.",
    "nouveau_referent": "Paul DURAND",
    "ajoute_par": "Mathilde GERARD",
    "retire_par": "Mathilde GERARD",
    "numero_dap": "06320000123",
    "date_depot": "2026-03-16",
    "date_acceptation_implicite": "2026-03-31",
    "delai_jours": 15,
    "periode_debut": "2026-03-16",
    "periode_fin": "2026-09-15",
    "heures_autorisees": 1607,
    "elements_a_completer": ["Motif de recours", "Avis du CSE"],
    "date_acceptation": "2026-03-31",
    "date_limite": "2026-05-16",
    "numero_di": "0632000012301",
    "mois": "2026-04",
    "montant": "1 234,56 €",
    "date_paiement": "2026-05-12",
    "reference": "SUP-2026-000042",
    "titre_formulaire": "Inscription à un atelier d'information",
    "message": "Bonjour,\nVotre compte a été débloqué.\n\nCordialement",
    "comptes": [
        {
            "identifiant": "mgerard",
            "nom": "GERARD",
            "prenom": "Mathilde",
            "etablissements": [
                {"siret": "00578096000042", "denomination": "SOCIETE IMMOBILIERE TOURISTIQUE"},
                {"siret": "73282932000074", "denomination": "CAFE DU PORT"},
            ],
        },
        {"identifiant": "pdurand", "nom": "DURAND", "prenom": "Paul", "etablissements": []},
    ],
}

MOIS = [
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
]


def date_fr(value: str) -> str:
    year, month, day = value[:10].split("-")
    return f"{int(day)} {MOIS[int(month) - 1]} {year}"


def datetime_fr(value: str) -> str:
    return f"{date_fr(value)} à {value[11:13]}h{value[14:16]}"


@pytest.fixture(scope="module")
def env() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(str(ROOT)),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    environment.filters["date_fr"] = date_fr
    environment.filters["datetime_fr"] = datetime_fr
    return environment


def sample(template: MailTemplate, **overrides) -> dict:
    context = {key: SAMPLES[key] for key in template.context}
    context.update(overrides)
    return {**context, **GLOBALS}


def render(env: Environment, name: str, context: dict) -> tuple[str, str, str]:
    return tuple(
        env.get_template(f"mail/{name}.{part}").render(context)
        for part in ("subject.txt", "txt", "html")
    )


ALL = sorted(TEMPLATES)


def test_catalogue_is_consistent():
    assert ALL, "empty catalogue"
    for name, template in TEMPLATES.items():
        assert template.name == name
        assert template.description.strip()
        assert isinstance(template.context, tuple)
        assert len(set(template.context)) == len(template.context), name
        assert set(template.context) <= set(SAMPLES), f"{name}: no sample for a context key"
        assert not set(template.context) & set(GLOBALS), f"{name}: a context key shadows a global"


def test_every_entry_has_its_three_files_and_no_file_is_orphaned():
    for name in ALL:
        for part in ("subject.txt", "txt", "html"):
            assert (MAIL / f"{name}.{part}").is_file(), f"missing {name}.{part}"
    for path in MAIL.iterdir():
        if path.name.startswith("_"):
            continue
        name = path.name.split(".")[0]
        assert name in TEMPLATES, f"{path.name} has no catalogue entry"


def test_every_template_file_parses(env):
    files = sorted(p for p in MAIL.iterdir() if p.is_file())
    assert any(p.name == "_base.html" for p in files)
    assert any(p.name == "_base.txt" for p in files)
    for path in files:
        env.parse(path.read_text(encoding="utf-8"), name=path.name)


@pytest.mark.parametrize("name", ALL)
def test_renders_with_exactly_its_declared_keys(env, name):
    """StrictUndefined: any key used but not declared in the catalogue fails here."""
    subject, text, html = render(env, name, sample(TEMPLATES[name]))
    assert subject.strip()
    for body in (text, html):
        assert "Ce message vous est envoyé automatiquement, merci de ne pas y répondre." in body
        assert "Besoin d'aide ? Contactez le support technique" in body
        assert GLOBALS["support_email"] in body
        assert GLOBALS["site_name"] in body
    assert html.lstrip().startswith("<!DOCTYPE html>")
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert "<link" not in html.lower()


@pytest.mark.parametrize("name", ALL)
def test_subject_is_one_french_line(env, name):
    subject = env.get_template(f"mail/{name}.subject.txt").render(sample(TEMPLATES[name]))
    assert subject.strip()
    assert "\n" not in subject.strip() and "\r" not in subject
    assert len(subject) < 150
    assert re.search(r"[àâéèêîôûç]|\b(de|du|la|le|votre|vos|à|d')\b", subject, re.I), subject


@pytest.mark.parametrize("name", ALL)
def test_greeting(env, name):
    template = TEMPLATES[name]
    _, text, html = render(env, name, sample(template))
    if {"nom", "prenom"} <= set(template.context):
        assert "Bonjour Mathilde GERARD," in text
        assert "Bonjour Mathilde GERARD," in html
    else:
        assert "Madame, Monsieur," in text
        assert "Madame, Monsieur," in html


def test_greeting_falls_back_when_names_are_empty(env):
    context = sample(TEMPLATES["habilitation"], nom="", prenom=None)
    _, text, html = render(env, "habilitation", context)
    assert "Madame, Monsieur," in text and "Madame, Monsieur," in html
    assert "Bonjour" not in text


@pytest.mark.parametrize("name", ALL)
def test_html_escapes_hostile_values(env, name):
    template = TEMPLATES[name]
    hostile = {key: HOSTILE for key in template.context if isinstance(SAMPLES[key], str)}
    # Values fed to filters must stay parseable dates.
    for key in template.context:
        if key.startswith(("date_", "periode_")) or key in ("expiration", "mois"):
            hostile.pop(key, None)
    hostile.pop("lien", None)
    _, _, html = render(env, name, sample(template, **hostile))
    assert HOSTILE not in html
    if hostile:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_hostile_denomination_and_message_are_escaped(env):
    _, text, html = render(
        env, "habilitation", sample(TEMPLATES["habilitation"], denomination=HOSTILE)
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and HOSTILE not in html
    assert HOSTILE in text  # plain text is not HTML: kept verbatim

    message = f"Première ligne\n{HOSTILE}\r\nTroisième ligne"
    _, text, html = render(
        env, "reponse_support", sample(TEMPLATES["reponse_support"], message=message)
    )
    assert "Première ligne<br>&lt;script&gt;alert(1)&lt;/script&gt;<br>Troisième ligne" in html
    assert HOSTILE not in html
    assert "Première ligne\n" in text


def test_list_of_elements_is_shown_as_a_list(env):
    elements = ["Motif de recours", HOSTILE]
    _, text, html = render(
        env,
        "dap_invalidee",
        sample(TEMPLATES["dap_invalidee"], elements_a_completer=elements),
    )
    assert "- Motif de recours\n" in text
    assert f"- {HOSTILE}" in text
    assert html.count("<li") == 2
    assert "&lt;script&gt;" in html and HOSTILE not in html


def test_identifiant_never_carries_a_password(env):
    subject, text, html = render(env, "identifiant", sample(TEMPLATES["identifiant"]))
    for body in (subject, text, html):
        assert not re.search(r"mot de passe\s*:\s*\S", body, re.I)
        assert "mot de passe" not in subject.lower()
    assert SAMPLES["identifiant"] in text and SAMPLES["identifiant"] in html
    assert "courriel distinct" in text


def test_mot_de_passe_carries_the_link_and_its_expiry(env):
    _, text, html = render(env, "mot_de_passe", sample(TEMPLATES["mot_de_passe"]))
    assert SAMPLES["lien"] in text
    assert f'href="{SAMPLES["lien"]}"' in html
    assert "16 mars 2026 à 14h30" in text and "16 mars 2026 à 14h30" in html
    assert "jamais" in text


def test_habilitation_subject_and_no_credentials(env):
    subject, text, html = render(env, "habilitation", sample(TEMPLATES["habilitation"]))
    assert subject.strip() == "Habilitation à l'activité partielle"
    for body in (text, html):
        assert not re.search(r"(mot de passe|identifiant)\s*:\s*\S", body, re.I)


def test_dap_deposee_states_delay_and_implicit_date(env):
    _, text, html = render(env, "dap_deposee", sample(TEMPLATES["dap_deposee"]))
    assert "15 jours" in text and "31 mars 2026" in text and "instruction" in text
    assert "15 jours" in html and "31 mars 2026" in html
    _, text, _ = render(env, "dap_deposee", sample(TEMPLATES["dap_deposee"], delai_jours=2))
    assert "2 jours" in text


def test_formats(env):
    _, text, html = render(env, "dap_acceptee", sample(TEMPLATES["dap_acceptee"]))
    assert "1\u00a0607 heures" in text and "du 16 mars 2026 au 15 septembre 2026" in text
    assert "1\u00a0607 heures" in html
    _, text, _ = render(env, "di_deposee", sample(TEMPLATES["di_deposee"]))
    assert "au titre du mois d'avril 2026" in text and "Mois concerné : avril 2026" in text
    _, text, html = render(env, "di_deposee", sample(TEMPLATES["di_deposee"], mois="2026-03"))
    assert "au titre du mois de mars 2026" in text
    assert "au titre du mois de mars 2026" in html
    _, text, _ = render(env, "di_payee", sample(TEMPLATES["di_payee"]))
    assert "1 234,56 €" in text and "12 mai 2026" in text
