"""Settings: typed, read once, in three layers (code → instance/config.py → environment)."""

import pytest

import settings
from app import create_app


def test_environment_variables_carry_the_settings_own_names_and_are_typed():
    values = settings.from_environment(
        {"MAIL_PORT": "2525", "DSFR_MARQUE_ETAT": "true", "OTHER": "x"}
    )
    assert values == {"MAIL_PORT": 2525, "DSFR_MARQUE_ETAT": True}


def test_a_setting_that_cannot_be_parsed_is_refused_with_its_name():
    with pytest.raises(settings.SettingError, match="MAIL_PORT"):
        settings.from_environment({"MAIL_PORT": "vingt-cinq"})
    with pytest.raises(settings.SettingError, match="DSFR_MARQUE_ETAT"):
        settings.from_environment({"DSFR_MARQUE_ETAT": "peut-être"})


def test_postgresql_urls_are_routed_to_psycopg_3_and_sqlite_lives_in_the_instance_folder(tmp_path):
    assert settings.database_uri("postgresql://h:5432/db", "/x") == "postgresql+psycopg://h:5432/db"
    assert settings.database_uri("postgres://h/db", "/x") == "postgresql+psycopg://h/db"
    assert settings.database_uri("", str(tmp_path)) == f"sqlite:///{tmp_path}/apart.sqlite3"


def test_instance_config_is_overridden_by_the_environment_and_by_the_callers_dict(
    tmp_path, monkeypatch
):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text(
        'SITE_NAME = "Depuis le fichier"\nSUPPORT_EMAIL = "fichier@exemple.fr"\n'
    )
    monkeypatch.setenv("SUPPORT_EMAIL", "env@exemple.fr")
    monkeypatch.setattr("flask.Flask.auto_find_instance_path", lambda self: str(instance))
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "MAIL_PORT": 2526})
    assert app.config["SITE_NAME"] == "Depuis le fichier"
    assert app.config["SUPPORT_EMAIL"] == "env@exemple.fr"
    assert app.config["MAIL_PORT"] == 2526


def test_without_a_secret_key_one_is_created_once_for_the_host_and_kept_private(tmp_path):
    first = settings.instance_secret_key(str(tmp_path))
    assert len(first) >= 48
    assert settings.instance_secret_key(str(tmp_path)) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_the_readme_configuration_table_lists_every_setting():
    readme = (settings.Path(__file__).resolve().parents[1] / "README.md").read_text()
    for setting in settings.SETTINGS:
        assert f"| `{setting.name}` |" in readme, f"{setting.name} missing from the README table"


def test_flask_settings_prints_the_table(runner):
    result = runner.invoke(args=["settings"])
    assert result.exit_code == 0
    assert "| `DATABASE_URL` | str |" in result.output
