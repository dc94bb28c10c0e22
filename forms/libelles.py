"""A stored document shown with the labels of the form version it was filed with.

Used by the back-office: a request's or a submission's detail, and the exports. ``Libelles``
holds the labels of one version, by path of property names (``("etablissement", "siret")``;
the items of an array share their array's path); ``sections_de`` turns a document into
labelled sections in the form's order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

Chemin = tuple[str, ...]
SEPARATEUR = " › "


def _cle_choix(valeur: Any) -> str:
    if valeur is True:
        return "true"
    if valeur is False:
        return "false"
    return str(valeur)


def _libelle_technique(nom: str) -> str:
    return nom.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Libelles:
    """The labels of one version of a form. ``connue`` is False when no definition could be
    found: every label is then the property's name. ``actuelle`` is True when the version
    filed is unknown and the labels are those of the current version (``repli``)."""

    form_id: str
    version: int
    titre_formulaire: str | None = None
    titres: Mapping[Chemin, str] = field(default_factory=dict)
    choix: Mapping[Chemin, Mapping[str, str]] = field(default_factory=dict)
    ordre: Mapping[Chemin, int] = field(default_factory=dict)
    connue: bool = False
    actuelle: bool = False
    version_libelles: int | None = None  # the version the labels come from
    genres: Mapping[Chemin, str] = field(default_factory=dict)  # FieldSpec.kind by path
    feuilles: tuple[Chemin, ...] = ()  # the paths without children, in the form's order

    def titre(self, chemin: Chemin) -> str:
        return self.titres.get(chemin) or _libelle_technique(chemin[-1])

    def titre_complet(self, chemin: Chemin) -> str:
        """« Entreprise › Raison sociale »: the labels of the path's every step."""
        return SEPARATEUR.join(self.titre(chemin[: i + 1]) for i in range(len(chemin)))

    def valeur(self, chemin: Chemin, valeur: Any) -> str:
        """A value as the form showed it (an option's label rather than its code)."""
        if valeur is None or valeur == "" or valeur == []:
            return "—"
        options = self.choix.get(chemin, {})
        if isinstance(valeur, list):
            return ", ".join(options.get(_cle_choix(v), str(v)) for v in valeur)
        if _cle_choix(valeur) in options:
            return options[_cle_choix(valeur)]
        if isinstance(valeur, bool):
            return "Oui" if valeur else "Non"
        return str(valeur)

    def est_fichier(self, chemin: Chemin) -> bool:
        return self.genres.get(chemin) == "file"


def libelles_definition(definition, *, actuelle: bool = False, version: int | None = None):
    """The labels of ``definition`` (a ``forms.registry.FormDefinition``), walking its tree."""
    titres: dict[Chemin, str] = {}
    choix: dict[Chemin, dict[str, str]] = {}
    ordre: dict[Chemin, int] = {}
    genres: dict[Chemin, str] = {}
    feuilles: list[Chemin] = []

    def parcourir(specs, prefixe: Chemin) -> None:
        for spec in specs:
            chemin = (*prefixe, spec.name)
            titres[chemin] = spec.label
            ordre[chemin] = len(ordre)
            genres[chemin] = spec.kind
            if spec.choices:
                choix[chemin] = {_cle_choix(v): str(libelle) for v, libelle in spec.choices}
            if spec.children:
                parcourir(spec.children, chemin)
            else:
                feuilles.append(chemin)

    parcourir(definition.tree, ())
    return Libelles(
        definition.id,
        definition.version if version is None else version,
        definition.title,
        titres,
        choix,
        ordre,
        connue=True,
        actuelle=actuelle,
        version_libelles=definition.version,
        genres=genres,
        feuilles=tuple(feuilles),
    )


def libelles_de(form_id: str, version: int, *, repli: bool = False) -> Libelles:
    """The labels of version ``version`` of form ``form_id`` (the registry's ``version``).

    An unknown version gives ``connue=False`` (labels fall back to property names), or with
    ``repli`` the labels of the current version, marked ``actuelle``.
    """
    registre = current_app.extensions.get("forms")
    if registre is None:
        return Libelles(form_id, version)
    definition = registre.version(form_id, version)
    if definition is not None:
        return libelles_definition(definition)
    courante = registre.get(form_id) if repli else None
    if courante is not None:
        return libelles_definition(courante, actuelle=True, version=version)
    return Libelles(form_id, version)


@dataclass(frozen=True)
class LigneDonnee:
    libelle: str
    valeur: str
    jeton: str | None = None  # an attachment's token (the value of a file question)


@dataclass
class SectionDonnees:
    titre: str | None
    lignes: list[LigneDonnee] = field(default_factory=list)


def sections_de(data: Mapping[str, Any], libelles: Libelles) -> list[SectionDonnees]:
    """The document as a list of labelled sections, in the form's order (then unknown keys)."""

    def trier(objet: Mapping[str, Any], prefixe: Chemin) -> list[str]:
        rang = {nom: i for i, nom in enumerate(objet)}
        return sorted(
            objet, key=lambda nom: (libelles.ordre.get((*prefixe, nom), 10**6), rang[nom])
        )

    def lignes(objet: Mapping[str, Any], prefixe: Chemin, avant: str) -> list:
        resultat = []
        for nom in trier(objet, prefixe):
            chemin, valeur = (*prefixe, nom), objet[nom]
            libelle = avant + libelles.titre(chemin)
            if isinstance(valeur, Mapping):
                resultat += lignes(valeur, chemin, libelle + SEPARATEUR)
            elif isinstance(valeur, list) and any(isinstance(v, Mapping) for v in valeur):
                for numero, element in enumerate(valeur, start=1):
                    if isinstance(element, Mapping):
                        resultat += lignes(element, chemin, f"{libelle} n° {numero}{SEPARATEUR}")
                    else:
                        resultat.append(LigneDonnee(f"{libelle} n° {numero}", str(element)))
            elif libelles.est_fichier(chemin) and isinstance(valeur, str) and valeur:
                resultat.append(LigneDonnee(libelle, valeur, jeton=valeur))
            else:
                resultat.append(LigneDonnee(libelle, libelles.valeur(chemin, valeur)))
        return resultat

    sections: list[SectionDonnees] = []
    isolees = SectionDonnees(None)
    for nom in trier(data, ()):
        valeur = data[nom]
        if isinstance(valeur, Mapping):
            sections.append(SectionDonnees(libelles.titre((nom,)), lignes(valeur, (nom,), "")))
        else:
            isolees.lignes += lignes({nom: valeur}, (), "")
    return ([isolees] if isolees.lignes else []) + sections


def valeurs_au_chemin(data: Any, chemin: Chemin) -> list[Any]:
    """Every value of ``data`` at ``chemin`` (the items of an array each give theirs)."""
    valeurs = [data]
    for nom in chemin:
        suivantes = []
        for valeur in valeurs:
            if isinstance(valeur, list) and any(isinstance(v, Mapping) for v in valeur):
                suivantes += [v.get(nom) for v in valeur if isinstance(v, Mapping)]
            elif isinstance(valeur, Mapping):
                suivantes.append(valeur.get(nom))
        valeurs = suivantes
    return [v for v in valeurs if v is not None]
