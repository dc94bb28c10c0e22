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
``column_formatters_export``), writes the CSV the way French spreadsheets open it directly
(UTF-8 with a byte-order mark, ``;`` between cells, streamed) and the XLSX with openpyxl in
write-only mode, every text cell typed as text (a formula cannot get through even if
``neutraliser`` missed it). The export runs through the view's ``get_list``, hence through its
scope (``filtrer_portee``), its filters and its search; at most ``export_max_rows`` rows in
CSV and ``export_max_lignes_xlsx`` in XLSX.
"""

from __future__ import annotations

import csv
import io
import time
from typing import Any, ClassVar

from flask import Response, request, stream_with_context
from werkzeug.utils import secure_filename

DECLENCHEURS = ("=", "+", "-", "@", "\t", "\r", "\n")
EXPORT_MAX_LIGNES = 50_000
EXPORT_MAX_LIGNES_XLSX = 10_000


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


def _cellule(feuille, valeur: Any):
    """A write-only cell: numbers as numbers, anything else as text (never a formula), without
    the control characters XML forbids."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if valeur is None or valeur == "":
        return None
    if isinstance(valeur, int | float) and not isinstance(valeur, bool):
        return valeur
    cellule = WriteOnlyCell(feuille, value=ILLEGAL_CHARACTERS_RE.sub("", str(valeur)))
    cellule.data_type = "s"
    return cellule


class _Echo:
    """A file-like object whose ``write`` returns what it is given (to stream ``csv``)."""

    def write(self, valeur: str) -> str:
        return valeur


class ExportSur:
    """Mixin of a back-office list: CSV and XLSX exports with every cell neutralised."""

    can_export = True
    export_types: ClassVar[list[str]] = ["csv", "xlsx"]
    export_max_rows = EXPORT_MAX_LIGNES  # CSV: streamed, ≈ 10 s for 50,000 rows
    # XLSX: built whole before it is sent (≈ 0.7 s per 1,000 rows of 13 columns): kept well
    # under a worker's timeout (gunicorn's default: 30 s).
    export_max_lignes_xlsx = EXPORT_MAX_LIGNES_XLSX
    # The file name's stem; the view's name (with its accents and spaces) otherwise.
    nom_export: ClassVar[str | None] = None

    def limite_export(self, export_type: str) -> int:
        return self.export_max_lignes_xlsx if export_type == "xlsx" else self.export_max_rows

    def _export_data(self):
        """Flask-Admin's ``_export_data`` (the list's tab, filters, search and sort), capped
        per format, the rows read in batches rather than all loaded first."""
        view_args = self._get_list_extra_args()
        colonne = self._get_column_by_idx(view_args.sort)
        _, requete = self.get_list(
            0,
            colonne[0] if colonne is not None else None,
            view_args.sort_desc,
            view_args.search,
            view_args.filters,
            execute=False,
            page_size=self.limite_export((request.view_args or {}).get("export_type", "csv")),
        )
        return None, self.lignes_export(requete)

    def lignes_export(self, requete):
        """The rows of ``requete``, 500 at a time (a view that eager-loads a collection, which
        ``yield_per`` refuses, returns ``requete.all()`` here)."""
        return requete.yield_per(500)

    def get_export_value(self, model, name):
        return neutraliser(super().get_export_value(model, name))

    def get_export_columns(self):
        return [(nom, neutraliser(str(titre))) for nom, titre in super().get_export_columns()]

    def get_export_name(self, export_type: str = "csv") -> str:
        nom = self.nom_export or secure_filename(str(self.name)) or "export"
        return f"{nom}_{time.strftime('%Y-%m-%d_%H-%M-%S')}.{export_type}"

    def _export_tablib(self, export_type: str, return_url: str) -> Response:
        """XLSX written by openpyxl in write-only mode (rows go to a temporary file as they
        come: 50,000 rows stay within a few MB, where tablib's workbook held them all); every
        text cell is typed as text, so that no cell can ever be a formula. Other formats:
        Flask-Admin's tablib export."""
        if export_type != "xlsx":
            return super()._export_tablib(export_type, return_url)
        from openpyxl import Workbook

        classeur = Workbook(write_only=True)
        feuille = classeur.create_sheet(title=(self.nom_export or "Export")[:31])
        colonnes = self._export_columns
        feuille.append([_cellule(feuille, titre) for _, titre in colonnes])
        _, lignes = self._export_data()
        for ligne in lignes:
            feuille.append(
                [_cellule(feuille, self.get_export_value(ligne, nom)) for nom, _ in colonnes]
            )
        tampon = io.BytesIO()
        classeur.save(tampon)
        nom = secure_filename(self.get_export_name("xlsx"))
        return Response(
            tampon.getvalue(),
            headers={"Content-Disposition": f"attachment; filename={nom}"},
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )

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
