"""Posting a standalone form (POST /formulaires/<id>) and the engine behind it: errors shown
where they belong, nothing typed is lost, and a valid post stores the canonical document."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.datastructures import CombinedMultiDict, FileStorage, MultiDict

from extensions import db
from forms import engine
from models.submission import Submission
from models.upload import Upload

URL = "/formulaires/inscription-atelier"
ROOT = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def submissions(app) -> list[Submission]:
    with app.app_context():
        return list(db.session.scalars(select(Submission).order_by(Submission.id)))


def stored(app) -> dict:
    rows = submissions(app)
    assert len(rows) == 1
    return rows[0].data


def post(client, data, **kwargs):
    return client.post(URL, data=data, content_type="multipart/form-data", **kwargs)


# -- a valid post -------------------------------------------------------------------------------


def test_a_valid_post_redirects_with_303_to_the_confirmation_page(atelier_client, valid_data, page):
    response = post(atelier_client, valid_data)
    assert response.status_code == 303
    match = re.fullmatch(
        r"/formulaires/inscription-atelier/confirmation/([A-Z0-9-]{14})",
        response.headers["Location"],
    )
    assert match
    confirmation = atelier_client.get(response.headers["Location"])
    assert confirmation.status_code == 200
    text = confirmation.get_data(as_text=True)
    assert "Votre inscription a bien été enregistrée." in text
    assert match.group(1) in text


def test_a_valid_post_stores_form_id_version_and_the_canonical_document(
    atelier_app, atelier_client, valid_data
):
    assert post(atelier_client, valid_data).status_code == 303
    rows = submissions(atelier_app)
    assert len(rows) == 1
    assert rows[0].form_id == "inscription-atelier"
    assert rows[0].form_version == 3
    assert rows[0].data == {
        "reference_dossier": "ATELIER-2024",
        "nom": "Mathilde Gérard",
        "code_interne": "a1b",  # the pattern "[0-9]" is unanchored
        "siret": "73282932000074",
        "courriel": "mathilde.gerard@example.fr",
        "atelier": "droit",
        "modalite": "presentiel",
        "salle": "Salle B",
        "niveau": 2,
        "themes": ["indemnisation", "controle"],
        "nombre_places": 3,
        "newsletter": False,
        "accepte_conditions": True,
        "entreprise": {"raison_sociale": "Boulangerie Gérard", "effectif": 12},
        "salaries": [{"nom": "Durand", "prenom": "Paul"}],
    }


def test_the_stored_document_is_valid_for_the_cli_too(
    atelier_app, atelier_client, valid_data, tmp_path
):
    assert post(atelier_client, valid_data).status_code == 303
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(stored(atelier_app)), encoding="utf-8")
    result = atelier_app.test_cli_runner().invoke(
        args=["forms", "validate", "inscription-atelier", str(path)]
    )
    assert result.exit_code == 0, result.output


def test_formatted_values_are_stored_canonical(atelier_app, atelier_client, valid_data):
    valid_data.update(
        {
            "siret": "".join(chr(ord(c) + 0xFEE0) for c in "73282932000074"),  # full-width digits
            "telephone": "01 23 45 67 89",
            "creneau": "matin",
            "courriel": " Mathilde.Gerard@EXAMPLE.FR ",
            "courriel__confirmation": "Mathilde.Gerard@example.FR",
            "code_postal": "44 500",
            "date_souhaitee": "25/12/2030",
            "budget": "12,5",
        }
    )
    response = post(atelier_client, valid_data)
    assert response.status_code == 303, response.get_data(as_text=True)
    document = stored(atelier_app)
    assert document["siret"] == "73282932000074"
    assert document["telephone"] == "+33123456789"
    assert document["courriel"] == "Mathilde.Gerard@example.fr"
    assert document["code_postal"] == "44500"
    assert document["date_souhaitee"] == "2030-12-25"
    assert document["budget"] == 12.5


def test_a_siret_typed_with_spaces_is_stored_without(atelier_app, atelier_client, valid_data):
    valid_data["siret"] = "732 829 320 00074"
    assert post(atelier_client, valid_data).status_code == 303
    assert stored(atelier_app)["siret"] == "73282932000074"


def test_text_is_trimmed_and_nfc_normalised(atelier_app, atelier_client, valid_data):
    valid_data["nom"] = "  Mathilde Ge\u0301rard  "
    assert post(atelier_client, valid_data).status_code == 303
    assert stored(atelier_app)["nom"] == "Mathilde Gérard"


# -- an invalid post ----------------------------------------------------------------------------


def test_an_empty_post_is_refused_with_422_and_an_error_summary_at_the_top(
    atelier_app, atelier_client, page
):
    response = post(atelier_client, {})
    assert response.status_code == 422
    shown = page(response)
    summary = shown.by_id("resume-erreurs")
    form = shown.find_all("form", method="post")[0]
    assert shown.elements.index(summary) < shown.elements.index(form)
    links = shown.summary_links()
    for field_id in (
        "nom",
        "siret",
        "courriel",
        "atelier",
        "themes",
        "entreprise-raison_sociale",
        "entreprise-effectif",
        "salaries-0-nom",
        "salaries-0-prenom",
        "accepte_conditions",
    ):
        assert f"#{field_id}" in links, field_id
        assert shown.has_id(field_id)
    assert links["#nom"] == "Nom du contact : Ce champ est obligatoire."
    assert submissions(atelier_app) == []
    assert "<title>Erreur - " in shown.source


def test_each_message_is_shown_next_to_its_own_field(atelier_client, valid_data, page):
    valid_data.update({"nom": "A", "nombre_places": "11", "code_interne": "abc"})
    shown = page(post(atelier_client, valid_data))
    assert shown.messages("nom") == ["Ce champ doit contenir au moins 2 caractère(s)."]
    assert shown.messages("nombre_places") == ["La valeur doit être inférieure ou égale à 10."]
    assert shown.messages("code_interne") == ["Le format de ce champ n'est pas valide."]
    assert shown.messages("siret") == []
    assert shown.by_id("nom").get("aria-invalid") == "true"
    assert "aria-invalid" not in shown.by_id("siret").attrs


def test_required_error_on_a_nested_field_is_shown_next_to_that_field(
    atelier_client, valid_data, page
):
    del valid_data["entreprise-raison_sociale"]
    response = post(atelier_client, valid_data)
    assert response.status_code == 422
    shown = page(response)
    assert shown.messages("entreprise-raison_sociale") == ["Ce champ est obligatoire."]
    assert shown.messages("entreprise-effectif") == []
    assert list(shown.summary_links()) == ["#entreprise-raison_sociale"]


def test_required_error_on_an_item_of_a_repeated_group_is_shown_next_to_that_item(
    atelier_client, valid_data, page
):
    valid_data.update(
        {"salaries-1-prenom": "Léa", "salaries-2-nom": "Martin", "salaries-2-prenom": "Jo"}
    )
    response = post(atelier_client, valid_data)
    assert response.status_code == 422
    shown = page(response)
    assert shown.messages("salaries-1-nom") == ["Ce champ est obligatoire."]
    assert shown.messages("salaries-0-nom") == []
    assert shown.messages("salaries-2-nom") == []
    assert list(shown.summary_links()) == ["#salaries-1-nom"]


def test_every_value_already_typed_is_still_in_the_re_rendered_page(
    atelier_client, valid_data, page
):
    valid_data.update(
        {
            "nom": "A",  # too short: the post is refused
            "telephone": "01 23 45 67 89",
            "creneau": "apres-midi",
            "budget": "12,5",
            "besoin_materiel": "true",
            "materiel_detail": "Fauteuil",
            "newsletter": "y",
            "entreprise-adresse-voie": "1 rue de la Paix",
            "salaries-1-nom": "Martin",
            "salaries-1-prenom": "Léa",
            "salaries-1-poste": "Comptable",
        }
    )
    response = post(atelier_client, valid_data)
    assert response.status_code == 422
    shown = page(response)
    assert shown.value_of("nom") == "A"
    assert shown.value_of("siret") == "732 829 320 00074"
    assert shown.value_of("courriel") == "mathilde.gerard@example.fr"
    assert shown.value_of("courriel__confirmation") == "mathilde.gerard@example.fr"
    assert shown.value_of("telephone") == "01 23 45 67 89"
    assert shown.value_of("creneau") == "apres-midi"
    assert shown.value_of("atelier") == "droit"
    assert shown.value_of("niveau") == "2"
    assert shown.value_of("modalite") == ["presentiel"]
    assert shown.value_of("salle") == "Salle B"
    assert shown.value_of("themes") == ["indemnisation", "controle"]
    assert shown.value_of("nombre_places") == "3"
    assert shown.value_of("budget") == "12,5"
    assert shown.value_of("besoin_materiel") == ["true"]
    assert shown.value_of("materiel_detail") == "Fauteuil"
    assert shown.value_of("newsletter") == ["y"]
    assert shown.value_of("accepte_conditions") == ["y"]
    assert shown.value_of("entreprise-raison_sociale") == "Boulangerie Gérard"
    assert shown.value_of("entreprise-effectif") == "12"
    assert shown.value_of("entreprise-adresse-voie") == "1 rue de la Paix"
    assert shown.value_of("salaries-0-nom") == "Durand"
    assert shown.value_of("salaries-1-nom") == "Martin"
    assert shown.value_of("salaries-1-poste") == "Comptable"


def test_an_unchecked_required_checkbox_must_be_checked(atelier_client, valid_data, page):
    del valid_data["accepte_conditions"]
    shown = page(post(atelier_client, valid_data))
    assert shown.messages("accepte_conditions") == ["Vous devez cocher cette case."]


def test_an_unchecked_optional_checkbox_is_stored_false_and_a_checked_one_true(
    atelier_app, atelier_client, valid_data
):
    valid_data["newsletter"] = "y"
    assert post(atelier_client, valid_data).status_code == 303
    document = stored(atelier_app)
    assert document["newsletter"] is True and document["accepte_conditions"] is True


def test_an_unanswered_yes_no_question_is_left_out_and_no_is_stored_false(
    atelier_app, atelier_client, valid_data
):
    valid_data["besoin_materiel"] = "false"
    assert post(atelier_client, valid_data).status_code == 303
    assert stored(atelier_app)["besoin_materiel"] is False


def test_a_value_outside_the_options_is_refused(atelier_client, valid_data, page):
    valid_data.update(
        {
            "atelier": "cuisine",
            "niveau": "3",
            "themes": ["indemnisation", "piratage"],
            "modalite": "lune",
        }
    )
    shown = page(post(atelier_client, valid_data))
    assert shown.messages("atelier") == ["Choisissez une des valeurs proposées."]
    assert shown.messages("niveau") == ["Choisissez une des valeurs proposées."]
    assert shown.messages("modalite") == ["Choisissez une des valeurs proposées."]
    assert "Choisissez une des valeurs proposées." in " ".join(shown.messages("themes"))


def test_the_same_choice_twice_is_refused(atelier_client, valid_data, page):
    valid_data["themes"] = ["formation", "formation"]
    shown = page(post(atelier_client, valid_data))
    assert shown.messages("themes") == ["Chaque valeur ne peut être indiquée qu'une fois."]


def test_an_unexpected_field_in_the_post_is_ignored(atelier_app, atelier_client, valid_data):
    valid_data["pirate"] = "x"
    valid_data["entreprise-pirate"] = "y"
    assert post(atelier_client, valid_data).status_code == 303
    assert "pirate" not in json.dumps(stored(atelier_app))


# -- dependentRequired and conditions -----------------------------------------------------------


def test_a_dependent_field_is_required_once_its_trigger_is_answered(
    atelier_client, valid_data, page
):
    valid_data["telephone"] = "01 23 45 67 89"
    response = post(atelier_client, valid_data)
    assert response.status_code == 422
    assert page(response).messages("creneau") == ["Ce champ est obligatoire."]


def test_a_conditional_field_is_required_when_its_condition_holds(atelier_client, valid_data, page):
    valid_data["besoin_materiel"] = "true"
    response = post(atelier_client, valid_data)
    assert response.status_code == 422
    shown = page(response)
    assert shown.messages("materiel_detail") == ["Ce champ est obligatoire."]
    assert list(shown.summary_links()) == ["#materiel_detail"]


def test_a_conditional_field_is_not_required_and_its_answer_dropped_when_the_condition_fails(
    atelier_app, atelier_client, valid_data
):
    valid_data.update({"besoin_materiel": "false", "materiel_detail": "Fauteuil"})
    assert post(atelier_client, valid_data).status_code == 303
    document = stored(atelier_app)
    assert "materiel_detail" not in document


def test_an_invalid_answer_to_a_question_that_does_not_apply_does_not_block_the_post(
    atelier_app, atelier_client, valid_data
):
    valid_data.update({"besoin_materiel": "false", "materiel_detail": "x" * 500})
    assert post(atelier_client, valid_data).status_code == 303
    assert "materiel_detail" not in stored(atelier_app)


def test_the_else_branch_requires_its_field_when_the_condition_fails(
    atelier_app, atelier_client, valid_data, page
):
    valid_data["modalite"] = "distance"  # "salle" is still posted
    response = post(atelier_client, valid_data)
    assert response.status_code == 422
    assert page(response).messages("lien_visio") == ["Ce champ est obligatoire."]
    valid_data["lien_visio"] = "Visio"
    assert post(atelier_client, valid_data).status_code == 303
    document = stored(atelier_app)
    assert document["lien_visio"] == "Visio"
    assert "salle" not in document


# -- repeatable groups without JavaScript -------------------------------------------------------


def test_add_action_shows_one_more_entry_and_loses_nothing(
    atelier_app, atelier_client, valid_data, page
):
    valid_data["_action"] = "add:salaries"
    response = post(atelier_client, valid_data)
    assert response.status_code == 200
    shown = page(response)
    assert shown.has_id("salaries-1") and not shown.has_id("salaries-2")
    assert shown.value_of("salaries-0-nom") == "Durand"
    assert shown.value_of("salaries-1-nom") == ""
    assert shown.value_of("nom") == "Mathilde Gérard"
    assert shown.value_of("themes") == ["indemnisation", "controle"]
    assert not shown.has_id("resume-erreurs")  # not validated yet
    assert shown.messages("salaries-1-nom") == []
    assert submissions(atelier_app) == []
    removes = [
        b.get("value")
        for b in shown.find_all("button")
        if (b.get("value") or "").startswith("remove:")
    ]
    assert removes == ["remove:salaries-0", "remove:salaries-1"]


def test_remove_action_shows_one_entry_fewer_and_keeps_the_others(atelier_client, valid_data, page):
    valid_data.update(
        {
            "salaries-1-nom": "Martin",
            "salaries-1-prenom": "Léa",
            "salaries-2-nom": "Petit",
            "salaries-2-prenom": "Jo",
            "_action": "remove:salaries-1",
        }
    )
    response = post(atelier_client, valid_data)
    assert response.status_code == 200
    shown = page(response)
    names = [
        e.get("value")
        for e in shown.elements
        if e.tag == "input" and re.fullmatch(r"salaries-\d+-nom", e.get("name") or "")
    ]
    assert names == ["Durand", "Petit"]


def test_an_entry_removed_then_the_form_posted_is_not_stored(
    atelier_app, atelier_client, valid_data, page
):
    valid_data.update(
        {"salaries-1-nom": "Martin", "salaries-1-prenom": "Léa", "_action": "remove:salaries-0"}
    )
    shown = page(post(atelier_client, valid_data))
    data = {
        e.get("name"): e.get("value")
        for e in shown.elements
        if e.tag == "input" and (e.get("name") or "").startswith("salaries-")
    }
    follow = dict(valid_data)
    del follow["_action"]
    for key in [k for k in follow if k.startswith("salaries-")]:
        del follow[key]
    follow.update(data)
    assert post(atelier_client, follow).status_code == 303
    assert stored(atelier_app)["salaries"] == [{"nom": "Martin", "prenom": "Léa"}]


def test_max_items_is_respected_by_the_add_action(atelier_client, valid_data, page):
    valid_data.update(
        {
            "salaries-1-nom": "B",
            "salaries-1-prenom": "B",
            "salaries-2-nom": "C",
            "salaries-2-prenom": "C",
            "_action": "add:salaries",
        }
    )
    response = post(atelier_client, valid_data)
    assert response.status_code == 200
    shown = page(response)
    assert shown.has_id("salaries-2") and not shown.has_id("salaries-3")
    assert "Vous ne pouvez pas ajouter plus de 3 éléments." in shown.source
    assert not [b for b in shown.find_all("button") if b.get("value") == "add:salaries"]


def test_an_empty_extra_entry_is_not_stored(atelier_app, atelier_client, valid_data):
    valid_data.update({"salaries-1-nom": "", "salaries-1-prenom": "", "salaries-1-poste": ""})
    assert post(atelier_client, valid_data).status_code == 303
    assert stored(atelier_app)["salaries"] == [{"nom": "Durand", "prenom": "Paul"}]


def test_an_action_that_changes_nothing_is_a_plain_submission(
    atelier_app, atelier_client, valid_data
):
    valid_data["_action"] = "remove:salaries-9"
    response = post(atelier_client, valid_data)
    # an action that changes nothing is a plain submission
    assert response.status_code == 303
    assert len(submissions(atelier_app)) == 1


# -- read-only ----------------------------------------------------------------------------------


def test_a_posted_value_for_a_read_only_field_is_ignored(atelier_app, atelier_client, valid_data):
    valid_data["reference_dossier"] = "PIRATE"
    assert post(atelier_client, valid_data).status_code == 303
    assert stored(atelier_app)["reference_dossier"] == "ATELIER-2024"


def test_a_read_only_field_takes_the_server_prefill(atelier_app, atelier, valid_data):
    valid_data["reference_dossier"] = "PIRATE"
    with atelier_app.test_request_context():
        outcome = engine.submit(
            atelier, MultiDict(list(_items(valid_data))), {"reference_dossier": "DOSSIER-42"}
        )
    assert outcome.valid, outcome.errors
    assert outcome.document["reference_dossier"] == "DOSSIER-42"


def test_a_read_only_format_field_is_taken_from_prefill_in_a_shipped_form(app):
    definition = app.extensions["forms"]["demande-creation-compte"]
    example = json.loads(
        (ROOT / "forms" / "examples" / "demande-creation-compte.json").read_text(encoding="utf-8")
    )
    with app.test_request_context():
        shown = engine.new_form(definition, example)
        data = {}
        for bound in engine._walk(shown):
            if bound.type in {
                "StringField",
                "SelectField",
                "RadioField",
                "HiddenField",
                "TextAreaField",
            }:
                data[bound.name] = (
                    bound._value() if bound.type != "SelectField" else (bound.data or "")
                )
        data["etablissement-siret"] = "44306184100047"  # tampered
        outcome = engine.submit(definition, MultiDict(data), example)
    assert outcome.valid, outcome.errors
    assert outcome.document["etablissement"]["siret"] == "00578096000042"
    assert outcome.document["utilisateur"]["telephone"] == "+33550505050"


def _items(data: dict):
    for key, value in data.items():
        for one in value if isinstance(value, list) else [value]:
            yield key, one


# -- control characters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("code_interne", "a1\tb"),
        ("code_interne", "1\u200b"),
        ("code_interne", "1\nb"),
        ("siret", "73282932000074\u200b"),
        ("courriel", "mathilde\u202e@example.fr"),
        ("telephone", "01 23 45\u00ad 67 89"),
    ],
)
def test_control_and_invisible_characters_are_refused_where_a_pattern_or_format_applies(
    atelier_client, valid_data, page, field, value
):
    valid_data[field] = value
    if field == "courriel":
        valid_data["courriel__confirmation"] = value
    if field == "telephone":
        valid_data["creneau"] = "matin"
    response = post(atelier_client, valid_data)
    assert response.status_code == 422
    assert page(response).messages(field) == [
        "Ce champ contient des caractères non autorisés (retour à la ligne, tabulation ou caractère invisible)."
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [("code_interne", "a1\n"), ("siret", "73282932000074\n"), ("numero_voie", "12\n")],
)
def test_a_trailing_newline_is_refused_in_a_document(app, atelier_app, field, value):
    if field == "numero_voie":
        definition = app.extensions["forms"]["demande-creation-compte"]
        errors = definition.errors({"etablissement": {field: value}})
        assert errors["etablissement-numero_voie"] == [
            "Ce champ contient des caractères non autorisés (retour à la ligne, tabulation ou caractère invisible)."
        ]
        return
    atelier = atelier_app.extensions["forms"]["inscription-atelier"]
    assert atelier.errors({field: value})[field] == [
        "Ce champ contient des caractères non autorisés (retour à la ligne, tabulation ou caractère invisible)."
    ]


def test_a_trailing_newline_typed_in_a_form_never_reaches_the_stored_document(
    atelier_app, atelier_client, valid_data
):
    valid_data.update({"code_interne": "a1\r\n", "nom": "Mathilde Gérard\n"})
    response = post(atelier_client, valid_data)
    if response.status_code == 303:
        document = stored(atelier_app)
        assert "\n" not in document["code_interne"] and "\n" not in document["nom"]
    else:
        assert response.status_code == 422


def test_numbers_typed_wrongly_get_a_french_message(atelier_client, valid_data, page):
    valid_data.update({"nombre_places": "trois", "budget": "douze", "entreprise-effectif": "1.5"})
    shown = page(post(atelier_client, valid_data))
    assert shown.messages("nombre_places") == ["Saisissez un nombre entier."]
    assert shown.messages("budget") == ["Saisissez un nombre."]
    assert shown.messages("entreprise-effectif") == ["Saisissez un nombre entier."]
    assert shown.value_of("nombre_places") == "trois"


@pytest.mark.parametrize("value", ["nan", "inf", "-Infinity", "1e999"])
def test_a_number_that_is_not_finite_is_refused(atelier_client, valid_data, page, value):
    valid_data["budget"] = value
    response = post(atelier_client, valid_data)
    assert response.status_code == 422
    assert page(response).messages("budget") in (
        ["Saisissez un nombre."],
        ["La valeur doit être inférieure ou égale à 1000."],
    )


# -- files --------------------------------------------------------------------------------------


def test_an_accepted_pdf_is_stored_under_a_random_name_in_the_uploads_folder(
    atelier_app, atelier_client, valid_data
):
    valid_data["justificatif"] = (io.BytesIO(PDF), "../../app.py")
    response = post(atelier_client, valid_data)
    assert response.status_code == 303, response.get_data(as_text=True)
    token = stored(atelier_app)["justificatif"]
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    uploads = Path(atelier_app.config["UPLOADS_DIR"])
    assert sorted(p.name for p in uploads.iterdir()) == [token]
    assert (uploads / token).read_bytes() == PDF
    assert (ROOT / "app.py").read_bytes() != PDF
    assert not (uploads.parent / "app.py").exists()
    with atelier_app.app_context():
        upload = db.session.scalar(select(Upload).where(Upload.token == token))
        assert upload.filename == "app.py"
        assert upload.content_type == "application/pdf"
        assert upload.size == len(PDF)


def test_a_too_large_file_is_refused_with_a_french_message(
    atelier_app, atelier_client, valid_data, page
):
    valid_data["justificatif"] = (io.BytesIO(PDF + b"0" * 2000), "gros.pdf")
    response = post(atelier_client, valid_data)
    assert response.status_code == 422
    assert page(response).messages("justificatif") == [
        "Le fichier dépasse la taille maximale autorisée (1 ko)."
    ]
    assert list(Path(atelier_app.config["UPLOADS_DIR"]).iterdir()) == []


def test_a_file_whose_content_is_html_but_named_pdf_is_refused(
    atelier_app, atelier_client, valid_data, page
):
    valid_data["justificatif"] = (
        io.BytesIO(b"<html><script>alert(1)</script></html>"),
        "facture.pdf",
    )
    response = post(atelier_client, valid_data)
    assert response.status_code == 422
    assert page(response).messages("justificatif") == [
        "Ce type de fichier n'est pas accepté. Formats acceptés : PDF."
    ]
    assert list(Path(atelier_app.config["UPLOADS_DIR"]).iterdir()) == []


def test_a_png_is_refused_where_only_pdf_is_accepted(atelier_client, valid_data, page):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 20
    valid_data["justificatif"] = (io.BytesIO(png), "capture.pdf")
    assert page(post(atelier_client, valid_data)).messages("justificatif") == [
        "Ce type de fichier n'est pas accepté. Formats acceptés : PDF."
    ]


def test_an_empty_file_is_refused(atelier_client, valid_data, page):
    valid_data["justificatif"] = (io.BytesIO(b""), "vide.pdf")
    assert page(post(atelier_client, valid_data)).messages("justificatif") == [
        "Le fichier est vide."
    ]


def test_an_accepted_file_is_kept_across_a_re_render_with_errors(
    atelier_app, atelier_client, valid_data, page
):
    valid_data["nom"] = ""
    valid_data["justificatif"] = (io.BytesIO(PDF), "rapport.pdf")
    response = post(atelier_client, valid_data)
    assert response.status_code == 422
    shown = page(response)
    token = shown.value_of("justificatif__token")
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    assert "Fichier déjà joint : rapport.pdf" in shown.source
    # the user corrects the name and posts again, without choosing the file again
    valid_data["nom"] = "Mathilde Gérard"
    del valid_data["justificatif"]
    valid_data["justificatif__token"] = token
    assert post(atelier_client, valid_data).status_code == 303
    assert stored(atelier_app)["justificatif"] == token


def test_a_forged_token_is_not_taken_as_a_file(atelier_app, atelier_client, valid_data):
    valid_data["justificatif__token"] = "0123456789abcdef0123456789abcdef"
    assert post(atelier_client, valid_data).status_code == 303
    assert "justificatif" not in stored(atelier_app)


@pytest.mark.parametrize("token", ["../../app.py", "0" * 31, "X" * 32])
def test_a_malformed_token_is_ignored(atelier_app, atelier_client, valid_data, token):
    valid_data["justificatif__token"] = token
    assert post(atelier_client, valid_data).status_code == 303
    assert "justificatif" not in stored(atelier_app)


def test_a_body_above_max_content_length_is_refused_with_413(make_app, valid_data):
    app = make_app(MAX_CONTENT_LENGTH=4096, FORMS_SCHEMAS_DIR=str(ROOT / "tests" / "schemas"))
    valid_data["justificatif"] = (io.BytesIO(PDF + b"0" * 8192), "gros.pdf")
    response = post(app.test_client(), valid_data)
    assert response.status_code == 413
    assert submissions(app) == []
    assert (
        not Path(app.config["UPLOADS_DIR"]).exists()
        or list(Path(app.config["UPLOADS_DIR"]).iterdir()) == []
    )


def test_a_file_through_the_engine_uses_the_same_checks(atelier_app, atelier, valid_data):
    files = MultiDict(
        {"justificatif": FileStorage(io.BytesIO(b"GIF89a" + b"\x00" * 10), "image.pdf")}
    )
    with atelier_app.test_request_context():
        outcome = engine.submit(
            atelier, CombinedMultiDict([files, MultiDict(list(_items(valid_data)))])
        )
    assert outcome.errors == {
        "justificatif": ["Ce type de fichier n'est pas accepté. Formats acceptés : PDF."]
    }


# -- CSRF ---------------------------------------------------------------------------------------


def test_with_csrf_enabled_a_post_without_token_is_refused(make_app, valid_data):
    app = make_app(WTF_CSRF_ENABLED=True, FORMS_SCHEMAS_DIR=str(ROOT / "tests" / "schemas"))
    client = app.test_client()
    response = client.post(URL, data=valid_data)
    assert response.status_code == 400
    assert submissions(app) == []


def test_with_csrf_enabled_the_token_of_the_page_is_accepted(make_app, valid_data, page):
    app = make_app(WTF_CSRF_ENABLED=True, FORMS_SCHEMAS_DIR=str(ROOT / "tests" / "schemas"))
    client = app.test_client()
    shown = page(client.get(URL))
    token = shown.value_of("csrf_token")
    assert token
    valid_data["csrf_token"] = token
    response = client.post(URL, data=valid_data)
    assert response.status_code == 303
    assert len(submissions(app)) == 1
    assert "csrf_token" not in submissions(app)[0].data


# -- a new property without code change ---------------------------------------------------------


@pytest.fixture
def tva_app(make_app, tmp_path):
    folder = tmp_path / "definitions"
    folder.mkdir()
    schema = json.loads(
        (ROOT / "forms" / "schemas" / "demande-creation-compte.json").read_text(encoding="utf-8")
    )
    schema["properties"]["etablissement"]["properties"]["numero_tva"] = {
        "type": "string",
        "title": "N° de TVA intracommunautaire",
        "maxLength": 20,
    }
    schema["x-standalone"] = True
    (folder / "demande-creation-compte.json").write_text(
        json.dumps(schema, ensure_ascii=False), encoding="utf-8"
    )
    shutil.copy(ROOT / "forms" / "schemas" / "demande-support.json", folder)
    return make_app(FORMS_SCHEMAS_DIR=str(folder))


def _creation_post(tva: str) -> dict:
    return {
        "etablissement-denomination": "SOCIETE IMMOBILIERE TOURISTIQUE",
        "etablissement-libelle_voie": "LA PLAGES",
        "etablissement-code_postal": "44500",
        "etablissement-ville": "LA BAULE ESCOUBLAC",
        "etablissement-courriel": "apart.test@yopmail.com",
        "etablissement-courriel__confirmation": "apart.test@yopmail.com",
        "etablissement-telephone": "05 55 05 05 05",
        "etablissement-numero_tva": tva,
        "utilisateur-nom": "apart",
        "utilisateur-prenom": "test",
        "utilisateur-telephone": "05 50 50 50 50",
        "utilisateur-courriel": "apart.test@yopmail.com",
        "utilisateur-courriel__confirmation": "apart.test@yopmail.com",
        "utilisateur-question_secrete": "Quel était le nom de votre école primaire ?",
        "utilisateur-reponse": "Jules Ferry",
    }


def test_a_new_optional_property_is_rendered_without_code_change(tva_app, page):
    shown = page(tva_app.test_client().get("/formulaires/demande-creation-compte"))
    field = shown.by_id("etablissement-numero_tva")
    assert field.get("maxlength") == "20"
    label = next(
        lbl for lbl in shown.find_all("label") if lbl.get("for") == "etablissement-numero_tva"
    )
    assert label.text == "N° de TVA intracommunautaire"
    assert field.get("aria-describedby") == "etablissement-numero_tva-messages"


def test_a_new_optional_property_is_validated_in_french(tva_app, page):
    response = tva_app.test_client().post(
        "/formulaires/demande-creation-compte", data=_creation_post("FR" + "1" * 30)
    )
    assert response.status_code == 422
    shown = page(response)
    assert shown.messages("etablissement-numero_tva") == [
        "Ce champ doit contenir au plus 20 caractères."
    ]
    assert shown.value_of("etablissement-numero_tva") == "FR" + "1" * 30


def test_a_new_optional_property_is_stored_in_the_document(tva_app):
    prefill = {"etablissement": {"siret": "00578096000042"}}
    definition = tva_app.extensions["forms"]["demande-creation-compte"]
    with tva_app.test_request_context():
        outcome = engine.submit(definition, MultiDict(_creation_post("FR40303265045")), prefill)
    assert outcome.valid, outcome.errors
    assert outcome.document["etablissement"]["numero_tva"] == "FR40303265045"
    assert outcome.document["etablissement"]["siret"] == "00578096000042"
    response = tva_app.test_client().post(
        "/formulaires/demande-creation-compte", data=_creation_post("FR40303265045")
    )
    # standalone: no prefill, and the read-only SIRET is required
    assert response.status_code == 422


def test_the_last_entry_of_a_required_group_cannot_be_removed(atelier_client, valid_data, page):
    valid_data["_action"] = "remove:salaries-0"
    response = post(atelier_client, valid_data)
    assert response.status_code == 200
    shown = page(response)
    assert shown.has_id("salaries-0-nom"), "a required group keeps at least its minimum of entries"
    assert shown.value_of("salaries-0-nom") == "Durand"


def test_entries_posted_beyond_max_items_are_refused_not_silently_dropped(
    atelier_app, atelier_client, valid_data
):
    for index in (1, 2, 3):
        valid_data.update(
            {f"salaries-{index}-nom": f"N{index}", f"salaries-{index}-prenom": f"P{index}"}
        )
    response = post(atelier_client, valid_data)
    if response.status_code == 303:
        assert len(stored(atelier_app)["salaries"]) == 4, "the fourth salarié was silently lost"
    else:
        assert response.status_code == 422


# -- characters no database keeps ---------------------------------------------------------------


def test_lone_surrogates_cannot_reach_the_database():
    from forms.document import unstorable

    assert unstorable("Bonjour \ud800 le support")
    assert not unstorable("Première ligne\r\n\tdeuxième ligne é 😀")


@pytest.mark.parametrize(
    "text", ["Bonjour\x00 le support, voici ma demande", "Un\x1b[31m message assez long"]
)
def test_nul_escape_and_lone_surrogates_in_free_text_are_refused_next_to_the_field(
    atelier_client, valid_data, page, text
):
    valid_data.update({"besoin_materiel": "true", "materiel_detail": text})
    response = post(atelier_client, valid_data)
    assert response.status_code == 422
    assert any("caractères non autorisés" in m for m in page(response).messages("materiel_detail"))


def test_line_breaks_and_tabs_in_a_long_text_are_kept(atelier_app, atelier_client, valid_data):
    valid_data.update(
        {"besoin_materiel": "true", "materiel_detail": "Première ligne\r\n\tdeuxième ligne"}
    )
    assert post(atelier_client, valid_data).status_code == 303
    assert stored(atelier_app)["materiel_detail"] == "Première ligne\r\n\tdeuxième ligne"
