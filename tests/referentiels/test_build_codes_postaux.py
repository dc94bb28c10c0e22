"""The rebuild script of the postal-code data file, from both supported sources."""

import io
import json
import tarfile

from referentiels import codes_postaux
from referentiels.scripts import build_codes_postaux

NPM_ENTRIES = [
    {
        "codePostal": "44500",
        "codeCommune": "44055",
        "nomCommune": "La Baule-Escoublac",
        "libelleAcheminement": "LA BAULE",
    },
    {
        "codePostal": "54490",
        "codeCommune": "54425",
        "nomCommune": "Piennes",
        "libelleAcheminement": "PIENNES",
    },
    {
        "codePostal": "54490",
        "codeCommune": "54033",
        "nomCommune": "Avillers",
        "libelleAcheminement": "AVILLERS",
    },
]


def test_the_npm_tarball_is_turned_into_the_compact_file(tmp_path):
    payload = json.dumps(NPM_ENTRIES).encode()
    tarball = tmp_path / "codes-postaux-9.9.9.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        info = tarfile.TarInfo("package/codes-postaux.json")
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    output = tmp_path / "out.csv.gz"

    assert build_codes_postaux.build(tarball, output) == 3

    index = codes_postaux._load(output)
    assert [c.nom for c in index["54490"]] == ["AVILLERS", "PIENNES"]
    assert index["44500"][0].nom_usuel == "La Baule-Escoublac"
    # Deterministic output: the same input gives the same bytes.
    first = output.read_bytes()
    build_codes_postaux.build(tarball, output)
    assert output.read_bytes() == first


def test_la_poste_csv_is_accepted_and_lieux_dits_are_merged(tmp_path):
    source = tmp_path / "laposte_hexasmal.csv"
    source.write_text(
        "#Code_commune_INSEE;Nom_commune;Code_postal;Libellé_d_acheminement;Ligne_5\n"
        "44055;LA BAULE ESCOUBLAC;44500;LA BAULE;\n"
        "44055;LA BAULE ESCOUBLAC;44500;LA BAULE;ESCOUBLAC\n"
        "98000;MONACO;98000;MONACO;\n",
        encoding="utf-8",
    )
    output = tmp_path / "out.csv.gz"

    assert build_codes_postaux.build(source, output) == 2

    index = codes_postaux._load(output)
    assert index["44500"][0].nom == "LA BAULE ESCOUBLAC"
    assert index["44500"][0].code_insee == "44055"
    assert index["98000"][0].nom_usuel == "Monaco"
