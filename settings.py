"""Every setting of the application, with its type, default and purpose.

Settings are read once, at application creation, in three layers: the defaults below,
then ``instance/config.py`` (per host, never committed), then environment variables
carrying the setting's own name (``DATABASE_URL``, ``MAIL_PORT``...). A test or a caller
of ``create_app(config)`` may finally override any of them with a dict.

Nothing else in the code base reads ``os.environ``: it reads ``current_app.config``.
The README's configuration table is generated from ``SETTINGS`` (``flask settings``).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_TRUE = {"1", "true", "yes", "on", "oui"}
_FALSE = {"0", "false", "no", "off", "non", ""}


class SettingError(ValueError):
    """A setting has a value that cannot be used; the message names it."""


def parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"not a boolean: {raw!r} (use true/false)")


def parse_list(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[str], Any]
    default: Any
    doc: str

    @property
    def type_name(self) -> str:
        return {parse_bool: "bool", int: "int", float: "float", parse_list: "list", str: "str"}[
            self.parse
        ]


SETTINGS: tuple[Setting, ...] = (
    # Core
    Setting(
        "SECRET_KEY",
        str,
        None,
        "Key signing sessions and CSRF tokens. Unset: a random key is created once in "
        "instance/secret_key (fine for one host; set it explicitly with several nodes).",
    ),
    Setting("SITE_NAME", str, "Activité partielle", "Service name shown in the header and mails."),
    Setting(
        "DATABASE_URL",
        str,
        "",
        "SQLAlchemy URL. Empty: SQLite file instance/apart.sqlite3 (WAL, foreign keys on). "
        "postgresql://... uses psycopg 3.",
    ),
    Setting(
        "REDIS_URL",
        str,
        "",
        "Redis for jobs and rate limits. Empty: embedded mode (jobs run in the app process, "
        "rate limits kept in memory).",
    ),
    Setting("LOG_LEVEL", str, "INFO", "Python logging level of the application logger."),
    # Mail
    Setting("MAIL_SERVER", str, "", "SMTP host of outgoing mail."),
    Setting("MAIL_PORT", int, 25, "SMTP port."),
    Setting("MAIL_USE_TLS", parse_bool, False, "STARTTLS on the SMTP connection."),
    Setting("MAIL_USE_SSL", parse_bool, False, "Implicit TLS on the SMTP connection."),
    Setting("MAIL_USERNAME", str, None, "SMTP user name."),
    Setting("MAIL_PASSWORD", str, None, "SMTP password."),
    Setting(
        "MAIL_DEFAULT_SENDER",
        str,
        "Activité partielle <ne-pas-repondre@activite-partielle.localhost>",
        "From address of every notification.",
    ),
    Setting(
        "SUPPORT_EMAIL",
        str,
        "support@activite-partielle.localhost",
        "Address of the technical support, shown on public pages and in mails.",
    ),
    Setting(
        "MAIL_TIMEOUT",
        float,
        10.0,
        "Seconds before an SMTP connection or command is abandoned (the mail is retried).",
    ),
    Setting(
        "MAIL_FILE_DIR",
        str,
        "",
        "With MAIL_SERVER empty, mails are written here as .eml files. Empty: instance/mails.",
    ),
    Setting(
        "SITE_URL",
        str,
        "http://127.0.0.1:5000",
        "Public base URL of the service, used for links in mails.",
    ),
    # Outbox
    Setting(
        "OUTBOX_SWEEP_SECONDS",
        int,
        60,
        "Period of the sweeper that re-queues notifications still pending (Redis was down, a "
        "worker died) or whose sending lease expired.",
    ),
    Setting(
        "OUTBOX_LEASE_SECONDS",
        int,
        300,
        "How long a worker owns a notification it claimed before another may take it over.",
    ),
    Setting(
        "OUTBOX_RETRY_DELAYS",
        parse_list,
        ["30", "120", "600", "1800", "3600"],
        "Seconds before each new attempt after a temporary failure (the last one repeats).",
    ),
    Setting(
        "OUTBOX_MAX_ATTEMPTS",
        int,
        12,
        "Attempts before a notification is marked failed for staff to resend.",
    ),
    Setting(
        "REDIS_TIMEOUT",
        float,
        1.0,
        "Seconds a request waits for Redis when queueing (the outbox row is safe anyway).",
    ),
    # Accounts
    Setting(
        "COMPTES_VALIDATION_AUTO",
        parse_bool,
        False,
        "Surge mode (April 2020): validate at once, in the worker, every account request whose "
        "SIRET is active in the directory and has no account nor conflicting request.",
    ),
    Setting(
        "CAPTCHA_TEST_ANSWER",
        str,
        "",
        "A fixed answer to the security check, for tests and the demo; honoured only with "
        "TESTING or DEBUG on, and the app refuses to start with it otherwise.",
    ),
    # Back-office
    Setting(
        "BACKOFFICE_SESSION_IDLE_MINUTES",
        int,
        30,
        "Minutes without a request after which an agent's back-office session ends.",
    ),
    Setting(
        "BACKOFFICE_SESSION_MAX_HOURS",
        int,
        12,
        "Hours after sign-in after which an agent must sign in again, active or not.",
    ),
    # Public layout
    Setting(
        "DSFR_MARQUE_ETAT",
        parse_bool,
        False,
        "Show the État brand block (Marianne logo, République Française) and load the "
        "Marianne font. Reserved to State services: leave off elsewhere.",
    ),
    Setting(
        "AIDE_DIR",
        str,
        "",
        "Folder of the help articles (Markdown, served at /aide). Empty: aide/ next to app.py.",
    ),
    Setting(
        "SESSION_COOKIE_SECURE",
        parse_bool,
        False,
        "Send the session cookie over HTTPS only (turn on behind TLS); also enables HSTS.",
    ),
    Setting(
        "PROXY_FIX_HOPS",
        int,
        0,
        "Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted.",
    ),
    # Forms engine
    Setting(
        "FORMS_SCHEMAS_DIR",
        str,
        "",
        "Folder of the form definitions. Empty: forms/schemas next to app.py.",
    ),
    Setting(
        "FORMS_REFRESH_SECONDS",
        float,
        2.0,
        "How often each process checks whether a form version was published (one indexed "
        "query); a publication is served everywhere within this delay.",
    ),
    Setting(
        "UPLOADS_DIR",
        str,
        "",
        "Folder where attachments are stored under random names. Empty: instance/uploads "
        "(outside the web root).",
    ),
    Setting(
        "UPLOAD_MAX_BYTES",
        int,
        10 * 1024 * 1024,
        "Largest attachment accepted by any file field (a definition may set a lower cap).",
    ),
    Setting(
        "MAX_CONTENT_LENGTH", int, 25 * 1024 * 1024, "Largest request body accepted (413 beyond)."
    ),
    Setting("MAX_FORM_PARTS", int, 1000, "Most fields accepted in one form post (413 beyond)."),
    Setting(
        "BROUILLONS_EXPIRATION_JOURS",
        int,
        30,
        "Days after its last change when the draft of a form in steps is deleted "
        "(flask formulaires purger-brouillons).",
    ),
    Setting(
        "BROUILLONS_PURGE_SECONDES",
        int,
        3600,
        "Period of the purge of expired drafts, run by one worker (embedded mode: by the web "
        "process).",
    ),
    # Reference data
    Setting(
        "RECHERCHE_ENTREPRISES_URL",
        str,
        "",
        "Base URL of the public 'API Recherche d'entreprises' (e.g. "
        "https://recherche-entreprises.api.gouv.fr). Empty: only the local SIRENE table is used.",
    ),
    Setting(
        "RECHERCHE_ENTREPRISES_TIMEOUT",
        float,
        3.0,
        "Seconds before a call to the directory API is abandoned (the local table answers).",
    ),
    # Rate limits
    Setting("RATELIMIT_ENABLED", parse_bool, True, "Apply the rate limits of public POSTs."),
    Setting(
        "RATELIMIT_FORMS", str, "30 per minute", "Limit of form submissions per client address."
    ),
)

SETTINGS_BY_NAME = {setting.name: setting for setting in SETTINGS}


def defaults() -> dict[str, Any]:
    return {setting.name: setting.default for setting in SETTINGS}


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Typed values of the settings present in the environment.

    :raise SettingError: when a variable cannot be parsed as its setting's type.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.name not in environ:
            continue
        try:
            values[setting.name] = setting.parse(environ[setting.name])
        except ValueError as exc:
            raise SettingError(f"{setting.name}: {exc}") from exc
    return values


def database_uri(url: str, instance_path: str) -> str:
    """SQLAlchemy URI for ``DATABASE_URL``; PostgreSQL URLs are routed to psycopg 3."""
    if not url:
        return "sqlite:///" + str(Path(instance_path) / "apart.sqlite3")
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def instance_secret_key(instance_path: str) -> str:
    """The host's persistent random key, created on first use with owner-only permissions."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def configure(app, overrides: dict[str, Any] | None = None) -> None:
    """Load the three layers into ``app.config`` and derive the library settings."""
    app.config.from_mapping(defaults())
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(from_environment())
    if overrides:
        app.config.update(overrides)

    config = app.config
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = instance_secret_key(app.instance_path)
    config.setdefault(
        "SQLALCHEMY_DATABASE_URI", database_uri(config["DATABASE_URL"], app.instance_path)
    )
    config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    root = Path(app.root_path)
    config["FORMS_SCHEMAS_DIR"] = config["FORMS_SCHEMAS_DIR"] or str(root / "forms" / "schemas")
    config["UPLOADS_DIR"] = config["UPLOADS_DIR"] or str(Path(app.instance_path) / "uploads")
    config["MAIL_FILE_DIR"] = config["MAIL_FILE_DIR"] or str(Path(app.instance_path) / "mails")
    config.setdefault("RATELIMIT_STORAGE_URI", config["REDIS_URL"] or "memory://")
    config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    config["SESSION_COOKIE_HTTPONLY"] = True
    config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    config.setdefault("BABEL_DEFAULT_LOCALE", "fr")
    config.setdefault("BABEL_DEFAULT_TIMEZONE", "Europe/Paris")
    config.setdefault("WTF_CSRF_TIME_LIMIT", 4 * 3600)
    config.setdefault("JSON_AS_ASCII", False)


def markdown_table() -> str:
    """The README's configuration table."""
    lines = ["| setting | type | default | purpose |", "|---|---|---|---|"]
    for setting in SETTINGS:
        default = "" if setting.default in (None, "") else f"`{setting.default}`"
        lines.append(f"| `{setting.name}` | {setting.type_name} | {default} | {setting.doc} |")
    return "\n".join(lines)
