"""Forms in steps (forms/etapes.py): pages, one step validated alone, the final check."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from forms import etapes
from forms.registry import build_registry

FORM_ID = "demande-en-etapes"


@pytest.fixture
def definition(atelier_app):
    return atelier_app.extensions["forms"][FORM_ID]


@pytest.fixture
def contexte(atelier_app):
    with atelier_app.test_request_context():
        yield


def complete() -> dict:
    return {
        "objet": "Baisse d'activité",
        "demandeur": {"nom": "Gérard", "courriel": "mathilde@exemple.fr"},
        "etablissement": {"siret": "73282932000074", "effectif": 12, "salaries_concernes": False},
        "periode": {"date_debut": "2026-12-01", "motif": "conjoncture"},
    }


def one_section_definition(**extra):
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://activite-partielle.localhost/formulaires/essai",
        "x-version": 1,
        "title": "Essai",
        "type": "object",
        "properties": {
            "question": {"type": "string", "title": "Question libre"},
            "a": {"type": "object", "title": "A", "properties": {"x": {"type": "string"}}},
            "b": {
                "type": "object",
                "title": "B",
                "x-ui": {"step": True},
                "properties": {"y": {"type": "string"}},
            },
            **extra,
        },
    }
    return build_registry({"essai": schema})["essai"]


# -- pages ------------------------------------------------------------------------------------


def test_every_top_level_section_is_a_page_when_one_is_marked_as_a_step():
    pages = etapes.etapes(one_section_definition())
    assert [(p.numero, p.titre) for p in pages] == [(1, "A"), (2, "B")]


def test_top_level_questions_that_are_not_sections_go_on_the_first_page():
    pages = etapes.etapes(one_section_definition())
    assert pages[0].noms == ("question", "a")
    assert pages[1].noms == ("b",)


def test_a_definition_without_steps_has_no_pages(atelier_app):
    atelier = atelier_app.extensions["forms"]["inscription-atelier"]
    assert not etapes.en_etapes(atelier)
    assert etapes.etapes(atelier) == []


def test_the_test_definition_has_three_pages_titled_by_their_sections(definition):
    assert [p.titre for p in etapes.etapes(definition)] == [
        "Vous",
        "Votre établissement",
        "La période",
    ]
    assert etapes.etape(definition, 4) is None and etapes.etape(definition, 0) is None


def test_a_field_belongs_to_the_page_of_its_top_level_property(definition):
    assert etapes.etape_du_champ(definition, "objet").numero == 1
    assert etapes.etape_du_champ(definition, "etablissement-siret").numero == 2
    assert etapes.etape_du_champ(definition, "").numero == 1


# -- one step validated alone -----------------------------------------------------------------


def test_a_step_reports_only_its_own_errors(definition, contexte):
    page = etapes.etape(definition, 1)
    outcome = etapes.submit(definition, page, MultiDict({"objet": "x"}), {})
    assert not outcome.valid
    assert set(outcome.errors) == {"objet", "demandeur-nom", "demandeur-courriel"}
    assert outcome.errors["objet"] == ["Ce champ doit contenir au moins 3 caractère(s)."]


def test_a_valid_step_is_merged_into_the_draft_without_touching_the_other_steps(
    definition, contexte
):
    draft = {"periode": {"motif": "sinistre"}}
    post = MultiDict(
        {
            "objet": "Baisse d'activité",
            "demandeur-nom": "Gérard",
            "demandeur-courriel": " Mathilde@Exemple.fr ",
        }
    )
    outcome = etapes.submit(definition, etapes.etape(definition, 1), post, draft)
    assert outcome.valid, outcome.errors
    assert outcome.data == {
        "periode": {"motif": "sinistre"},
        "objet": "Baisse d'activité",
        "demandeur": {"nom": "Gérard", "courriel": "Mathilde@exemple.fr"},
    }
    assert draft == {"periode": {"motif": "sinistre"}}  # the caller's dict is not changed


def test_a_step_with_errors_still_returns_what_was_typed(definition, contexte):
    post = MultiDict({"etablissement-siret": "123", "etablissement-effectif": "douze"})
    outcome = etapes.submit(definition, etapes.etape(definition, 2), post, {"objet": "Baisse"})
    assert outcome.errors["etablissement-effectif"] == ["Saisissez un nombre entier."]
    assert len(outcome.errors["etablissement-siret"]) == 1
    assert outcome.data["etablissement"]["siret"] == "123"
    assert outcome.form.etablissement.form.effectif.data == "douze"
    assert outcome.data["objet"] == "Baisse"


def test_a_condition_inside_a_step_is_checked_with_that_step(definition, contexte):
    post = MultiDict(
        {
            "etablissement-siret": "73282932000074",
            "etablissement-effectif": "12",
            "etablissement-salaries_concernes": "true",
        }
    )
    outcome = etapes.submit(definition, etapes.etape(definition, 2), post, {})
    assert outcome.errors == {"etablissement-nombre_concernes": ["Ce champ est obligatoire."]}
    post["etablissement-salaries_concernes"] = "false"
    post["etablissement-nombre_concernes"] = "4"
    outcome = etapes.submit(definition, etapes.etape(definition, 2), post, {})
    assert outcome.valid
    assert "nombre_concernes" not in outcome.data["etablissement"]  # hidden: not kept


def test_a_top_level_condition_naming_another_page_uses_the_draft(contexte):
    definition = one_section_definition(
        c={"type": "object", "title": "C", "properties": {"z": {"type": "string"}}},
    )
    schema = dict(definition.schema)
    schema["if"] = {"properties": {"question": {"const": "oui"}}, "required": ["question"]}
    schema["then"] = {"required": ["c"]}
    definition = build_registry({"essai": schema})["essai"]
    page_c = etapes.etape(definition, 3)
    outcome = etapes.submit(definition, page_c, MultiDict({}), {"question": "oui"})
    assert outcome.errors == {"c": ["Ce champ est obligatoire."]}
    outcome = etapes.submit(definition, page_c, MultiDict({}), {"question": "non"})
    assert outcome.valid


def test_clearing_an_answer_removes_it_from_the_draft(definition, contexte):
    draft = complete()
    post = MultiDict({"periode-date_debut": "", "periode-motif": "autre"})
    outcome = etapes.submit(definition, etapes.etape(definition, 3), post, draft)
    assert "date_debut" not in outcome.data["periode"]
    assert outcome.errors == {"periode-date_debut": ["Ce champ est obligatoire."]}


def test_a_stored_step_is_shown_again_with_its_values(definition, contexte):
    form = etapes.new_form(definition, etapes.etape(definition, 2), complete())
    assert form.etablissement.form.siret.data == "73282932000074"
    assert form.etablissement.form.effectif.data == 12
    assert "objet" not in form._fields  # another page's question is not on this one


# -- the final check --------------------------------------------------------------------------


def test_the_final_document_is_checked_by_the_full_validator(definition):
    document, errors = etapes.document_final(definition, complete())
    assert errors == {}
    assert document == complete()
    incomplete = complete()
    del incomplete["periode"]
    _, errors = etapes.document_final(definition, incomplete)
    assert errors == {"periode": ["Ce champ est obligatoire."]}
    assert etapes.premiere_etape_en_erreur(definition, incomplete) == 3


def test_answers_a_newer_version_no_longer_asks_are_dropped(definition):
    data = complete()
    data["demandeur"]["ancienne_question"] = "x"
    data["question_retiree"] = 3
    assert etapes.conformer(definition, data) == complete()


def test_the_check_page_lists_each_answer_with_its_label_and_its_field(definition):
    data = complete()
    data["etablissement"]["salaries_concernes"] = True
    data["etablissement"]["nombre_concernes"] = 4
    lines = etapes.reponses(definition, etapes.etape(definition, 2), data)
    assert [(r.libelle, r.valeur, r.champ) for r in lines] == [
        ("N° de Siret", "73282932000074", "etablissement-siret"),
        ("Effectif", "12", "etablissement-effectif"),
        ("Des salariés sont-ils concernés ?", "Oui", "etablissement-salaries_concernes"),
        ("Nombre de salariés concernés", "4", "etablissement-nombre_concernes"),
    ]
    lines = etapes.reponses(definition, etapes.etape(definition, 3), data)
    assert [(r.libelle, r.valeur) for r in lines] == [
        ("Date de début", "01/12/2026"),
        ("Motif", "Conjoncture économique"),
        ("Commentaire", "Non renseigné"),
    ]


def test_a_page_whose_section_is_hidden_by_a_condition_is_not_shown_and_not_kept():
    definition = one_section_definition(
        c={"type": "object", "title": "C", "properties": {"z": {"type": "string"}}},
    )
    schema = dict(definition.schema)
    schema["if"] = {"properties": {"question": {"const": "oui"}}, "required": ["question"]}
    schema["then"] = {"required": ["c"]}
    definition = build_registry({"essai": schema})["essai"]
    page_c = etapes.etape(definition, 3)
    assert etapes.etape_visible(definition, page_c, {"question": "oui"})
    assert not etapes.etape_visible(definition, page_c, {"question": "non"})
    document, errors = etapes.document_final(definition, {"question": "non", "c": {"z": "1"}})
    assert document == {"question": "non"} and errors == {}
