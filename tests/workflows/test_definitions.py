"""Form definitions changed by staff: drafts, the checks before publishing, publication,
restore, the shipped files' sync and export, and old versions kept readable."""

import json
import shutil
import socket
import urllib.request
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from extensions import db
from models.audit import AuditEvent
from models.formulaires import EtatVersion, FormVersion, OrigineVersion
from workflows import definitions
from workflows.definitions import DefinitionRefusee, OperationImpossible
from workflows.journal import Acteur

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "forms" / "schemas"
ADMIN = Acteur("agent", "admin@asp.localhost")
COMPTE = "demande-creation-compte"
TVA = {
    "type": "string",
    "title": "Numéro de TVA intracommunautaire",
    "description": "Facultatif : il figure sur vos factures.",
    "maxLength": 13,
}


@pytest.fixture
def schemas_dir(tmp_path):
    folder = tmp_path / "schemas"
    shutil.copytree(SHIPPED, folder)
    return folder


@pytest.fixture
def app(make_app, schemas_dir):
    app = make_app(FORMS_SCHEMAS_DIR=str(schemas_dir), FORMS_REFRESH_SECONDS=0)
    with app.app_context():
        yield app


def served(form_id=COMPTE):
    return current_app.extensions["forms"][form_id]


def with_tva(schema: dict) -> dict:
    schema = json.loads(json.dumps(schema))
    schema["properties"]["etablissement"]["properties"]["tva"] = TVA
    return schema


def journal(form_id=COMPTE) -> list[tuple[str, str | None, str | None]]:
    rows = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == "formulaire", AuditEvent.object_id == form_id)
        .order_by(AuditEvent.id)
    )
    return [(row.operation, row.state_from, row.state_to) for row in rows]


# -- sync of the shipped files ------------------------------------------------------------
def test_sync_records_every_shipped_file_as_its_published_version_once(app):
    first = definitions.synchroniser_fichiers()
    second = definitions.synchroniser_fichiers()
    rows = db.session.scalars(select(FormVersion)).all()
    assert {(row.form_id, row.version) for row in rows} == {
        (definition.id, definition.version) for definition in current_app.extensions["forms"]
    }
    assert all(row.origine == OrigineVersion.FICHIER for row in rows)
    assert first.modifies == len(rows)
    assert second.modifies == 0


def test_sync_updates_a_file_version_edited_in_place(app, schemas_dir):
    definitions.synchroniser_fichiers()
    path = schemas_dir / "demande-support.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["title"] = "Écrire au support"
    current_app.extensions["forms"].files[path] = schema

    rapport = definitions.synchroniser_fichiers()

    row = db.session.scalar(select(FormVersion).where(FormVersion.form_id == "demande-support"))
    assert row.schema["title"] == "Écrire au support"
    assert any(line.startswith("mis à jour demande-support") for line in rapport.lignes)


# -- drafts -------------------------------------------------------------------------------
def test_a_draft_is_a_copy_of_the_served_version_and_there_is_only_one(app):
    draft = definitions.ouvrir_brouillon(COMPTE, ADMIN)
    again = definitions.ouvrir_brouillon(COMPTE, ADMIN)
    assert again.id == draft.id
    assert draft.etat == EtatVersion.BROUILLON
    assert draft.version == served().version + 1
    assert draft.schema["properties"] == served().schema["properties"]
    assert journal() == [("brouillon_ouvert", None, "brouillon")]


def test_the_database_refuses_a_second_draft(app):
    draft = definitions.ouvrir_brouillon(COMPTE, ADMIN)
    db.session.add(
        FormVersion(
            form_id=COMPTE,
            version=draft.version + 1,
            etat=EtatVersion.BROUILLON,
            origine=OrigineVersion.BACKOFFICE,
            schema=draft.schema,
            empreinte="x",
        )
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_saving_a_draft_changes_nothing_the_public_sees(app):
    before = served().version
    definitions.enregistrer_brouillon(COMPTE, with_tva(served().schema), ADMIN)
    assert served().version == before
    assert "tva" not in served().schema["properties"]["etablissement"]["properties"]


def test_a_draft_cannot_pose_as_another_definition(app):
    schema = with_tva(served().schema)
    schema["$id"] = "https://activite-partielle.localhost/formulaires/demande-support"
    schema["x-version"] = 999
    draft = definitions.enregistrer_brouillon(COMPTE, schema, ADMIN)
    assert draft.schema["$id"].endswith("/demande-creation-compte")
    assert draft.schema["x-version"] == draft.version


# -- publication ------------------------------------------------------------------------------
def test_publishing_serves_the_new_question_under_a_new_version(app):
    before = served().version
    definitions.enregistrer_brouillon(COMPTE, with_tva(served().schema), ADMIN)

    version = definitions.publier(COMPTE, ADMIN)

    assert version.version == before + 1
    assert served().version == before + 1
    assert served().schema["properties"]["etablissement"]["properties"]["tva"] == TVA
    assert definitions.brouillon(COMPTE) is None
    assert journal()[-1] == ("formulaire_publie", "brouillon", "publiee")


def test_the_summary_names_added_removed_relabelled_and_rule_changes(app):
    schema = with_tva(served().schema)
    section = schema["properties"]["etablissement"]["properties"]
    section["denomination"] = {**section["denomination"], "title": "Raison sociale"}
    section["ville"] = {**section["ville"], "maxLength": 40}
    schema["properties"]["etablissement"]["properties"].pop("complement_adresse", None)
    definitions.enregistrer_brouillon(COMPTE, schema, ADMIN)

    lines = {(c.genre, c.chemin): c for c in definitions.changements(COMPTE)}

    assert lines[("ajoutee", "etablissement.tva")].libelle == "Numéro de TVA intracommunautaire"
    assert lines[("libelle", "etablissement.denomination")].apres == "Raison sociale"
    assert "longueur maximale : 40" in lines[("regle", "etablissement.ville")].apres
    if "complement_adresse" in served().schema["properties"]["etablissement"]["properties"]:
        assert ("supprimee", "etablissement.complement_adresse") in lines


@pytest.mark.parametrize("bound", ["siret", "courriel"])
def test_removing_a_bound_property_is_refused_and_nothing_is_published(app, bound):
    before = served().version
    schema = json.loads(json.dumps(served().schema))
    section = "etablissement" if bound == "siret" else "utilisateur"
    del schema["properties"][section]["properties"][bound]
    schema["properties"][section]["required"] = [
        name for name in schema["properties"][section].get("required", []) if name != bound
    ]
    definitions.enregistrer_brouillon(COMPTE, schema, ADMIN)

    with pytest.raises(DefinitionRefusee) as refused:
        definitions.publier(COMPTE, ADMIN)

    messages = " ".join(problem.message for problem in refused.value.problems)
    assert f"{section}.{bound}" in messages
    assert "ne peut être ni supprimée ni renommée" in messages
    assert served().version == before
    assert definitions.brouillon(COMPTE) is not None
    assert "formulaire_publie" not in [op for op, _, _ in journal()]


def test_retyping_a_bound_property_is_refused_naming_both_types(app):
    schema = json.loads(json.dumps(served().schema))
    schema["properties"]["etablissement"]["properties"]["siret"] = {
        "type": "integer",
        "title": "SIRET",
    }
    definitions.enregistrer_brouillon(COMPTE, schema, ADMIN)

    problems = definitions.verifier_publication(COMPTE)

    assert len(problems) == 1
    assert "etablissement.siret" in problems[0].message
    assert "nombre entier" in problems[0].message


def test_dropping_the_bindings_list_itself_is_refused(app):
    schema = json.loads(json.dumps(served().schema))
    schema["x-bindings"] = []
    definitions.enregistrer_brouillon(COMPTE, schema, ADMIN)
    problems = definitions.verifier_publication(COMPTE)
    assert problems and all(problem.path == "$.x-bindings" for problem in problems)


def test_discarding_the_draft_is_audited_and_leaves_the_served_version(app):
    before = served().version
    definitions.enregistrer_brouillon(COMPTE, with_tva(served().schema), ADMIN)
    definitions.abandonner_brouillon(COMPTE, ADMIN)
    assert definitions.brouillon(COMPTE) is None
    assert served().version == before
    assert journal()[-1] == ("brouillon_abandonne", "brouillon", None)
    with pytest.raises(OperationImpossible):
        definitions.publier(COMPTE, ADMIN)


def test_restoring_an_older_version_publishes_it_under_a_new_number(app):
    definitions.synchroniser_fichiers()
    original = served().version
    definitions.enregistrer_brouillon(COMPTE, with_tva(served().schema), ADMIN)
    definitions.publier(COMPTE, ADMIN)

    restored = definitions.restaurer_version(COMPTE, original, ADMIN)

    assert restored.version == original + 2
    assert served().version == original + 2
    assert "tva" not in served().schema["properties"]["etablissement"]["properties"]
    assert journal()[-1] == ("version_restauree", None, "publiee")


def test_an_old_version_keeps_its_labels_after_a_relabel(app):
    definitions.synchroniser_fichiers()
    original = served().version
    schema = json.loads(json.dumps(served().schema))
    denomination = schema["properties"]["etablissement"]["properties"]["denomination"]
    old_label = denomination["title"]
    denomination["title"] = "Raison sociale"
    definitions.enregistrer_brouillon(COMPTE, schema, ADMIN)
    definitions.publier(COMPTE, ADMIN)

    catalogue = current_app.extensions["forms"]
    old = catalogue.version(COMPTE, original)

    assert old.schema["properties"]["etablissement"]["properties"]["denomination"]["title"] == (
        old_label
    )
    assert [d.version for d in catalogue.versions(COMPTE)] == [original, original + 1]


# -- new definitions ---------------------------------------------------------------------------
def test_an_administrator_creates_a_standalone_form_and_publishes_it(app):
    definitions.creer_definition("inscription-webinaire", "Inscription au webinaire", ADMIN)
    draft = definitions.brouillon("inscription-webinaire")
    schema = dict(draft.schema)
    schema["properties"] = {"courriel": {"type": "string", "format": "email", "title": "Courriel"}}
    schema["required"] = ["courriel"]
    definitions.enregistrer_brouillon("inscription-webinaire", schema, ADMIN)

    definitions.publier("inscription-webinaire", ADMIN)

    live = current_app.extensions["forms"].get("inscription-webinaire")
    assert live is not None and live.standalone and live.version == 1


@pytest.mark.parametrize(
    ("form_id", "message"),
    [("Mauvais Id", "identifiant invalide"), (COMPTE, "déjà utilisé"), ("x", "identifiant")],
)
def test_a_new_definition_needs_a_free_well_formed_id(app, form_id, message):
    with pytest.raises(DefinitionRefusee) as refused:
        definitions.creer_definition(form_id, "Titre", ADMIN)
    assert message in refused.value.problems[0].message


def test_a_copy_is_bound_to_no_code(app):
    definitions.creer_definition("copie-compte", "Copie", ADMIN, copie_de=COMPTE)
    assert "x-bindings" not in definitions.brouillon("copie-compte").schema


# -- export ------------------------------------------------------------------------------------
def test_export_writes_the_published_version_back_and_sync_then_finds_it_unchanged(
    app, schemas_dir
):
    definitions.synchroniser_fichiers()
    definitions.enregistrer_brouillon(COMPTE, with_tva(served().schema), ADMIN)
    version = definitions.publier(COMPTE, ADMIN)

    path = definitions.exporter(COMPTE, schemas_dir)

    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["x-version"] == version.version
    assert written["properties"]["etablissement"]["properties"]["tva"] == TVA
    current_app.extensions["forms"].files[path] = written
    rapport = definitions.synchroniser_fichiers()
    assert f"inchangé   {COMPTE} v{version.version}" in rapport.lignes


# -- the safety gate on what staff type (reliability.md §3.1 item 10) ---------------------------
def _base() -> dict:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://activite-partielle.localhost/formulaires/essai-garde",
        "x-version": 1,
        "title": "Essai",
        "type": "object",
        "additionalProperties": False,
        "properties": {"nom": {"type": "string", "title": "Nom"}},
    }


def _with(**changes) -> str:
    schema = _base()
    for key, value in changes.items():
        if key == "nom":
            schema["properties"]["nom"] = {**schema["properties"]["nom"], **value}
        elif key == "properties":
            schema["properties"].update(value)
        else:
            schema[key] = value
    return json.dumps(schema)


def _deep(levels: int) -> str:
    return '{"type": "object", "properties": {"a": ' * levels + "{}" + "}}" * levels


MALFORMED = {
    "not JSON": "{ceci n'est pas du JSON",
    "unknown type": _with(nom={"type": "strng"}),
    "cloud metadata ref": _with(nom={"$ref": "http://169.254.169.254/"}),
    "local file ref": _with(nom={"$ref": "file:///etc/passwd"}),
    "circular ref": _with(
        **{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}},
        properties={"x": {"$ref": "#/$defs/a"}},
    ),
    "ReDoS pattern": _with(nom={"pattern": "^(a+)+$"}),
    "invalid regex": _with(nom={"pattern": "("}),
    "infinite maxLength": _with(nom={"maxLength": 1}).replace(
        '"maxLength": 1', '"maxLength": 1e309'
    ),
    "NaN minimum": _with(properties={"n": {"type": "integer", "title": "N", "minimum": "NaN"}}),
    "bare NaN": _with(nom={"maxLength": 1}).replace('"maxLength": 1', '"maxLength": NaN'),
    "huge enum": _with(nom={"enum": [str(i) for i in range(1_000_000)]}),
    "10 MiB": _with(nom={"description": "x" * (10 * 1024 * 1024)}),
    "depth 1000": _deep(1000),
    "shadowing data": _with(properties={"data": {"type": "string"}}),
    "shadowing errors": _with(properties={"errors": {"type": "string"}}),
    "dunder class": _with(properties={"__class__": {"type": "string"}}),
    "call-like name": _with(properties={"validate(10)": {"type": "string"}}),
    "quotes in name": _with(properties={"a'b\"c": {"type": "string"}}),
    "unknown format": _with(nom={"format": "x-unknown"}),
    "default violating": _with(nom={"maxLength": 3, "default": "beaucoup trop long"}),
}


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a definition made the server reach the network")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.mark.parametrize("case", list(MALFORMED))
def test_each_malformed_definition_is_refused_with_a_message_and_nothing_saved(
    app, no_network, case
):
    definitions.creer_definition("essai-garde", "Essai", ADMIN)
    before = definitions.brouillon("essai-garde").schema

    with pytest.raises(DefinitionRefusee) as refused:
        definitions.enregistrer_texte("essai-garde", MALFORMED[case], ADMIN)

    assert refused.value.problems
    assert all(problem.message for problem in refused.value.problems)
    db.session.expire_all()
    assert definitions.brouillon("essai-garde").schema == before


def test_the_order_of_the_questions_survives_the_database(app):
    schema = with_tva(served().schema)
    section = schema["properties"]["etablissement"]["properties"]
    names = list(section)
    schema["properties"]["etablissement"]["properties"] = {
        name: section[name] for name in reversed(names)
    }
    definitions.enregistrer_brouillon(COMPTE, schema, ADMIN)
    definitions.publier(COMPTE, ADMIN)

    db.session.expire_all()
    current_app.extensions["forms"].invalider()
    stored = db.session.scalar(
        select(FormVersion).where(FormVersion.etat == EtatVersion.PUBLIEE)
    ).schema
    assert list(stored["properties"]["etablissement"]["properties"]) == list(reversed(names))
    assert list(served().schema["properties"]["etablissement"]["properties"]) == list(
        reversed(names)
    )


def test_a_pattern_runs_on_a_linear_time_engine_so_a_staff_typo_cannot_pin_a_worker(app):
    # Python's re needs O(n⁴) steps here (minutes at 1,000 digits); RE2 is linear.
    definitions.creer_definition("essai-motif", "Essai", ADMIN)
    texte = _with(nom={"pattern": r"^\d*\d*\d*\d*x$"}).replace("essai-garde", "essai-motif")
    definitions.enregistrer_texte("essai-motif", texte, ADMIN)
    definition = current_app.extensions["forms"].construire(
        definitions.brouillon("essai-motif").schema
    )
    assert definition.errors({"nom": "1" * 1000 + "y"}) != {}
    assert definition.errors({"nom": "1" * 1000 + "x"}) == {}


def test_a_pattern_the_linear_engine_cannot_run_is_refused_in_french(app):
    definitions.creer_definition("essai-motif", "Essai", ADMIN)
    with pytest.raises(DefinitionRefusee) as refused:
        definitions.enregistrer_texte("essai-motif", _with(nom={"pattern": r"(a)\1"}), ADMIN)
    assert "références arrière" in refused.value.problems[0].message


@pytest.mark.parametrize(
    ("section", "bound"), [("etablissement", "siret"), ("utilisateur", "reponse")]
)
def test_a_bound_question_made_optional_is_refused(app, section, bound):
    schema = json.loads(json.dumps(served().schema))
    node = schema["properties"][section]
    node["required"] = [name for name in node.get("required", []) if name != bound]
    definitions.enregistrer_brouillon(COMPTE, schema, ADMIN)

    problems = definitions.verifier_publication(COMPTE)

    assert [p.message for p in problems if f"{section}.{bound}" in p.message]
    assert "doit rester obligatoire" in " ".join(p.message for p in problems)


def test_a_bound_question_put_under_a_condition_is_refused(app):
    schema = json.loads(json.dumps(served().schema))
    section = schema["properties"]["etablissement"]
    section["properties"]["multi"] = {"type": "boolean", "title": "Plusieurs sites ?"}
    section["if"] = {"properties": {"multi": {"const": True}}, "required": ["multi"]}
    section["then"] = {"required": ["siret"]}
    definitions.enregistrer_brouillon(COMPTE, schema, ADMIN)

    (problem,) = definitions.verifier_publication(COMPTE)

    assert "etablissement.siret" in problem.message
    assert "ne peut pas dépendre d'une condition" in problem.message


def test_a_publication_that_loses_a_race_says_so_in_french_and_keeps_the_draft(app, monkeypatch):
    definitions.synchroniser_fichiers()
    definitions.enregistrer_brouillon(COMPTE, with_tva(served().schema), ADMIN)
    # Another administrator's publication took the number between our read and our write.
    monkeypatch.setattr(definitions, "_prochain_numero", lambda *a, **k: served().version)

    with pytest.raises(OperationImpossible) as refused:
        definitions.publier(COMPTE, ADMIN)

    assert "rechargez la page" in str(refused.value)
    assert definitions.brouillon(COMPTE) is not None
