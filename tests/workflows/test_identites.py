"""Operations on identities: forgotten identifiant, forgotten password, the password link
that asks the secret question (or has it chosen), and the changes of « Mon compte »."""

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from extensions import db
from identites import motdepasse
from mailer.render import render
from models.audit import AuditEvent
from models.comptes import Etablissement, Habilitation, JetonMotDePasse, Role, Utilisateur
from models.notification import Notification
from models.types import utcnow
from workflows import identites

ROOT = Path(__file__).resolve().parents[2]
PHRASE = "cheval correct agrafe batterie"
NOUVELLE = "une toute nouvelle phrase de passe"
DEFINITION = ROOT / "forms" / "schemas" / "demande-creation-compte.json"
# The questions of the account request form ({const, title}: stored value and label), read
# from the definition itself: it is the one list.
QUESTIONS = [
    (option["const"], option["title"])
    for option in json.loads(DEFINITION.read_text(encoding="utf-8"))["properties"]["utilisateur"][
        "properties"
    ]["question_secrete"]["oneOf"]
]
VILLE = QUESTIONS[1][0]  # "Dans quelle ville êtes-vous né(e) ?", the default of creer_identite


def creer_identite(
    identifiant="mgerard",
    courriel="mathilde.gerard@exemple.fr",
    *,
    nom="GERARD",
    prenom="Mathilde",
    question=VILLE,
    reponse="Saint-Étienne",
    sirets=(),
    actif=True,
) -> Utilisateur:
    """An identity with a password, a secret question (None: not chosen yet) and a
    habilitation on a new establishment for each SIRET."""
    utilisateur = Utilisateur(
        identifiant=identifiant,
        nom=nom,
        prenom=prenom,
        courriel=courriel,
        question_secrete=question,
        reponse_hash=(
            motdepasse.hash_secret(motdepasse.normalise_reponse(reponse)) if question else None
        ),
        password_hash=motdepasse.hash_secret(PHRASE),
        actif=actif,
    )
    db.session.add(utilisateur)
    for siret, denomination in sirets:
        etablissement = db.session.scalar(
            select(Etablissement).where(Etablissement.siret == siret)
        ) or Etablissement(
            siret=siret,
            denomination=denomination,
            libelle_voie="RUE DE LA PAIX",
            code_postal="44500",
            ville="La Baule-Escoublac",
            departement="44",
            courriel="contact@exemple.fr",
            telephone="+33240000000",
        )
        db.session.add(
            Habilitation(utilisateur=utilisateur, etablissement=etablissement, role=Role.REFERENT)
        )
    db.session.commit()
    return utilisateur


def notifications(template=None) -> list[Notification]:
    query = select(Notification).order_by(Notification.id)
    if template:
        query = query.where(Notification.template == template)
    return list(db.session.scalars(query))


def journal(operation) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.operation == operation).order_by(AuditEvent.id)
        )
    )


def visible(event: AuditEvent) -> tuple:
    """A journal row without its id, time and pseudonym: what it says about the request."""
    return (
        event.actor_type,
        event.actor,
        event.operation,
        event.object_type,
        event.state_from,
        event.state_to,
        event.details,
    )


@pytest.fixture
def ctx(make_app, tmp_path):
    app = make_app(MAIL_FILE_DIR=str(tmp_path / "mails"), REDIS_URL="", SITE_URL="http://site")
    with app.app_context():
        yield app


# --- J'ai oublié mon identifiant -------------------------------------------------------------------


def test_every_active_identity_of_an_address_gets_its_identifiant_in_one_mail(ctx):
    creer_identite(
        sirets=[("00578096000042", "BOULANGERIE DU CANAL"), ("73282932000074", "CAFE DU PORT")]
    )
    creer_identite(
        "pdurand", "Mathilde.Gerard@exemple.fr", nom="DURAND", prenom="Paul", question=None
    )
    creer_identite("ancien", "mathilde.gerard@exemple.fr", actif=False)
    creer_identite("autre", "quelquun@exemple.fr")

    identites.envoyer_identifiants("  MATHILDE.GERARD@exemple.fr ")

    [mail] = notifications()
    assert (mail.template, mail.recipient) == ("identifiants_oublies", "mathilde.gerard@exemple.fr")
    subject, text, html = render(mail.template, mail.context)
    assert "identifiants de connexion" in subject
    for body in (text, html):
        assert "mgerard" in body and "pdurand" in body
        assert "BOULANGERIE DU CANAL" in body and "00578096000042" in body
        assert "CAFE DU PORT" in body and "73282932000074" in body
        assert "Paul DURAND" in body
        assert "ancien" not in body and "autre" not in body
    assert "Cet identifiant n'est encore habilité pour aucun établissement." in text
    assert "Madame, Monsieur," in text  # several people may share an address
    assert "mot de passe :" not in text.lower()


def test_an_unknown_address_sends_nothing_and_journals_the_same_row(ctx):
    creer_identite()
    identites.envoyer_identifiants("mathilde.gerard@exemple.fr")
    identites.envoyer_identifiants("personne@exemple.fr")
    assert len(notifications()) == 1
    known, unknown = journal("demander_identifiants")
    assert visible(known) == visible(unknown)
    assert known.object_id != unknown.object_id
    for event in (known, unknown):
        assert "@" not in event.object_id + json.dumps(event.details) + (event.actor or "")
    assert known.object_id == identites.pseudonyme("Mathilde.Gerard@exemple.fr")


def test_a_mailbox_gets_at_most_one_identifiant_mail_an_hour(ctx, monkeypatch):
    creer_identite()
    for _ in range(3):
        identites.envoyer_identifiants("mathilde.gerard@exemple.fr")
    assert len(notifications()) == 1
    assert len(journal("demander_identifiants")) == 3
    later = utcnow() + timedelta(hours=1)
    monkeypatch.setattr(identites, "utcnow", lambda: later)
    identites.envoyer_identifiants("mathilde.gerard@exemple.fr")
    assert len(notifications()) == 2


# --- the list of secret questions ----------------------------------------------------------------


def test_the_questions_are_the_sober_list_of_the_account_request_form(ctx):
    assert identites.questions_secretes() == QUESTIONS
    assert len(QUESTIONS) == 6
    assert all(value == label and label.endswith(" ?") for value, label in QUESTIONS)
    _, reponse = identites.champs_question()
    assert reponse.schema["minLength"] == 4  # reliability.md §1.6


def test_a_definition_without_a_list_is_refused(make_app, tmp_path):
    folder = tmp_path / "schemas"
    shutil.copytree(ROOT / "forms" / "schemas", folder)
    schema = json.loads(DEFINITION.read_text(encoding="utf-8"))
    del schema["properties"]["utilisateur"]["properties"]["question_secrete"]["oneOf"]
    (folder / DEFINITION.name).write_text(json.dumps(schema, ensure_ascii=False), "utf-8")
    with make_app(FORMS_SCHEMAS_DIR=str(folder)).app_context():
        with pytest.raises(RuntimeError, match="liste de questions secrètes"):
            identites.questions_secretes()


# --- J'ai oublié mon mot de passe: identifiant + address → a single-use link ---------------------


def token_of(mail: Notification) -> str:
    return mail.context["lien"].rsplit("/", 1)[1]


def test_a_matching_pair_gets_a_single_use_link_valid_72_hours(ctx):
    utilisateur = creer_identite()
    identites.demander_nouveau_mot_de_passe(" MGERARD ", "Mathilde.Gerard@exemple.fr")
    [mail] = notifications()
    assert (mail.template, mail.recipient) == ("mot_de_passe", "mathilde.gerard@exemple.fr")
    assert mail.context["lien"].startswith("http://site/mot-de-passe/")
    _, text, _ = render(mail.template, mail.context)
    assert mail.context["lien"] in text
    assert "Saint" not in json.dumps(mail.context) + text  # nothing of the answer
    jeton = db.session.scalars(select(JetonMotDePasse)).one()
    assert jeton.utilisateur_id == utilisateur.id
    assert timedelta(hours=71) < jeton.expires_at - utcnow() <= timedelta(hours=72)
    page = identites.ouvrir_lien(token_of(mail))
    assert (page.question, page.premier_mot_de_passe) == (VILLE, False)


@pytest.mark.parametrize(
    "identifiant, courriel",
    [
        ("mgerard", "m.gerard@exemple.fr"),  # wrong address
        ("inconnu", "mathilde.gerard@exemple.fr"),  # unknown identifiant
        ("parti", "parti@exemple.fr"),  # inactive identity
    ],
)
def test_anything_wrong_sends_nothing_and_journals_the_same_row(ctx, identifiant, courriel):
    creer_identite()
    creer_identite("parti", "parti@exemple.fr", actif=False)
    identites.demander_nouveau_mot_de_passe("mgerard", "mathilde.gerard@exemple.fr")
    identites.demander_nouveau_mot_de_passe(identifiant, courriel)
    assert len(notifications()) == 1
    assert db.session.scalar(select(func.count()).select_from(JetonMotDePasse)) == 1
    first, second = journal("demander_nouveau_mot_de_passe")
    assert visible(first) == visible(second)
    for event in (first, second):
        assert "@" not in event.object_id + json.dumps(event.details) + (event.actor or "")
        assert identifiant not in event.object_id + json.dumps(event.details)


def test_an_identity_without_a_question_yet_gets_the_link_and_is_asked_to_choose_one(ctx):
    creer_identite("nouveau", "nouveau@exemple.fr", question=None)
    identites.demander_nouveau_mot_de_passe("nouveau", "autre@exemple.fr")
    assert notifications() == []
    identites.demander_nouveau_mot_de_passe("nouveau", "nouveau@exemple.fr")
    [mail] = notifications("mot_de_passe")
    assert mail.recipient == "nouveau@exemple.fr"
    assert identites.ouvrir_lien(token_of(mail)).question is None


def test_a_second_request_within_the_hour_sends_no_second_link(ctx, monkeypatch):
    creer_identite()
    for _ in range(3):
        identites.demander_nouveau_mot_de_passe("mgerard", "mathilde.gerard@exemple.fr")
    assert len(notifications()) == 1
    assert db.session.scalar(select(func.count()).select_from(JetonMotDePasse)) == 1
    assert len(journal("demander_nouveau_mot_de_passe")) == 3
    later = utcnow() + timedelta(hours=1)
    monkeypatch.setattr(identites, "utcnow", lambda: later)
    identites.demander_nouveau_mot_de_passe("mgerard", "mathilde.gerard@exemple.fr")
    assert len(notifications()) == 2


# --- the link page: the secret question as a second check -----------------------------------------


def lien_pour(utilisateur) -> str:
    from workflows.comptes import lien_mot_de_passe

    lien, _ = lien_mot_de_passe(utilisateur)
    db.session.commit()
    return lien.rsplit("/", 1)[1]


def mot_de_passe_est(utilisateur, phrase) -> bool:
    db.session.refresh(utilisateur)
    return motdepasse.verify_secret(utilisateur.password_hash, phrase)[0]


def test_the_right_answer_and_a_valid_password_set_it_and_kill_every_link(ctx):
    utilisateur = creer_identite()
    token, other = lien_pour(utilisateur), lien_pour(utilisateur)
    identites.choisir_mot_de_passe(token, NOUVELLE, reponse=" saint–ETIENNE ")
    assert mot_de_passe_est(utilisateur, NOUVELLE)
    for link in (token, other):
        with pytest.raises(identites.LienInvalide):
            identites.jeton_valide(link)
    assert len(journal("choisir_mot_de_passe")) == 1
    assert journal(identites.ECHEC_REPONSE) == []
    assert utilisateur.question_secrete == VILLE  # kept


@pytest.mark.parametrize("reponse", [None, "", "Saint-Chamond", "saint etienne"])
def test_a_wrong_answer_stores_nothing_and_is_journaled_as_a_failure(ctx, reponse):
    utilisateur = creer_identite()
    token = lien_pour(utilisateur)
    with pytest.raises(identites.SaisieRefusee) as refused:
        identites.choisir_mot_de_passe(token, NOUVELLE, reponse=reponse)
    assert refused.value.erreurs == {"reponse": [identites.message_reponse(4)]}
    assert (
        "Il vous reste 4 essais avant le blocage de ce lien." in refused.value.erreurs["reponse"][0]
    )
    assert mot_de_passe_est(utilisateur, PHRASE)
    identites.jeton_valide(token)  # the link still works
    [event] = journal(identites.ECHEC_REPONSE)
    assert (event.actor_type, event.actor, event.object_type, event.object_id) == (
        "usager",
        "non connecté",
        "utilisateur",
        str(utilisateur.id),
    )
    assert "Chamond" not in json.dumps(event.details)
    assert identites.echecs_reponse(utilisateur) == 1


def test_a_wrong_answer_counts_even_with_a_refused_password(ctx):
    utilisateur = creer_identite()
    with pytest.raises(identites.SaisieRefusee) as refused:
        identites.choisir_mot_de_passe(lien_pour(utilisateur), "court", reponse="Lyon")
    assert set(refused.value.erreurs) == {"reponse", "mot_de_passe"}
    assert identites.echecs_reponse(utilisateur) == 1


def test_a_right_answer_with_a_refused_password_is_not_a_failure(ctx):
    utilisateur = creer_identite()
    token = lien_pour(utilisateur)
    with pytest.raises(identites.MotDePasseRefuse) as refused:
        identites.choisir_mot_de_passe(token, "court", reponse="Saint-Étienne")
    assert "au moins 12 caractères" in refused.value.erreurs["mot_de_passe"][0]
    assert identites.echecs_reponse(utilisateur) == 0
    assert mot_de_passe_est(utilisateur, PHRASE)
    identites.jeton_valide(token)


def test_five_wrong_answers_lock_every_link_of_the_identity(ctx):
    utilisateur = creer_identite()
    autre = creer_identite("pdurand", "paul.durand@exemple.fr", nom="DURAND", prenom="Paul")
    token = lien_pour(utilisateur)
    messages = []
    for n in range(4):
        with pytest.raises(identites.SaisieRefusee) as refused:
            identites.choisir_mot_de_passe(token, NOUVELLE, reponse=f"Lyon {n}")
        messages.extend(refused.value.erreurs["reponse"])
    assert messages == [identites.message_reponse(n) for n in (4, 3, 2, 1)]
    assert "Il vous reste 1 essai avant" in messages[-1]
    with pytest.raises(identites.TropDEssais) as locked:
        identites.choisir_mot_de_passe(token, NOUVELLE, reponse="Lyon 4")
    assert "contactez le support technique" in str(locked.value)
    # Locked: the right answer no longer opens anything, nor does a new link.
    for link in (token, lien_pour(utilisateur)):
        with pytest.raises(identites.TropDEssais):
            identites.ouvrir_lien(link)
        with pytest.raises(identites.TropDEssais):
            identites.choisir_mot_de_passe(link, NOUVELLE, reponse="Saint-Étienne")
    assert mot_de_passe_est(utilisateur, PHRASE)
    assert len(journal(identites.ECHEC_REPONSE)) == 5  # the refused attempts are not counted
    # Another identity is not concerned.
    identites.choisir_mot_de_passe(lien_pour(autre), NOUVELLE, reponse="Saint-Étienne")
    assert mot_de_passe_est(autre, NOUVELLE)


def test_the_lock_ends_when_the_failures_leave_the_window(ctx):
    utilisateur = creer_identite()
    token = lien_pour(utilisateur)
    for n in range(4):
        with pytest.raises(identites.SaisieRefusee):
            identites.choisir_mot_de_passe(token, NOUVELLE, reponse=f"Lyon {n}")
    with pytest.raises(identites.TropDEssais):
        identites.choisir_mot_de_passe(token, NOUVELLE, reponse="Lyon 4")
    oldest = journal(identites.ECHEC_REPONSE)[0]
    oldest.occurred_at = utcnow() - identites.FENETRE_ESSAIS - timedelta(minutes=1)
    db.session.commit()
    assert identites.echecs_reponse(utilisateur) == 4
    assert identites.ouvrir_lien(token).question == VILLE
    identites.choisir_mot_de_passe(token, NOUVELLE, reponse="Saint-Étienne")
    assert mot_de_passe_est(utilisateur, NOUVELLE)


def test_a_password_change_in_mon_compte_clears_the_failures(ctx):
    utilisateur = creer_identite()
    token = lien_pour(utilisateur)
    for n in range(4):
        with pytest.raises(identites.SaisieRefusee):
            identites.choisir_mot_de_passe(token, NOUVELLE, reponse=f"Lyon {n}")
    assert identites.echecs_reponse(utilisateur) == 4
    identites.changer_mot_de_passe(utilisateur, PHRASE, NOUVELLE)
    assert identites.echecs_reponse(utilisateur) == 0


def test_the_initial_link_asks_the_question_of_the_request(ctx):
    utilisateur = creer_identite()
    utilisateur.password_hash = None  # as after the validation of its account request
    db.session.commit()
    page = identites.ouvrir_lien(lien_pour(utilisateur))
    assert (page.question, page.premier_mot_de_passe) == (VILLE, True)


# --- the question chosen with the first password ----------------------------------------------


def test_an_identity_without_a_question_must_choose_one_with_its_password(ctx):
    utilisateur = creer_identite(question=None)
    token = lien_pour(utilisateur)
    with pytest.raises(identites.SaisieRefusee) as refused:
        identites.choisir_mot_de_passe(token, NOUVELLE)
    assert set(refused.value.erreurs) == {"question_secrete", "reponse"}
    with pytest.raises(identites.SaisieRefusee) as refused:
        identites.choisir_mot_de_passe(token, "court", "Ma propre question ?", "Nantes")
    assert refused.value.erreurs["question_secrete"] == ["Choisissez une des valeurs proposées."]
    assert "au moins 12 caractères" in refused.value.erreurs["mot_de_passe"][0]
    with pytest.raises(identites.SaisieRefusee) as refused:
        identites.choisir_mot_de_passe(token, NOUVELLE, QUESTIONS[0][0], "Rex")
    assert refused.value.erreurs == {"reponse": ["Ce champ doit contenir au moins 4 caractère(s)."]}
    assert mot_de_passe_est(utilisateur, PHRASE)  # unchanged
    assert utilisateur.question_secrete is None
    assert journal(identites.ECHEC_REPONSE) == []  # nothing to get wrong yet

    identites.choisir_mot_de_passe(token, NOUVELLE, QUESTIONS[0][0], " Médor ")
    db.session.refresh(utilisateur)
    assert utilisateur.question_secrete == QUESTIONS[0][0]
    assert utilisateur.reponse_hash.startswith("$argon2id$")
    assert "medor" not in utilisateur.reponse_hash.lower()
    assert motdepasse.verify_secret(utilisateur.reponse_hash, "medor")[0]
    assert [e.operation for e in journal("choisir_question_secrete")] == [
        "choisir_question_secrete"
    ]


# --- Mon compte -----------------------------------------------------------------------------------


def test_changing_the_password_needs_the_current_one_and_the_policy(ctx):
    utilisateur = creer_identite()
    with pytest.raises(identites.SaisieRefusee) as refused:
        identites.changer_mot_de_passe(utilisateur, "pas le bon", "mgerard 2026 nouvelle phrase")
    assert refused.value.erreurs["mot_de_passe_actuel"] == [identites.MESSAGE_MOT_DE_PASSE_ACTUEL]
    assert refused.value.erreurs["mot_de_passe"] == [motdepasse.MESSAGE_PERSONAL]
    assert motdepasse.verify_secret(utilisateur.password_hash, PHRASE)[0]
    assert journal("changer_mot_de_passe") == []


def test_a_password_change_ends_other_sessions_and_pending_links(ctx):
    utilisateur = creer_identite()
    utilisateur.jeton_session = "ancien-jeton"
    token = lien_pour(utilisateur)
    identites.changer_mot_de_passe(utilisateur, PHRASE, "une toute nouvelle phrase de passe")
    db.session.refresh(utilisateur)
    assert utilisateur.jeton_session not in (None, "ancien-jeton")
    assert motdepasse.verify_secret(
        utilisateur.password_hash, "une toute nouvelle phrase de passe"
    )[0]
    with pytest.raises(identites.LienInvalide):
        identites.jeton_valide(token)
    [event] = journal("changer_mot_de_passe")
    assert (event.object_id, event.actor) == (str(utilisateur.id), "mgerard")


def test_changing_the_question_needs_the_password_and_stores_the_answer_hashed(ctx):
    utilisateur = creer_identite()
    with pytest.raises(identites.SaisieRefusee) as refused:
        identites.changer_question(utilisateur, "pas le bon", "inconnue", "")
    assert refused.value.erreurs == {
        "mot_de_passe_actuel": [identites.MESSAGE_MOT_DE_PASSE_ACTUEL],
        "question_secrete": ["Choisissez une des valeurs proposées."],
        "reponse": ["Ce champ est obligatoire."],
    }
    identites.changer_question(utilisateur, PHRASE, QUESTIONS[3][0], "Éléonore")
    db.session.refresh(utilisateur)
    assert utilisateur.question_secrete == QUESTIONS[3][0]
    assert "onore" not in utilisateur.reponse_hash
    assert motdepasse.verify_secret(utilisateur.reponse_hash, "eleonore")[0]
    assert len(journal("changer_question_secrete")) == 1
    # The link page now asks the new question, and takes its answer.
    token = lien_pour(utilisateur)
    assert identites.ouvrir_lien(token).question == QUESTIONS[3][1]
    identites.choisir_mot_de_passe(token, NOUVELLE, reponse="ELEONORE")
    assert mot_de_passe_est(utilisateur, NOUVELLE)
