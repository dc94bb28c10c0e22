"""« CRÉER MON ESPACE »: the SIRET step, the prefilled request form and its confirmation."""

import copy
import html
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from extensions import db
from models.comptes import DemandeCompte
from workflows import comptes
from workflows.journal import Acteur

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = json.loads(
    (ROOT / "forms/examples/demande-creation-compte.json").read_text(encoding="utf-8")
)
SEED_SIRET = "00578096000042"
CLOSED_SIRET = "54948739500010"  # FILATURE DU NORD, closed in the bundled directory sample


@pytest.fixture
def espace(make_app, tmp_path):
    app = make_app(
        CAPTCHA_TEST_ANSWER="ABC123", MAIL_FILE_DIR=str(tmp_path / "mails"), REDIS_URL=""
    )
    app.test_cli_runner().invoke(args=["sirene", "load-sample"])
    return app


def step_one(client, siret=SEED_SIRET, code="ABC123", cgu=True):
    page = client.get("/creer-mon-espace/").get_data(as_text=True)
    jeton = re.search(r'name="jeton" type="hidden" value="([^"]+)"', page).group(1)
    data = {"siret": siret, "code": code, "jeton": jeton}
    if cgu:
        data["cgu"] = "y"
    return client.post("/creer-mon-espace/", data=data)


def form_data(document):
    data = {}
    for section, values in document.items():
        for name, value in values.items():
            data[f"{section}-{name}"] = value
    data["etablissement-courriel__confirmation"] = document["etablissement"]["courriel"]
    data["utilisateur-courriel__confirmation"] = document["utilisateur"]["courriel"]
    return data


def demandes():
    return db.session.scalar(select(func.count()).select_from(DemandeCompte))


def test_the_siret_step_shows_the_seed_labels(espace):
    page = espace.test_client().get("/creer-mon-espace/").get_data(as_text=True)
    for label in (
        "N° de Siret",
        "Contrôle de sécurité",
        "Recopier le code ci-contre",
        "conditions générales d'utilisation",
        "Valider",
        "Annuler",
    ):
        assert label in page


@pytest.mark.parametrize(
    "siret, code, cgu, message",
    [
        ("7328293200007", "ABC123", True, "14 chiffres"),
        (SEED_SIRET, "FAUX00", True, "ne correspond pas à l'image"),
        (SEED_SIRET, "ABC123", False, "accepter les conditions générales"),
        (CLOSED_SIRET, "ABC123", True, "fermé dans le répertoire SIRENE"),
    ],
)
def test_each_refusal_of_the_siret_step_is_explained_in_french(espace, siret, code, cgu, message):
    response = step_one(espace.test_client(), siret, code, cgu)
    assert response.status_code == 422
    assert message in html.unescape(response.get_data(as_text=True))


def test_a_siret_with_a_pending_request_or_an_account_is_sent_to_its_referent(espace):
    with espace.app_context():
        document = copy.deepcopy(EXAMPLE)
        demande = comptes.demander_compte(document, 1, Acteur("usager"))
        pending = step_one(espace.test_client())
        assert "déjà en cours de traitement" in html.unescape(pending.get_data(as_text=True))
        comptes.valider_demande_compte(demande.id, Acteur("agent", "agent@asp"))
    existing = step_one(espace.test_client())
    assert existing.status_code == 422
    assert "contacter l'utilisateur qui a déjà été créé pour ce SIRET" in html.unescape(
        existing.get_data(as_text=True)
    )


def test_a_known_siret_opens_the_request_form_prefilled_from_the_directory(espace):
    client = espace.test_client()
    response = step_one(client)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Vos informations ont été renseignées, vous pouvez les modifier si besoin." in page
    assert 'value="SOCIETE IMMOBILIERE TOURISTIQUE"' in page
    assert re.search(r'id="etablissement-siret"[^>]*readonly', page)
    assert "LA BAULE ESCOUBLAC" in page


def test_filing_the_request_gives_the_seed_confirmation_and_one_request(espace):
    client = espace.test_client()
    step_one(client)
    data = form_data(EXAMPLE)
    data["etablissement-siret"] = "73282932000074"  # read-only: what was posted is ignored
    response = client.post("/creer-mon-espace/demande", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert (
        "Votre demande de création de compte a bien été transmise, un courriel vous sera "
        "prochainement envoyé, lorsque votre demande aura été traitée."
    ) in page
    again = client.post("/creer-mon-espace/demande", data=data)  # a second click
    assert again.status_code == 303 and again.headers["Location"].endswith("/creer-mon-espace/")
    with espace.app_context():
        assert demandes() == 1
        assert db.session.scalars(select(DemandeCompte)).one().siret == SEED_SIRET


def test_an_invalid_request_keeps_what_was_typed(espace):
    client = espace.test_client()
    step_one(client)
    data = form_data(EXAMPLE)
    data["utilisateur-courriel__confirmation"] = "autre@exemple.fr"
    response = client.post("/creer-mon-espace/demande", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Les deux adresses ne sont pas identiques." in page
    assert 'value="Jules Ferry"' in page


def test_a_contact_who_already_has_an_identity_sees_the_seed_notice(espace):
    with espace.app_context():
        first = comptes.demander_compte(copy.deepcopy(EXAMPLE), 1, Acteur("usager"))
        comptes.valider_demande_compte(first.id, Acteur("agent", "agent@asp"))
    client = espace.test_client()
    assert step_one(client, "13000637200010").status_code == 303
    document = copy.deepcopy(EXAMPLE)
    document["etablissement"]["siret"] = "13000637200010"
    response = client.post("/creer-mon-espace/demande", data=form_data(document))
    page = html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert (
        "l'utilisateur APART test a déjà une habilitation sur l'extranet Activité Partielle, "
        "pour un autre établissement que le vôtre."
    ) in page


def test_the_request_form_needs_the_siret_step_first(espace):
    response = espace.test_client().get("/creer-mon-espace/demande")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/creer-mon-espace/")
