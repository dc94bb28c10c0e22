"""The definitions every process serves: the shipped files, overlaid by published versions.

``app.extensions["forms"]`` is a ``Catalogue``. It answers like a ``FormRegistry`` (``get``,
``[]``, ``in``, iteration, ``standalone``) from an immutable snapshot, and at most once every
``FORMS_REFRESH_SECONDS`` it asks the database one cheap question: the highest id and the
number of the published ``form_version`` rows. Only when that pair moved does it read the
published versions and build a new snapshot, swapped in one assignment. So a version
published in one process (a gunicorn worker, the back-office of another machine) is served by
every other process within a few seconds, without a restart and without a query per request.

For a definition, the newest of its file version and its highest published version wins;
an older file never hides what staff published. A published version that the running code
can no longer load (its vocabulary changed) is skipped with an error in the log, never taking
the site down.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from forms.registry import DefinitionError, FormDefinition, FormRegistry, build_registry
from fraicheur import Fraicheur, Marque, marque_publiees

log = logging.getLogger(__name__)

ID_BASE = "https://activite-partielle.localhost/formulaires/"
ANCIENNES_EN_CACHE = 64


def form_id_of(schema: dict) -> str:
    return str(schema.get("$id", "")).rstrip("/").rsplit("/", 1)[-1]


class Catalogue:
    def __init__(self, files: dict[Path, dict], refresh_seconds: float, engine_of):
        self.files = files  # {path: schema} of forms/schemas/, checked at start-up
        self._engine_of = engine_of  # () -> SQLAlchemy engine (the app's)
        self._snapshot: FormRegistry = build_registry(dict(files))
        self._fichiers = {form_id_of(schema): schema for schema in files.values()}
        self._fraicheur = Fraicheur(refresh_seconds, self._lire_marque, self._recharger)
        self._verrou = threading.Lock()  # guards the cache of old versions
        self._anciennes: OrderedDict[tuple[str, int], FormDefinition] = OrderedDict()

    # -- the FormRegistry interface, on the fresh snapshot --------------------------------
    def registry(self) -> FormRegistry:
        self._fraicheur.verifier()
        return self._snapshot

    def __contains__(self, form_id: str) -> bool:
        return form_id in self.registry()

    def __iter__(self):
        return iter(self.registry())

    def __getitem__(self, form_id: str) -> FormDefinition:
        return self.registry()[form_id]

    def get(self, form_id: str) -> FormDefinition | None:
        return self.registry().get(form_id)

    def standalone(self) -> list[FormDefinition]:
        return self.registry().standalone()

    def fichier(self, form_id: str) -> dict | None:
        """The shipped file's schema of ``form_id`` (None for a form created by staff)."""
        return self._fichiers.get(form_id)

    # -- old versions --------------------------------------------------------------------
    def version(self, form_id: str, version: int) -> FormDefinition | None:
        """``form_id`` as it was at ``version``: the labels a submission was filed with."""
        courante = self.get(form_id)
        if courante is not None and courante.version == version:
            return courante
        cle = (form_id, version)
        with self._verrou:
            if cle in self._anciennes:
                self._anciennes.move_to_end(cle)
                return self._anciennes[cle]
        schema = self._schema_publie(form_id, version)
        if schema is None:
            fichier = self._fichiers.get(form_id)
            if fichier is None or fichier.get("x-version") != version:
                return None
            schema = fichier
        try:
            definition = self.construire(schema)
        except DefinitionError:
            log.exception("version %s v%s illisible par le code actuel", form_id, version)
            return None
        with self._verrou:
            self._anciennes[cle] = definition
            while len(self._anciennes) > ANCIENNES_EN_CACHE:
                self._anciennes.popitem(last=False)
        return definition

    def versions(self, form_id: str) -> list[FormDefinition]:
        """Every version of ``form_id`` that can still be read, oldest first."""
        numeros = set(self._numeros_publies(form_id))
        fichier = self._fichiers.get(form_id)
        if fichier is not None:
            numeros.add(fichier["x-version"])
        courante = self.get(form_id)
        if courante is not None:
            numeros.add(courante.version)
        found = (self.version(form_id, numero) for numero in sorted(numeros))
        return [definition for definition in found if definition is not None]

    def construire(self, schema: dict) -> FormDefinition:
        """Check ``schema`` beside the served definitions (for cross-file ``$ref``) and
        return its definition; raise DefinitionError. Used for old versions, drafts and
        previews: nothing here is served until published."""
        form_id = form_id_of(schema)
        schemas: dict[Any, dict] = {
            f"{definition.id}@v{definition.version}": definition.schema
            for definition in self._snapshot
            if definition.id != form_id
        }
        source = f"{form_id}@v{schema.get('x-version')}"
        schemas[source] = schema
        try:
            registry = build_registry(schemas)
        except DefinitionError as error:
            if error.source != source:
                # another definition is broken: check this one alone, its refs then fail loudly
                registry = build_registry({source: schema})
            else:
                raise
        return registry[form_id]

    # -- freshness ------------------------------------------------------------------------
    def invalider(self) -> None:
        """Check the database on the next access (this process just published)."""
        self._fraicheur.invalider()

    def rafraichir(self) -> None:
        self._fraicheur.rafraichir()

    def _lire_marque(self) -> Marque | None:
        from models.formulaires import EtatVersion, FormVersion

        try:
            with self._engine_of().connect() as connection:
                return marque_publiees(
                    connection, FormVersion.id, FormVersion.etat == EtatVersion.PUBLIEE
                )
        except SQLAlchemyError as exc:
            # No table yet (before `flask db upgrade`) or the database is away: keep serving.
            log.warning("versions des formulaires illisibles : %s", exc.__class__.__name__)
            return None

    def _recharger(self) -> bool:
        try:
            self._snapshot = self._construire_snapshot()
        except (SQLAlchemyError, DefinitionError):
            # Keep serving the previous snapshot; the next check tries again.
            log.exception("catalogue des formulaires non rafraîchi")
            return False
        return True

    def _construire_snapshot(self) -> FormRegistry:
        schemas: dict[Any, dict] = dict(self.files)
        par_id = {form_id_of(schema): source for source, schema in schemas.items()}
        for form_id, schema in self._dernieres_publiees().items():
            fichier = self._fichiers.get(form_id)
            if fichier is not None and fichier["x-version"] > schema.get("x-version", 0):
                continue  # a newer version shipped with the code (`flask forms sync` records it)
            schemas.pop(par_id.get(form_id), None)
            schemas[f"{form_id}@v{schema['x-version']}"] = schema
        while True:
            try:
                return build_registry(schemas)
            except DefinitionError as error:
                if (
                    isinstance(error.source, str)
                    and error.source in schemas
                    and "@v" in error.source
                ):
                    log.error("version publiée ignorée : %s", error)
                    form_id = error.source.split("@v", 1)[0]
                    del schemas[error.source]
                    for source, schema in self.files.items():
                        if form_id_of(schema) == form_id:
                            schemas[source] = schema
                    continue
                raise

    def _dernieres_publiees(self) -> dict[str, dict]:
        from models.formulaires import EtatVersion, FormVersion

        derniere = (
            select(FormVersion.form_id, func.max(FormVersion.version).label("version"))
            .where(FormVersion.etat == EtatVersion.PUBLIEE)
            .group_by(FormVersion.form_id)
            .subquery()
        )
        query = select(FormVersion.form_id, FormVersion.schema).join(
            derniere,
            (FormVersion.form_id == derniere.c.form_id)
            & (FormVersion.version == derniere.c.version),
        )
        with self._engine_of().connect() as connection:
            return {form_id: copy.deepcopy(schema) for form_id, schema in connection.execute(query)}

    def _schema_publie(self, form_id: str, version: int) -> dict | None:
        from models.formulaires import EtatVersion, FormVersion

        try:
            with self._engine_of().connect() as connection:
                return connection.execute(
                    select(FormVersion.schema).where(
                        FormVersion.form_id == form_id,
                        FormVersion.version == version,
                        FormVersion.etat == EtatVersion.PUBLIEE,
                    )
                ).scalar_one_or_none()
        except SQLAlchemyError:
            return None

    def _numeros_publies(self, form_id: str) -> list[int]:
        from models.formulaires import EtatVersion, FormVersion

        try:
            with self._engine_of().connect() as connection:
                return list(
                    connection.execute(
                        select(FormVersion.version).where(
                            FormVersion.form_id == form_id,
                            FormVersion.etat == EtatVersion.PUBLIEE,
                        )
                    ).scalars()
                )
        except SQLAlchemyError:
            return []
