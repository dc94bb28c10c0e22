"""Form definitions as staff change them: drafts, checks, publication, restore, file sync.

A definition has immutable published versions and at most one draft (``models.formulaires``).
Every operation here is audited (object type "formulaire", id = the form id) and commits;
the running process sees its own publication at once (``Catalogue.invalider``), the others
within ``FORMS_REFRESH_SECONDS``.

Publishing checks, in order: the safety gate (``forms.garde``: size, depth, finite numbers,
regular expressions), the metaschema and our vocabulary (``Catalogue.construire``: ``$ref``
resolve only to registered definitions, nothing is ever fetched), then the bindings: the
properties the code reads (``x-bindings`` of the shipped file and of the published version)
must still exist with the same type and format.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from database import begin_write
from extensions import db
from forms import garde
from forms.catalogue import ID_BASE, form_id_of
from forms.registry import DefinitionError
from forms.vocabulary import RESERVED_NAMES, Problem
from models.formulaires import EtatVersion, FormVersion, OrigineVersion
from models.types import utcnow
from workflows.journal import Acteur, journaliser

OBJET = "formulaire"
IDENTIFIANT = re.compile(r"[a-z][a-z0-9-]{1,62}[a-z0-9]\Z")
SCHEMA_DRAFT = "https://json-schema.org/draft/2020-12/schema"


class DefinitionRefusee(Exception):
    """Nothing was saved or published: ``problems`` say where (JSON path) and why, in French."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(problem) for problem in problems))


class OperationImpossible(Exception):
    """The operation does not apply to the definition's current state (French message)."""


CONFLIT = (
    "Une autre modification de ce formulaire vient d'être enregistrée : "
    "rechargez la page et recommencez."
)


def _ecriture(operation):
    """Run ``operation`` in a write transaction (SQLite: the write lock first, so two staff
    actions queue instead of failing); a unique constraint lost to a concurrent action
    (two publications, two drafts) becomes OperationImpossible, never a 500."""

    @functools.wraps(operation)
    def enveloppe(*args, **kwargs):
        begin_write()
        try:
            return operation(*args, **kwargs)
        except IntegrityError as exc:
            db.session.rollback()
            raise OperationImpossible(CONFLIT) from exc

    return enveloppe


@dataclass(frozen=True)
class Resume:
    form_id: str
    title: str
    version_publiee: int | None
    brouillon: FormVersion | None
    standalone: bool
    fichier: bool  # shipped in forms/schemas/


@dataclass(frozen=True)
class Changement:
    """One line of the summary shown before publishing."""

    genre: str  # "ajoutee", "supprimee", "libelle", "regle", "formulaire"
    chemin: str  # property path, e.g. "etablissement.siret"
    libelle: str
    avant: str = ""
    apres: str = ""


@dataclass
class RapportSync:
    lignes: list[str] = field(default_factory=list)
    modifies: int = 0


# -- reading ----------------------------------------------------------------------------
def catalogue():
    return current_app.extensions["forms"]


def definitions() -> list[Resume]:
    """Every definition (shipped, published or only drafted), by id."""
    servies = {definition.id: definition for definition in catalogue()}
    brouillons = {
        version.form_id: version
        for version in db.session.scalars(
            select(FormVersion).where(FormVersion.etat == EtatVersion.BROUILLON)
        )
    }
    return [
        _resume(form_id, servies.get(form_id), brouillons.get(form_id))
        for form_id in sorted(set(servies) | set(brouillons))
    ]


def resume(form_id: str) -> Resume | None:
    """The line of ``definitions()`` for ``form_id`` alone (None when unknown): one draft read."""
    servie, brouillon_ = catalogue().get(form_id), brouillon(form_id)
    if servie is None and brouillon_ is None:
        return None
    return _resume(form_id, servie, brouillon_)


def _resume(form_id: str, servie, brouillon_: FormVersion | None) -> Resume:
    schema = servie.schema if servie is not None else brouillon_.schema
    return Resume(
        form_id=form_id,
        title=str(schema.get("title") or form_id),
        version_publiee=servie.version if servie is not None else None,
        brouillon=brouillon_,
        standalone=bool(schema.get("x-standalone")),
        fichier=catalogue().fichier(form_id) is not None,
    )


def brouillon(form_id: str) -> FormVersion | None:
    return db.session.scalar(
        select(FormVersion).where(
            FormVersion.form_id == form_id, FormVersion.etat == EtatVersion.BROUILLON
        )
    )


def versions_publiees(form_id: str) -> list[FormVersion]:
    """The published rows of ``form_id``, newest first (the history page)."""
    return list(
        db.session.scalars(
            select(FormVersion)
            .where(FormVersion.form_id == form_id, FormVersion.etat == EtatVersion.PUBLIEE)
            .order_by(FormVersion.version.desc())
        )
    )


def apercu(form_id: str):
    """The draft as a FormDefinition, to render exactly as the public will see it."""
    version = _brouillon_requis(form_id)
    try:
        return catalogue().construire(version.schema)
    except DefinitionError as error:
        raise DefinitionRefusee(error.problems) from error


# -- drafts -----------------------------------------------------------------------------
@_ecriture
def ouvrir_brouillon(form_id: str, acteur: Acteur) -> FormVersion:
    """The draft of ``form_id``: the existing one, or a copy of the served version."""
    existant = brouillon(form_id)
    if existant is not None:
        return existant
    servie = catalogue().get(form_id)
    if servie is None:
        raise LookupError(form_id)
    return _nouveau_brouillon(form_id, copy.deepcopy(servie.schema), acteur, servie.version)


@_ecriture
def creer_definition(
    form_id: str, titre: str, acteur: Acteur, copie_de: str | None = None
) -> FormVersion:
    """A new standalone definition, empty or copied from another one, as a draft."""
    problems = []
    if not IDENTIFIANT.match(form_id or ""):
        problems.append(
            Problem(
                "$.$id",
                "identifiant invalide : 3 à 64 caractères, minuscules, chiffres et tirets, "
                "commençant par une lettre",
            )
        )
    elif form_id in catalogue() or _lignes_existent(form_id):
        problems.append(Problem("$.$id", f"l'identifiant « {form_id} » est déjà utilisé"))
    if not (titre or "").strip():
        problems.append(Problem("$.title", "indiquez le titre du formulaire"))
    if problems:
        raise DefinitionRefusee(problems)
    if copie_de:
        modele = catalogue().get(copie_de)
        if modele is None:
            raise LookupError(copie_de)
        schema = copy.deepcopy(modele.schema)
        schema.pop("x-bindings", None)  # a copy is read by no code
    else:
        schema = {
            "$schema": SCHEMA_DRAFT,
            "type": "object",
            "properties": {},
            "required": [],
            "additionalProperties": False,
        }
    schema.update({"$id": ID_BASE + form_id, "title": titre.strip(), "x-standalone": True})
    version = _nouveau_brouillon(form_id, schema, acteur, None, copie_de=copie_de)
    return version


@_ecriture
def enregistrer_brouillon(form_id: str, schema: dict, acteur: Acteur) -> FormVersion:
    """Replace the draft's schema after every check but the bindings' (those at publish)."""
    version = brouillon(form_id) or ouvrir_brouillon(form_id, acteur)
    schema = _normaliser(form_id, schema, version.version)
    _verifier(schema)
    version.schema = schema
    version.empreinte = empreinte(schema)
    version.created_by = version.created_by or acteur.label
    journaliser(
        acteur,
        "brouillon_enregistre",
        OBJET,
        form_id,
        state_from=EtatVersion.BROUILLON.value,
        state_to=EtatVersion.BROUILLON.value,
        details={"version": version.version},
    )
    db.session.commit()
    return version


def enregistrer_texte(form_id: str, texte: str, acteur: Acteur) -> FormVersion:
    """The "Avancé" tab: JSON typed by an administrator, read within the gate's caps."""
    try:
        schema = garde.lire(texte)
    except garde.DefinitionIllisible as exc:
        raise DefinitionRefusee([exc.problem]) from exc
    return enregistrer_brouillon(form_id, schema, acteur)


@_ecriture
def abandonner_brouillon(form_id: str, acteur: Acteur) -> None:
    version = _brouillon_requis(form_id)
    journaliser(
        acteur,
        "brouillon_abandonne",
        OBJET,
        form_id,
        state_from=EtatVersion.BROUILLON.value,
        state_to=None,
        details={"version": version.version},
    )
    db.session.delete(version)
    db.session.commit()


# -- publication ------------------------------------------------------------------------
def changements(form_id: str) -> list[Changement]:
    """What publishing the draft changes against the served version."""
    version = _brouillon_requis(form_id)
    servie = catalogue().get(form_id)
    return comparer(servie.schema if servie is not None else None, version.schema)


def verifier_publication(form_id: str) -> list[Problem]:
    """Every reason the draft cannot be published (empty: it can)."""
    version = _brouillon_requis(form_id)
    try:
        _verifier(version.schema)
    except DefinitionRefusee as refus:
        return refus.problems
    return problemes_liaisons(form_id, version.schema)


@_ecriture
def publier(form_id: str, acteur: Acteur) -> FormVersion:
    """Publish the draft as the new served version; raise DefinitionRefusee."""
    version = _brouillon_requis(form_id)
    problems = verifier_publication(form_id)
    if problems:
        raise DefinitionRefusee(problems)
    resume = [c.__dict__ for c in changements(form_id)]
    numero = _prochain_numero(form_id, sauf=version.id)
    schema = {**version.schema, "x-version": numero}
    created_at, created_by = version.created_at, version.created_by
    # A new row rather than an update of the draft: the ids of published rows must only
    # grow, since every process watches max(id) to notice a publication.
    db.session.delete(version)
    db.session.flush()
    version = FormVersion(
        form_id=form_id,
        version=numero,
        etat=EtatVersion.PUBLIEE,
        origine=OrigineVersion.BACKOFFICE,
        schema=schema,
        empreinte=empreinte(schema),
        created_at=created_at,
        created_by=created_by,
        published_at=utcnow(),
        published_by=acteur.label,
    )
    db.session.add(version)
    journaliser(
        acteur,
        "formulaire_publie",
        OBJET,
        form_id,
        state_from=EtatVersion.BROUILLON.value,
        state_to=EtatVersion.PUBLIEE.value,
        details={"version": numero, "changements": resume[:200]},
    )
    db.session.commit()
    catalogue().invalider()
    return version


@_ecriture
def restaurer_version(form_id: str, numero: int, acteur: Acteur) -> FormVersion:
    """Publish an older version again, under a new number (numbers only grow)."""
    ancienne = catalogue().version(form_id, numero)
    if ancienne is None:
        raise LookupError(f"{form_id} v{numero}")
    problems = problemes_liaisons(form_id, ancienne.schema)
    if problems:
        raise DefinitionRefusee(problems)
    nouveau = _prochain_numero(form_id)
    schema = {**copy.deepcopy(ancienne.schema), "x-version": nouveau}
    version = FormVersion(
        form_id=form_id,
        version=nouveau,
        etat=EtatVersion.PUBLIEE,
        origine=OrigineVersion.BACKOFFICE,
        schema=schema,
        empreinte=empreinte(schema),
        created_by=acteur.label,
        published_at=utcnow(),
        published_by=acteur.label,
    )
    db.session.add(version)
    journaliser(
        acteur,
        "version_restauree",
        OBJET,
        form_id,
        state_from=None,
        state_to=EtatVersion.PUBLIEE.value,
        details={"version": nouveau, "restauree": numero},
    )
    db.session.commit()
    catalogue().invalider()
    return version


# -- bindings -----------------------------------------------------------------------------
def liaisons(form_id: str) -> set[str]:
    """The property paths the code reads: the shipped file's and the served version's."""
    found = set()
    for schema in (catalogue().fichier(form_id), _schema_servi(form_id)):
        if schema:
            found.update(schema.get("x-bindings") or [])
    return found


def problemes_liaisons(form_id: str, schema: dict) -> list[Problem]:
    """A bound property removed, renamed or retyped, named in French."""
    servi = _schema_servi(form_id) or catalogue().fichier(form_id)
    problems = []
    gardees = set(schema.get("x-bindings") or [])
    for chemin in sorted(liaisons(form_id)):
        avant = _propriete(servi, chemin) if servi else None
        apres = _propriete(schema, chemin)
        libelle = (avant or {}).get("title") or chemin
        if apres is None:
            problems.append(
                Problem(
                    _json_path(chemin),
                    f"la question « {libelle} » ({chemin}) est lue par l'application : "
                    "elle ne peut être ni supprimée ni renommée",
                )
            )
        elif avant is not None and _genre(avant) != _genre(apres):
            problems.append(
                Problem(
                    _json_path(chemin),
                    f"la question « {libelle} » ({chemin}) est lue par l'application : son type "
                    f"doit rester « {_genre_lisible(avant)} » (et non « {_genre_lisible(apres)} »)",
                )
            )
        elif chemin not in gardees:
            problems.append(
                Problem("$.x-bindings", f"la liaison {chemin} ne peut pas être retirée")
            )
        elif avant is not None and _obligatoire(servi, chemin) and not _obligatoire(schema, chemin):
            problems.append(
                Problem(
                    _json_path(chemin),
                    f"la question « {libelle} » ({chemin}) est lue par l'application : "
                    "elle doit rester obligatoire",
                )
            )
        elif _conditionnelle(schema, chemin):
            problems.append(
                Problem(
                    _json_path(chemin),
                    f"la question « {libelle} » ({chemin}) est lue par l'application : "
                    "elle ne peut pas dépendre d'une condition",
                )
            )
    return problems


def _parents(schema: dict, chemin: str):
    """(object node, property name) for each step of a dotted path, resolving ``$ref``."""
    noeud = schema
    for partie in chemin.split("."):
        noeud = _suivre(schema, noeud)
        if noeud.get("type") == "array" and isinstance(noeud.get("items"), dict):
            noeud = _suivre(schema, noeud["items"])
        yield noeud, partie
        noeud = (noeud.get("properties") or {}).get(partie, {})


def _obligatoire(schema: dict, chemin: str) -> bool:
    """Required at every step of its path: the code can read it without a KeyError."""
    return all(
        partie in (parent.get("required") or []) for parent, partie in _parents(schema, chemin)
    )


def _conditionnelle(schema: dict, chemin: str) -> bool:
    """Shown or required only under a condition (``then``/``else`` names it) at some step."""
    for parent, partie in _parents(schema, chemin):
        blocs = [parent, *[b for b in parent.get("allOf") or [] if isinstance(b, dict)]]
        for bloc in blocs:
            for branche in ("then", "else"):
                partie_branche = bloc.get(branche) if "if" in bloc else None
                if isinstance(partie_branche, dict) and (
                    partie in (partie_branche.get("required") or [])
                    or partie in (partie_branche.get("properties") or {})
                ):
                    return True
    return False


# -- comparing two versions -------------------------------------------------------------
def comparer(avant: dict | None, apres: dict) -> list[Changement]:
    lignes: list[Changement] = []
    if avant is None:
        return [Changement("formulaire", "", str(apres.get("title", "")), "", "nouveau")]
    for cle, nom in (("title", "titre"), ("description", "description")):
        if avant.get(cle) != apres.get(cle):
            lignes.append(
                Changement(
                    "formulaire", nom, nom, str(avant.get(cle) or ""), str(apres.get(cle) or "")
                )
            )
    questions_avant, questions_apres = _questions(avant), _questions(apres)
    for chemin, noeud in questions_apres.items():
        if chemin not in questions_avant:
            lignes.append(Changement("ajoutee", chemin, _titre(noeud, chemin)))
    for chemin, noeud in questions_avant.items():
        if chemin not in questions_apres:
            lignes.append(Changement("supprimee", chemin, _titre(noeud, chemin)))
    for chemin, noeud in questions_apres.items():
        ancien = questions_avant.get(chemin)
        if ancien is None:
            continue
        if _titre(ancien, chemin) != _titre(noeud, chemin):
            lignes.append(
                Changement(
                    "libelle",
                    chemin,
                    _titre(noeud, chemin),
                    _titre(ancien, chemin),
                    _titre(noeud, chemin),
                )
            )
        regles_avant, regles_apres = _regles(ancien), _regles(noeud)
        if regles_avant != regles_apres:
            lignes.append(
                Changement(
                    "regle",
                    chemin,
                    _titre(noeud, chemin),
                    _regles_lisibles(regles_avant, regles_apres),
                    _regles_lisibles(regles_apres, regles_avant),
                )
            )
    return lignes


# -- shipped files --------------------------------------------------------------------------
@_ecriture
def synchroniser_fichiers() -> RapportSync:
    """Record each file of forms/schemas/ as the published version it declares (idempotent).

    A file version unknown to the database is inserted; a file version already recorded from
    the file is replaced when the file changed; a version published in the back-office with
    the same number is kept (staff win), and reported.
    """
    rapport = RapportSync()
    for schema in catalogue().files.values():
        form_id, numero = form_id_of(schema), schema["x-version"]
        ligne = db.session.scalar(
            select(FormVersion).where(FormVersion.form_id == form_id, FormVersion.version == numero)
        )
        signature = empreinte(schema)
        if ligne is None or ligne.etat == EtatVersion.BROUILLON:
            _decaler_brouillon(form_id, numero)  # a draft holding this number moves past it
            db.session.flush()
            db.session.add(_version_fichier(schema))
            rapport.modifies += 1
            suite = " (brouillon renuméroté)" if ligne is not None else ""
            rapport.lignes.append(f"ajouté     {form_id} v{numero}{suite}")
        elif ligne.empreinte == signature:
            rapport.lignes.append(f"inchangé   {form_id} v{numero}")
        elif ligne.origine == OrigineVersion.FICHIER:
            # Replaced by a new row (not updated): every process watches max(id).
            db.session.delete(ligne)
            db.session.flush()
            db.session.add(_version_fichier(schema))
            rapport.modifies += 1
            rapport.lignes.append(f"mis à jour {form_id} v{numero}")
        else:
            rapport.lignes.append(
                f"conservé   {form_id} v{numero} : la version publiée dans le back-office "
                "l'emporte sur le fichier (flask forms export pour l'enregistrer)"
            )
        plus_recente = _dernier_numero_publie(form_id)
        if plus_recente and plus_recente > numero:
            rapport.lignes.append(
                f"           {form_id} : la v{plus_recente} publiée dans le back-office est "
                "servie (flask forms export pour la reporter dans le fichier)"
            )
    db.session.commit()
    catalogue().invalider()
    return rapport


def _version_fichier(schema: dict) -> FormVersion:
    """The published row recording a shipped file."""
    return FormVersion(
        form_id=form_id_of(schema),
        version=schema["x-version"],
        etat=EtatVersion.PUBLIEE,
        origine=OrigineVersion.FICHIER,
        schema=copy.deepcopy(schema),
        empreinte=empreinte(schema),
        published_at=utcnow(),
    )


def exporter(form_id: str, dossier: str | Path) -> Path:
    """Write the served version of ``form_id`` to ``<dossier>/<form_id>.json``."""
    definition = catalogue().get(form_id)
    if definition is None:
        raise LookupError(form_id)
    chemin = Path(dossier) / f"{form_id}.json"
    chemin.write_text(
        json.dumps(definition.schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return chemin


def empreinte(schema: dict) -> str:
    canonique = json.dumps(schema, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonique.encode("utf-8")).hexdigest()


# -- helpers ----------------------------------------------------------------------------------
def _nouveau_brouillon(
    form_id: str, schema: dict, acteur: Acteur, depuis: int | None, copie_de: str | None = None
) -> FormVersion:
    numero = _prochain_numero(form_id)
    schema = _normaliser(form_id, schema, numero)
    version = FormVersion(
        form_id=form_id,
        version=numero,
        etat=EtatVersion.BROUILLON,
        origine=OrigineVersion.BACKOFFICE,
        schema=schema,
        empreinte=empreinte(schema),
        created_by=acteur.label,
    )
    db.session.add(version)
    details = {"version": numero, "depuis": depuis}
    if copie_de:
        details["copie_de"] = copie_de
    journaliser(
        acteur,
        "brouillon_ouvert",
        OBJET,
        form_id,
        state_from=None,
        state_to=EtatVersion.BROUILLON.value,
        details=details,
    )
    db.session.commit()
    return version


def _normaliser(form_id: str, schema: dict, numero: int) -> dict:
    if not isinstance(schema, dict):
        raise DefinitionRefusee([Problem("$", "une définition est un objet JSON")])
    schema = copy.deepcopy(schema)
    # The id and the number are the server's: a draft cannot pose as another definition.
    schema["$id"] = ID_BASE + form_id
    schema["x-version"] = numero
    return schema


def _verifier(schema: dict) -> None:
    problems = garde.verifier_objet(schema)
    if problems:
        raise DefinitionRefusee(problems)
    try:
        definition = catalogue().construire(schema)
    except DefinitionError as error:
        raise DefinitionRefusee(error.problems) from error
    problems = [
        Problem(_json_path(chemin) + ".default", "la valeur par défaut ne respecte pas la question")
        for chemin, noeud in _questions(schema).items()
        if "default" in noeud
        and not definition.validator.evolve(
            schema={k: v for k, v in noeud.items() if not k.startswith("__")}
        ).is_valid(noeud["default"])
    ]
    if problems:
        raise DefinitionRefusee(problems)


def _brouillon_requis(form_id: str) -> FormVersion:
    version = brouillon(form_id)
    if version is None:
        raise OperationImpossible("Ce formulaire n'a pas de brouillon.")
    return version


def _lignes_existent(form_id: str) -> bool:
    return db.session.scalar(select(func.count()).where(FormVersion.form_id == form_id)) > 0


def _prochain_numero(form_id: str, sauf: int | None = None) -> int:
    query = select(func.max(FormVersion.version)).where(FormVersion.form_id == form_id)
    if sauf is not None:
        query = query.where(FormVersion.id != sauf)
    plus_haut = db.session.scalar(query) or 0
    fichier = catalogue().fichier(form_id)
    servie = catalogue().get(form_id)
    candidats = [plus_haut, fichier["x-version"] if fichier else 0, servie.version if servie else 0]
    return max(candidats) + 1


def _dernier_numero_publie(form_id: str) -> int | None:
    return db.session.scalar(
        select(func.max(FormVersion.version)).where(
            FormVersion.form_id == form_id, FormVersion.etat == EtatVersion.PUBLIEE
        )
    )


def _decaler_brouillon(form_id: str, numero: int) -> None:
    """A shipped file now uses the draft's number: the draft moves past it."""
    version = brouillon(form_id)
    if version is not None and version.version <= numero:
        version.version = max(numero, _dernier_numero_publie(form_id) or 0) + 1
        version.schema = {**version.schema, "x-version": version.version}
        db.session.flush()


def _schema_servi(form_id: str) -> dict | None:
    servie = catalogue().get(form_id)
    return servie.schema if servie is not None else None


def _json_path(chemin: str) -> str:
    return "$." + ".".join(f"properties.{partie}" for partie in chemin.split("."))


def _propriete(schema: dict, chemin: str) -> dict | None:
    """The schema of a dotted property path, following local and registered ``$ref``."""
    noeud = schema
    for partie in chemin.split("."):
        noeud = _suivre(schema, noeud)
        if noeud.get("type") == "array" and isinstance(noeud.get("items"), dict):
            noeud = _suivre(schema, noeud["items"])
        proprietes = noeud.get("properties") if isinstance(noeud, dict) else None
        if not isinstance(proprietes, dict) or partie not in proprietes:
            return None
        noeud = proprietes[partie]
    return _suivre(schema, noeud, garder_annotations=True)


def _suivre(racine: dict, noeud: dict, garder_annotations: bool = False) -> dict:
    vus = 0
    base = noeud
    while isinstance(noeud, dict) and isinstance(noeud.get("$ref"), str) and vus < 16:
        vus += 1
        ref = noeud["$ref"]
        adresse, _, pointeur = ref.partition("#")
        document = racine
        if adresse:
            autre = catalogue().get(adresse.rstrip("/").rsplit("/", 1)[-1])
            if autre is None:
                return {}
            document = autre.schema
        cible = document
        for morceau in [m for m in pointeur.split("/") if m]:
            cible = (
                cible.get(morceau.replace("~1", "/").replace("~0", "~"), {})
                if isinstance(cible, dict)
                else {}
            )
        noeud = cible
    if garder_annotations and base is not noeud and isinstance(noeud, dict):
        noeud = {**noeud, **{k: v for k, v in base.items() if k != "$ref"}}
    return noeud if isinstance(noeud, dict) else {}


def _genre(noeud: dict) -> tuple:
    items = noeud.get("items") if isinstance(noeud.get("items"), dict) else {}
    return (noeud.get("type"), noeud.get("format"), items.get("type"))


GENRES = {
    "string": "texte",
    "integer": "nombre entier",
    "number": "nombre",
    "boolean": "oui/non",
    "object": "section",
    "array": "liste",
}


def _genre_lisible(noeud: dict) -> str:
    genre = GENRES.get(noeud.get("type"), str(noeud.get("type")))
    return f"{genre}, format {noeud['format']}" if noeud.get("format") else genre


def _questions(schema: dict, prefixe: str = "", racine: dict | None = None) -> dict[str, dict]:
    """Every property path of a schema with its (resolved) node, sections included."""
    racine = racine or schema
    noeud = _suivre(racine, schema)
    found: dict[str, dict] = {}
    if noeud.get("type") == "array" and isinstance(noeud.get("items"), dict):
        noeud = _suivre(racine, noeud["items"])
    obligatoires = set(noeud.get("required") or [])
    for nom, sous in (noeud.get("properties") or {}).items():
        if nom in RESERVED_NAMES:
            continue
        chemin = f"{prefixe}{nom}"
        resolu = _suivre(racine, sous, garder_annotations=True)
        found[chemin] = {**resolu, "__obligatoire": nom in obligatoires}
        if resolu.get("type") in {"object", "array"} or "properties" in resolu:
            found.update(_questions(resolu, chemin + ".", racine))
    return found


def _titre(noeud: dict, chemin: str) -> str:
    return str(noeud.get("title") or chemin.rsplit(".", 1)[-1])


REGLES = (
    "type",
    "format",
    "__obligatoire",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "enum",
    "oneOf",
    "readOnly",
)
NOMS_REGLES = {
    "type": "type",
    "format": "format",
    "__obligatoire": "obligatoire",
    "minLength": "longueur minimale",
    "maxLength": "longueur maximale",
    "pattern": "motif",
    "minimum": "minimum",
    "maximum": "maximum",
    "exclusiveMinimum": "minimum exclu",
    "exclusiveMaximum": "maximum exclu",
    "minItems": "nombre minimal",
    "maxItems": "nombre maximal",
    "enum": "valeurs",
    "oneOf": "options",
    "readOnly": "lecture seule",
}


def _regles(noeud: dict) -> dict:
    regles = {cle: noeud.get(cle) for cle in REGLES if cle in noeud}
    if "oneOf" in regles:
        regles["oneOf"] = [
            (option.get("const"), option.get("title"))
            for option in regles["oneOf"]
            if isinstance(option, dict)
        ]
    return regles


def _regles_lisibles(regles: dict, autres: dict) -> str:
    morceaux = []
    for cle in REGLES:
        if regles.get(cle) == autres.get(cle):
            continue
        valeur = regles.get(cle)
        if cle == "__obligatoire":
            valeur = "oui" if valeur else "non"
        elif cle == "oneOf" and valeur:
            valeur = ", ".join(str(titre or const) for const, titre in valeur)
        elif valeur is None:
            valeur = "—"
        morceaux.append(f"{NOMS_REGLES[cle]} : {valeur}")
    return " ; ".join(morceaux)
