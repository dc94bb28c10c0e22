"""Look an establishment up by SIRET: the local SIRENE table, then (optionally) the public
« API Recherche d'entreprises » (https://recherche-entreprises.api.gouv.fr).

The API is called only when ``RECHERCHE_ENTREPRISES_URL`` is set; it is never required, and
a network error, a timeout or an unexpected answer only logs a warning and returns None.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import requests
from flask import current_app

from extensions import db
from models.sirene import SireneEtablissement

logger = logging.getLogger(__name__)


@dataclass
class EtablissementInfo:
    siret: str
    denomination: str | None
    numero_voie: str | None
    indice_repetition: str | None
    type_voie: str | None
    libelle_voie: str | None
    complement_adresse: str | None
    code_postal: str | None
    commune: str | None
    actif: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def as_etablissement(self) -> dict[str, str]:
        """The record in the words of our forms' ``etablissement`` sections (the account
        request, the fiche): only the fields the directory knows."""
        known = {
            "siret": self.siret,
            "denomination": self.denomination,
            "numero_voie": self.numero_voie,
            "extension_voie": self.indice_repetition,
            "type_voie": self.type_voie,
            "libelle_voie": self.libelle_voie,
            "complement_adresse": self.complement_adresse,
            "code_postal": self.code_postal,
            "ville": self.commune,
        }
        return {key: value for key, value in known.items() if value}


def _from_row(row: SireneEtablissement) -> EtablissementInfo:
    return EtablissementInfo(
        siret=row.siret,
        denomination=row.denomination or row.enseigne,
        numero_voie=row.numero_voie,
        indice_repetition=row.indice_repetition,
        type_voie=row.type_voie,
        libelle_voie=row.libelle_voie,
        complement_adresse=row.complement_adresse,
        code_postal=row.code_postal,
        commune=row.libelle_commune,
        actif=row.actif,
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _from_api(result: dict[str, Any], etablissement: dict[str, Any]) -> EtablissementInfo:
    enseignes = etablissement.get("liste_enseignes") or []
    denomination = (
        _text(result.get("nom_raison_sociale"))
        or _text(result.get("nom_complet"))
        or _text(etablissement.get("nom_commercial"))
        or (_text(enseignes[0]) if enseignes else None)
    )
    etat = etablissement.get("etat_administratif") or result.get("etat_administratif")
    return EtablissementInfo(
        siret=str(etablissement["siret"]),
        denomination=denomination,
        numero_voie=_text(etablissement.get("numero_voie")),
        indice_repetition=_text(etablissement.get("indice_repetition")),
        type_voie=_text(etablissement.get("type_voie")),
        libelle_voie=_text(etablissement.get("libelle_voie")),
        complement_adresse=_text(etablissement.get("complement_adresse")),
        code_postal=_text(etablissement.get("code_postal")),
        commune=_text(etablissement.get("libelle_commune")),
        actif=etat != "F",
    )


def _pick(payload: Any, siret: str) -> EtablissementInfo | None:
    """The establishment ``siret`` in a /search answer: a matching one, else a siège."""
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(results, list):
        raise ValueError("no 'results' list in the answer")
    for result in results:
        if not isinstance(result, dict):
            continue
        for etablissement in result.get("matching_etablissements") or []:
            if isinstance(etablissement, dict) and str(etablissement.get("siret")) == siret:
                return _from_api(result, etablissement)
        siege = result.get("siege")
        if isinstance(siege, dict) and str(siege.get("siret")) == siret:
            return _from_api(result, siege)
    return None


def rechercher_api(siret: str) -> EtablissementInfo | None:
    """Ask the API Recherche d'entreprises; None when unset, unknown or unreachable."""
    base_url = (current_app.config.get("RECHERCHE_ENTREPRISES_URL") or "").rstrip("/")
    if not base_url:
        return None
    timeout = float(current_app.config.get("RECHERCHE_ENTREPRISES_TIMEOUT") or 3.0)
    try:
        response = requests.get(
            f"{base_url}/search",
            params={"q": siret},
            timeout=timeout,
            headers={"Accept": "application/json"},
        )
        response.raise_for_status()
        return _pick(response.json(), siret)
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        logger.warning("Recherche d'entreprises: lookup of %s failed: %s", siret, exc)
        return None


def rechercher_etablissement(siret: str) -> EtablissementInfo | None:
    """The establishment ``siret`` from the local SIRENE table, else from the API (if set)."""
    siret = (siret or "").replace(" ", "").strip()
    if len(siret) != 14 or not siret.isdigit():
        return None
    row = db.session.get(SireneEtablissement, siret)
    if row is not None:
        return _from_row(row)
    return rechercher_api(siret)
