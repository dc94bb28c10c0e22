"""SIRET lookup: the local SIRENE table first, then the API Recherche d'entreprises."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from extensions import db
from models.sirene import SireneEtablissement
from referentiels import annuaire
from referentiels.annuaire import EtablissementInfo, rechercher_etablissement

SIRET = "35600000000048"

# Shape of https://recherche-entreprises.api.gouv.fr/search?q=<siret> (fields used here).
FOUND = {
    "results": [
        {
            "siren": "356000000",
            "nom_complet": "LA POSTE (LA POSTE)",
            "nom_raison_sociale": "LA POSTE",
            "etat_administratif": "A",
            "siege": {
                "siret": "35600000000048",
                "numero_voie": "9",
                "indice_repetition": None,
                "type_voie": "RUE",
                "libelle_voie": "DU COLONEL PIERRE AVIA",
                "complement_adresse": None,
                "code_postal": "75015",
                "libelle_commune": "PARIS",
                "etat_administratif": "A",
            },
            "matching_etablissements": [
                {
                    "siret": "35600000000048",
                    "numero_voie": "9",
                    "type_voie": "RUE",
                    "libelle_voie": "DU COLONEL PIERRE AVIA",
                    "code_postal": "75015",
                    "libelle_commune": "PARIS",
                    "etat_administratif": "A",
                    "liste_enseignes": None,
                }
            ],
        }
    ],
    "total_results": 1,
    "page": 1,
    "per_page": 10,
    "total_pages": 1,
}


class FakeApi:
    """A local HTTP server answering /search like the public API, per test configuration."""

    def __init__(self):
        self.requests: list[str] = []
        self.body: bytes = b"{}"
        self.status = 200
        self.delay = 0.0
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                api.requests.append(self.path)
                if api.delay:
                    time.sleep(api.delay)
                self.send_response(api.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(api.body)))
                self.end_headers()
                try:
                    self.wfile.write(api.body)
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, payload, status=200):
        self.body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.status = status

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_api():
    api = FakeApi()
    yield api
    api.close()


@pytest.fixture
def api_app(make_app, fake_api):
    app = make_app(RECHERCHE_ENTREPRISES_URL=fake_api.url + "/", RECHERCHE_ENTREPRISES_TIMEOUT=0.5)
    with app.app_context():
        yield app


def test_a_siret_of_the_local_table_is_answered_without_calling_the_api(api_app, fake_api):
    db.session.add(
        SireneEtablissement(
            siret="00578096000042",
            siren="005780960",
            denomination="SOCIETE IMMOBILIERE TOURISTIQUE",
            libelle_voie="LA PLAGES",
            complement_adresse="FACE HOTEL ROYAL",
            code_postal="44500",
            libelle_commune="LA BAULE-ESCOUBLAC",
            etat_administratif="A",
        )
    )
    db.session.commit()

    info = rechercher_etablissement("005 780 960 00042")

    assert info == EtablissementInfo(
        siret="00578096000042",
        denomination="SOCIETE IMMOBILIERE TOURISTIQUE",
        numero_voie=None,
        indice_repetition=None,
        type_voie=None,
        libelle_voie="LA PLAGES",
        complement_adresse="FACE HOTEL ROYAL",
        code_postal="44500",
        commune="LA BAULE-ESCOUBLAC",
        actif=True,
    )
    assert fake_api.requests == []


def test_a_siret_missing_locally_is_found_through_the_api(api_app, fake_api):
    fake_api.answer(FOUND)

    info = rechercher_etablissement(SIRET)

    assert fake_api.requests == [f"/search?q={SIRET}"]
    assert info == EtablissementInfo(
        siret=SIRET,
        denomination="LA POSTE",
        numero_voie="9",
        indice_repetition=None,
        type_voie="RUE",
        libelle_voie="DU COLONEL PIERRE AVIA",
        complement_adresse=None,
        code_postal="75015",
        commune="PARIS",
        actif=True,
    )


def test_the_siege_answers_when_no_matching_establishment_is_listed(api_app, fake_api):
    payload = json.loads(json.dumps(FOUND))
    payload["results"][0]["matching_etablissements"] = []
    payload["results"][0]["siege"]["etat_administratif"] = "F"
    fake_api.answer(payload)

    info = rechercher_etablissement(SIRET)

    assert info is not None and info.siret == SIRET and not info.actif


def test_an_api_answer_about_other_establishments_means_not_found(api_app, fake_api):
    fake_api.answer(FOUND)
    assert rechercher_etablissement("35600000000055") is None
    fake_api.answer({"results": [], "total_results": 0})
    assert rechercher_etablissement(SIRET) is None
    assert len(fake_api.requests) == 2


def test_an_api_slower_than_the_timeout_gives_none(api_app, fake_api, caplog):
    fake_api.answer(FOUND)
    fake_api.delay = 2.0
    started = time.monotonic()

    assert rechercher_etablissement(SIRET) is None

    assert time.monotonic() - started < 1.8
    assert "failed" in caplog.text


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"<html>pas du JSON</html>", 200),
        (b'{"results": "oops"}', 200),
        (b"[1, 2]", 200),
        (b'{"erreur": "quota"}', 429),
        (b"", 500),
    ],
)
def test_a_bad_api_answer_gives_none(api_app, fake_api, body, status):
    fake_api.answer(body, status=status)
    assert rechercher_etablissement(SIRET) is None
    assert len(fake_api.requests) == 1


def test_an_unreachable_api_gives_none(make_app, fake_api):
    url = fake_api.url
    fake_api.close()
    app = make_app(RECHERCHE_ENTREPRISES_URL=url, RECHERCHE_ENTREPRISES_TIMEOUT=0.5)
    with app.app_context():
        assert rechercher_etablissement(SIRET) is None


def test_no_call_is_made_when_the_api_url_is_empty(app_context, monkeypatch):
    assert app_context.config["RECHERCHE_ENTREPRISES_URL"] == ""

    def forbidden(*args, **kwargs):
        raise AssertionError("no network call expected")

    monkeypatch.setattr(requests, "get", forbidden)
    monkeypatch.setattr(annuaire.requests, "get", forbidden)

    assert rechercher_etablissement(SIRET) is None


def test_a_malformed_siret_is_not_looked_up(api_app, fake_api):
    assert rechercher_etablissement("1234") is None
    assert rechercher_etablissement("ABCDEFGHIJKLMN") is None
    assert fake_api.requests == []
