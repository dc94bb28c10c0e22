"""An accounting firm files for its clients (domain §2.6): one email in « Compte utilisateur à
créer » groups every client establishment under one identity, up to 200 SIRET."""

import copy
import json
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlalchemy import func, select

from extensions import db
from models.comptes import (
    MAX_ETABLISSEMENTS_PAR_UTILISATEUR,
    DemandeCompte,
    DemandeState,
    Etablissement,
    Habilitation,
    Role,
    Utilisateur,
)
from models.notification import Notification
from workflows import comptes
from workflows.journal import Acteur

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = json.loads(
    (ROOT / "forms/examples/demande-creation-compte.json").read_text(encoding="utf-8")
)
CABINET = {
    "nom": "Garrigue",
    "prenom": "Hélène",
    "telephone": "+33561234567",
    "courriel": "helene.garrigue@cabinet-exemple.fr",
    "question_secrete": "Dans quelle ville êtes-vous né(e) ?",
    "reponse": "Toulouse",
}
# Three clients of the firm, from the bundled directory sample.
CLIENTS = [
    ("96285287700019", "LES ATELIERS DE LA ROQUETTE", "RUE DE LA ROQUETTE", "75011", "PARIS 11"),
    ("51463076300019", "BRASSERIE DU PART-DIEU", "BD VIVIER MERLE", "69003", "LYON 3"),
    ("41919545800015", "CAVES ET CHAIS DES CHARTRONS", "QUAI DES CHARTRONS", "33000", "BORDEAUX"),
]
AGENT = Acteur("agent", "agent.asp@asp.localhost")


@pytest.fixture
def mails_app(make_app, tmp_path):
    app = make_app(MAIL_SERVER="", MAIL_FILE_DIR=str(tmp_path / "mails"), REDIS_URL="")
    with app.app_context():
        yield app


def demande(siret, denomination, voie, code_postal, ville) -> dict:
    """The account request the firm files for one client: the client's establishment, the
    firm's own contact in « Compte utilisateur à créer »."""
    document = copy.deepcopy(EXAMPLE)
    document["etablissement"] = {
        "denomination": denomination,
        "siret": siret,
        "libelle_voie": voie,
        "code_postal": code_postal,
        "ville": ville,
        "courriel": f"contact.{siret}@client-exemple.fr",
        "telephone": "+33140000000",
    }
    document["utilisateur"] = dict(CABINET)
    return document


def deposer(client) -> DemandeCompte:
    return comptes.demander_compte(demande(*client), 1, Acteur("usager", CABINET["courriel"]))


def mails(app):
    folder = Path(app.config["MAIL_FILE_DIR"])
    return [message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]


def text_of(message) -> str:
    return next(
        part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_type() == "text/plain"
    )


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.mark.parametrize("sequence", ["une par une", "toutes puis validées"])
def test_one_email_groups_every_client_under_one_accountant_identity(mails_app, sequence):
    if sequence == "une par une":
        for client in CLIENTS:
            comptes.valider_demande_compte(deposer(client).id, AGENT)
    else:  # filed in a row before the ASP processes any: grouped at validation
        demandes = [deposer(client) for client in CLIENTS]
        assert all(d.utilisateur_existant_id is None for d in demandes)
        for filed in demandes:
            comptes.valider_demande_compte(filed.id, AGENT)

    comptable = db.session.scalars(select(Utilisateur)).one()
    assert (comptable.courriel, comptable.nom) == (CABINET["courriel"], "Garrigue")
    habilitations = db.session.scalars(
        select(Habilitation).where(Habilitation.utilisateur_id == comptable.id)
    ).all()
    assert sorted(h.etablissement.siret for h in habilitations) == sorted(c[0] for c in CLIENTS)
    assert {h.role for h in habilitations} == {Role.REFERENT}
    assert comptes.nombre_etablissements(comptable) == len(CLIENTS)
    # Each establishment keeps its own contact address.
    assert {e.siret: e.courriel for e in db.session.scalars(select(Etablissement))} == {
        c[0]: f"contact.{c[0]}@client-exemple.fr" for c in CLIENTS
    }

    notifications = db.session.scalars(select(Notification).order_by(Notification.id)).all()
    assert [n.template for n in notifications] == [
        "identifiant",
        "mot_de_passe",
        *["habilitation"] * len(CLIENTS),
    ]
    assert {n.recipient for n in notifications} == {CABINET["courriel"]}
    sent = mails(mails_app)
    assert len(sent) == 2 + len(CLIENTS)
    assert {m["To"] for m in sent} == {CABINET["courriel"]}
    bodies = [text_of(m) for m in sent]
    assert sum(comptable.identifiant in body for body in bodies) == 1  # identifiant once
    assert sum("/mot-de-passe/" in body for body in bodies) == 1  # password link once
    habilitation_bodies = [
        body for n, body in zip(notifications, bodies, strict=True) if n.template == "habilitation"
    ]
    for (siret, denomination, *_), body in zip(CLIENTS, habilitation_bodies, strict=True):
        assert siret in body and denomination in body  # one mail per establishment, in order


def test_the_201st_client_is_refused_when_its_request_is_validated(mails_app):
    """Requests filed while the firm serves 199 establishments all pass the filing check; the
    validation that would give the identity a 201st establishment is refused, and nothing of it
    is kept (the request stays to be processed by an agent)."""
    premier, deuxieme = CLIENTS[0], CLIENTS[1]
    comptes.valider_demande_compte(deposer(CLIENTS[2]).id, AGENT)
    comptable = db.session.scalars(select(Utilisateur)).one()
    for index in range(MAX_ETABLISSEMENTS_PAR_UTILISATEUR - 2):
        etablissement = Etablissement(
            siret=f"{index:014d}",
            denomination=f"Client {index}",
            libelle_voie="RUE",
            code_postal="75001",
            ville="PARIS",
            departement="75",
            courriel="c@exemple.fr",
            telephone="+33123456789",
        )
        db.session.add(etablissement)
        db.session.add(
            Habilitation(utilisateur=comptable, etablissement=etablissement, role=Role.REFERENT)
        )
    db.session.commit()
    assert comptes.nombre_etablissements(comptable) == MAX_ETABLISSEMENTS_PAR_UTILISATEUR - 1

    a_200 = deposer(premier)
    a_201 = deposer(deuxieme)  # filed while only 199 are held: accepted for now
    assert a_201.utilisateur_existant_id == comptable.id

    comptes.valider_demande_compte(a_200.id, AGENT)
    assert comptes.nombre_etablissements(comptable) == MAX_ETABLISSEMENTS_PAR_UTILISATEUR
    with pytest.raises(comptes.LimiteEtablissementsAtteinte, match="200"):
        comptes.valider_demande_compte(a_201.id, AGENT)

    db.session.expire_all()
    assert comptes.nombre_etablissements(comptable) == MAX_ETABLISSEMENTS_PAR_UTILISATEUR
    assert count(Etablissement, Etablissement.siret == deuxieme[0]) == 0
    assert db.session.get(DemandeCompte, a_201.id).state == DemandeState.A_TRAITER
    assert [
        n.context["siret"]
        for n in db.session.scalars(
            select(Notification).where(Notification.template == "habilitation")
        )
    ] == [CLIENTS[2][0], premier[0]]
    assert count(Utilisateur) == 1
