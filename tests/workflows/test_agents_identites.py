"""The back-office's operations on identities: each writes its journal row and queues its mail;
the sign-in throttle is cleared under the key the public sign-in really uses."""

import pytest
from sqlalchemy import select

from extensions import db
from models.audit import AuditEvent
from models.comptes import Habilitation, JetonMotDePasse, Role, Utilisateur
from models.notification import Notification
from tests import factories
from workflows import agents_identites, etablissements
from workflows.comptes import CompteError, lien_mot_de_passe
from workflows.etablissements import UtilisateurDejaHabilite
from workflows.journal import Acteur

AGENT = Acteur("agent", "paul.leroy@asp.localhost")


def _monde():
    """A (44): référent Mathilde, user Paul. B (75): référent Bruno, user Paul."""
    a = factories.etablissement(12345678, "Boulangerie Gérard")
    b = factories.etablissement(87654321, "Garage Martin", code_postal="75011")
    mathilde = factories.identite("mgerard", "GERARD", "Mathilde")
    paul = factories.identite("pdurand", "DURAND", "Paul")
    bruno = factories.identite("bmartin", "MARTIN", "Bruno")
    factories.habiliter(mathilde, a, Role.REFERENT)
    factories.habiliter(paul, a)
    factories.habiliter(bruno, b, Role.REFERENT)
    factories.habiliter(paul, b)
    db.session.commit()
    return {"a": a, "b": b, "mathilde": mathilde, "paul": paul, "bruno": bruno}


@pytest.fixture
def monde(make_app, tmp_path):
    app = make_app(MAIL_SERVER="", MAIL_FILE_DIR=str(tmp_path / "mails"), REDIS_URL="")
    with app.app_context():
        yield _monde()


@pytest.fixture
def limite(make_app, tmp_path):
    """The rate limits on (memory storage), as in production."""
    app = make_app(
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        MAIL_SERVER="",
        MAIL_FILE_DIR=str(tmp_path / "mails"),
        REDIS_URL="",
    )
    with app.app_context():
        yield app, _monde()


def mails(adresse):
    return db.session.execute(
        select(Notification.template, Notification.context)
        .where(Notification.recipient == adresse)
        .order_by(Notification.id)
    ).all()


def journal(operation):
    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.operation == operation).order_by(AuditEvent.id)
    ).all()


def echouer_connexion(client, identifiant, fois):
    for _ in range(fois):
        reponse = client.post(
            "/connexion", data={"identifiant": identifiant, "mot_de_passe": "pas le bon"}
        )
        assert reponse.status_code == 422


# -- identifiant and password link --------------------------------------------------------------


def test_the_identifiant_is_resent_naming_the_establishment_of_the_referent(monde):
    mathilde = monde["mathilde"]
    etablissement = agents_identites.renvoyer_identifiant(mathilde.id, AGENT)
    assert etablissement.id == monde["a"].id
    ((template, context),) = mails(mathilde.courriel)
    assert template == "identifiant_rappel"  # from the ASP, not the first mail
    assert context["identifiant"] == "mgerard"
    assert context["siret"] == monde["a"].siret
    (event,) = journal("renvoyer_identifiant")
    assert (event.actor_type, event.actor) == ("agent", AGENT.label)
    assert (event.object_type, event.object_id) == ("utilisateur", str(mathilde.id))
    assert event.details == {"identifiant": "mgerard", "siret": monde["a"].siret}


def test_a_second_resend_sends_a_second_mail(monde):
    agents_identites.renvoyer_identifiant(monde["mathilde"].id, AGENT)
    agents_identites.renvoyer_identifiant(monde["mathilde"].id, AGENT)
    assert [t for t, _ in mails(monde["mathilde"].courriel)] == ["identifiant_rappel"] * 2
    assert len(journal("renvoyer_identifiant")) == 2


def test_the_establishment_of_the_identifiant_mail_stays_within_the_departements(monde):
    paul = monde["paul"]
    assert agents_identites.etablissement_de_reference(paul).id == monde["a"].id
    assert agents_identites.etablissement_de_reference(paul, ["75"]).id == monde["b"].id
    assert agents_identites.etablissement_de_reference(paul, ["13"]) is None
    assert agents_identites.renvoyer_identifiant(paul.id, AGENT, departements=["75"]).id == (
        monde["b"].id
    )
    assert mails(paul.courriel)[0][1]["siret"] == monde["b"].siret


def test_no_identifiant_is_resent_without_an_establishment_or_to_an_inactive_identity(monde):
    seule = factories.identite("sseule", "SEULE", "Sarah")
    db.session.commit()
    with pytest.raises(CompteError, match="aucun établissement"):
        agents_identites.renvoyer_identifiant(seule.id, AGENT)
    db.session.rollback()
    agents_identites.desactiver_identite(monde["paul"].id, AGENT)
    with pytest.raises(agents_identites.IdentiteInactive):
        agents_identites.renvoyer_identifiant(monde["paul"].id, AGENT)
    db.session.rollback()
    with pytest.raises(agents_identites.IdentiteIntrouvable):
        agents_identites.renvoyer_identifiant(999999, AGENT)
    db.session.rollback()
    assert mails(seule.courriel) == [] and mails(monde["paul"].courriel) == []
    assert journal("renvoyer_identifiant") == []


def test_a_new_password_link_is_mailed_and_the_earlier_ones_stop_working(monde):
    paul = monde["paul"]
    lien_mot_de_passe(paul)
    db.session.commit()
    expiration = agents_identites.envoyer_lien_mot_de_passe(paul.id, AGENT)
    ((template, context),) = mails(paul.courriel)
    assert template == "mot_de_passe_nouveau_lien"
    assert context["lien"].startswith("http") and "/mot-de-passe/" in context["lien"]
    assert context["expiration"] == expiration.isoformat()
    jetons = db.session.scalars(
        select(JetonMotDePasse).where(JetonMotDePasse.utilisateur_id == paul.id)
    ).all()
    assert [j.used_at is None for j in sorted(jetons, key=lambda j: j.id)] == [False, True]
    (event,) = journal("envoyer_lien_mot_de_passe")
    assert event.object_id == str(paul.id)
    assert event.details["liens_annules"] == 1
    assert context["lien"].rsplit("/", 1)[1] not in str(event.details)  # no token in the journal


def test_no_link_for_a_deactivated_identity(monde):
    agents_identites.desactiver_identite(monde["paul"].id, AGENT)
    with pytest.raises(agents_identites.IdentiteInactive):
        agents_identites.envoyer_lien_mot_de_passe(monde["paul"].id, AGENT)
    db.session.rollback()
    assert mails(monde["paul"].courriel) == []


# -- deactivation -------------------------------------------------------------------------------


def test_deactivation_rotates_the_session_token_and_cancels_links(monde):
    paul = monde["paul"]
    paul.jeton_session = "a" * 32
    lien_mot_de_passe(paul)
    db.session.commit()
    agents_identites.desactiver_identite(paul.id, AGENT)
    db.session.refresh(paul)
    assert paul.actif is False
    assert paul.jeton_session and paul.jeton_session != "a" * 32
    assert db.session.scalar(
        select(JetonMotDePasse.used_at).where(JetonMotDePasse.utilisateur_id == paul.id)
    )
    (event,) = journal("desactiver_utilisateur")
    assert (event.state_from, event.state_to) == ("actif", "inactif")
    assert event.details == {"identifiant": "pdurand", "referent_de": []}
    # habilitations are kept: reactivation gives the access back
    assert db.session.scalar(
        select(Habilitation.actif).where(Habilitation.utilisateur_id == paul.id).limit(1)
    )
    with pytest.raises(CompteError, match="déjà désactivée"):
        agents_identites.desactiver_identite(paul.id, AGENT)
    db.session.rollback()
    agents_identites.reactiver_identite(paul.id, AGENT)
    db.session.refresh(paul)
    assert paul.actif is True
    (event,) = journal("reactiver_utilisateur")
    assert (event.state_from, event.state_to) == ("inactif", "actif")
    with pytest.raises(CompteError, match="déjà active"):
        agents_identites.reactiver_identite(paul.id, AGENT)
    db.session.rollback()
    assert len(journal("desactiver_utilisateur")) == 1


def test_deactivating_a_referent_names_its_establishments_in_the_journal(monde):
    agents_identites.desactiver_identite(monde["mathilde"].id, AGENT)
    (event,) = journal("desactiver_utilisateur")
    assert event.details["referent_de"] == [monde["a"].siret]


# -- the sign-in throttle -----------------------------------------------------------------------


def test_unblocking_clears_the_key_of_the_public_sign_in(limite):
    app, monde = limite
    paul = monde["paul"]
    client = app.test_client()
    echouer_connexion(client, "PDurand ", 5)  # typed with capitals and a space: same key
    refus = factories.sign_in(client, "pdurand")
    assert refus.status_code == 429
    bloquee = agents_identites.connexion_bloquee(paul)
    assert bloquee is not None
    assert agents_identites.connexion_bloquee(monde["mathilde"]) is None

    assert agents_identites.debloquer_connexion(paul.id, AGENT) is True
    assert agents_identites.connexion_bloquee(paul) is None
    (event,) = journal("debloquer_connexion")
    assert (event.state_from, event.state_to) == ("bloquee", "debloquee")
    assert event.details == {"identifiant": "pdurand", "etait_bloquee": True}
    assert factories.sign_in(client, "pdurand").status_code == 303


def test_unblocking_leaves_the_other_identities_blocked(limite):
    app, monde = limite
    client = app.test_client()
    echouer_connexion(client, "pdurand", 5)
    echouer_connexion(client, "mgerard", 5)
    agents_identites.debloquer_connexion(monde["paul"].id, AGENT)
    assert agents_identites.connexion_bloquee(monde["mathilde"]) is not None
    assert factories.sign_in(client, "mgerard").status_code == 429


def test_unblocking_an_identity_that_is_not_blocked_is_journaled_as_such(limite):
    _, monde = limite
    assert agents_identites.debloquer_connexion(monde["paul"].id, AGENT) is False
    (event,) = journal("debloquer_connexion")
    assert event.state_from is None
    assert event.details["etait_bloquee"] is False


def test_a_storage_outage_is_reported_in_french_and_journals_nothing(limite, monkeypatch):
    _, monde = limite
    from extensions import limiter

    def panne(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr(limiter.limiter, "clear", panne)
    with pytest.raises(agents_identites.LimiteurIndisponible, match="ne répond pas"):
        agents_identites.debloquer_connexion(monde["paul"].id, AGENT)
    assert journal("debloquer_connexion") == []


def test_without_rate_limits_nothing_is_blocked(monde):
    assert agents_identites.connexion_bloquee(monde["paul"]) is None
    assert agents_identites.debloquer_connexion(monde["paul"].id, AGENT) is False


# -- a référent created on the spot -------------------------------------------------------------

PERSONNE = {
    "nom": "NOUVEAU",
    "prenom": "Nina",
    "courriel": "nina.nouveau@exemple.fr",
    "telephone": "+33240000001",
}


def test_a_new_person_becomes_the_referent_with_every_mail_and_journal_row(monde):
    a = monde["a"]
    habilitation, nouveau = agents_identites.reaffecter_referent_nouvelle_personne(
        a.id, PERSONNE, AGENT
    )
    assert nouveau is True
    assert habilitation.role == Role.REFERENT and habilitation.actif
    nina = habilitation.utilisateur
    assert (nina.nom, nina.courriel, nina.telephone) == (
        "NOUVEAU",
        PERSONNE["courriel"],
        "+33240000001",
    )
    assert etablissements.referent_de(a).id == habilitation.id
    ancienne = db.session.scalar(
        select(Habilitation).where(
            Habilitation.utilisateur_id == monde["mathilde"].id,
            Habilitation.etablissement_id == a.id,
        )
    )
    assert ancienne.role == Role.UTILISATEUR and ancienne.actif
    assert [t for t, _ in mails(PERSONNE["courriel"])] == [
        "identifiant",
        "mot_de_passe",
        "utilisateur_ajoute",
        "referent_reaffecte_nouveau",
    ]
    assert [t for t, _ in mails(monde["mathilde"].courriel)] == ["referent_reaffecte_ancien"]
    (changement,) = journal("changer_referent")
    assert (changement.object_type, changement.object_id) == ("etablissement", str(a.id))
    assert (changement.state_from, changement.state_to) == ("mgerard", nina.identifiant)
    assert changement.actor == AGENT.label
    assert len(journal("creer_utilisateur")) == 1
    assert len(journal("ajouter_utilisateur")) == 1


def test_an_existing_identity_of_that_address_is_attached_and_made_referent(monde):
    bruno = monde["bruno"]
    habilitation, nouveau = agents_identites.reaffecter_referent_nouvelle_personne(
        monde["a"].id, {**PERSONNE, "courriel": bruno.courriel}, AGENT
    )
    assert nouveau is False
    assert habilitation.utilisateur_id == bruno.id and habilitation.role == Role.REFERENT
    assert (
        db.session.scalar(select(Utilisateur.id).where(Utilisateur.identifiant == "nnouveau"))
        is None
    )
    assert "identifiant" not in [t for t, _ in mails(bruno.courriel)]


def test_a_person_who_already_has_access_is_refused_before_anything_is_written(monde):
    paul = monde["paul"]
    avant = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
    with pytest.raises(UtilisateurDejaHabilite):
        agents_identites.reaffecter_referent_nouvelle_personne(
            monde["a"].id, {**PERSONNE, "courriel": paul.courriel}, AGENT
        )
    db.session.rollback()
    assert etablissements.referent_de(monde["a"]).utilisateur_id == monde["mathilde"].id
    assert db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) == avant
    assert mails(paul.courriel) == []


def test_if_the_second_step_is_refused_the_person_stays_a_user_and_the_agent_is_told(
    monde, monkeypatch
):
    def refuser(*args, **kwargs):
        raise etablissements.HabilitationIntrouvable()

    monkeypatch.setattr(etablissements, "changer_referent", refuser)
    with pytest.raises(agents_identites.ReferentNonChange, match="ajouté\\(e\\) comme utilisateur"):
        agents_identites.reaffecter_referent_nouvelle_personne(monde["a"].id, PERSONNE, AGENT)
    referent = etablissements.referent_de(monde["a"])
    assert referent.utilisateur_id == monde["mathilde"].id  # one référent, unchanged
    nina = db.session.scalar(
        select(Utilisateur).where(Utilisateur.courriel == PERSONNE["courriel"])
    )
    assert nina is not None
    assert [h.role for h in nina.habilitations] == [Role.UTILISATEUR]
    assert journal("changer_referent") == []
