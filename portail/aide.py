"""« BESOIN D'AIDE ? »: the documentation base (``/aide``: rubriques and search,
``/aide/<slug>``: one article) and, nested, the support request (``/aide/assistance``)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, render_template, request

from portail import aide_assistance, aide_index

bp = Blueprint("aide", __name__, url_prefix="/aide", template_folder="templates")
bp.register_blueprint(aide_assistance.bp)
MAX_QUERY_CHARS = 200


@bp.record_once
def _charger(state) -> None:
    """Load the articles when the application is built: a broken article stops the start."""
    app = state.app
    folder = app.config.get("AIDE_DIR") or str(Path(app.root_path) / "aide")
    app.extensions["aide"] = aide_index.Bibliotheque(Path(folder))


def base() -> aide_index.Base:
    """The loaded articles; in debug mode, reloaded first when a file changed."""
    bibliotheque = current_app.extensions["aide"]
    return bibliotheque.actualiser() if current_app.debug else bibliotheque.base


@bp.get("")
def index():
    articles = base()
    query = " ".join(request.args.get("q", "").split())[:MAX_QUERY_CHARS]
    results = articles.search(query) if query else None
    return render_template("aide/index.html", base=articles, query=query, results=results)


@bp.get("/<slug>")
def article(slug: str):
    articles = base()
    found = articles.get(slug) if aide_index.SLUG.fullmatch(slug) else None
    if found is None:
        abort(404)
    return render_template("aide/article.html", article=found, rubrique=articles.rubrique_of(found))
