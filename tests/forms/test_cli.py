"""``flask forms validate ID FILE.json``: errors keyed by WTForms field names, in French."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "forms" / "examples"
TEST_SCHEMAS = ROOT / "tests" / "schemas"


def example(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def write_document(tmp_path: Path, document) -> str:
    path = tmp_path / "document.json"
    path.write_text(
        document if isinstance(document, str) else json.dumps(document, ensure_ascii=False),
        encoding="utf-8",
    )
    return str(path)


def validate(runner, form_id: str, path: str):
    result = runner.invoke(args=["forms", "validate", form_id, path])
    return result


@pytest.mark.parametrize("form_id", ["demande-creation-compte", "demande-support"])
def test_a_shipped_example_is_valid_prints_an_empty_object_and_exits_0(runner, form_id):
    result = validate(runner, form_id, str(EXAMPLES / f"{form_id}.json"))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {}


def test_every_shipped_example_has_its_definition(app):
    forms = app.extensions["forms"]
    for path in EXAMPLES.glob("*.json"):
        assert path.stem in forms


def test_an_invalid_nested_field_is_reported_under_its_wtforms_name(runner, tmp_path):
    document = example("demande-creation-compte")
    document["etablissement"]["code_postal"] = "4450"
    del document["utilisateur"]["nom"]
    result = validate(runner, "demande-creation-compte", write_document(tmp_path, document))
    assert result.exit_code == 1
    errors = json.loads(result.output)
    assert errors == {
        "etablissement-code_postal": [
            "Le code postal n'est pas valide : il doit comporter 5 chiffres et correspondre à une commune."
        ],
        "utilisateur-nom": ["Ce champ est obligatoire."],
    }


def test_an_error_in_an_item_of_a_repeated_group_is_named_with_its_index(make_app, tmp_path):
    app = make_app(FORMS_SCHEMAS_DIR=str(TEST_SCHEMAS))
    document = json.loads(
        (TEST_SCHEMAS / "examples" / "inscription-atelier.json").read_text(encoding="utf-8")
    )
    document["salaries"] = [{"nom": "Durand", "prenom": "Paul"}, {"prenom": "Léa"}]
    result = app.test_cli_runner().invoke(
        args=["forms", "validate", "inscription-atelier", write_document(tmp_path, document)]
    )
    assert result.exit_code == 1
    assert json.loads(result.output) == {"salaries-1-nom": ["Ce champ est obligatoire."]}


def test_the_test_example_document_is_valid(make_app):
    app = make_app(FORMS_SCHEMAS_DIR=str(TEST_SCHEMAS))
    result = app.test_cli_runner().invoke(
        args=[
            "forms",
            "validate",
            "inscription-atelier",
            str(TEST_SCHEMAS / "examples" / "inscription-atelier.json"),
        ]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {}


def test_messages_are_printed_in_readable_french_not_escaped(runner, tmp_path):
    document = example("demande-support")
    document["sujet"] = "inconnu"
    result = validate(runner, "demande-support", write_document(tmp_path, document))
    assert result.exit_code == 1
    assert "Choisissez une des valeurs proposées." in result.output
    assert json.loads(result.output) == {"sujet": ["Choisissez une des valeurs proposées."]}


def test_a_conditional_requirement_is_reported_on_the_missing_field(runner, tmp_path):
    document = example("demande-support")
    del document["telephone"]
    result = validate(runner, "demande-support", write_document(tmp_path, document))
    assert result.exit_code == 1
    assert json.loads(result.output) == {"telephone": ["Ce champ est obligatoire."]}


def test_an_unexpected_property_is_reported_for_the_form_as_a_whole(runner, tmp_path):
    document = example("demande-support")
    document["pirate"] = "x"
    result = validate(runner, "demande-support", write_document(tmp_path, document))
    assert result.exit_code == 1
    assert json.loads(result.output) == {"": ["Le formulaire contient des champs inattendus."]}


def test_an_unknown_form_id_exits_2(runner, tmp_path):
    result = validate(runner, "formulaire-inexistant", write_document(tmp_path, {}))
    assert result.exit_code == 2
    assert "Formulaire inconnu : formulaire-inexistant" in result.output


def test_a_file_that_is_not_json_exits_1_with_a_message(runner, tmp_path):
    result = validate(runner, "demande-support", write_document(tmp_path, "{pas du json"))
    assert result.exit_code == 1
    assert "JSON invalide" in json.loads(result.output)[""][0]


def test_a_json_document_that_is_not_an_object_exits_1(runner, tmp_path):
    result = validate(runner, "demande-support", write_document(tmp_path, "[]"))
    assert result.exit_code == 1
    assert json.loads(result.output) == {"": ["Le document doit être un objet JSON."]}


def test_a_missing_file_is_a_usage_error(runner, tmp_path):
    result = validate(runner, "demande-support", str(tmp_path / "absent.json"))
    assert result.exit_code == 2
