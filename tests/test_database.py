"""The data layer: the same migrations on SQLite and PostgreSQL, SQLite tuned for concurrency."""

import pytest
import sqlalchemy as sa
from flask_migrate import check

from extensions import db


def test_the_migrations_match_the_models(app):
    """`flask db check`: no model change is left without its migration (it exits 1 otherwise)."""
    with app.app_context():
        check()  # raises SystemExit(1) when autogenerate finds a difference


def test_the_migrations_created_every_table_of_the_models(app_context):
    tables = set(sa.inspect(db.engine).get_table_names())
    assert {
        "submission",
        "upload",
        "sirene_etablissement",
        "sirene_import",
        "alembic_version",
    } <= tables


def test_sqlite_runs_in_wal_mode_with_foreign_keys_on(app_context):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas")
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_timestamps_come_back_as_aware_utc_datetimes(app_context):
    from models.submission import Submission

    submission = Submission(form_id="demande-support", form_version=1, data={"a": "é"})
    db.session.add(submission)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Submission, submission.id)
    assert stored.created_at.utcoffset().total_seconds() == 0
    assert stored.data == {"a": "é"}
    assert len(stored.reference) == 14


def test_a_write_operation_takes_the_sqlite_write_lock_at_begin(app_context):
    """Two writers then queue on busy_timeout instead of failing with "database is locked"."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite locking")
    from database import begin_write

    statements = []
    listener = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        db.session.execute(sa.text("SELECT 1"))
        begin_write()
        db.session.execute(sa.text("SELECT 1"))
        db.session.commit()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    assert statements.count("BEGIN IMMEDIATE") == 1
