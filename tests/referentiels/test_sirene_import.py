"""Import of INSEE's StockEtablissement file into the local SIRENE table."""

import gzip
import zipfile
from datetime import date

import pytest
import sqlalchemy as sa

from extensions import db
from models.sirene import SireneEtablissement, SireneImport
from referentiels import sirene
from referentiels.sirene import SireneFileError, fingerprint, import_stock, load_sample


def count_rows() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(SireneEtablissement))


def test_import_writes_every_valid_row_by_batches_with_one_commit_each(
    stock_row, app_context, stock_file, monkeypatch
):
    path = stock_file([stock_row(n) for n in range(1, 8)])
    commits = []
    original_commit = db.session.commit
    monkeypatch.setattr(
        db.session, "commit", lambda: (commits.append(1), original_commit())[1], raising=False
    )
    batches = []
    original_upsert = sirene._upsert
    monkeypatch.setattr(
        sirene, "_upsert", lambda rows: (batches.append(len(rows)), original_upsert(rows))[1]
    )

    report = import_stock(path, batch_size=3)

    assert batches == [3, 3, 1]
    # one commit to register the import, one per batch, one to mark it finished
    assert len(commits) == 1 + 3 + 1
    assert (report.rows_read, report.upserted, report.skipped_invalid, report.resumed_from) == (
        7,
        7,
        0,
        0,
    )
    assert report.finished
    assert count_rows() == 7
    progress = db.session.scalar(sa.select(SireneImport))
    assert progress.finished and progress.rows_done == 7 and progress.source == "stock.csv"
    assert progress.fingerprint == fingerprint(path)


def test_imported_values_are_mapped_to_the_columns(stock_row, app_context, stock_file):
    row = stock_row(
        1,
        complementAdresseEtablissement="BATIMENT B",
        indiceRepetitionEtablissement="B",
        enseigne1Etablissement="CHEZ NOUS",
        denominationUsuelleEtablissement="",
    )
    import_stock(stock_file([row]))

    etablissement = db.session.get(SireneEtablissement, row["siret"])
    assert etablissement.siren == row["siren"]
    assert etablissement.denomination == "CHEZ NOUS"  # enseigne as the last resort
    assert etablissement.enseigne == "CHEZ NOUS"
    assert (etablissement.numero_voie, etablissement.indice_repetition) == ("1", "B")
    assert (etablissement.type_voie, etablissement.libelle_voie) == ("RUE", "DES ESSAIS")
    assert etablissement.complement_adresse == "BATIMENT B"
    assert (etablissement.code_postal, etablissement.libelle_commune) == ("44000", "NANTES")
    assert etablissement.code_commune == "44109"
    assert etablissement.activite_principale == "56.10A"
    assert etablissement.date_creation == date(2010, 1, 1)
    assert etablissement.actif
    assert etablissement.updated_at.tzinfo is not None


def test_the_legal_unit_denomination_comes_before_the_usual_one(stock_row, app_context, stock_file):
    header = [*stock_row(1).keys(), "denominationUniteLegale"]
    rows = [
        stock_row(1, denominationUniteLegale="SOCIETE MERE SA"),
        stock_row(2, denominationUniteLegale=""),
    ]
    import_stock(stock_file(rows, header=header))

    assert db.session.get(SireneEtablissement, rows[0]["siret"]).denomination == "SOCIETE MERE SA"
    assert db.session.get(SireneEtablissement, rows[1]["siret"]).denomination == "ETABLISSEMENT 2"


def test_a_second_import_updates_an_existing_row(stock_row, app_context, stock_file, tmp_path):
    row = stock_row(1)
    import_stock(stock_file([row], name="v1.csv"))
    first = db.session.get(SireneEtablissement, row["siret"])
    first_updated_at = first.updated_at
    db.session.expunge_all()

    changed = stock_row(
        1,
        etatAdministratifEtablissement="F",
        libelleVoieEtablissement="DU CHANGEMENT",
        codePostalEtablissement="44500",
        libelleCommuneEtablissement="LA BAULE-ESCOUBLAC",
    )
    report = import_stock(stock_file([changed, stock_row(2)], name="v2.csv"))

    assert report.upserted == 2
    assert count_rows() == 2
    updated = db.session.get(SireneEtablissement, row["siret"])
    assert updated.etat_administratif == "F" and not updated.actif
    assert updated.libelle_voie == "DU CHANGEMENT"
    assert updated.code_postal == "44500"
    assert updated.updated_at >= first_updated_at


def test_the_same_siret_twice_in_a_batch_keeps_the_last_one(stock_row, app_context, stock_file):
    rows = [stock_row(1), stock_row(1, libelleVoieEtablissement="DERNIERE VERSION")]
    report = import_stock(stock_file(rows))
    assert report.rows_read == 2 and report.upserted == 1
    assert db.session.get(SireneEtablissement, rows[0]["siret"]).libelle_voie == "DERNIERE VERSION"


def test_invalid_rows_are_skipped_and_counted(stock_row, app_context, stock_file):
    good = stock_row(1)
    rows = [
        good,
        stock_row(2, siret="123"),  # too short
        stock_row(3, siret="ABCDEFGHIJKLMN"),  # not digits
        stock_row(4, siren="999999999"),  # siren not the start of the siret
        stock_row(5, etatAdministratifEtablissement="X"),
        stock_row(6, dateCreationEtablissement="pas une date"),  # kept, date dropped
    ]
    report = import_stock(stock_file(rows))

    assert report.rows_read == 6
    assert report.skipped_invalid == 4
    assert report.upserted == 2
    assert count_rows() == 2
    assert db.session.get(SireneEtablissement, rows[5]["siret"]).date_creation is None


def test_masked_values_of_partially_diffusible_establishments_are_stored_empty(
    stock_row, app_context, stock_file
):
    row = stock_row(
        1,
        statutDiffusionEtablissement="P",
        numeroVoieEtablissement="[ND]",
        libelleVoieEtablissement="[ND]",
    )
    import_stock(stock_file([row]))
    etablissement = db.session.get(SireneEtablissement, row["siret"])
    assert etablissement.numero_voie is None and etablissement.libelle_voie is None


def test_import_resumes_after_the_last_committed_batch(
    stock_row, app_context, stock_file, monkeypatch
):
    rows = [stock_row(n) for n in range(1, 11)]
    path = stock_file(rows)
    calls = []
    original_upsert = sirene._upsert

    def failing_upsert(batch):
        calls.append(len(batch))
        if len(calls) == 2:
            raise RuntimeError("connexion perdue")
        original_upsert(batch)

    monkeypatch.setattr(sirene, "_upsert", failing_upsert)
    with pytest.raises(RuntimeError, match="connexion perdue"):
        import_stock(path, batch_size=4)

    db.session.expire_all()
    progress = db.session.scalar(sa.select(SireneImport))
    assert progress.rows_done == 4 and not progress.finished
    assert count_rows() == 4

    monkeypatch.setattr(sirene, "_upsert", original_upsert)
    report = import_stock(path, batch_size=4)

    assert report.resumed_from == 4
    assert report.rows_read == 6 and report.upserted == 6
    assert report.total_rows == 10
    assert count_rows() == 10
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SireneImport)) == 1
    progress = db.session.scalar(sa.select(SireneImport))
    assert progress.finished and progress.rows_done == 10


def test_a_prefilled_progress_row_makes_the_import_skip_the_rows_already_done(
    stock_row, app_context, stock_file
):
    rows = [stock_row(n) for n in range(1, 6)]
    path = stock_file(rows)
    db.session.add(SireneImport(source=path.name, fingerprint=fingerprint(path), rows_done=2))
    db.session.commit()

    report = import_stock(path, batch_size=2)

    assert report.resumed_from == 2 and report.rows_read == 3
    assert db.session.get(SireneEtablissement, rows[0]["siret"]) is None
    assert db.session.get(SireneEtablissement, rows[1]["siret"]) is None
    assert count_rows() == 3


def test_a_finished_import_of_the_same_file_starts_over(stock_row, app_context, stock_file):
    path = stock_file([stock_row(1), stock_row(2)])
    import_stock(path)
    db.session.execute(sa.delete(SireneEtablissement))
    db.session.commit()

    report = import_stock(path)

    assert report.resumed_from == 0 and report.upserted == 2
    assert count_rows() == 2


def test_gzip_and_zip_files_are_streamed(stock_row, app_context, stock_file, tmp_path):
    gz_path = stock_file([stock_row(1), stock_row(2)], name="StockEtablissement.csv.gz")
    assert gz_path.read_bytes()[:2] == b"\x1f\x8b"
    assert import_stock(gz_path).upserted == 2

    plain = stock_file([stock_row(3)], name="inner.csv")
    zip_path = tmp_path / "StockEtablissement_utf8.zip"
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.write(plain, "StockEtablissement_utf8.csv")
    assert import_stock(zip_path).upserted == 1
    assert count_rows() == 3


def test_a_file_without_the_stock_columns_is_refused_in_french(app_context, tmp_path):
    path = tmp_path / "autre.csv.gz"
    path.write_bytes(gzip.compress(b"nom,prenom\nDupont,Jean\n"))
    with pytest.raises(SireneFileError, match="colonnes manquantes"):
        import_stock(path)


def test_the_sample_holds_the_seed_establishments_and_loads_idempotently(app_context):
    first = load_sample()
    second = load_sample()

    assert first.skipped_invalid == 0 and first.upserted >= 40
    assert second.upserted == first.upserted
    assert count_rows() == first.upserted

    seed = db.session.get(SireneEtablissement, "00578096000042")
    assert seed.denomination == "SOCIETE IMMOBILIERE TOURISTIQUE"
    assert seed.libelle_voie == "LA PLAGES"
    assert seed.complement_adresse == "FACE HOTEL ROYAL"
    assert (seed.code_postal, seed.libelle_commune, seed.code_commune) == (
        "44500",
        "LA BAULE-ESCOUBLAC",
        "44055",
    )
    assert seed.actif
    public_body = db.session.get(SireneEtablissement, "13000637200010")
    assert public_body is not None and public_body.denomination


def test_the_sample_is_realistic(app_context):
    from referentiels import codes_postaux

    load_sample()
    rows = db.session.scalars(sa.select(SireneEtablissement)).all()

    def luhn(number: str) -> bool:
        total = 0
        for index, char in enumerate(reversed(number)):
            value = int(char) * (2 if index % 2 else 1)
            total += value - 9 if value > 9 else value
        return total % 10 == 0

    assert all(luhn(row.siret) and luhn(row.siren) for row in rows)
    closed = [row for row in rows if not row.actif]
    assert 2 <= len(closed) < len(rows) // 2
    departements = {row.code_commune[:2] for row in rows} | {row.code_commune[:3] for row in rows}
    assert {"2A", "2B", "971", "972", "973", "974", "976"} <= departements
    for row in rows:
        commune = codes_postaux.commune_for(row.code_postal, row.libelle_commune)
        assert commune is not None, row
        assert commune.code_insee == row.code_commune, row
