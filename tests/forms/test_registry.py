"""Loading and checking form definitions: what is accepted, and what is refused with its file
and JSON path named (forms.registry, forms.vocabulary, ``flask forms check``)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from app import create_app
from forms import engine
from forms.registry import DefinitionError, load_folder
from forms.vocabulary import json_path

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "forms" / "schemas"
TEST_SCHEMAS = ROOT / "tests" / "schemas"
BASE = "https://activite-partielle.localhost/formulaires/"
DRAFT_2020 = "https://json-schema.org/draft/2020-12/schema"
DRAFT_07 = "http://json-schema.org/draft-07/schema#"


def definition(form_id: str = "essai", properties: dict | None = None, **extra) -> dict:
    schema = {
        "$schema": DRAFT_2020,
        "$id": BASE + form_id,
        "x-version": 1,
        "title": "Essai",
        "type": "object",
        "additionalProperties": False,
        "properties": properties
        if properties is not None
        else {"nom": {"type": "string", "title": "Nom"}},
    }
    schema.update(extra)
    return schema


def write(folder: Path, name: str, content) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def refusal(tmp_path: Path, schema, name: str = "essai") -> tuple[str, DefinitionError]:
    """Load a folder holding only ``schema``; return the error's text (it must be refused)."""
    folder = tmp_path / "definitions"
    path = write(folder, name, schema)
    with pytest.raises(DefinitionError) as caught:
        load_folder(folder)
    assert str(path) in str(caught.value), "the refused file is named"
    return str(caught.value), caught.value


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


# -- what ships ---------------------------------------------------------------------------------


def test_every_shipped_definition_loads_and_builds_its_form():
    registry = load_folder(SHIPPED)
    ids = {definition.id for definition in registry}
    assert ids == {path.stem for path in SHIPPED.glob("*.json")}
    assert {"demande-creation-compte", "demande-support"} <= ids
    for definition in registry:
        assert definition.tree, definition.id
        assert definition.form_class is not None


def test_flask_forms_check_passes_on_the_shipped_definitions(runner):
    result = runner.invoke(args=["forms", "check"])
    assert result.exit_code == 0, result.output
    assert "ok  demande-creation-compte v2" in result.output
    assert "ok  demande-support v1" in result.output


def test_flask_forms_check_passes_on_the_test_definitions(runner):
    result = runner.invoke(args=["forms", "check", "--dir", str(TEST_SCHEMAS)])
    assert result.exit_code == 0, result.output
    assert "ok  inscription-atelier v3" in result.output


def test_flask_forms_check_fails_naming_the_file_and_path_of_a_broken_definition(runner, tmp_path):
    folder = tmp_path / "definitions"
    path = write(
        folder,
        "essai",
        definition(properties={"nom": {"type": "string", "anyOf": [{"minLength": 1}]}}),
    )
    result = runner.invoke(args=["forms", "check", "--dir", str(folder)])
    assert result.exit_code == 1
    assert str(path) in result.output
    assert "$.properties.nom['anyOf']" in result.output


def test_the_app_does_not_start_with_a_broken_definition_and_names_its_file(make_app, tmp_path):
    folder = tmp_path / "definitions"
    write(folder, "bonne", definition("bonne"))
    broken = write(folder, "cassee", definition("cassee", properties={"nom": {"type": "strng"}}))
    with pytest.raises(DefinitionError) as caught:
        make_app(FORMS_SCHEMAS_DIR=str(folder))
    assert caught.value.source == str(broken)
    assert "$.properties.nom.type" in str(caught.value)


def test_create_app_itself_refuses_a_folder_with_invalid_json(tmp_path):
    folder = tmp_path / "definitions"
    broken = write(folder, "essai", '{"$schema": "https://json-schema.org/draft/2020-12/schema",')
    with pytest.raises(DefinitionError) as caught:
        create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "x",
                "FORMS_SCHEMAS_DIR": str(folder),
                "SQLALCHEMY_DATABASE_URI": "sqlite://",
                "UPLOADS_DIR": str(tmp_path / "u"),
            }
        )
    assert str(broken) in str(caught.value)
    assert "JSON invalide" in str(caught.value)


# -- refusals, each with its path ---------------------------------------------------------------


def test_invalid_json_is_refused_with_its_file_named(tmp_path):
    text, error = refusal(tmp_path, '{"title": "Essai", ')
    assert "JSON invalide" in text
    assert error.problems[0].path == "$"


def test_a_json_document_that_is_not_an_object_is_refused(tmp_path):
    text, _ = refusal(tmp_path, "[1, 2]")
    assert "une définition est un objet JSON" in text


@pytest.mark.parametrize(
    "draft", [None, "http://json-schema.org/draft-04/schema#", "https://example.org/mon-schema"]
)
def test_an_unknown_or_missing_schema_keyword_is_refused(tmp_path, draft):
    schema = definition()
    if draft is None:
        del schema["$schema"]
    else:
        schema["$schema"] = draft
    text, error = refusal(tmp_path, schema)
    assert error.problems[0].path == "$.$schema"
    assert "draft 2020-12 ou draft-07" in text


def test_a_metaschema_failure_is_refused_with_the_path_of_the_wrong_value(tmp_path):
    text, error = refusal(tmp_path, definition(properties={"nom": {"type": "strng"}}))
    assert error.problems[0].path == "$.properties.nom.type"
    assert "métaschéma" in text


@pytest.mark.parametrize(
    ("node", "keyword"),
    [
        ({"type": "string", "anyOf": [{"minLength": 1}, {"maxLength": 3}]}, "anyOf"),
        ({"type": "string", "not": {"const": "x"}}, "not"),
        ({"type": "object", "patternProperties": {"^a": {"type": "string"}}}, "patternProperties"),
        (
            {
                "type": "array",
                "prefixItems": [{"type": "string"}],
                "items": {"type": "string", "enum": ["a"]},
                "uniqueItems": True,
            },
            "prefixItems",
        ),
        ({"type": "string", "contentEncoding": "base64"}, "contentEncoding"),
        ({"type": "string", "minimum": 3}, "minimum"),
    ],
)
def test_a_keyword_the_engine_cannot_render_is_refused_with_its_path(tmp_path, node, keyword):
    text, error = refusal(tmp_path, definition(properties={"champ": node}))
    paths = [problem.path for problem in error.problems]
    assert json_path(("properties", "champ", keyword)) in paths, text
    assert "non pris en charge" in text


def test_an_unknown_x_keyword_is_refused_with_its_path(tmp_path):
    text, error = refusal(
        tmp_path, definition(properties={"nom": {"type": "string", "x-couleur": "bleu"}})
    )
    assert [p.path for p in error.problems] == ["$.properties.nom['x-couleur']"]
    assert "mot-clé x- inconnu : 'x-couleur'" in text


def test_an_unknown_x_keyword_at_the_root_is_refused(tmp_path):
    _text, error = refusal(tmp_path, definition(**{"x-workflow": "instruction"}))
    assert "$['x-workflow']" in [p.path for p in error.problems]


def test_an_unknown_x_ui_key_is_refused_with_its_path(tmp_path):
    text, error = refusal(
        tmp_path, definition(properties={"nom": {"type": "string", "x-ui": {"couleur": "rouge"}}})
    )
    assert "$.properties.nom['x-ui'].couleur" in [p.path for p in error.problems]
    assert "indication d'affichage inconnue : 'couleur'" in text


def test_a_widget_that_does_not_fit_the_type_is_refused(tmp_path):
    text, _error = refusal(
        tmp_path,
        definition(properties={"age": {"type": "integer", "x-ui": {"widget": "textarea"}}}),
    )
    assert "widget 'textarea' impossible pour le type integer" in text


@pytest.mark.parametrize(
    "ref",
    [
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "https://example.org/schema.json#/$defs/x",
    ],
)
def test_a_remote_or_file_ref_is_refused_without_any_network_access(tmp_path, no_network, ref):
    text, error = refusal(tmp_path, definition(properties={"champ": {"$ref": ref}}))
    assert "$.properties.champ['$ref']" in [p.path for p in error.problems]
    assert "référence introuvable" in text
    assert no_network == []
    assert "root:" not in text  # nothing of /etc/passwd was read into the message


def test_a_relative_file_ref_is_refused(tmp_path):
    _text, error = refusal(
        tmp_path, definition(properties={"champ": {"$ref": "autre.json#/$defs/x"}})
    )
    assert "$.properties.champ['$ref']" in [p.path for p in error.problems]


def test_a_circular_ref_is_refused(tmp_path):
    schema = definition(
        properties={"champ": {"$ref": "#/$defs/a"}},
        **{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}},
    )
    text, error = refusal(tmp_path, schema)
    assert "référence circulaire" in text
    assert "$.properties.champ['$ref']" in [p.path for p in error.problems]


def test_a_self_recursive_section_is_refused(tmp_path):
    schema = definition(
        properties={"arbre": {"$ref": "#/$defs/noeud"}},
        **{
            "$defs": {
                "noeud": {"type": "object", "properties": {"enfant": {"$ref": "#/$defs/noeud"}}}
            }
        },
    )
    text, _ = refusal(tmp_path, schema)
    assert "référence circulaire '#/$defs/noeud'" in text


def test_an_invalid_regular_expression_is_refused_with_its_path(tmp_path):
    _text, error = refusal(
        tmp_path, definition(properties={"code": {"type": "string", "pattern": "("}})
    )
    assert error.problems[0].path == "$.properties.code.pattern"


@pytest.mark.parametrize("name", ["data", "errors", "meta", "validate", "csrf_token", "submit"])
def test_a_property_name_that_shadows_the_form_api_is_refused(tmp_path, name):
    text, error = refusal(tmp_path, definition(properties={name: {"type": "string"}}))
    assert f"$.properties.{name}" in [p.path for p in error.problems]
    assert f"nom de propriété réservé par le moteur : {name!r}" in text


@pytest.mark.parametrize(
    "name", ["__class__", "a'b\"c", "nom-complet", "Nom", "1er", "nom__x", "é", ""]
)
def test_a_property_name_that_is_not_a_plain_identifier_is_refused(tmp_path, name):
    text, error = refusal(tmp_path, definition(properties={name: {"type": "string"}}))
    assert any(p.message.startswith("nom de propriété invalide") for p in error.problems), text


def test_a_reserved_name_is_refused_inside_a_section_too(tmp_path):
    schema = definition(
        properties={"bloc": {"type": "object", "properties": {"errors": {"type": "string"}}}}
    )
    _text, error = refusal(tmp_path, schema)
    assert "$.properties.bloc.properties.errors" in [p.path for p in error.problems]


@pytest.mark.parametrize("value", [True, {"type": "string"}])
def test_additional_properties_other_than_false_is_refused(tmp_path, value):
    _text, error = refusal(tmp_path, definition(additionalProperties=value))
    assert json_path(("additionalProperties",)) in [p.path for p in error.problems]


@pytest.mark.parametrize(
    "block",
    [
        {"if": {"properties": {"a": {"minLength": 3}}}, "then": {"required": ["b"]}},
        {"if": {"required": ["a"]}, "then": {"required": ["b"]}},
        {"if": {"properties": {"inconnu": {"const": "x"}}}, "then": {"required": ["b"]}},
        {
            "if": {"properties": {"a": {"const": "x"}}, "anyOf": [{"required": ["a"]}]},
            "then": {"required": ["b"]},
        },
        {"if": True, "then": {"required": ["b"]}},
    ],
)
def test_an_unsupported_if_shape_is_refused(tmp_path, block):
    schema = definition(properties={"a": {"type": "string"}, "b": {"type": "string"}}, **block)
    text, error = refusal(tmp_path, schema)
    assert "$.if" in [p.path for p in error.problems], text


@pytest.mark.parametrize(
    "then",
    [
        {"required": ["b"], "properties": {"b": {"minLength": 2}}, "minProperties": 2},
        {"required": ["inconnu"]},
    ],
)
def test_an_unsupported_then_branch_is_refused(tmp_path, then):
    schema = definition(
        properties={"a": {"type": "string"}, "b": {"type": "string"}},
        **{"if": {"properties": {"a": {"const": "x"}}}, "then": then},
    )
    text, error = refusal(tmp_path, schema)
    assert "$.then" in [p.path for p in error.problems], text


def test_required_naming_an_undeclared_property_is_refused(tmp_path):
    text, _error = refusal(tmp_path, definition(required=["absent"]))
    assert "'absent' est obligatoire mais n'est pas une propriété" in text


def test_a_file_named_otherwise_than_its_id_is_refused(tmp_path):
    _text, error = refusal(tmp_path, definition("autre-nom"), name="essai")
    assert "$.$id" in [p.path for p in error.problems]


def test_every_problem_of_a_file_is_listed_not_only_the_first(tmp_path):
    schema = definition(
        properties={
            "a": {"type": "string", "not": {}},
            "data": {"type": "string"},
            "c": {"type": "string", "x-ui": {"couleur": "rouge"}},
        }
    )
    _text, error = refusal(tmp_path, schema)
    assert len(error.problems) == 3


@pytest.mark.parametrize("missing", ["$id", "x-version", "title"])
def test_a_definition_without_its_mandatory_keywords_is_refused(tmp_path, missing):
    schema = definition()
    del schema[missing]
    text, _ = refusal(tmp_path, schema)
    assert repr(missing) in text


# -- drafts, $ref and $defs ---------------------------------------------------------------------


def _draft07(**extra) -> dict:
    schema = {
        "$schema": DRAFT_07,
        "$id": BASE + "ancien",
        "x-version": 2,
        "title": "Ancien brouillon",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "telephone": {"type": "string", "title": "Téléphone", "format": "telephone"},
            "creneau": {"type": "string", "title": "Créneau", "enum": ["matin", "soir"]},
            "adresse": {"$ref": "#/definitions/adresse"},
        },
        "dependencies": {"telephone": ["creneau"]},
        "definitions": {
            "adresse": {
                "type": "object",
                "title": "Adresse",
                "required": ["ville"],
                "properties": {"ville": {"type": "string", "title": "Ville", "minLength": 1}},
            },
        },
    }
    schema.update(extra)
    return schema


def test_a_draft_07_definition_loads_with_definitions_and_ref(tmp_path):
    folder = tmp_path / "definitions"
    write(folder, "ancien", _draft07())
    definition_07 = load_folder(folder)["ancien"]
    section = next(spec for spec in definition_07.tree if spec.name == "adresse")
    assert section.kind == "section"
    assert [child.name for child in section.children] == ["ville"]
    assert definition_07.errors({"adresse": {}}) == {"adresse-ville": ["Ce champ est obligatoire."]}


def test_draft_07_dependencies_list_form_makes_a_field_required(tmp_path):
    folder = tmp_path / "definitions"
    write(folder, "ancien", _draft07())
    definition_07 = load_folder(folder)["ancien"]
    assert definition_07.errors({"telephone": "+33123456789"}) == {
        "creneau": ["Ce champ est obligatoire."]
    }
    assert definition_07.errors({"telephone": "+33123456789", "creneau": "matin"}) == {}
    assert definition_07.errors({}) == {}


def test_draft_07_dependencies_schema_form_is_refused(tmp_path):
    _text, error = refusal(
        tmp_path, _draft07(dependencies={"telephone": {"required": ["creneau"]}}), name="ancien"
    )
    assert "$.dependencies.telephone" in [p.path for p in error.problems]


def test_the_schema_keyword_picks_the_validator_of_its_draft(tmp_path):
    """Draft-07 ignores dependentRequired (a 2020-12 keyword) and 2020-12 ignores nothing."""
    folder = tmp_path / "definitions"
    props = {"a": {"type": "string"}, "b": {"type": "string"}}
    write(folder, "recent", definition("recent", properties=props, dependentRequired={"a": ["b"]}))
    registry = load_folder(folder)
    assert registry["recent"].errors({"a": "x"}) == {"b": ["Ce champ est obligatoire."]}
    # exclusiveMinimum as a number is draft 2020-12/07; as a boolean it is draft-04 and refused
    write(
        folder, "ancien", _draft07(properties={"n": {"type": "integer", "exclusiveMinimum": True}})
    )
    with pytest.raises(DefinitionError):
        load_folder(folder)


def test_a_ref_to_defs_within_a_file_is_rendered_and_validated(tmp_path):
    folder = tmp_path / "definitions"
    write(
        folder,
        "essai",
        definition(
            properties={"contact": {"$ref": "#/$defs/personne", "title": "Contact principal"}},
            required=["contact"],
            **{
                "$defs": {
                    "personne": {
                        "type": "object",
                        "title": "Personne",
                        "required": ["nom"],
                        "properties": {"nom": {"type": "string", "title": "Nom", "minLength": 1}},
                    }
                }
            },
        ),
    )
    essai = load_folder(folder)["essai"]
    contact = essai.tree[0]
    assert contact.kind == "section"
    assert contact.label == "Contact principal"  # the title beside $ref wins
    assert essai.errors({"contact": {}}) == {"contact-nom": ["Ce champ est obligatoire."]}


def _shared(**defs) -> dict:
    return definition(
        "commun", properties={"libelle": {"type": "string", "title": "Libellé"}}, **{"$defs": defs}
    )


def test_a_ref_across_two_files_of_a_folder_by_id_is_rendered_and_validated(tmp_path):
    folder = tmp_path / "definitions"
    write(
        folder,
        "commun",
        _shared(
            adresse={
                "type": "object",
                "title": "Adresse",
                "required": ["ville"],
                "properties": {"ville": {"type": "string", "title": "Ville", "minLength": 1}},
            }
        ),
    )
    write(
        folder, "essai", definition(properties={"siege": {"$ref": BASE + "commun#/$defs/adresse"}})
    )
    essai = load_folder(folder)["essai"]
    siege = essai.tree[0]
    assert siege.kind == "section" and [c.name for c in siege.children] == ["ville"]
    assert essai.errors({"siege": {}}) == {"siege-ville": ["Ce champ est obligatoire."]}
    assert essai.errors({"siege": {"ville": "Nantes"}}) == {}


def test_a_ref_across_files_whose_target_uses_its_own_defs_loads(tmp_path):
    """The target of a cross-file $ref may itself refer to ``#/$defs/...`` of *its* file."""
    folder = tmp_path / "definitions"
    write(
        folder,
        "commun",
        _shared(
            adresse={
                "type": "object",
                "title": "Adresse",
                "properties": {"code_postal": {"$ref": "#/$defs/code_postal"}},
            },
            code_postal={"type": "string", "title": "Code postal", "format": "code-postal"},
        ),
    )
    write(
        folder, "essai", definition(properties={"siege": {"$ref": BASE + "commun#/$defs/adresse"}})
    )
    essai = load_folder(folder)["essai"]
    siege = essai.tree[0]
    assert [(c.name, c.format) for c in siege.children] == [("code_postal", "code-postal")]
    assert "siege-code_postal" in essai.errors({"siege": {"code_postal": "00000"}})


def test_a_ref_to_a_missing_definition_of_the_folder_is_refused(tmp_path):
    text, _error = refusal(
        tmp_path, definition(properties={"siege": {"$ref": BASE + "absent#/$defs/adresse"}})
    )
    assert "référence introuvable" in text


def test_two_files_with_the_same_id_are_refused(tmp_path):
    folder = tmp_path / "definitions"
    write(folder, "essai", definition("essai"))
    write(folder, "zz-essai", definition("essai"))
    with pytest.raises(DefinitionError):
        load_folder(folder)


def test_a_test_definition_folder_builds_a_usable_form(make_app):
    app = make_app(FORMS_SCHEMAS_DIR=str(TEST_SCHEMAS))
    atelier = app.extensions["forms"]["inscription-atelier"]
    assert atelier.version == 3 and atelier.standalone
    with app.test_request_context():
        outcome = engine.submit(atelier, MultiDict({}))
    assert not outcome.valid
    assert outcome.errors["nom"] == ["Ce champ est obligatoire."]
