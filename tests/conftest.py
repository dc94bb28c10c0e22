"""Shared fixtures.

The suite runs against SQLite by default and against PostgreSQL when ``DATABASE_URL`` is set
(``.ci/run`` runs both legs). The schema is built once per session by the real Alembic
migrations, and every test starts from empty tables.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app
from extensions import db

ROOT = Path(__file__).resolve().parent.parent
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="apart-tests-"))


def _database_uri() -> str:
    import settings

    url = os.environ.get("DATABASE_URL", "")
    if url:
        return settings.database_uri(url, str(_SESSION_DIR))
    return "sqlite:///" + str(_SESSION_DIR / "tests.sqlite3")


def base_config(tmp_path: Path) -> dict:
    """Settings every test app gets; a test may add its own on top."""
    return {
        "TESTING": True,
        "SECRET_KEY": "tests-only-secret-key",
        "SQLALCHEMY_DATABASE_URI": _database_uri(),
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "UPLOADS_DIR": str(tmp_path / "uploads"),
        "MAIL_SUPPRESS_SEND": True,
        "SERVER_NAME": None,
    }


@pytest.fixture(scope="session", autouse=True)
def _migrated_database():
    """Build the schema with the migrations, from an empty database, once per session."""
    from flask_migrate import upgrade

    app = create_app(base_config(_SESSION_DIR))
    with app.app_context():
        _drop_everything()
        upgrade()
    yield
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)


def _drop_everything() -> None:
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        return
    reflected = sa.MetaData()
    reflected.reflect(db.engine)
    reflected.drop_all(db.engine)  # in foreign-key order


def _empty_tables() -> None:
    with db.engine.begin() as connection:
        tables = [t for t in reversed(db.metadata.sorted_tables)]
        if db.engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())


@pytest.fixture
def make_app(tmp_path):
    """Build an app with extra settings: ``make_app(DSFR_MARQUE_ETAT=True)``."""
    apps = []

    def _make(**overrides):
        app = create_app({**base_config(tmp_path), **overrides})
        apps.append(app)
        return app

    yield _make
    for app in apps:
        with app.app_context():
            db.session.remove()
            _empty_tables()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def app_context(app):
    with app.app_context():
        yield app
