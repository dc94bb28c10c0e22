"""Mails caused by an agent of the back-office read as from the Agence de services et de
paiement, never as if the user had acted: the référent reassigned by an agent, the identifiant
resent, a new password link; the référent's own handover keeps its wording. Rendered by the
real renderer from the outbox rows the operations wrote."""

from __future__ import annotations

from sqlalchemy import select

from extensions import db
from mailer.render import render
from models.comptes import Habilitation, Role
from models.notification import Notification
from tests import factories
from workflows import agents_identites, etablissements
from workflows.journal import Acteur

AGENT = Acteur("agent", "paul.leroy@asp.localhost")
ASP = "L'Agence de services et de paiement"


def _monde():
    etablissement = factories.etablissement(12345678, "Boulangerie Gérard")
    mathilde = factories.identite("mgerard", "GERARD", "Mathilde")
    paul = factories.identite("pdurand", "DURAND", "Paul")
    factories.habiliter(mathilde, etablissement, Role.REFERENT)
    habilitation = factories.habiliter(paul, etablissement)
    db.session.commit()
    return etablissement, mathilde, paul, habilitation


def _courriels(adresse: str) -> list[tuple[str, str, str, str]]:
    """(template, subject, text, html) of each mail to ``adresse``, in order."""
    lignes = db.session.scalars(
        select(Notification).where(Notification.recipient == adresse).order_by(Notification.id)
    ).all()
    return [(n.template, *render(n.template, n.context)) for n in lignes]


def test_a_referent_reassigned_by_an_agent_is_told_the_asp_did_it(app_context):
    etablissement, mathilde, paul, habilitation = _monde()
    etablissements.changer_referent(etablissement.id, habilitation.id, AGENT)

    ((modele, sujet, texte, page),) = _courriels(mathilde.courriel)
    assert modele == "referent_reaffecte_ancien"
    assert "l'administration a changé la personne référente" in sujet
    for corps in (texte, page):
        assert f"{ASP} a désigné une nouvelle personne référente" in corps
        assert "Paul DURAND" in corps and "Vous restez utilisateur" in corps
        assert "Si vous n'êtes pas à l'origine de ce changement" not in corps

    ((modele, sujet, texte, page),) = _courriels(paul.courriel)
    assert modele == "referent_reaffecte_nouveau"
    for corps in (texte, page):
        assert f"{ASP} vous a désigné(e) comme personne référente" in corps


def test_the_referents_own_handover_keeps_its_wording(app_context):
    etablissement, mathilde, paul, habilitation = _monde()
    etablissements.changer_referent(
        etablissement.id, habilitation.id, Acteur("usager", "mgerard"), par=mathilde
    )
    ((modele, _, texte, _),) = _courriels(mathilde.courriel)
    assert modele == "referent_change_ancien"
    assert ASP not in texte
    assert [m for m, *_ in _courriels(paul.courriel)] == ["referent_change_nouveau"]


def test_an_identifiant_resent_by_an_agent_is_a_reminder_from_the_asp(app_context):
    _, mathilde, _, _ = _monde()
    agents_identites.renvoyer_identifiant(mathilde.id, AGENT)
    ((modele, sujet, texte, page),) = _courriels(mathilde.courriel)
    assert modele == "identifiant_rappel"
    assert "rappel de votre identifiant" in sujet
    for corps in (texte, page):
        assert f"{ASP} vous rappelle votre identifiant" in corps and "mgerard" in corps
        assert "a été validée" not in corps and "courriel distinct" not in corps


def test_a_password_link_sent_by_an_agent_comes_from_the_asp(app_context):
    _, _, paul, _ = _monde()
    agents_identites.envoyer_lien_mot_de_passe(paul.id, AGENT)
    ((modele, _, texte, page),) = _courriels(paul.courriel)
    assert modele == "mot_de_passe_nouveau_lien"
    for corps in (texte, page):
        assert f"{ASP} vous adresse un nouveau lien" in corps
        assert "Les liens qui vous ont été envoyés auparavant ne fonctionnent plus." in corps
        assert "Si vous n'êtes pas à l'origine de cette demande" not in corps


def test_a_new_identity_given_the_referent_role_is_not_told_it_filed_a_request(app_context):
    etablissement, mathilde, _, _ = _monde()
    personne = {"nom": "LEFORT", "prenom": "Bruno", "courriel": "bruno.lefort@exemple.fr"}
    agents_identites.reaffecter_referent_nouvelle_personne(etablissement.id, personne, AGENT)
    courriels = _courriels("bruno.lefort@exemple.fr")
    assert [m for m, *_ in courriels] == [
        "identifiant",
        "mot_de_passe",
        "utilisateur_ajoute",
        "referent_reaffecte_nouveau",
    ]
    _, _, texte, _ = courriels[0]
    assert "Votre demande de création de compte" not in texte
    assert "Un compte d'accès à l'extranet" in texte
    assert f"{ASP} vous a donné accès" in courriels[2][2]
    assert db.session.scalars(
        select(Habilitation.role).where(Habilitation.utilisateur_id == mathilde.id)
    ).all() == [Role.UTILISATEUR]
