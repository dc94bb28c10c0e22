"""The structured editor's operations (forms.editeur): every change produces a definition the
registry accepts and renders, reads back the same through the editor's outline, and a change
that would break what the code reads (x-bindings) is refused with the property named."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from forms import editeur, engine
from forms.editeur import EditionRefusee, Question, Section
from forms.registry import build_registry

ROOT = Path(__file__).resolve().parents[2]
COMPTE = json.loads((ROOT / "forms/schemas/demande-creation-compte.json").read_text("utf-8"))
ATELIER = json.loads((ROOT / "tests/schemas/inscription-atelier.json").read_text("utf-8"))
BASE = "https://activite-partielle.localhost/formulaires/"


def vide(form_id: str = "essai") -> dict:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": BASE + form_id,
        "x-version": 1,
        "title": "Essai",
        "type": "object",
        "additionalProperties": False,
        "properties": {},
    }


def definition(schema: dict):
    """The registry's definition of ``schema`` (raises DefinitionError when refused)."""
    form_id = schema["$id"].rsplit("/", 1)[-1]
    return build_registry({"brouillon": schema})[form_id]


def specs(schema: dict, *chemin: str) -> list:
    tree = definition(schema).tree
    for name in chemin:
        tree = next(spec for spec in tree if spec.name == name).children
    return tree


def rendu(app, schema: dict) -> str:
    """Every field of the form class, rendered to HTML as a page would."""
    with app.test_request_context():
        form = definition(schema).form_class()
        return "\n".join(f"{field.label}{field()}" for field in form)


OPTIONS = [("a", "Première"), ("b", "Seconde")]
PAR_TYPE = {
    "texte": ({"type": "string", "maxLength": 200}, "text"),
    "texte_long": ({"type": "string", "maxLength": 5000}, "textarea"),
    "nombre": ({"type": "number"}, "number"),
    "date": ({"type": "string", "format": "date"}, "text"),
    "email": ({"type": "string", "format": "email"}, "text"),
    "telephone": ({"type": "string", "format": "telephone"}, "text"),
    "siret": ({"type": "string", "format": "siret"}, "text"),
    "code_postal": ({"type": "string", "format": "code-postal"}, "text"),
    "oui_non": ({"type": "boolean"}, "boolean-radios"),
    "liste": ({"type": "string"}, "select"),
    "boutons_radio": ({"type": "string"}, "radios"),
    "choix_multiples": ({"type": "array", "uniqueItems": True}, "checkboxes"),
    "fichier": ({"type": "string"}, "file"),
}


def test_every_question_type_of_the_editor_is_covered():
    assert set(PAR_TYPE) == set(editeur.TYPES)


@pytest.mark.parametrize("type_question", sorted(PAR_TYPE))
def test_each_type_makes_a_question_the_registry_accepts_renders_and_reads_back(app, type_question):
    reglages = Question(
        libelle="Ma question",
        type=type_question,
        aide="Une aide utile.",
        options=list(OPTIONS) if type_question in editeur.WITH_OPTIONS else [],
    )
    schema, chemin = editeur.add_question(vide(), "", reglages)

    assert chemin == "ma_question"
    attendu, genre = PAR_TYPE[type_question]
    noeud = schema["properties"]["ma_question"]
    assert attendu.items() <= noeud.items()
    (spec,) = specs(schema)
    assert (spec.name, spec.kind, spec.label, spec.hint) == (
        "ma_question",
        genre,
        "Ma question",
        "Une aide utile.",
    )
    html = rendu(app, schema)
    assert "Ma question" in html and 'name="ma_question"' in html

    (element,) = editeur.elements(schema)
    assert (element.type, element.libelle, element.aide, element.obligatoire) == (
        type_question,
        "Ma question",
        "Une aide utile.",
        False,
    )
    relu = editeur.question(schema, chemin)
    assert (relu.type, relu.libelle, relu.aide) == (type_question, "Ma question", "Une aide utile.")
    if type_question in editeur.WITH_OPTIONS:
        assert relu.options == OPTIONS
    # Saving the settings read back changes nothing.
    assert editeur.update_question(schema, chemin, relu) == schema


def test_the_shipped_definitions_read_back_unchanged_through_the_question_form():
    for item in editeur.flatten(editeur.elements(COMPTE)):
        if item.genre == "question":
            assert editeur.update_question(
                COMPTE, item.chemin, editeur.question(COMPTE, item.chemin)
            )
    for item in editeur.flatten(editeur.elements(ATELIER)):
        if item.genre == "question":
            relu = editeur.question(ATELIER, item.chemin)
            apres = editeur.update_question(ATELIER, item.chemin, relu)
            assert editeur.element(apres, item.chemin).type == item.type
            assert editeur.element(apres, item.chemin).condition == item.condition
            definition(apres)


def test_the_outline_lists_sections_groups_and_questions_in_the_engine_order():
    items = editeur.elements(ATELIER)
    noms = [item.nom for item in items]
    assert noms == [spec.name for spec in definition(ATELIER).tree]
    entreprise = next(item for item in items if item.nom == "entreprise")
    assert entreprise.genre == "section"
    assert [e.chemin for e in entreprise.enfants] == [
        "entreprise.raison_sociale",
        "entreprise.effectif",
        "entreprise.adresse",
    ]
    salaries = next(item for item in items if item.nom == "salaries")
    assert (salaries.genre, salaries.min_entrees, salaries.max_entrees) == ("groupe", 1, 3)
    assert [e.nom for e in salaries.enfants] == ["nom", "prenom", "poste"]


def test_the_editor_never_modifies_the_schema_it_is_given():
    avant = copy.deepcopy(COMPTE)
    editeur.add_question(COMPTE, "etablissement", Question(libelle="TVA"))
    editeur.move(COMPTE, "etablissement.fax", -1)
    editeur.remove(COMPTE, "etablissement.fax")
    editeur.add_section(COMPTE, "", Section(libelle="Annexe", etape=True))
    assert COMPTE == avant


def test_an_optional_question_with_help_text_is_added_to_a_section_of_the_account_request(app):
    schema, chemin = editeur.add_question(
        COMPTE,
        "etablissement",
        Question(
            libelle="Numéro de TVA intracommunautaire",
            aide="Si votre établissement en a un.",
            placeholder="FR00123456789",
            longueur_max=20,
        ),
    )
    assert chemin == "etablissement.numero_de_tva_intracommunautaire"
    tree = specs(schema, "etablissement")
    assert tree[-1].name == "numero_de_tva_intracommunautaire"
    assert [s.name for s in tree[:-1]] == [s.name for s in specs(COMPTE, "etablissement")]
    assert tree[-1].required is False and tree[-1].placeholder == "FR00123456789"
    assert (
        "numero_de_tva_intracommunautaire" not in schema["properties"]["etablissement"]["required"]
    )
    assert schema["x-bindings"] == COMPTE["x-bindings"]
    html = rendu(app, schema)
    assert 'name="etablissement-numero_de_tva_intracommunautaire"' in html


@pytest.mark.parametrize(
    "libelle, pris, attendu",
    [
        ("Numéro de TVA intracommunautaire", set(), "numero_de_tva_intracommunautaire"),
        ("  Âge — en années ?  ", set(), "age_en_annees"),
        ("Nom", {"nom"}, "nom_2"),
        ("Nom", {"nom", "nom_2"}, "nom_3"),
        ("Data", set(), "data_2"),
        ("Submit", set(), "submit_2"),
        ("2e adresse", set(), "question_2e_adresse"),
        ("???", set(), "question"),
        ("Un libellé " * 20, set(), "un_libelle_un_libelle_un_libelle_un_libe"),
        ("a__b", set(), "a_b"),
    ],
)
def test_property_names_are_made_from_labels(libelle, pris, attendu):
    nom = editeur.property_name(libelle, pris)
    assert nom == attendu
    assert len(nom) <= editeur.MAX_NAME + 3


def test_moving_a_question_up_or_down_changes_the_rendered_order_and_survives_lost_key_order():
    schema = editeur.move(COMPTE, "utilisateur.prenom", -1)
    assert [s.name for s in specs(schema, "utilisateur")][:2] == ["prenom", "nom"]
    # PostgreSQL's JSONB keeps no key order: x-ui.order alone must say it.
    melange = copy.deepcopy(schema)
    section = melange["properties"]["utilisateur"]
    section["properties"] = dict(sorted(section["properties"].items(), reverse=True))
    assert [s.name for s in specs(melange, "utilisateur")] == [
        s.name for s in specs(schema, "utilisateur")
    ]
    assert editeur.move(schema, "utilisateur.prenom", -1) == schema  # already first
    retour = editeur.move(schema, "utilisateur.prenom", +1)
    assert [s.name for s in specs(retour, "utilisateur")][:2] == ["nom", "prenom"]


def test_a_question_moves_into_a_section_with_its_required_mark():
    schema, chemin = editeur.add_question(
        ATELIER, "", Question(libelle="Secteur d'activité", obligatoire=True)
    )
    schema, chemin = editeur.move_into(schema, chemin, "entreprise")
    assert chemin == "entreprise.secteur_d_activite"
    assert "secteur_d_activite" not in schema["properties"]
    assert "secteur_d_activite" not in schema["required"]
    spec = specs(schema, "entreprise")[-1]
    assert (spec.name, spec.required) == ("secteur_d_activite", True)
    with pytest.raises(EditionRefusee, match="elle-même"):
        editeur.move_into(schema, "entreprise", "entreprise.adresse")


def test_sections_steps_and_repeatable_groups():
    schema, section = editeur.add_section(
        vide(), "", Section(libelle="Votre entreprise", aide="Qui êtes-vous ?", etape=True)
    )
    schema, _ = editeur.add_question(schema, section, Question(libelle="Raison sociale"))
    schema, groupe = editeur.add_section(
        schema,
        "",
        Section(libelle="Salariés concernés", repetable=True, min_entrees=1, max_entrees=5),
    )
    schema, _ = editeur.add_question(
        schema, groupe, Question(libelle="Nom", obligatoire=True, longueur_max=80)
    )
    section_spec, groupe_spec = definition(schema).tree
    assert (section_spec.kind, section_spec.step, section_spec.hint) == (
        "section",
        True,
        "Qui êtes-vous ?",
    )
    assert [c.name for c in section_spec.children] == ["raison_sociale"]
    assert (groupe_spec.kind, groupe_spec.min_entries, groupe_spec.max_entries) == (
        "repeat",
        1,
        5,
    )
    assert groupe_spec.children[0].required
    lu = editeur.element(schema, groupe)
    assert (lu.genre, lu.min_entrees, lu.max_entrees) == ("groupe", 1, 5)
    assert editeur.element(schema, section).etape

    schema = editeur.update_section(schema, section, Section(libelle="Entreprise", etape=False))
    assert not definition(schema).tree[0].step
    with pytest.raises(EditionRefusee, match="supérieur ou égal"):
        editeur.update_section(schema, groupe, Section(libelle="X", min_entrees=3, max_entrees=2))
    schema, sous = editeur.add_section(schema, section, Section(libelle="Adresse"))
    with pytest.raises(EditionRefusee, match="premier niveau"):
        editeur.update_section(schema, sous, Section(libelle="Adresse", etape=True))
    assert [e.chemin for e in editeur.containers(schema)] == [
        "votre_entreprise",
        "votre_entreprise.adresse",
        "salaries_concernes",
    ]
    schema = editeur.remove(schema, "salaries_concernes")
    assert [s.name for s in definition(schema).tree] == ["votre_entreprise"]


def test_a_condition_shows_and_requires_a_question_when_another_has_a_value(app):
    schema, _ = editeur.add_question(
        vide(), "", Question(libelle="Avez-vous un comptable ?", type="oui_non")
    )
    schema, chemin = editeur.add_question(
        schema,
        "",
        Question(
            libelle="Nom du cabinet",
            obligatoire=True,  # overridden: required only when the condition holds
            condition=("avez_vous_un_comptable", True),
        ),
    )
    assert editeur.condition_sources(schema, chemin) == [
        ("avez_vous_un_comptable", "Avez-vous un comptable ?", [(True, "Oui"), (False, "Non")])
    ]
    spec = specs(schema)[1]
    assert spec.condition is not None and spec.required_when is not None
    assert not spec.required
    lu = editeur.question(schema, chemin)
    assert lu.condition == ("avez_vous_un_comptable", True)

    definition_ = definition(schema)
    with app.test_request_context(method="POST"):
        oui = engine.submit(definition_, MultiDict({"avez_vous_un_comptable": "true"}))
        non = engine.submit(definition_, MultiDict({"avez_vous_un_comptable": "false"}))
    assert "nom_du_cabinet" in oui.errors
    assert non.valid

    with pytest.raises(EditionRefusee, match="conditionne"):
        editeur.remove(schema, "avez_vous_un_comptable")
    sans = editeur.update_question(schema, chemin, Question(libelle="Nom du cabinet"))
    assert "allOf" not in sans and "if" not in sans
    assert specs(sans)[1].condition is None
    assert editeur.remove(sans, "avez_vous_un_comptable")


def test_conditions_with_the_same_test_share_one_block_and_advanced_ones_are_kept():
    schema, _ = editeur.add_question(
        ATELIER, "", Question(libelle="Accès", condition=("besoin_materiel", True))
    )
    assert schema["then"]["required"] == ["materiel_detail", "acces"]
    assert len(schema["allOf"]) == len(ATELIER["allOf"])
    # lien_visio is required in an else branch: the editor keeps it as it is.
    relu = editeur.question(ATELIER, "lien_visio")
    assert relu.garder_condition and relu.condition is None
    relu.libelle = "Outil de visio"
    apres = editeur.update_question(ATELIER, "lien_visio", relu)
    assert apres["allOf"] == ATELIER["allOf"]
    with pytest.raises(EditionRefusee, match="réponse possible"):
        editeur.add_question(ATELIER, "", Question(libelle="X", condition=("modalite", "mer")))
    with pytest.raises(EditionRefusee, match="question à choix"):
        editeur.add_question(ATELIER, "", Question(libelle="X", condition=("nom", "a")))


def test_question_settings_limits_double_entry_read_only_and_options(app):
    schema, _ = editeur.add_question(
        vide(),
        "",
        Question(
            libelle="Courriel",
            type="email",
            obligatoire=True,
            double_saisie="Confirmez le courriel",
            placeholder="nom@exemple.fr",
        ),
    )
    schema, nombre = editeur.add_question(
        schema, "", Question(libelle="Effectif", type="nombre", entier=True, minimum=1, maximum=50)
    )
    schema, _ = editeur.add_question(
        schema, "", Question(libelle="Référence", lecture_seule=True, longueur_min=2)
    )
    schema, niveau = editeur.add_question(
        schema,
        "",
        Question(
            libelle="Niveau", type="boutons_radio", options=editeur.parse_options("Un\nx | Deux")
        ),
    )
    noeuds = schema["properties"]
    assert noeuds["courriel"]["x-ui"]["confirm"] == "Confirmez le courriel"
    assert schema["required"] == ["courriel"]
    assert (noeuds["effectif"]["type"], noeuds["effectif"]["minimum"]) == ("integer", 1)
    assert noeuds["reference"]["readOnly"] is True and noeuds["reference"]["minLength"] == 2
    assert noeuds["niveau"]["oneOf"] == [
        {"const": "un", "title": "Un"},
        {"const": "x", "title": "Deux"},
    ]
    html = rendu(app, schema)
    assert 'name="courriel__confirmation"' in html and "Confirmez le courriel" in html
    assert 'placeholder="nom@exemple.fr"' in html and "readonly" in html
    assert editeur.format_options(editeur.question(schema, niveau).options) == "Un\nx | Deux"

    with pytest.raises(EditionRefusee, match="minimale dépasse"):
        editeur.update_question(
            schema, nombre, Question(libelle="E", type="nombre", minimum=9, maximum=2)
        )
    with pytest.raises(EditionRefusee, match="au moins une option"):
        editeur.add_question(schema, "", Question(libelle="L", type="liste"))
    with pytest.raises(EditionRefusee, match="deux options"):
        editeur.add_question(
            schema, "", Question(libelle="L", type="liste", options=[("a", "A"), ("a", "B")])
        )
    with pytest.raises(EditionRefusee, match="double saisie"):
        editeur.update_question(
            schema, niveau, Question(libelle="N", type="liste", options=OPTIONS, double_saisie="x")
        )
    with pytest.raises(EditionRefusee, match="libellé est obligatoire"):
        editeur.add_question(schema, "", Question(libelle="   "))


def test_changing_the_type_keeps_label_and_help_and_drops_what_no_longer_applies():
    schema = editeur.update_question(
        COMPTE,
        "etablissement.numero_voie",
        Question(libelle="Numéro de voie", type="nombre", entier=True, aide="En chiffres."),
    )
    noeud = schema["properties"]["etablissement"]["properties"]["numero_voie"]
    assert noeud["type"] == "integer" and "pattern" not in noeud and "maxLength" not in noeud
    assert "x-ui" not in noeud and noeud["description"] == "En chiffres."
    definition(schema)


def test_bound_properties_cannot_be_removed_moved_or_retyped_but_can_be_relabelled():
    with pytest.raises(EditionRefusee) as refus:
        editeur.remove(COMPTE, "utilisateur.courriel")
    assert "« utilisateur.courriel »" in str(refus.value) and "x-bindings" in str(refus.value)
    with pytest.raises(EditionRefusee, match=r"utilisateur\.nom"):
        editeur.remove(COMPTE, "utilisateur")
    with pytest.raises(EditionRefusee, match=r"etablissement\.siret"):
        editeur.move_into(COMPTE, "etablissement.siret", "utilisateur")
    with pytest.raises(EditionRefusee, match="son type ne peut pas être changé"):
        editeur.update_question(
            COMPTE, "etablissement.siret", Question(libelle="SIRET", type="texte")
        )
    relu = editeur.question(COMPTE, "etablissement.siret")
    relu.libelle = "Numéro SIRET"
    schema = editeur.update_question(COMPTE, "etablissement.siret", relu)
    assert schema["properties"]["etablissement"]["properties"]["siret"]["title"] == "Numéro SIRET"
    assert schema["x-bindings"] == COMPTE["x-bindings"]


def test_a_bound_question_stays_required_and_unconditional_in_the_editor():
    relu = editeur.question(COMPTE, "utilisateur.courriel")
    facultative = copy.deepcopy(relu)
    facultative.obligatoire = False
    with pytest.raises(EditionRefusee, match="elle doit rester obligatoire"):
        editeur.update_question(COMPTE, "utilisateur.courriel", facultative)
    conditionnelle = copy.deepcopy(relu)
    conditionnelle.condition = ("nom", "Durand")
    with pytest.raises(EditionRefusee, match="ne peut pas dépendre d'une condition"):
        editeur.update_question(COMPTE, "utilisateur.courriel", conditionnelle)


def test_an_edit_in_the_advanced_tab_is_checked_against_the_bindings():
    assert editeur.check_bindings(COMPTE, copy.deepcopy(COMPTE)) == []
    retire = copy.deepcopy(COMPTE)
    del retire["properties"]["etablissement"]["properties"]["siret"]
    retype = copy.deepcopy(COMPTE)
    retype["properties"]["utilisateur"]["properties"]["nom"] = {"type": "integer"}
    liste = copy.deepcopy(COMPTE)
    liste["x-bindings"] = ["etablissement.siret"]
    (probleme,) = editeur.check_bindings(COMPTE, retire)
    assert "etablissement.siret" in probleme.message and "retirée" in probleme.message
    assert probleme.path == "$.properties.etablissement.properties.siret"
    (probleme,) = editeur.check_bindings(COMPTE, retype)
    assert "utilisateur.nom" in probleme.message and "type" in probleme.message
    assert any("x-bindings" in p.message for p in editeur.check_bindings(COMPTE, liste))
    # Garbage does not crash the check.
    assert editeur.check_bindings(COMPTE, {"properties": []})


def test_removing_a_question_forgets_every_mention_of_it():
    schema = editeur.remove(ATELIER, "creneau")
    assert "dependentRequired" not in schema  # telephone → [creneau] was its only rule
    schema = editeur.remove(schema, "materiel_detail")
    assert "then" not in schema and "if" not in schema
    schema = editeur.remove(schema, "salle")
    assert schema["allOf"][0].keys() == {"if", "else"}
    definition(schema)
    with pytest.raises(EditionRefusee, match="n'existe pas"):
        editeur.remove(schema, "salle")


def test_pinning_the_order_keeps_the_rendered_order_when_key_order_is_lost():
    fige = editeur.pin_order(ATELIER)
    definition(fige)
    melange = json.loads(json.dumps(fige, sort_keys=True))
    assert [s.name for s in definition(melange).tree] == [s.name for s in definition(ATELIER).tree]
    assert [s.name for s in specs(melange, "entreprise")] == [
        s.name for s in specs(ATELIER, "entreprise")
    ]
    assert editeur.pin_order(fige) == fige


def test_a_schema_that_lost_its_key_order_gets_it_back_from_a_reference():
    melange = json.loads(json.dumps(COMPTE, sort_keys=True))
    assert [s.name for s in specs(melange, "etablissement")] != [
        s.name for s in specs(COMPTE, "etablissement")
    ]
    repare = editeur.pin_order(melange, reference=COMPTE)
    for section in ("etablissement", "utilisateur"):
        assert [s.name for s in specs(repare, section)] == [s.name for s in specs(COMPTE, section)]


def test_the_advanced_tab_shows_keys_in_a_readable_order_whatever_the_storage():
    fige = editeur.pin_order(COMPTE)
    melange = json.loads(json.dumps(fige, sort_keys=True))
    lisible = editeur.readable(melange)
    assert lisible == fige
    assert list(lisible)[:3] == ["$schema", "$id", "x-version"]
    assert list(lisible["properties"]["etablissement"]["properties"]) == list(
        COMPTE["properties"]["etablissement"]["properties"]
    )


def test_an_option_tested_by_a_condition_cannot_be_removed():
    relu = editeur.question(ATELIER, "modalite")
    relu.options = [("distance", "À distance")]
    with pytest.raises(EditionRefusee, match="« presentiel » conditionne"):
        editeur.update_question(ATELIER, "modalite", relu)
    relu.options = [("presentiel", "Sur place"), ("distance", "À distance")]
    apres = editeur.update_question(ATELIER, "modalite", relu)
    assert apres["properties"]["modalite"]["oneOf"][0] == {
        "const": "presentiel",
        "title": "Sur place",
    }
