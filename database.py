"""Database engine behaviour that Flask-SQLAlchemy does not set for us."""

from sqlalchemy import event
from sqlalchemy.engine import Engine

from extensions import db


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers proceed while one writer commits; SQLite leaves foreign keys off
    # unless asked, per connection.
    # The sqlite3 driver opens transactions itself, and only before INSERT/UPDATE/DELETE: a
    # SAVEPOINT issued first would then commit on RELEASE, beyond the reach of a rollback.
    # Hand transaction control to SQLAlchemy, which emits BEGIN (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection) -> None:
    connection.exec_driver_sql("BEGIN")


def init_app(app) -> None:
    db.init_app(app)
    with app.app_context():
        engine: Engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
