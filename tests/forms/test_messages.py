"""Every message a user reads is an exact French sentence, shown on the field it concerns."""

from __future__ import annotations

import pytest

URL = "/formulaires/inscription-atelier"

SIRET = (
    "Le numéro SIRET n'est pas valide : il doit comporter 14 chiffres "
    "et sa clé de contrôle doit être correcte."
)
EMAIL = (
    "L'adresse électronique n'est pas valide : saisissez une seule adresse, "
    "de la forme nom@exemple.fr."
)
TELEPHONE = (
    "Le numéro de téléphone n'est pas valide : saisissez un numéro français à 10 chiffres "
    "(par exemple 01 23 45 67 89), y compris outre-mer, ou un numéro au format international (+33…)."
)
CODE_POSTAL = (
    "Le code postal n'est pas valide : il doit comporter 5 chiffres et correspondre à une commune."
)
DATE = "La date n'est pas valide : saisissez une date existante au format JJ/MM/AAAA, entre 1900 et 2100."


def shown_messages(client, page, data, field):
    response = client.post(URL, data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    return page(response).messages(field)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("nom", "", "Ce champ est obligatoire."),
        ("nom", "A", "Ce champ doit contenir au moins 2 caractère(s)."),
        ("nom", "A" * 41, "Ce champ doit contenir au plus 40 caractères."),
        ("code_interne", "abc", "Le format de ce champ n'est pas valide."),
        ("nombre_places", "0", "La valeur doit être supérieure ou égale à 1."),
        ("nombre_places", "11", "La valeur doit être inférieure ou égale à 10."),
        ("budget", "-0,5", "La valeur doit être supérieure ou égale à 0."),
        ("atelier", "cuisine", "Choisissez une des valeurs proposées."),
        ("siret", "73282932000075", SIRET),
        ("siret", "7328293200007", SIRET),
        ("courriel", "mathilde.gerard@", EMAIL),
        ("courriel", "a@b.fr, c@d.fr", EMAIL),
        ("code_postal", "4450", CODE_POSTAL),
        ("code_postal", "00000", CODE_POSTAL),
        ("date_souhaitee", "31/02/2030", DATE),
        ("date_souhaitee", "demain", DATE),
        ("entreprise-raison_sociale", "", "Ce champ est obligatoire."),
        ("entreprise-effectif", "-1", "La valeur doit être supérieure ou égale à 0."),
        ("salaries-0-prenom", "", "Ce champ est obligatoire."),
    ],
)
def test_a_wrong_value_gets_its_exact_french_message_next_to_the_field(
    atelier_client, valid_data, page, field, value, message
):
    valid_data[field] = value
    if field == "courriel":
        valid_data["courriel__confirmation"] = value
    assert shown_messages(atelier_client, page, valid_data, field) == [message]


@pytest.mark.parametrize("value", ["12 34", "+1 202 555 0143", "01 23 45 67 8"])
def test_a_wrong_telephone_gets_the_telephone_message(atelier_client, valid_data, page, value):
    valid_data.update({"telephone": value, "creneau": "matin"})
    assert shown_messages(atelier_client, page, valid_data, "telephone") == [TELEPHONE]


def test_a_confirmation_that_differs_gets_the_mismatch_message(atelier_client, valid_data, page):
    valid_data["courriel__confirmation"] = "mathilde.gerrard@example.fr"
    assert shown_messages(atelier_client, page, valid_data, "courriel__confirmation") == [
        "Les deux adresses ne sont pas identiques."
    ]


def test_a_missing_confirmation_gets_the_mismatch_message(atelier_client, valid_data, page):
    del valid_data["courriel__confirmation"]
    assert shown_messages(atelier_client, page, valid_data, "courriel__confirmation") == [
        "Les deux adresses ne sont pas identiques."
    ]


def test_a_required_group_of_checkboxes_left_empty_is_required(atelier_client, valid_data, page):
    del valid_data["themes"]
    assert shown_messages(atelier_client, page, valid_data, "themes") == [
        "Ce champ est obligatoire."
    ]


def test_min_items_on_checkboxes_says_how_many_boxes_to_check(atelier):
    assert atelier.errors({"themes": []})["themes"] == ["Cochez au moins 1 case(s)."]


def test_min_items_on_a_repeated_group_says_how_many_entries(atelier):
    assert atelier.errors({"salaries": []})["salaries"] == ["Indiquez au moins 1 élément(s)."]
    too_many = [{"nom": "A", "prenom": "B"}] * 4
    assert atelier.errors({"salaries": too_many})["salaries"] == ["Indiquez au plus 3 élément(s)."]


def test_a_value_of_the_wrong_type_gets_a_french_message(atelier):
    errors = atelier.errors(
        {"nombre_places": "trois", "newsletter": "oui", "budget": "x", "nom": 12}
    )
    assert errors["nombre_places"] == ["Saisissez un nombre entier."]
    assert errors["newsletter"] == ["Répondez par oui ou par non."]
    assert errors["budget"] == ["Saisissez un nombre."]
    assert errors["nom"] == ["Saisissez un texte."]


def test_the_pattern_message_of_a_definition_replaces_the_generic_one(app):
    creation = app.extensions["forms"]["demande-creation-compte"]
    errors = creation.errors({"etablissement": {"numero_voie": "12b"}})
    assert errors["etablissement-numero_voie"] == [
        "Saisissez le numéro de voie en chiffres (5 au plus)."
    ]


def test_a_dependent_required_field_gets_the_required_message(atelier):
    assert atelier.errors({"telephone": "+33123456789"})["creneau"] == ["Ce champ est obligatoire."]


def test_an_unchecked_required_box_is_asked_to_be_checked(atelier):
    assert atelier.errors({"accepte_conditions": False})["accepte_conditions"] == [
        "Vous devez cocher cette case."
    ]


def test_the_summary_counts_the_errors_in_french(atelier_client, valid_data, page):
    valid_data["nom"] = ""
    response = atelier_client.post(URL, data=valid_data)
    assert "Le formulaire contient une erreur" in page(response).by_id("resume-erreurs").text
    valid_data["siret"] = "1"
    response = atelier_client.post(URL, data=valid_data)
    assert "Le formulaire contient 2 erreurs" in page(response).by_id("resume-erreurs").text


def test_no_english_jsonschema_message_ever_reaches_the_page(atelier_client, page):
    data = {
        "nom": "x" * 500,
        "siret": "abc",
        "courriel": "@",
        "themes": ["x", "x"],
        "nombre_places": "99",
        "niveau": "7",
        "modalite": "?",
        "besoin_materiel": "peut-être",
        "salaries-0-poste": "x" * 300,
        "entreprise-effectif": "-4",
        "date_souhaitee": "2030-02-30",
        "code_postal": "A",
    }
    response = atelier_client.post(URL, data=data)
    assert response.status_code == 422
    text = page(response).by_id("resume-erreurs").text
    for english in (
        "is a required property",
        "is not valid",
        "does not match",
        "is too long",
        "is not one of",
        "should be",
        "Not a valid",
        "This field",
    ):
        assert english not in text
