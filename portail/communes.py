"""Reference-data lookup used by the address fields: the communes of a postal code."""

from flask import Blueprint, jsonify, request

from referentiels import codes_postaux

bp = Blueprint("communes", __name__)

CACHE_CONTROL = "public, max-age=86400"


@bp.get("/referentiels/communes")
def communes():
    code_postal = (request.args.get("code_postal") or "").strip()
    if not codes_postaux.is_well_formed(code_postal):
        response = jsonify(
            {"erreur": "Le code postal doit être composé de 5 chiffres (par exemple 44500)."}
        )
        response.status_code = 400
        return response
    response = jsonify(
        [
            {"nom": commune.nom, "nom_usuel": commune.nom_usuel, "code_insee": commune.code_insee}
            for commune in codes_postaux.communes(code_postal)
        ]
    )
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response
