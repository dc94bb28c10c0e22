"""The page of a standalone form (GET /formulaires/<id>): accessible DSFR markup built from the
definition alone (tests/schemas/inscription-atelier.json)."""

from __future__ import annotations

import json

import pytest

from forms import engine

URL = "/formulaires/inscription-atelier"
CONTROLS = {"input", "select", "textarea"}


def visible_controls(page):
    return [
        e
        for e in page.elements
        if e.tag in CONTROLS and e.get("type") not in {"hidden", "submit", "button"}
    ]


@pytest.fixture
def form_page(atelier_client, page):
    response = atelier_client.get(URL)
    assert response.status_code == 200
    return page(response)


def test_the_page_shows_the_title_description_and_submit_label(form_page):
    assert form_page.find_all("h1")[0].text == "Inscription à un atelier d'information"
    assert "Inscrivez les salariés de votre établissement à un atelier." in form_page.source
    buttons = [
        b.text
        for b in form_page.find_all("button")
        if b.get("type") == "submit" and not b.get("name")
    ]
    assert buttons == ["Inscrire"]


def test_every_input_has_a_label(form_page):
    labelled = {label.get("for") for label in form_page.find_all("label")}
    controls = visible_controls(form_page)
    assert len(controls) > 30
    missing = [c.get("id") or c.get("name") for c in controls if c.get("id") not in labelled]
    assert missing == []


def test_every_id_of_the_page_is_unique(form_page):
    ids = [e.get("id") for e in form_page.elements if e.get("id")]
    assert len(ids) == len(set(ids))


def test_every_input_is_described_by_its_messages_container(form_page):
    for control in visible_controls(form_page):
        described = control.get("aria-describedby")
        assert described, control
        for target in described.split():
            assert form_page.has_id(target), f"{control.get('id')} → {target}"
        name = control.get("name")
        assert (
            f"{name}-messages" in described.split() or described == f"{control.get('id')}-messages"
        )


def test_a_text_input_is_described_by_the_container_of_its_own_messages(form_page):
    assert (
        form_page.by_id("entreprise-raison_sociale").get("aria-describedby")
        == "entreprise-raison_sociale-messages"
    )
    assert form_page.has_id("entreprise-raison_sociale-messages")
    assert form_page.by_id("salaries-0-nom").get("aria-describedby") == "salaries-0-nom-messages"


def test_a_group_of_radios_is_a_fieldset_labelled_by_its_legend_and_messages(form_page):
    group = form_page.by_id("modalite")
    assert group.tag == "fieldset"
    assert group.get("aria-labelledby") == "modalite-legend modalite-messages"
    assert form_page.by_id("modalite-legend").tag == "legend"
    assert form_page.by_id("modalite-legend").text.startswith("Modalité")


def test_a_nested_object_is_a_fieldset_whose_legend_is_its_title(form_page):
    section = form_page.by_id("entreprise")
    assert section.tag == "fieldset"
    legend = next(child for child in section.children if child.tag == "legend")
    assert "Entreprise" in legend.text
    assert "L'entreprise qui inscrit ses salariés." in legend.text  # its description as help text
    inner = form_page.by_id("entreprise-adresse")
    assert inner.tag == "fieldset" and section in list(inner.ancestors())
    assert "Adresse du siège" in next(c for c in inner.children if c.tag == "legend").text


def test_a_repeatable_group_is_a_fieldset_with_one_numbered_fieldset_per_entry(form_page):
    group = form_page.by_id("salaries")
    assert group.tag == "fieldset"
    entry = form_page.by_id("salaries-0")
    assert entry.tag == "fieldset"
    assert next(c for c in entry.children if c.tag == "legend").text == "Salariés n° 1"
    add = [b for b in form_page.find_all("button") if b.get("value") == "add:salaries"]
    assert len(add) == 1 and add[0].get("name") == "_action"
    # only one entry, the minimum: it cannot be removed
    assert not [
        b for b in form_page.find_all("button") if (b.get("value") or "").startswith("remove:")
    ]


def test_the_description_of_a_property_is_its_help_text(form_page):
    label = next(lbl for lbl in form_page.find_all("label") if lbl.get("for") == "nom")
    hints = [e.text for e in label.descendants() if "fr-hint-text" in (e.get("class") or "")]
    assert hints == ["Tel qu'il figure sur votre pièce d'identité."]


def test_required_fields_are_marked_and_optional_ones_are_not(form_page):
    labels = {lbl.get("for"): lbl for lbl in form_page.find_all("label")}

    def marked(field_id):
        return any("fr-required" in (e.get("class") or "") for e in labels[field_id].descendants())

    assert marked("nom")
    assert marked("siret")
    assert marked("entreprise-raison_sociale")  # required inside a section
    assert marked("salaries-0-nom")  # required inside an entry
    assert not marked("code_interne")
    assert not marked("telephone")
    assert not marked("entreprise-adresse-voie")
    assert "Les champs marqués d'un astérisque" in form_page.source


def test_a_conditional_question_names_the_field_it_depends_on(form_page):
    salle = form_page.by_id("salle")
    block = next(a for a in salle.ancestors() if "data-condition-field" in a.attrs)
    assert block.get("data-condition-field") == "modalite"
    assert "data-condition-negate" not in block.attrs
    visio = next(
        a for a in form_page.by_id("lien_visio").ancestors() if "data-condition-field" in a.attrs
    )
    assert visio.get("data-condition-field") == "modalite"
    assert "data-condition-negate" in visio.attrs


@pytest.mark.parametrize(
    ("field_id", "values"), [("salle", ["presentiel"]), ("materiel_detail", [True])]
)
def test_the_condition_values_are_json_the_script_can_read(form_page, field_id, values):
    """formulaires.js does ``raw.split("|").map(JSON.parse)`` on data-condition-values."""
    block = next(
        a for a in form_page.by_id(field_id).ancestors() if "data-condition-field" in a.attrs
    )
    raw = block.get("data-condition-values")
    assert [json.loads(part) for part in raw.split("|")] == values


def test_without_javascript_a_conditional_question_says_when_to_answer_it(form_page):
    text = " ".join(form_page.source.split())
    assert "À remplir si « Modalité » vaut « presentiel »" in text
    assert "À remplir si « Modalité » ne vaut pas « presentiel »" in text
    assert "À remplir si « Besoin d&#39;un équipement adapté ? » vaut « Oui »" in text


def test_select_radios_and_checkboxes_offer_the_declared_options(form_page):
    atelier = form_page.by_id("atelier")
    assert atelier.tag == "select"
    options = [(o.get("value"), o.text) for o in atelier.descendants() if o.tag == "option"]
    assert options == [
        ("", "Sélectionnez une option"),
        ("paie", "paie"),
        ("droit", "droit"),
        ("rh", "rh"),
    ]
    niveau = [
        (o.get("value"), o.text)
        for o in form_page.by_id("niveau").descendants()
        if o.tag == "option"
    ]
    assert niveau[1:] == [("1", "Débutant"), ("2", "Confirmé")]  # oneOf {const, title}
    assert [r.get("value") for r in form_page.named("modalite")] == ["presentiel", "distance"]
    assert {r.get("type") for r in form_page.named("modalite")} == {"radio"}
    assert [c.get("value") for c in form_page.named("themes")] == [
        "indemnisation",
        "formation",
        "controle",
    ]
    assert {c.get("type") for c in form_page.named("themes")} == {"checkbox"}
    assert [(r.get("value")) for r in form_page.named("besoin_materiel")] == ["true", "false"]
    assert form_page.named("newsletter")[0].get("type") == "checkbox"


def test_defaults_are_shown_in_an_empty_form(form_page):
    assert form_page.value_of("nombre_places") == "1"
    assert form_page.value_of("modalite") == ["presentiel"]
    assert form_page.value_of("reference_dossier") == "ATELIER-2024"


def test_a_read_only_field_is_rendered_read_only(form_page):
    assert "readonly" in form_page.by_id("reference_dossier").attrs
    assert "readonly" not in form_page.by_id("nom").attrs


def test_formats_give_their_input_attributes(form_page):
    assert form_page.by_id("courriel").get("type") == "email"
    assert form_page.by_id("telephone").get("type") == "tel"
    assert form_page.by_id("siret").get("inputmode") == "numeric"
    assert form_page.by_id("code_postal").get("autocomplete") == "postal-code"
    assert form_page.by_id("nom").get("maxlength") == "40"


def test_a_double_entry_field_gets_its_confirmation_input(form_page):
    confirmation = form_page.by_id("courriel__confirmation")
    assert confirmation.get("type") == "email"
    label = next(
        lbl for lbl in form_page.find_all("label") if lbl.get("for") == "courriel__confirmation"
    )
    assert label.text.startswith("Confirmer le courriel")


def test_a_file_field_accepts_its_declared_types_and_carries_a_token_field(form_page):
    upload = form_page.by_id("justificatif")
    assert upload.get("type") == "file"
    assert upload.get("accept") == "application/pdf"
    assert form_page.by_id("justificatif__token").get("type") == "hidden"
    form = form_page.find_all("form", method="post")[0]
    assert form.get("enctype") == "multipart/form-data"


def test_the_page_has_no_error_summary_before_any_post(form_page):
    assert not form_page.has_id("resume-erreurs")


def test_a_form_that_is_not_standalone_is_not_served(client):
    assert client.get("/formulaires/demande-creation-compte").status_code == 404
    assert client.post("/formulaires/demande-creation-compte", data={}).status_code == 404


def test_an_unknown_form_is_not_found(client):
    assert client.get("/formulaires/inconnu").status_code == 404


def test_the_shipped_support_form_renders_with_every_input_labelled(client, page):
    response = client.get("/aide/assistance")  # not standalone: served by « BESOIN D'AIDE ? »
    assert response.status_code == 200
    support = page(response)
    labelled = {label.get("for") for label in support.find_all("label")}
    assert [c.get("id") for c in visible_controls(support) if c.get("id") not in labelled] == []
    block = next(
        a for a in support.by_id("telephone").ancestors() if "data-condition-field" in a.attrs
    )
    assert block.get("data-condition-field") == "rappel"
    assert "À remplir si « Souhaitez-vous être rappelé(e) ? » vaut « Oui »" in " ".join(
        support.source.replace("&#39;", "'").split()
    )


def test_new_form_shows_a_prefilled_document(atelier_app, atelier, page):
    with atelier_app.test_request_context():
        form = engine.new_form(
            atelier,
            {
                "nom": "Durand",
                "telephone": "+33123456789",
                "salaries": [{"nom": "A", "prenom": "B"}, {"nom": "C", "prenom": "D"}],
                "themes": ["formation"],
                "besoin_materiel": False,
            },
        )
        assert form.nom.data == "Durand"
        assert form.telephone.data == "01 23 45 67 89"  # E.164 shown the French way
        assert [entry.form.nom.data for entry in form.salaries.entries] == ["A", "C"]
        assert form.themes.data == ["formation"]
        assert form.besoin_materiel.data == "false"
