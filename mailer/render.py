"""Render a notification: subject, plain text and HTML, from ``templates/mail/<name>.*``."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from flask import current_app
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

PARIS = ZoneInfo("Europe/Paris")
_environment: Environment | None = None


def date_fr(value) -> str:
    """'2026-03-16' → '16 mars 2026'."""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return format_date(value, "d MMMM y", locale="fr_FR")


def datetime_fr(value) -> str:
    """An ISO datetime → '16 mars 2026 à 14h30' (Paris time)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(PARIS)
    return format_datetime(value, "d MMMM y 'à' HH'h'mm", locale="fr_FR")


def environment() -> Environment:
    global _environment
    if _environment is None:
        env = Environment(
            loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )
        env.filters["date_fr"] = date_fr
        env.filters["datetime_fr"] = datetime_fr
        _environment = env
    return _environment


def one_line(text: str) -> str:
    """Subjects are single lines by construction: no header can be injected through them."""
    return " ".join(text.split())


def _values(context: dict) -> dict:
    config = current_app.config
    return {
        **context,
        "site_name": config["SITE_NAME"],
        "support_email": config["SUPPORT_EMAIL"],
        "site_url": config["SITE_URL"].rstrip("/"),
    }


def render_subject(template: str, context: dict) -> str:
    return one_line(
        environment().get_template(f"mail/{template}.subject.txt").render(_values(context))
    )


def render(template: str, context: dict, version_id: int | None = None) -> tuple[str, str, str]:
    """(subject, text, html) of ``template`` with ``context``: the shipped files, or the
    version edited in the back-office ``version_id`` (``mailer.modeles``)."""
    if version_id is not None:
        from mailer import modeles

        return modeles.rendre_version(version_id, template, context)
    values = _values(context)
    env = environment()
    text = env.get_template(f"mail/{template}.txt").render(values)
    html = env.get_template(f"mail/{template}.html").render(values)
    return render_subject(template, context), text, html


def subject_of(notification) -> str:
    """The subject a notification has (or had), for lists shown to its recipient."""
    try:
        if notification.modele_version_id is not None:
            return render(
                notification.template, notification.context, notification.modele_version_id
            )[0]
        return render_subject(notification.template, notification.context)
    except Exception:  # the template changed since: show its name rather than fail the page
        return notification.template
