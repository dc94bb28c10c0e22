"""An establishment's operations: its fiche, its référent, its users."""

import pytest
from sqlalchemy import select

from extensions import db
from models.audit import AuditEvent
from models.comptes import (
    MAX_ETABLISSEMENTS_PAR_UTILISATEUR,
    Habilitation,
    JetonMotDePasse,
    Role,
    Utilisateur,
)
from models.notification import Notification
from tests import factories
from workflows import etablissements
from workflows.comptes import LimiteEtablissementsAtteinte
from workflows.journal import Acteur

AGENT = Acteur("agent", "agent.asp@asp.localhost")


@pytest.fixture
def monde(make_app, tmp_path):
    """Establishment A (référent Mathilde, user Paul) and B (référent Bruno)."""
    app = make_app(MAIL_SERVER="", MAIL_FILE_DIR=str(tmp_path / "mails"), REDIS_URL="")
    with app.app_context():
        a = factories.etablissement(12345678, "Boulangerie Gérard")
        b = factories.etablissement(87654321, "Garage Martin", code_postal="75011")
        mathilde = factories.identite("mgerard", "GERARD", "Mathilde")
        paul = factories.identite("pdurand", "DURAND", "Paul")
        bruno = factories.identite("bmartin", "MARTIN", "Bruno")
        factories.habiliter(mathilde, a, Role.REFERENT)
        factories.habiliter(paul, a)
        factories.habiliter(bruno, b, Role.REFERENT)
        db.session.commit()
        yield {"a": a, "b": b, "mathilde": mathilde, "paul": paul, "bruno": bruno}


def acteur(utilisateur):
    return Acteur("usager", utilisateur.identifiant)


def mails_to(address):
    return db.session.scalars(
        select(Notification.template)
        .where(Notification.recipient == address)
        .order_by(Notification.id)
    ).all()


def journal(operation):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.operation == operation)).all()


def habilitation_of(utilisateur, etablissement):
    return db.session.scalar(
        select(Habilitation).where(
            Habilitation.utilisateur_id == utilisateur.id,
            Habilitation.etablissement_id == etablissement.id,
        )
    )


# -- reading --------------------------------------------------------------------------------


def test_an_identity_sees_its_establishments_and_nobody_elses(monde):
    assert etablissements.habilitation_sur(monde["paul"], monde["a"].siret) is not None
    assert etablissements.habilitation_sur(monde["paul"], monde["b"].siret) is None
    rows = db.session.scalars(etablissements.etablissements_de(monde["mathilde"])).all()
    assert [h.etablissement.siret for h in rows] == [monde["a"].siret]


def test_my_establishments_are_searched_by_siret_start_or_by_words_of_the_name(monde):
    mathilde = monde["mathilde"]
    factories.habiliter(mathilde, monde["b"])
    db.session.commit()

    def found(term):
        query = etablissements.etablissements_de(mathilde, term)
        return [h.etablissement.denomination for h in db.session.scalars(query)]

    assert found("") == ["Boulangerie Gérard", "Garage Martin"]
    assert found(monde["b"].siret[:6]) == ["Garage Martin"]
    assert found(" ".join([monde["a"].siret[:3], monde["a"].siret[3:9]])) == ["Boulangerie Gérard"]
    assert found("garage") == ["Garage Martin"]
    assert found("GÉRARD boulangerie") == ["Boulangerie Gérard"]
    assert found("boucherie") == []
    assert found("100%") == []  # a wildcard typed by the user is a character, not a pattern


def test_a_removed_habilitation_no_longer_opens_the_establishment(monde):
    habilitation = habilitation_of(monde["paul"], monde["a"])
    habilitation.actif = False
    db.session.commit()
    assert etablissements.habilitation_sur(monde["paul"], monde["a"].siret) is None
    assert db.session.scalars(etablissements.etablissements_de(monde["paul"])).all() == []


def test_the_users_of_an_establishment_list_the_referent_first(monde):
    roles = [h.role for h in etablissements.utilisateurs_de(monde["a"])]
    assert roles == [Role.REFERENT, Role.UTILISATEUR]


# -- the fiche ------------------------------------------------------------------------------


def test_changing_the_fiche_records_each_change_and_never_the_siret(monde):
    a = monde["a"]
    siret = a.siret
    changes = etablissements.modifier_etablissement(
        a.id,
        {
            "siret": "00000000000000",
            "denomination": "Boulangerie Gérard et fils",
            "libelle_voie": "rue de la Paix",
            "code_postal": "75001",
            "ville": "Paris",
            "courriel": a.courriel,
            "telephone": a.telephone,
        },
        acteur(monde["paul"]),
    )
    db.session.refresh(a)
    assert a.siret == siret
    assert a.denomination == "Boulangerie Gérard et fils"
    assert a.departement == "75"  # the UD that handles it follows the address
    assert changes == {
        "denomination": ["Boulangerie Gérard", "Boulangerie Gérard et fils"],
        "code_postal": ["44000", "75001"],
        "ville": ["Nantes", "Paris"],
    }
    [event] = journal("modifier_etablissement")
    assert event.actor == "pdurand"
    assert event.details["modifications"] == changes


def test_saving_an_unchanged_fiche_journals_nothing(monde):
    a = monde["a"]
    same = {champ: getattr(a, champ) for champ in etablissements.CHAMPS_MODIFIABLES}
    assert etablissements.modifier_etablissement(a.id, same, acteur(monde["paul"])) == {}
    assert journal("modifier_etablissement") == []


# -- the référent ---------------------------------------------------------------------------


def test_the_referent_hands_over_to_a_user_and_both_are_told(monde):
    a, mathilde, paul = monde["a"], monde["mathilde"], monde["paul"]
    cible = habilitation_of(paul, a)
    etablissements.changer_referent(a.id, cible.id, acteur(mathilde), par=mathilde)

    assert habilitation_of(paul, a).role == Role.REFERENT
    assert habilitation_of(mathilde, a).role == Role.UTILISATEUR
    assert mails_to(mathilde.courriel) == ["referent_change_ancien"]
    assert mails_to(paul.courriel) == ["referent_change_nouveau"]
    context = db.session.scalar(
        select(Notification.context).where(Notification.template == "referent_change_ancien")
    )
    assert context["nouveau_referent"] == "Paul DURAND"
    [event] = journal("changer_referent")
    assert (event.state_from, event.state_to) == ("mgerard", "pdurand")


def test_only_the_referent_can_hand_over(monde):
    a, paul = monde["a"], monde["paul"]
    with pytest.raises(etablissements.ReserveAuReferent):
        etablissements.changer_referent(a.id, habilitation_of(paul, a).id, acteur(paul), par=paul)
    assert habilitation_of(monde["mathilde"], a).role == Role.REFERENT
    assert journal("changer_referent") == []


def test_an_agent_can_reassign_the_referent(monde):
    a, paul = monde["a"], monde["paul"]
    etablissements.changer_referent(a.id, habilitation_of(paul, a).id, AGENT)
    assert habilitation_of(paul, a).role == Role.REFERENT
    assert journal("changer_referent")[0].actor_type == "agent"


def test_the_referent_cannot_be_handed_to_someone_of_another_establishment(monde):
    a, mathilde, bruno = monde["a"], monde["mathilde"], monde["bruno"]
    with pytest.raises(etablissements.HabilitationIntrouvable):
        etablissements.changer_referent(
            a.id, habilitation_of(bruno, monde["b"]).id, acteur(mathilde), par=mathilde
        )
    assert habilitation_of(bruno, monde["b"]).role == Role.REFERENT


# -- adding and removing users --------------------------------------------------------------

NOUVELLE = {
    "nom": "LEROY",
    "prenom": "Chloé",
    "courriel": "chloe.leroy@exemple.fr",
    "telephone": "+33612345678",
}


def test_a_new_person_gets_an_identity_and_its_three_mails_in_order(monde):
    a, mathilde = monde["a"], monde["mathilde"]
    habilitation, nouveau = etablissements.ajouter_utilisateur(
        a.id, NOUVELLE, acteur(mathilde), par=mathilde
    )
    assert nouveau
    chloe = habilitation.utilisateur
    assert chloe.identifiant and chloe.password_hash is None
    assert chloe.question_secrete is None  # chosen with the first password
    assert habilitation.role == Role.UTILISATEUR
    assert mails_to("chloe.leroy@exemple.fr") == [
        "identifiant",
        "mot_de_passe",
        "utilisateur_ajoute",
    ]
    assert db.session.scalar(
        select(JetonMotDePasse).where(JetonMotDePasse.utilisateur_id == chloe.id)
    )
    added = db.session.scalar(
        select(Notification.context).where(Notification.template == "utilisateur_ajoute")
    )
    assert added["ajoute_par"] == "Mathilde GERARD"
    assert [e.operation for e in db.session.scalars(select(AuditEvent))] == [
        "creer_utilisateur",
        "ajouter_utilisateur",
    ]


def test_an_existing_identity_is_attached_without_new_credentials(monde):
    a, mathilde, bruno = monde["a"], monde["mathilde"], monde["bruno"]
    personne = {"nom": "MARTIN", "prenom": "Bruno", "courriel": bruno.courriel}
    habilitation, nouveau = etablissements.ajouter_utilisateur(
        a.id, personne, acteur(mathilde), par=mathilde
    )
    assert not nouveau
    assert habilitation.utilisateur_id == bruno.id
    assert mails_to(bruno.courriel) == ["utilisateur_ajoute"]
    assert db.session.scalar(select(Utilisateur).where(Utilisateur.nom == "MARTIN")) is bruno


def test_a_person_already_habilitated_is_not_added_twice(monde):
    a, mathilde, paul = monde["a"], monde["mathilde"], monde["paul"]
    personne = {"nom": "DURAND", "prenom": "Paul", "courriel": paul.courriel}
    with pytest.raises(etablissements.UtilisateurDejaHabilite, match="Paul DURAND a déjà accès"):
        etablissements.ajouter_utilisateur(a.id, personne, acteur(mathilde), par=mathilde)
    assert mails_to(paul.courriel) == []


def test_only_the_referent_adds_users(monde):
    a, paul = monde["a"], monde["paul"]
    with pytest.raises(etablissements.ReserveAuReferent):
        etablissements.ajouter_utilisateur(a.id, NOUVELLE, acteur(paul), par=paul)
    assert db.session.scalar(select(Utilisateur).where(Utilisateur.nom == "LEROY")) is None


def test_an_identity_at_200_establishments_cannot_be_added_to_one_more(monde):
    bruno = monde["bruno"]
    for number in range(1, MAX_ETABLISSEMENTS_PAR_UTILISATEUR):
        factories.habiliter(bruno, factories.etablissement(number, f"Client {number}"))
    db.session.commit()
    personne = {"nom": "MARTIN", "prenom": "Bruno", "courriel": bruno.courriel}
    mathilde = monde["mathilde"]
    with pytest.raises(LimiteEtablissementsAtteinte):
        etablissements.ajouter_utilisateur(monde["a"].id, personne, acteur(mathilde), par=mathilde)
    assert habilitation_of(bruno, monde["a"]) is None


def test_removing_a_user_ends_its_access_and_tells_it(monde):
    a, mathilde, paul = monde["a"], monde["mathilde"], monde["paul"]
    cible = habilitation_of(paul, a)
    etablissements.retirer_utilisateur(a.id, cible.id, acteur(mathilde), par=mathilde)
    assert etablissements.habilitation_sur(paul, a.siret) is None
    assert mails_to(paul.courriel) == ["habilitation_retiree"]
    [event] = journal("retirer_utilisateur")
    assert (event.state_from, event.state_to) == ("actif", "retiree")
    with pytest.raises(etablissements.HabilitationIntrouvable):
        etablissements.retirer_utilisateur(a.id, cible.id, acteur(mathilde), par=mathilde)


def test_a_removed_user_can_be_added_back(monde):
    a, mathilde, paul = monde["a"], monde["mathilde"], monde["paul"]
    cible = habilitation_of(paul, a)
    etablissements.retirer_utilisateur(a.id, cible.id, acteur(mathilde), par=mathilde)
    personne = {"nom": "DURAND", "prenom": "Paul", "courriel": paul.courriel}
    habilitation, nouveau = etablissements.ajouter_utilisateur(
        a.id, personne, acteur(mathilde), par=mathilde
    )
    assert habilitation.id == cible.id and habilitation.actif and not nouveau


def test_the_referent_cannot_be_removed(monde):
    a, mathilde = monde["a"], monde["mathilde"]
    with pytest.raises(etablissements.ReferentNonRetirable):
        etablissements.retirer_utilisateur(
            a.id, habilitation_of(mathilde, a).id, acteur(mathilde), par=mathilde
        )
    assert habilitation_of(mathilde, a).actif


def test_a_user_cannot_be_removed_through_another_establishment(monde):
    bruno = monde["bruno"]
    cible = habilitation_of(monde["paul"], monde["a"])
    with pytest.raises(etablissements.HabilitationIntrouvable):
        etablissements.retirer_utilisateur(monde["b"].id, cible.id, acteur(bruno), par=bruno)
    assert cible.actif
