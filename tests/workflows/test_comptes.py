"""The account journey's operations: filing, validation (manual and automatic), rejection."""

import copy
import json
import threading
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlalchemy import func, select

from extensions import db
from models.audit import AuditEvent
from models.comptes import (
    DemandeCompte,
    DemandeState,
    Etablissement,
    Habilitation,
    JetonMotDePasse,
    Role,
    Utilisateur,
)
from models.notification import Notification, NotificationState
from workflows import comptes
from workflows.journal import Acteur

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = json.loads(
    (ROOT / "forms/examples/demande-creation-compte.json").read_text(encoding="utf-8")
)
USAGER = Acteur("usager", "apart.test@yopmail.com")
AGENT = Acteur("agent", "agent.asp@asp.localhost")


@pytest.fixture
def mails_app(make_app, tmp_path):
    app = make_app(MAIL_SERVER="", MAIL_FILE_DIR=str(tmp_path / "mails"), REDIS_URL="")
    with app.app_context():
        yield app


def document(siret="00578096000042", courriel="apart.test@yopmail.com", **contact):
    doc = copy.deepcopy(EXAMPLE)
    doc["etablissement"]["siret"] = siret
    doc["utilisateur"]["courriel"] = courriel
    doc["utilisateur"].update(contact)
    return doc


def mails(app):
    folder = Path(app.config["MAIL_FILE_DIR"])
    return [message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_filing_stores_the_request_without_the_clear_answer_and_journals_it(mails_app):
    demande = comptes.demander_compte(document(), 1, USAGER)
    assert demande.state == DemandeState.A_TRAITER
    assert demande.departement == "44"
    assert "reponse" not in demande.data["utilisateur"]
    assert "Jules Ferry" not in json.dumps(demande.data) + demande.reponse_hash
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.operation == "demander_compte")
    ).one()
    assert (event.object_id, event.state_to, event.actor_type) == (
        str(demande.id),
        "a_traiter",
        "usager",
    )
    assert mails(mails_app) == []  # the seed: a mail comes once the request has been processed


def test_a_second_request_for_a_pending_siret_is_refused(mails_app):
    comptes.demander_compte(document(), 1, USAGER)
    with pytest.raises(comptes.DemandeDejaEnCours):
        comptes.demander_compte(document(courriel="autre@exemple.fr"), 1, USAGER)
    assert count(DemandeCompte) == 1


def test_two_simultaneous_requests_for_one_siret_make_one_request(mails_app):
    app = mails_app
    outcomes = []
    barrier = threading.Barrier(2)

    def file_one(index):
        with app.app_context():
            barrier.wait()
            try:
                comptes.demander_compte(document(courriel=f"personne{index}@exemple.fr"), 1, USAGER)
                outcomes.append("ok")
            except comptes.DemandeDejaEnCours:
                outcomes.append("refusée")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=file_one, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["ok", "refusée"]
    assert count(DemandeCompte) == 1


def test_validation_creates_the_account_and_queues_identifiant_then_password_link_then_habilitation(
    mails_app,
):
    demande = comptes.demander_compte(document(), 1, USAGER)
    comptes.valider_demande_compte(demande.id, AGENT)

    etablissement = db.session.scalars(select(Etablissement)).one()
    utilisateur = db.session.scalars(select(Utilisateur)).one()
    habilitation = db.session.scalars(select(Habilitation)).one()
    assert (etablissement.siret, etablissement.ville, etablissement.departement) == (
        "00578096000042",
        "LA BAULE ESCOUBLAC",
        "44",
    )
    assert utilisateur.identifiant == "tapart" and utilisateur.password_hash is None
    assert (habilitation.role, habilitation.utilisateur_id) == (Role.REFERENT, utilisateur.id)
    assert db.session.get(DemandeCompte, demande.id).state == DemandeState.VALIDEE

    templates = [
        n.template for n in db.session.scalars(select(Notification).order_by(Notification.id))
    ]
    assert templates == ["identifiant", "mot_de_passe", "habilitation"]
    sent = mails(mails_app)
    assert [m["To"] for m in sent] == ["apart.test@yopmail.com"] * 3
    bodies = [
        part.get_payload(decode=True).decode()
        for m in sent
        for part in m.walk()
        if part.get_content_type() == "text/plain"
    ]
    assert "tapart" in bodies[0]
    assert "/mot-de-passe/" in bodies[1]
    jeton = db.session.scalars(select(JetonMotDePasse)).one()
    assert jeton.digest not in bodies[1]  # only the token travels, its digest stays here
    operations = set(db.session.scalars(select(AuditEvent.operation)))
    assert {
        "valider_demande_compte",
        "creer_etablissement",
        "creer_utilisateur",
        "creer_habilitation",
    } <= operations


def test_an_existing_identity_gets_only_the_habilitation_mail_and_keeps_its_identifiant(mails_app):
    first = comptes.demander_compte(document(), 1, USAGER)
    comptes.valider_demande_compte(first.id, AGENT)
    second = comptes.demander_compte(document(siret="13000637200010"), 1, USAGER)
    assert second.utilisateur_existant is not None  # the seed's notice is shown from this
    comptes.valider_demande_compte(second.id, AGENT)

    assert count(Utilisateur) == 1
    assert count(Habilitation) == 2
    templates = [
        n.template for n in db.session.scalars(select(Notification).order_by(Notification.id))
    ]
    assert templates == ["identifiant", "mot_de_passe", "habilitation", "habilitation"]


def test_a_siret_with_an_account_cannot_be_requested_again(mails_app):
    demande = comptes.demander_compte(document(), 1, USAGER)
    comptes.valider_demande_compte(demande.id, AGENT)
    with pytest.raises(comptes.EtablissementDejaInscrit, match="contacter l'utilisateur"):
        comptes.demander_compte(document(courriel="autre@exemple.fr"), 1, USAGER)


def test_a_request_can_be_decided_once_only(mails_app):
    demande = comptes.demander_compte(document(), 1, USAGER)
    comptes.valider_demande_compte(demande.id, AGENT)
    with pytest.raises(comptes.TransitionInterdite, match="déjà été traitée"):
        comptes.rejeter_demande_compte(demande.id, AGENT, "Doublon")
    with pytest.raises(comptes.TransitionInterdite):
        comptes.valider_demande_compte(demande.id, AGENT)
    assert count(Etablissement) == 1


def test_rejection_needs_a_reason_and_mails_it(mails_app):
    demande = comptes.demander_compte(document(), 1, USAGER)
    with pytest.raises(comptes.CompteError, match="motif"):
        comptes.rejeter_demande_compte(demande.id, AGENT, "  ")
    comptes.rejeter_demande_compte(
        demande.id, AGENT, "Le SIRET ne correspond pas à la dénomination."
    )
    assert db.session.get(DemandeCompte, demande.id).state == DemandeState.REJETEE
    notification = db.session.scalars(select(Notification)).one()
    assert notification.template == "demande_compte_rejetee"
    assert notification.state == NotificationState.SENT
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.operation == "rejeter_demande_compte")
    ).one()
    assert (event.state_from, event.state_to, event.actor) == ("a_traiter", "rejetee", AGENT.label)
    assert count(Etablissement) == 0


def test_an_identity_is_limited_to_200_establishments(mails_app):
    demande = comptes.demander_compte(document(), 1, USAGER)
    comptes.valider_demande_compte(demande.id, AGENT)
    utilisateur = db.session.scalars(select(Utilisateur)).one()
    for index in range(199):
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
            Habilitation(utilisateur=utilisateur, etablissement=etablissement, role=Role.REFERENT)
        )
    db.session.commit()
    with pytest.raises(comptes.LimiteEtablissementsAtteinte, match="200"):
        comptes.demander_compte(document(siret="13000637200010"), 1, USAGER)


def test_surge_mode_validates_a_request_whose_siret_is_active_in_the_directory(
    make_app, tmp_path, runner
):
    app = make_app(
        COMPTES_VALIDATION_AUTO=True, MAIL_FILE_DIR=str(tmp_path / "mails"), REDIS_URL=""
    )
    app.test_cli_runner().invoke(args=["sirene", "load-sample"])
    with app.app_context():
        demande = comptes.demander_compte(document(), 1, USAGER)
        db.session.expire_all()
        assert db.session.get(DemandeCompte, demande.id).state == DemandeState.VALIDEE
        assert db.session.get(DemandeCompte, demande.id).validation_auto is True
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.operation == "valider_demande_compte_auto")
        ).one()
        assert event.actor_type == "systeme"


def test_surge_mode_leaves_an_unknown_siret_to_the_agents(make_app, tmp_path):
    app = make_app(
        COMPTES_VALIDATION_AUTO=True, MAIL_FILE_DIR=str(tmp_path / "mails"), REDIS_URL=""
    )
    with app.app_context():
        demande = comptes.demander_compte(document(siret="73282932000074"), 1, USAGER)
        db.session.expire_all()
        assert db.session.get(DemandeCompte, demande.id).state == DemandeState.A_TRAITER
