"""Rows the establishment tests start from: valid SIRETs, establishments, identities,
habilitations. Call inside an application context; each helper flushes, the caller commits."""

from __future__ import annotations

from stdnum import luhn

from extensions import db
from identites import motdepasse
from models.comptes import Etablissement, Habilitation, Role, Utilisateur, departement_of

PHRASE = "cheval correct agrafe batterie"


def siret(number: int) -> str:
    """A SIRET with valid keys: SIREN ``number`` (8 digits + key), NIC 0001 + key."""
    siren = f"{number:08d}"
    siren += luhn.calc_check_digit(siren)
    base = siren + "0001"
    return base + luhn.calc_check_digit(base)


def etablissement(number: int, denomination: str, code_postal: str = "44000", **values):
    row = Etablissement(
        siret=siret(number),
        denomination=denomination,
        libelle_voie=values.pop("libelle_voie", "rue de la Paix"),
        code_postal=code_postal,
        ville=values.pop("ville", "Nantes"),
        departement=departement_of(code_postal),
        courriel=values.pop("courriel", f"contact{number}@exemple.fr"),
        telephone=values.pop("telephone", "+33240000000"),
        **values,
    )
    db.session.add(row)
    db.session.flush()
    return row


def identite(identifiant: str, nom: str, prenom: str, courriel: str | None = None):
    row = Utilisateur(
        identifiant=identifiant,
        nom=nom,
        prenom=prenom,
        courriel=courriel or f"{identifiant}@exemple.fr",
        question_secrete="Quel était le nom de votre premier animal de compagnie ?",
        reponse_hash=motdepasse.hash_secret("medor"),
        password_hash=motdepasse.hash_secret(PHRASE),
    )
    db.session.add(row)
    db.session.flush()
    return row


def habiliter(utilisateur, etablissement_row, role: Role = Role.UTILISATEUR):
    row = Habilitation(utilisateur=utilisateur, etablissement=etablissement_row, role=role)
    db.session.add(row)
    db.session.flush()
    return row


def sign_in(client, identifiant: str, mot_de_passe: str = PHRASE, next_url: str | None = None):
    url = "/connexion" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"identifiant": identifiant, "mot_de_passe": mot_de_passe})
