"""Postal codes and communes (BAN / Etalab data bundled in referentiels/data)."""

import gzip
import threading

import pytest

from referentiels import codes_postaux
from referentiels.codes_postaux import Commune, commune_for, communes, exists, normalise_nom


def test_a_postal_code_serving_one_commune_returns_it_in_both_spellings():
    assert communes("44500") == (
        Commune(
            code_insee="44055",
            nom="LA BAULE ESCOUBLAC",
            nom_usuel="La Baule-Escoublac",
            libelle_acheminement="LA BAULE",
        ),
    )


def test_a_postal_code_serving_several_communes_returns_them_sorted_by_name():
    found = communes("54490")
    names = [commune.nom for commune in found]
    assert len(found) == 7
    assert names == sorted(names)
    assert "PIENNES" in names and "XIVRY CIRCOURT" in names
    assert {c.code_insee for c in found} >= {"54425", "54598"}


def test_overseas_and_corsican_postal_codes_are_known():
    assert [c.nom_usuel for c in communes("97100")] == ["Basse-Terre"]
    assert communes("97600")[0].code_insee.startswith("976")
    for prefix in ("971", "972", "973", "974", "975", "976"):
        assert any(code.startswith(prefix) for code in codes_postaux._data()), prefix
    ajaccio = commune_for("20000", "AJACCIO")
    assert ajaccio is not None and ajaccio.code_insee == "2A004"
    bastia = commune_for("20200", "BASTIA")
    assert bastia is not None and bastia.code_insee == "2B033"


def test_an_unknown_or_malformed_postal_code_has_no_commune():
    assert communes("00000") == ()
    assert communes("4450") == ()
    assert communes("") == ()
    assert not exists("00000")
    assert exists("44500")
    assert exists(" 44500 ")


def test_monaco_is_absent_from_the_bundled_source():
    # The BAN/Etalab file covers INSEE communes only; La Poste's file would bring 98000.
    assert not exists("98000")


def test_normalisation_follows_la_poste_style():
    assert normalise_nom("La Baule-Escoublac") == "LA BAULE ESCOUBLAC"
    assert normalise_nom("LA BAULE-ESCOUBLAC") == "LA BAULE ESCOUBLAC"
    assert normalise_nom("L'Haÿ-les-Roses") == "L HAY LES ROSES"
    assert normalise_nom("Bonnœil") == "BONNOEIL"
    assert normalise_nom("  Saint-Étienne  du   Rouvray ") == "SAINT ETIENNE DU ROUVRAY"
    assert normalise_nom("Île-d’Yeu") == "ILE D YEU"


def test_commune_for_matches_sirene_spellings():
    baule = commune_for("44500", "LA BAULE-ESCOUBLAC")
    assert baule is not None and baule.code_insee == "44055"
    assert commune_for("44500", "la baule escoublac") == baule
    piennes = commune_for("54490", "Piennes")
    assert piennes is not None and piennes.code_insee == "54425"
    paris = commune_for("75011", "PARIS 11")
    assert paris is not None and paris.code_insee == "75111"


def test_commune_for_returns_none_for_a_commune_of_another_postal_code():
    assert commune_for("44500", "NANTES") is None
    assert commune_for("00000", "NANTES") is None
    assert commune_for("44500", "") is None


def test_the_data_is_loaded_once_and_shared_between_threads():
    first = codes_postaux._data()
    seen = []
    threads = [
        threading.Thread(target=lambda: seen.append(codes_postaux._data())) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(index is first for index in seen)
    with pytest.raises(TypeError):
        first["99999"] = ()  # immutable


def test_the_bundled_data_file_stays_small_and_complete():
    assert codes_postaux.DATA_FILE.stat().st_size < 1024 * 1024
    with gzip.open(codes_postaux.DATA_FILE, "rt", encoding="utf-8") as handle:
        lines = sum(1 for _ in handle)
    assert lines > 35000
    assert len(codes_postaux._data()) > 6000
