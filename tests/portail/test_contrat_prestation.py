"""« CONTRAT DE PRESTATION »: the procedure page and its form, the printable contract, the PDF
(re-validated, never trusted), CSRF, and the sign-in page's block."""

import html
import io
import re
import socket
from pathlib import Path

import pytest
from pypdf import PdfReader
from werkzeug.datastructures import MultiDict

from portail import contrat

URL = "/contrat-de-prestation"
PDF_URL = "/contrat-de-prestation/pdf"
CLIENT_SIRET = "96285287700019"  # LES ATELIERS DE LA ROQUETTE in the bundled directory sample
CABINET_SIRET = "80655795500010"  # OCCITANIE LOGICIELS
UNKNOWN_SIRET = "73282932000074"  # valid, absent from the sample
CLOSED_SIRET = "54948739500010"  # FILATURE DU NORD, closed


@pytest.fixture
def app(make_app):
    app = make_app()
    app.test_cli_runner().invoke(args=["sirene", "load-sample"])
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def valid_post(**changes) -> MultiDict:
    """A complete post of the form, as a browser sends it (typed formats, not canonical ones)."""
    data = {
        "etablissement-siret": "962 852 877 00019",
        "etablissement-denomination": "LES ATELIERS DE LA ROQUETTE",
        "etablissement-adresse": "48 RUE DE LA ROQUETTE",
        "etablissement-code_postal": "75011",
        "etablissement-ville": "PARIS 11E ARRONDISSEMENT",
        "etablissement-signataire_nom": "Lefèvre",
        "etablissement-signataire_prenom": "Claire",
        "etablissement-signataire_qualite": "Gérante",
        "prestataire-siret": CABINET_SIRET,
        "prestataire-raison_sociale": "OCCITANIE LOGICIELS",
        "prestataire-adresse": "5 ALL JEAN JAURES",
        "prestataire-code_postal": "31000",
        "prestataire-ville": "TOULOUSE",
        "prestataire-contact_nom": "Garrigue",
        "prestataire-contact_prenom": "Hélène",
        "prestataire-courriel": "helene.garrigue@cabinet-exemple.fr",
        "prestataire-telephone": "05 61 23 45 67",
        "mission-perimetre": ["dap", "di"],
        "mission-date_debut": "16/03/2020",
        "mission-duree": "determinee",
        "mission-duree_mois": "12",
    }
    data.update(changes)
    return MultiDict([(k, v) for k, values in data.items() for v in _as_list(values)])


def _as_list(value):
    return value if isinstance(value, list) else [value]


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def words(response) -> str:
    """The page's text, tags removed and white space collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", text_of(response)).split())


def hidden_fields(response) -> MultiDict:
    """The inputs of the contract page's form (the validated document and the CSRF token)."""
    page = response.get_data(as_text=True)
    form = re.search(
        r'<form method="post" action="/contrat-de-prestation/pdf".*?</form>', page, re.S
    )
    assert form, "the contract page has no PDF form"
    return MultiDict(
        (html.unescape(name), html.unescape(value))
        for name, value in re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(0)
        )
    )


def messages_of(response, field_id: str) -> list[str]:
    page = response.get_data(as_text=True)
    block = re.search(
        rf'<div class="fr-messages-group" id="{field_id}-messages"[^>]*>(.*?)</div>', page, re.S
    )
    assert block, f"no messages block for {field_id}"
    return [
        html.unescape(m).strip() for m in re.findall(r"<p[^>]*>(.*?)</p>", block.group(1), re.S)
    ]


def value_of(response, name: str) -> str | None:
    page = response.get_data(as_text=True)
    tag = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', page)
    assert tag, f"no input {name}"
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return html.unescape(value.group(1)) if value else None


def checked(page: str, name: str, kind: str) -> list[str]:
    """Values of the ticked boxes (or the chosen radio) named ``name``."""
    tags = re.findall(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', page)
    assert tags and all(f'type="{kind}"' in tag for tag in tags)
    return [re.search(r'value="([^"]*)"', tag).group(1) for tag in tags if " checked" in tag]


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def pdf_fonts(data: bytes) -> set[str]:
    fonts = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    return fonts


def pdf_images(data: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(data)).pages)


# -- the page ---------------------------------------------------------------------------------


def test_the_page_explains_the_procedure_and_shows_both_parties_form(client):
    response = client.get(URL)
    assert response.status_code == 200
    page = text_of(response)
    for sentence in (
        "Vous êtes expert-comptable et vous représentez un établissement ?",
        "Le contrat de prestation est gratuit",
        "il n'est plus à envoyer à l'ASP",
        "en cas de contrôle",
        "la même adresse électronique",
        "« Compte utilisateur à créer »",
        "200 SIRET",
        "l'identifiant, le mot de passe",
        "l'habilitation à l'activité partielle",
        "lettre de mission",
    ):
        assert sentence in words(response), sentence
    assert 'href="/creer-mon-espace/"' in page
    for title in (
        "L'établissement client",
        "Le prestataire (cabinet d'expertise comptable)",
        "Périmètre et durée du contrat",
    ):
        assert title in page
    for name in (
        "etablissement-siret",
        "etablissement-denomination",
        "etablissement-adresse",
        "etablissement-code_postal",
        "etablissement-signataire_nom",
        "etablissement-signataire_prenom",
        "etablissement-signataire_qualite",
        "prestataire-siret",
        "prestataire-raison_sociale",
        "prestataire-contact_nom",
        "prestataire-contact_prenom",
        "prestataire-courriel",
        "prestataire-telephone",
        "mission-date_debut",
        "mission-duree_mois",
    ):
        assert f'name="{name}"' in page, name
    assert re.search(r'<select[^>]*name="etablissement-ville"', page)
    assert re.search(r'<select[^>]*name="prestataire-ville"', page)
    # Both démarches offered as checkboxes (ticked by default), the duration as radios.
    assert checked(page, "mission-perimetre", "checkbox") == ["dap", "di"]
    assert checked(page, "mission-duree", "radio") == ["revocation"]
    assert "Demandes d'autorisation préalable" in page and "Demandes d'indemnisation" in page


def test_the_sirets_looked_up_prefill_both_parties_from_the_directory(client):
    response = client.get(
        URL,
        query_string={
            "siret_etablissement": "962 852 877 00019",
            "siret_prestataire": CABINET_SIRET,
        },
    )
    assert response.status_code == 200
    assert "Vos informations ont été renseignées, vous pouvez les modifier si besoin." in text_of(
        response
    )
    assert value_of(response, "etablissement-siret") == CLIENT_SIRET
    assert value_of(response, "etablissement-denomination") == "LES ATELIERS DE LA ROQUETTE"
    assert value_of(response, "etablissement-adresse") == "48 RUE DE LA ROQUETTE"
    assert value_of(response, "etablissement-code_postal") == "75011"
    assert value_of(response, "prestataire-siret") == CABINET_SIRET
    assert value_of(response, "prestataire-raison_sociale") == "OCCITANIE LOGICIELS"
    assert value_of(response, "prestataire-adresse") == "BATIMENT C, 5 ALL JEAN JAURES"
    page = response.get_data(as_text=True)
    assert re.search(r'<option selected value="TOULOUSE">', page)
    assert re.search(r'<option selected value="PARIS 11E ARRONDISSEMENT">', page)
    # What the person types is never prefilled.
    assert value_of(response, "etablissement-signataire_nom") in (None, "")


def test_a_lookup_explains_a_malformed_an_unknown_or_a_closed_siret(client):
    malformed = client.get(URL, query_string={"siret_etablissement": "7328293200007"})
    assert malformed.status_code == 200
    assert "14 chiffres" in " ".join(messages_of(malformed, "siret_etablissement"))
    assert value_of(malformed, "etablissement-siret") in (None, "")

    unknown = client.get(URL, query_string={"siret_prestataire": UNKNOWN_SIRET})
    assert "n'a pas été trouvé dans le répertoire SIRENE" in text_of(unknown)
    assert value_of(unknown, "prestataire-siret") == UNKNOWN_SIRET
    assert "Vos informations ont été renseignées" not in text_of(unknown)

    closed = client.get(URL, query_string={"siret_etablissement": CLOSED_SIRET})
    assert "est fermé dans le répertoire SIRENE" in text_of(closed)
    assert value_of(closed, "etablissement-denomination") == "FILATURE DU NORD"


def test_an_address_is_built_from_the_directory_parts():
    fiche = contrat.annuaire.EtablissementInfo(
        siret=CLIENT_SIRET,
        denomination="X",
        numero_voie="12",
        indice_repetition="B",
        type_voie="AV",
        libelle_voie="DE LA GARE",
        complement_adresse="[ND]",
        code_postal="75011",
        commune="PARIS 11",
        actif=True,
    )
    assert contrat.adresse_de(fiche) == "12 bis AV DE LA GARE"


# -- posting the form ---------------------------------------------------------------------------


def test_an_invalid_post_shows_french_messages_next_to_the_fields_and_keeps_what_was_typed(client):
    data = valid_post(
        **{
            "etablissement-siret": "962 852 877 00018",
            "etablissement-signataire_nom": "",
            "prestataire-telephone": "06 12",
            "prestataire-courriel": "pas-une-adresse",
            "mission-perimetre": [],
            "mission-duree_mois": "",
        }
    )
    response = client.post(URL, data=data)
    assert response.status_code == 422
    page = text_of(response)
    assert "Erreur - Contrat de prestation" in page
    assert "Le formulaire contient 6 erreurs" in page
    assert messages_of(response, "etablissement-siret") == [
        "Le numéro SIRET n'est pas valide : il doit comporter 14 chiffres et sa clé de contrôle "
        "doit être correcte."
    ]
    assert messages_of(response, "etablissement-signataire_nom") == ["Ce champ est obligatoire."]
    assert (
        "Le numéro de téléphone n'est pas valide"
        in messages_of(response, "prestataire-telephone")[0]
    )
    assert messages_of(response, "prestataire-courriel")
    assert messages_of(response, "mission-perimetre") == ["Ce champ est obligatoire."]
    assert messages_of(response, "mission-duree_mois") == ["Ce champ est obligatoire."]
    assert value_of(response, "etablissement-siret") == "962 852 877 00018"
    assert value_of(response, "etablissement-denomination") == "LES ATELIERS DE LA ROQUETTE"
    assert value_of(response, "prestataire-telephone") == "06 12"
    assert value_of(response, "prestataire-contact_prenom") == "Hélène"
    assert 'action="/contrat-de-prestation/pdf"' not in page  # no contract, no PDF


def test_a_valid_post_shows_the_printable_contract_with_both_parties_and_the_scope(client):
    response = client.post(URL, data=valid_post())
    assert response.status_code == 200, text_of(response)[:2000]
    page = words(response)
    for expected in (
        f"SIRET : {CLIENT_SIRET}",
        f"SIRET : {CABINET_SIRET}",
        "LES ATELIERS DE LA ROQUETTE",
        "OCCITANIE LOGICIELS",
        "représenté par Claire LEFÈVRE, en qualité de Gérante",
        "représenté par Hélène GARRIGUE",
        "helene.garrigue@cabinet-exemple.fr",
        "05 61 23 45 67",
        "les demandes d'autorisation préalable de placement de salariés en activité partielle (DAP)",
        "les demandes d'indemnisation (DI) mensuelles",
        "mandat au prestataire",
        "sous-traitant de l'établissement",
        "RGPD",
        "Le présent contrat prend effet le 16/03/2020. Il est conclu pour une durée de 12 mois.",
        "Le présent contrat est gratuit",
        "Le contrat signé n'est pas adressé à l'ASP",
        "Fait à",
        "Signature et cachet de l'établissement",
        "Signature et cachet du prestataire",
        "Télécharger le PDF",
        "Imprimer",
    ):
        assert expected in page, expected
    assert "Ctrl+P" in page  # how to print without JavaScript


def test_the_contract_page_prints_alone_and_its_print_button_needs_no_inline_script(client):
    response = client.post(URL, data=valid_post())
    page = response.get_data(as_text=True)
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", page, re.S)
    assert all(body.strip() == "" for body in scripts)  # no inline JavaScript
    assert re.search(
        rf'<script type="module" src="/static/js/impression\.js\?v=\w+" nonce="{nonce}">', page
    )
    assert not re.search(r"\son[a-z]+=", page)  # no event handler attribute
    assert re.search(r'<link rel="stylesheet" href="/static/css/contrat\.css\?v=\w+">', page)
    assert 'class="app-no-print"' in page
    css = client.get("/static/css/contrat.css").get_data(as_text=True)
    assert "size: A4" in css
    printed = css.split("@media print", 1)[1]  # the site's header and footer are not printed
    for selector in (".fr-header", ".fr-footer", ".app-no-print"):
        assert selector in printed.split("display: none", 1)[0], selector
    script = client.get("/static/js/impression.js").get_data(as_text=True)
    assert "window.print()" in script


def test_the_scope_and_duration_follow_the_choices(client):
    response = client.post(
        URL, data=valid_post(**{"mission-perimetre": ["di"], "mission-duree": "revocation"})
    )
    assert response.status_code == 200
    page = words(response)
    assert "les demandes d'indemnisation (DI) mensuelles" in page
    assert "(DAP)" not in page
    assert "Il est conclu pour une durée indéterminée, jusqu'à sa révocation" in page
    assert "12 mois" not in page  # a duration given with "jusqu'à révocation" is not kept
    assert "mission-duree_mois" not in hidden_fields(response)


def test_modifier_brings_the_contract_back_into_the_form(client):
    shown = client.post(URL, data=valid_post())
    data = hidden_fields(shown)
    data["modifier"] = "1"
    response = client.post(URL, data=data)
    assert response.status_code == 200
    assert "Signature et cachet du prestataire" not in text_of(response)
    assert value_of(response, "etablissement-signataire_nom") == "Lefèvre"
    assert value_of(response, "prestataire-telephone") == "+33561234567"


# -- the PDF ------------------------------------------------------------------------------------


def test_the_pdf_holds_the_same_contract_as_text_and_is_not_stored(client):
    shown = client.post(URL, data=valid_post())
    response = client.post(PDF_URL, data=hidden_fields(shown))
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="contrat-de-prestation-{CLIENT_SIRET}.pdf"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    text = " ".join(pdf_text(response.data).split())
    for expected in (
        CLIENT_SIRET,
        CABINET_SIRET,
        "LES ATELIERS DE LA ROQUETTE",
        "OCCITANIE LOGICIELS",
        "Claire LEFÈVRE",
        "16/03/2020",
        "Signature et cachet de l'établissement",
        "Signature et cachet du prestataire",
    ):
        assert expected in text, expected
    fonts = pdf_fonts(response.data)
    assert fonts and not any("Marianne" in font for font in fonts)  # reserved to the État brand


def test_under_the_etat_brand_the_pdf_uses_marianne(make_app):
    app = make_app(DSFR_MARQUE_ETAT=True)
    client = app.test_client()
    shown = client.post(URL, data=valid_post())
    response = client.post(PDF_URL, data=hidden_fields(shown))
    assert response.status_code == 200
    assert any("Marianne" in font for font in pdf_fonts(response.data))
    assert CLIENT_SIRET in pdf_text(response.data)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("etablissement-siret", "96285287700018", "Le numéro SIRET n'est pas valide"),
        ("mission-perimetre", "tout", "Choisissez une des valeurs proposées."),
        ("mission-duree_mois", "600", "La valeur doit être inférieure ou égale à 60."),
        ("prestataire-raison_sociale", "", "Ce champ est obligatoire."),
    ],
)
def test_tampered_hidden_fields_are_refused_without_a_pdf(client, field, value, message):
    shown = client.post(URL, data=valid_post())
    data = hidden_fields(shown)
    if field == "mission-perimetre":
        data.add(field, value)
    else:
        data[field] = value
    response = client.post(PDF_URL, data=data)
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    assert not response.data.startswith(b"%PDF")
    assert "Content-Disposition" not in response.headers
    assert message in text_of(response)


def test_the_pdf_renderer_reads_nothing_outside_the_static_folder(app, tmp_path, monkeypatch):
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    outside = tmp_path / "dehors.png"
    outside.write_bytes(Path(app.static_folder, "dsfr/favicon/apple-touch-icon.png").read_bytes())
    with app.test_request_context():
        inside = contrat.rendre_pdf(
            '<p>Image</p><img src="dsfr/favicon/apple-touch-icon.png" alt="">'
        )
        refused = contrat.rendre_pdf(
            f'<p>Image</p><img src="{outside.as_uri()}" alt="">'
            '<img src="http://127.0.0.1:9/suivi.png" alt="">'
            '<link rel="stylesheet" href="https://exemple.invalid/style.css">'
        )
    assert pdf_images(inside) == 1  # the static folder is readable (fonts, images)
    assert pdf_images(refused) == 0
    assert attempts == []


# -- CSRF ---------------------------------------------------------------------------------------


def test_both_posts_need_the_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    assert client.post(URL, data=valid_post()).status_code == 400

    page = client.get(URL).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = valid_post()
    data["csrf_token"] = token
    shown = client.post(URL, data=data)
    assert shown.status_code == 200

    fields = hidden_fields(shown)
    assert fields.get("csrf_token")
    without = MultiDict([(k, v) for k, v in fields.items(multi=True) if k != "csrf_token"])
    refused = client.post(PDF_URL, data=without)
    assert refused.status_code == 400
    assert not refused.data.startswith(b"%PDF")
    accepted = client.post(PDF_URL, data=fields)
    assert accepted.status_code == 200 and accepted.data.startswith(b"%PDF")


# -- the sign-in page -------------------------------------------------------------------------------


def test_the_sign_in_page_offers_the_contrat_de_prestation_in_its_left_column(client):
    page = text_of(client.get("/connexion"))
    block = "Vous êtes expert-comptable et vous représentez un établissement ?"
    assert block in page
    assert re.search(
        r'<a class="fr-btn[^"]*" href="/contrat-de-prestation">Contrat de prestation</a>', page
    )
    # Right after "Ma première connexion", before the sign-in form of the right column.
    assert (
        page.index("Ma première connexion") < page.index(block) < page.index("Mon espace personnel")
    )
    assert client.get(URL).status_code == 200
