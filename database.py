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
    # IMMEDIATE takes the write lock at BEGIN: two writers queue on busy_timeout instead of
    # one failing with "database is locked" when both try to upgrade a read lock.
    immediate = connection.get_execution_options().get("sqlite_immediate")
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def begin_write() -> None:
    """Start the transaction of an operation that will write (call it first thing).

    On SQLite the transaction takes the write lock at once (readers are never blocked in WAL
    mode); elsewhere it is a plain transaction. A read-only transaction already open is ended.
    """
    session = db.session()
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            return  # writes already under way: the lock is held
        session.commit()
    session.connection(execution_options={"sqlite_immediate": True})


def init_app(app) -> None:
    db.init_app(app)
    with app.app_context():
        engine: Engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
