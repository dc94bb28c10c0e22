"""Safe CSV and XLSX exports of back-office lists (issue #6 item 8).

Spreadsheet formula injection (CSV/formula injection, OWASP): a cell whose text starts with
``=``, ``+``, ``-`` or ``@`` (or a tab, CR or LF, which some spreadsheets skip before reading
a formula) is run as a formula by Excel or LibreOffice when the export is opened:
``=HYPERLINK("https://…","Cliquez")`` typed as a dénomination by a requester would become a
live link in an agent's spreadsheet. Flask-Admin writes values as they are (stack.md §3.6).
``neutraliser`` prefixes such a text with an apostrophe, which makes it plain text.

Use, on any ``VueModeleAgent``::

    class VueEtablissements(ExportSur, VueModeleAgent):
        column_export_list = (...)  # what to export, labelled by column_labels

``ExportSur`` (before the view class in the bases) turns the export on (CSV and XLSX), passes
every exported cell and every column title through ``neutraliser`` (after the view's own
``column_formatters_export``), and writes the CSV the way French spreadsheets open it
directly: UTF-8 with a byte-order mark, ``;`` between cells. The export runs through the
view's ``get_list``, hence through its scope (``filtrer_portee``), its filters and its search.
"""

from __future__ import annotations

import csv
import time
from typing import Any, ClassVar

from flask import Response, stream_with_context
from werkzeug.utils import secure_filename

DECLENCHEURS = ("=", "+", "-", "@", "\t", "\r", "\n")
EXPORT_MAX_LIGNES = 50_000


def neutraliser(valeur: Any) -> Any:
    """``valeur`` made harmless for a spreadsheet: a text that a spreadsheet would read as a
    formula gets a leading apostrophe; anything else is returned unchanged.

    Leading spaces are looked through (`` =1+1`` is prefixed too): some spreadsheets trim
    them before reading the cell.
    """
    if not isinstance(valeur, str) or not valeur:
        return valeur
    if valeur[0] in DECLENCHEURS or valeur.lstrip(" ")[:1] in DECLENCHEURS:
        return "'" + valeur
    return valeur


class _Echo:
    """A file-like object whose ``write`` returns what it is given (to stream ``csv``)."""

    def write(self, valeur: str) -> str:
        return valeur


class ExportSur:
    """Mixin of a back-office list: CSV and XLSX exports with every cell neutralised."""

    can_export = True
    export_types: ClassVar[list[str]] = ["csv", "xlsx"]
    export_max_rows = EXPORT_MAX_LIGNES
    # The file name's stem; the view's name (with its accents and spaces) otherwise.
    nom_export: ClassVar[str | None] = None

    def get_export_value(self, model, name):
        return neutraliser(super().get_export_value(model, name))

    def get_export_columns(self):
        return [(nom, neutraliser(str(titre))) for nom, titre in super().get_export_columns()]

    def get_export_name(self, export_type: str = "csv") -> str:
        nom = self.nom_export or secure_filename(str(self.name)) or "export"
        return f"{nom}_{time.strftime('%Y-%m-%d_%H-%M-%S')}.{export_type}"

    def _export_csv(self, return_url) -> Response:
        """Flask-Admin's streamed CSV, for French spreadsheets: BOM, ``;``, CRLF.

        The rows are read inside the generator, i.e. in the context ``stream_with_context``
        pushes again and tears down at the end: a query built before (in the request's own
        context) would run on a session already removed, whose transaction nobody would end.
        """
        colonnes = self._export_columns
        ecrivain = csv.writer(_Echo(), delimiter=";")

        def texte(ligne, nom: str) -> str:
            valeur = self.get_export_value(ligne, nom)
            return "" if valeur is None else str(valeur)

        def generer():
            yield "\ufeff" + ecrivain.writerow([titre for _, titre in colonnes])
            _, lignes = self._export_data()
            for ligne in lignes:
                yield ecrivain.writerow([texte(ligne, nom) for nom, _ in colonnes])

        nom = secure_filename(self.get_export_name("csv"))
        return Response(
            stream_with_context(generer()),
            headers={"Content-Disposition": f"attachment; filename={nom}"},
            content_type="text/csv; charset=utf-8",
        )
