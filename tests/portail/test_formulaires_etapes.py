"""A standalone form in steps (tests/schemas/demande-en-etapes.json), as a visitor fills it:
one page per step, a draft kept at each page, « Vérifiez vos réponses », then filing."""

from __future__ import annotations

import html
import re
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from extensions import db
from models.audit import AuditEvent
from models.brouillon import BrouillonFormulaire, empreinte, nouveau_jeton
from models.comptes import Utilisateur
from models.submission import Submission
from models.types import utcnow
from tests import factories

TEST_SCHEMAS = str(Path(__file__).resolve().parents[2] / "tests" / "schemas")
URL = "/formulaires/demande-en-etapes"

ETAPE_1 = {
    "objet": "Baisse d'activité",
    "demandeur-nom": "Gérard",
    "demandeur-courriel": "mathilde.gerard@exemple.fr",
}
ETAPE_2 = {
    "etablissement-siret": "732 829 320 00074",
    "etablissement-effectif": "12",
    "etablissement-salaries_concernes": "true",
    "etablissement-nombre_concernes": "4",
}
ETAPE_3 = {"periode-date_debut": "01/12/2026", "periode-motif": "sinistre"}


@pytest.fixture
def app(make_app):
    return make_app(FORMS_SCHEMAS_DIR=TEST_SCHEMAS, REDIS_URL="")


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def comptes(app):
    """Two signed-up identities, Mathilde and Bruno."""
    with app.app_context():
        factories.identite("mgerard", "GERARD", "Mathilde")
        factories.identite("bmartin", "MARTIN", "Bruno")
        db.session.commit()


def client_of(app, identifiant):
    client = app.test_client()
    assert factories.sign_in(client, identifiant).status_code == 303
    return client


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def post(client, numero, data, nav="suivant", **extra):
    return client.post(f"{URL}/etape/{numero}", data={**data, "_nav": nav, **extra})


def walk(client, upto=3):
    """Fill the pages 1..upto validly; return the last response."""
    response = None
    for numero, data in list(enumerate((ETAPE_1, ETAPE_2, ETAPE_3), start=1))[:upto]:
        response = post(client, numero, data)
        assert response.status_code == 303, text(response)
    return response


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def draft(app) -> BrouillonFormulaire:
    with app.app_context():
        row = db.session.scalars(select(BrouillonFormulaire)).one()
        db.session.expunge(row)
        return row


def send(client):
    """« Vérifiez vos réponses », then its button (the check page names the draft it shows)."""
    page = text(client.get(f"{URL}/verification"))
    brouillon = re.search(r'name="brouillon" value="(\d+)"', page).group(1)
    return client.post(f"{URL}/verification", data={"brouillon": brouillon}), brouillon


def owners(app) -> dict:
    """{draft id: identifiant of its owner, or None}."""
    with app.app_context():
        rows = db.session.execute(
            select(BrouillonFormulaire.id, Utilisateur.identifiant).outerjoin(
                Utilisateur, Utilisateur.id == BrouillonFormulaire.utilisateur_id
            )
        ).all()
    return dict(rows)


def private_link(page: str) -> str:
    match = re.search(r'class="fr-link app-lien-reprise" href="([^"]+)"', page)
    assert match, "no private link on the page"
    return match.group(1)


# -- pages and step-by-step validation ------------------------------------------------------


def test_the_form_page_lists_the_steps_and_starts_on_the_first(client):
    page = text(client.get(URL))
    assert "Vous" in page and "Votre établissement" in page and "La période" in page
    assert "Vérification de vos réponses et envoi" in page
    assert f'href="{URL}/etape/1"' in page


def test_each_page_shows_the_dsfr_stepper_with_the_next_step(client):
    page = text(client.get(f"{URL}/etape/1"))
    assert 'class="fr-stepper"' in page
    assert "Étape 1 sur 3" in page
    assert 'data-fr-current-step="1" data-fr-steps="3"' in page
    assert "Étape suivante :</span> Votre établissement" in page
    # only this page's questions, the loose top-level question included on the first one
    assert 'name="objet"' in page and 'name="demandeur-nom"' in page
    assert 'name="etablissement-siret"' not in page
    assert "Précédent" not in page


def test_a_page_is_validated_alone_and_keeps_what_was_typed(client, app):
    response = post(client, 1, {"objet": "Baisse d'activité", "demandeur-nom": "G"})
    assert response.status_code == 422
    page = text(response)
    assert "Nom : Ce champ doit contenir au moins 2 caractère(s)." in page
    assert "Courriel : Ce champ est obligatoire." in page
    assert "N° de Siret" not in page  # the next pages' questions are not checked yet
    assert 'value="Baisse d\'activité"' in page and 'value="G"' in page
    assert count(app, BrouillonFormulaire) == 0  # no draft before a first valid page


def test_a_later_page_cannot_be_reached_before_the_earlier_ones(client):
    assert client.get(f"{URL}/etape/3").headers["Location"] == f"{URL}/etape/1"
    assert client.get(f"{URL}/verification").headers["Location"] == f"{URL}/etape/1"
    walk(client, upto=1)
    assert client.get(f"{URL}/etape/3").headers["Location"] == f"{URL}/etape/2"
    assert client.get(f"{URL}/etape/4").status_code == 404


def test_a_condition_of_a_page_is_checked_on_that_page(client):
    walk(client, upto=1)
    data = {**ETAPE_2}
    del data["etablissement-nombre_concernes"]
    response = post(client, 2, data)
    assert response.status_code == 422
    assert "Nombre de salariés concernés : Ce champ est obligatoire." in text(response)


def test_previous_goes_back_without_blocking_and_without_losing_anything(client, app):
    walk(client, upto=1)
    response = post(client, 2, {"etablissement-siret": "123"}, nav="precedent")
    assert response.status_code == 303
    assert response.headers["Location"] == f"{URL}/etape/1"
    assert draft(app).data["etablissement"] == {"siret": "123"}
    page = text(client.get(f"{URL}/etape/1"))
    assert 'value="Gérard"' in page
    page = text(client.get(f"{URL}/etape/2"))
    assert 'value="123"' in page


def test_a_page_with_errors_is_kept_in_the_draft(client, app):
    walk(client, upto=1)
    response = post(client, 2, {"etablissement-siret": "73282932000074"})
    assert response.status_code == 422
    assert draft(app).data["etablissement"] == {"siret": "73282932000074"}
    assert draft(app).etape == 2


def test_repeatable_actions_and_a_non_step_form_work_as_before(client):
    assert client.get("/formulaires/inscription-atelier").status_code == 200
    assert client.get("/formulaires/inscription-atelier/etape/1").status_code == 404
    assert client.get("/formulaires/inscription-atelier/verification").status_code == 404


# -- « Vérifiez vos réponses » and filing ------------------------------------------------------


def test_the_check_page_lists_every_answer_by_step_with_a_modifier_link(client):
    response = walk(client)
    assert response.headers["Location"] == f"{URL}/verification"
    page = text(client.get(f"{URL}/verification"))
    assert "<h1>Vérifiez vos réponses</h1>" in page
    sections = re.findall(r'<h2 class="fr-h4">([^<]+)</h2>', page)
    assert sections == ["Vous", "Votre établissement", "La période"]
    assert "Objet de la demande" in page and "Baisse d'activité" in page
    assert "Sinistre ou intempéries" in page and "01/12/2026" in page
    assert "Nombre de salariés concernés" in page
    links = re.findall(r'href="([^"]+)">Modifier<span class="fr-sr-only"> : ([^<]+)</span>', page)
    assert (f"{URL}/etape/2?retour=verification#etablissement-effectif", "Effectif") in links
    assert (f"{URL}/etape/1?retour=verification#objet", "Objet de la demande") in links
    assert len(links) == 11


def test_modifier_leads_back_to_the_check_page(client, app):
    walk(client)
    page = text(client.get(f"{URL}/etape/2?retour=verification"))
    assert "Enregistrer et revenir à la vérification" in page
    response = post(client, 2, {**ETAPE_2, "etablissement-effectif": "30"}, retour="verification")
    assert response.headers["Location"] == f"{URL}/verification"
    assert "30" in text(client.get(f"{URL}/verification"))
    assert draft(app).data["etablissement"]["effectif"] == 30


def test_sending_files_one_submission_and_deletes_the_draft(client, app):
    walk(client)
    response, brouillon = send(client)
    assert response.status_code == 303
    assert "/formulaires/demande-en-etapes/confirmation/" in response.headers["Location"]
    assert "Votre demande en trois étapes a bien été transmise." in text(
        client.get(response.headers["Location"])
    )
    with app.app_context():
        (submission,) = db.session.scalars(select(Submission)).all()
        assert submission.form_id == "demande-en-etapes" and submission.form_version == 1
        assert submission.data == {
            "objet": "Baisse d'activité",
            "demandeur": {"nom": "Gérard", "courriel": "mathilde.gerard@exemple.fr"},
            "etablissement": {
                "siret": "73282932000074",
                "effectif": 12,
                "salaries_concernes": True,
                "nombre_concernes": 4,
            },
            "periode": {"date_debut": "2026-12-01", "motif": "sinistre"},
        }
    assert count(app, BrouillonFormulaire) == 0
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.operation == "deposer_brouillon")
        ).one()
        assert (event.object_type, event.object_id) == ("brouillon_formulaire", brouillon)
        assert event.details["reference"] == submission.reference
    # the draft is gone: the pages start afresh
    assert client.get(f"{URL}/verification").headers["Location"] == f"{URL}/etape/1"


def test_sending_again_says_it_was_sent_and_files_nothing_more(client, app):
    walk(client)
    response, brouillon = send(client)
    assert "/confirmation/" in response.headers["Location"]
    again = client.post(f"{URL}/verification", data={"brouillon": brouillon})
    assert again.status_code == 303 and again.headers["Location"] == URL
    assert "Votre demande a déjà été envoyée." in text(client.get(URL))
    assert count(app, Submission) == 1


def test_two_simultaneous_sendings_file_one_submission(app, comptes):
    """Both requests read the draft, then wait on a lock the test holds; released together,
    exactly one files it, the other is told it was sent."""
    mathilde = client_of(app, "mgerard")
    walk(mathilde)
    other_tab = client_of(app, "mgerard")
    brouillon = draft(app).id
    with app.app_context():
        engine = db.engine
    postgresql = engine.dialect.name == "postgresql"
    # PostgreSQL: the draft's row lock; SQLite: the write lock (BEGIN IMMEDIATE).
    verrou = engine.connect().execution_options(sqlite_immediate=True)
    verrou.execute(
        sa.text("SELECT id FROM brouillon_formulaire WHERE id = :id" + " FOR UPDATE" * postgresql),
        {"id": brouillon},
    )
    responses = []

    def send_from(client):
        responses.append(client.post(f"{URL}/verification", data={"brouillon": brouillon}))

    threads = [threading.Thread(target=send_from, args=(c,)) for c in (mathilde, other_tab)]
    for thread in threads:
        thread.start()
    try:
        if postgresql:  # both DELETEs are waiting on the row lock
            deadline = time.monotonic() + 20
            with engine.connect() as watcher:
                while time.monotonic() < deadline:
                    waiting = watcher.execute(
                        sa.text(
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                            " AND datname = current_database()"
                        )
                    ).scalar()
                    watcher.rollback()
                    if waiting >= 2:
                        break
                    time.sleep(0.05)
                assert waiting >= 2, "the two requests did not reach the deletion"
        else:
            time.sleep(1.5)  # both requests have read the draft and wait for the write lock
    finally:
        verrou.rollback()
        verrou.close()
    for thread in threads:
        thread.join(timeout=30)
    locations = sorted(r.headers["Location"] for r in responses)
    assert [r.status_code for r in responses] == [303, 303]
    assert locations[0] == URL and "/confirmation/" in locations[1]
    assert count(app, Submission) == 1 and count(app, BrouillonFormulaire) == 0


def test_the_full_validator_decides_at_filing(client, app):
    walk(client)
    with app.app_context():
        row = db.session.scalars(select(BrouillonFormulaire)).one()
        row.data = {**row.data, "demandeur": {"nom": "Gérard"}}  # courriel lost meanwhile
        db.session.commit()
    response = client.post(f"{URL}/verification")
    assert response.status_code == 303
    assert response.headers["Location"] == f"{URL}/etape/1"
    assert count(app, Submission) == 0
    page = text(client.get(f"{URL}/etape/1"))
    assert "Certaines réponses sont à compléter" in page
    assert "Courriel : Ce champ est obligatoire." in page


# -- drafts: private link, signed-in identity, other people ------------------------------------


def test_an_anonymous_visitor_gets_a_private_link_once_and_resumes_elsewhere(app, client):
    walk(client, upto=1)
    page = text(client.get(f"{URL}/etape/2"))
    link = private_link(page)
    assert link.startswith(f"http://localhost{URL}/reprendre/")
    assert "app-lien-reprise" not in text(client.get(f"{URL}/etape/2"))  # shown once
    token = link.rsplit("/", 1)[1]
    stored = draft(app)
    assert stored.jeton_hash == empreinte(token) and token not in str(stored.jeton_hash)
    assert stored.utilisateur_id is None

    elsewhere = app.test_client()
    response = elsewhere.get(link)
    assert response.status_code == 303 and response.headers["Location"] == f"{URL}/etape/2"
    assert 'value="Gérard"' in text(elsewhere.get(f"{URL}/etape/1"))
    assert "Reprendre ma demande" in text(elsewhere.get(URL))


def test_a_wrong_or_expired_token_gets_404(app, client):
    walk(client, upto=1)
    link = private_link(text(client.get(f"{URL}/etape/2")))
    stranger = app.test_client()
    assert stranger.get(link + "x").status_code == 404
    assert stranger.get(f"{URL}/reprendre/inconnu").status_code == 404
    assert stranger.get(link.replace("demande-en-etapes", "inscription-atelier")).status_code == 404
    with app.app_context():
        row = db.session.scalars(select(BrouillonFormulaire)).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert stranger.get(link).status_code == 404


def test_a_signed_in_user_finds_their_draft_and_resumes_it_in_another_browser(app, comptes):
    mathilde = client_of(app, "mgerard")
    walk(mathilde, upto=2)
    assert "app-lien-reprise" not in text(mathilde.get(f"{URL}/etape/3"))  # no link needed
    assert draft(app).utilisateur_id is not None

    later = client_of(app, "mgerard")
    page = text(later.get(URL))
    assert "Vous avez une demande en cours" in page
    assert f'href="{URL}/etape/3">Reprendre ma demande' in page
    assert 'value="73282932000074"' in text(later.get(f"{URL}/etape/2"))
    post(later, 3, ETAPE_3)
    assert later.post(f"{URL}/verification").status_code == 303
    assert count(app, Submission) == 1 and count(app, BrouillonFormulaire) == 0


def test_another_persons_draft_is_invisible(app, comptes):
    mathilde = client_of(app, "mgerard")
    walk(mathilde, upto=1)
    mathilde_row = draft(app)

    bruno = client_of(app, "bmartin")
    assert "Vous avez une demande en cours" not in text(bruno.get(URL))
    assert bruno.get(f"{URL}/etape/2").headers["Location"] == f"{URL}/etape/1"
    assert "Gérard" not in text(bruno.get(f"{URL}/etape/1"))
    assert bruno.get(f"{URL}/verification").headers["Location"] == f"{URL}/etape/1"

    # Even with the token, a signed-in identity's draft answers 404 to anyone else.
    token = nouveau_jeton()
    with app.app_context():
        row = db.session.get(BrouillonFormulaire, mathilde_row.id)
        row.jeton_hash = empreinte(token)
        db.session.commit()
    assert bruno.get(f"{URL}/reprendre/{token}").status_code == 404
    assert app.test_client().get(f"{URL}/reprendre/{token}").status_code == 404
    assert mathilde.get(f"{URL}/reprendre/{token}").status_code == 303

    # Bruno's own draft is another row; Mathilde's stays hers.
    walk(bruno, upto=1)
    with app.app_context():
        owners = db.session.scalars(select(BrouillonFormulaire.utilisateur_id)).all()
    assert len(set(owners)) == 2


def test_opening_a_private_link_signed_in_changes_nothing_and_asks_first(app, client, comptes):
    walk(client, upto=1)  # someone else's anonymous draft
    link = private_link(text(client.get(f"{URL}/etape/2")))
    mathilde = client_of(app, "mgerard")
    response = mathilde.get(link)  # e.g. loaded by <img src> on a page she visits
    assert response.status_code == 200
    page = text(response)
    assert "Reprendre ce brouillon dans votre espace ?" in page
    assert "Demande en trois étapes" in page  # the form's title
    stored = draft(app)
    assert f"enregistré le {stored.updated_at.day} " in page
    assert "Reprendre ce brouillon</button>" in page
    assert f'href="{URL}">Ne pas le reprendre</a>' in page
    assert "Gérard" not in page  # the answers are shown only once she chose
    assert owners(app) == {stored.id: None}
    assert "Vous avez une demande en cours" not in text(mathilde.get(URL))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_a_signed_in_user_takes_an_anonymous_draft_by_choosing_it(app, client, comptes):
    walk(client, upto=1)
    link = private_link(text(client.get(f"{URL}/etape/2")))
    mathilde = client_of(app, "mgerard")
    response = mathilde.post(link)
    assert response.status_code == 303 and response.headers["Location"] == f"{URL}/etape/2"
    stored = draft(app)
    assert owners(app) == {stored.id: "mgerard"}
    assert "Vous avez une demande en cours" in text(mathilde.get(URL))
    with app.app_context():
        event = db.session.scalars(select(AuditEvent)).one()
        assert (event.operation, event.object_type, event.object_id, event.actor) == (
            "rattacher_brouillon",
            "brouillon_formulaire",
            str(stored.id),
            "mgerard",
        )
        assert event.details == {"form_id": "demande-en-etapes", "remplace": None}
    # Once hers, the link opens it for her alone.
    assert mathilde.get(link).headers["Location"] == f"{URL}/etape/2"
    assert app.test_client().get(link).status_code == 404
    assert client.get(link).status_code == 404


def test_a_link_never_replaces_the_draft_a_signed_in_user_has_unless_she_chooses(
    app, client, comptes
):
    walk(client, upto=1)
    link = private_link(text(client.get(f"{URL}/etape/2")))
    anonyme = draft(app).id
    mathilde = client_of(app, "mgerard")
    post(mathilde, 1, {**ETAPE_1, "demandeur-nom": "Mathilde"})
    sien = next(i for i, owner in owners(app).items() if owner == "mgerard")

    page = text(mathilde.get(link))
    assert "Vous avez déjà un brouillon de ce formulaire" in page
    assert "votre brouillon actuel sera supprimé" in page
    assert f'name="remplace" value="{sien}"' in page
    assert owners(app) == {anonyme: None, sien: "mgerard"}
    assert 'value="Mathilde"' in text(mathilde.get(f"{URL}/etape/1"))

    # A choice made without knowing her draft (none sent) changes nothing.
    refused = mathilde.post(link)
    assert refused.headers["Location"] == link.removeprefix("http://localhost")
    assert "Vos brouillons ont changé entre-temps" in text(mathilde.get(URL))
    assert owners(app) == {anonyme: None, sien: "mgerard"}

    response = mathilde.post(link, data={"remplace": sien})
    assert response.status_code == 303
    assert owners(app) == {anonyme: "mgerard"}
    assert 'value="Gérard"' in text(mathilde.get(f"{URL}/etape/1"))
    with app.app_context():
        event = db.session.scalars(select(AuditEvent)).one()
        assert event.details == {"form_id": "demande-en-etapes", "remplace": sien}


def test_an_anonymous_link_does_not_replace_the_draft_this_browser_holds(app, client):
    walk(client, upto=1)
    link = private_link(text(client.get(f"{URL}/etape/2")))
    autre = app.test_client()
    post(autre, 1, {**ETAPE_1, "demandeur-nom": "Bruno"})
    page = text(autre.get(link))
    assert "Reprendre ce brouillon ?" in page
    assert "Vous avez déjà un brouillon de ce formulaire" in page
    assert 'value="Bruno"' in text(autre.get(f"{URL}/etape/1"))  # still its own draft

    assert autre.post(link).headers["Location"] == f"{URL}/etape/2"
    assert 'value="Gérard"' in text(autre.get(f"{URL}/etape/1"))
    assert count(app, BrouillonFormulaire) == 2  # Bruno's stays, with its own link
    assert set(owners(app).values()) == {None}


def test_starting_again_deletes_the_draft(app, client):
    walk(client, upto=2)
    response = client.post(f"{URL}/recommencer")
    assert response.headers["Location"] == f"{URL}/etape/1"
    assert count(app, BrouillonFormulaire) == 0
    assert 'value="Gérard"' not in text(client.get(f"{URL}/etape/1"))


def test_a_draft_of_an_older_version_is_rechecked_and_resumes_at_the_first_step_with_errors(
    app, client
):
    walk(client)
    with app.app_context():
        row = db.session.scalars(select(BrouillonFormulaire)).one()
        # Saved under version 0, which did not ask for a courriel and asked « ancienne »
        row.form_version = 0
        row.data = {
            **row.data,
            "demandeur": {"nom": "Gérard", "ancienne": "x"},
            "question_retiree": "y",
        }
        db.session.commit()
    response = client.get(f"{URL}/verification")
    assert response.headers["Location"] == f"{URL}/etape/1"
    page = text(client.get(f"{URL}/etape/1"))
    assert "Le formulaire a été modifié depuis votre dernière visite." in page
    assert "Courriel : Ce champ est obligatoire." in page
    stored = draft(app)
    assert stored.form_version == 1
    assert "question_retiree" not in stored.data and "ancienne" not in stored.data["demandeur"]
    # Once the page is right again, the check page is reachable as before.
    assert post(client, 1, ETAPE_1).headers["Location"] == f"{URL}/etape/2"
    assert client.get(f"{URL}/verification").status_code == 200


# -- protections and housekeeping ------------------------------------------------------------


def test_every_post_needs_the_csrf_token(make_app):
    app = make_app(FORMS_SCHEMAS_DIR=TEST_SCHEMAS, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    assert client.post(f"{URL}/etape/1", data=ETAPE_1).status_code == 400
    assert client.post(f"{URL}/verification").status_code == 400
    assert client.post(f"{URL}/recommencer").status_code == 400
    assert client.post(f"{URL}/reprendre/{nouveau_jeton()}").status_code == 400
    assert count(app, BrouillonFormulaire) == 0
    page = text(client.get(f"{URL}/etape/1"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(f"{URL}/etape/1", data={**ETAPE_1, "csrf_token": token})
    assert response.status_code == 303
    assert count(app, BrouillonFormulaire) == 1
    assert "csrf_token" not in draft(app).data


def test_step_posts_are_rate_limited(make_app):
    app = make_app(
        FORMS_SCHEMAS_DIR=TEST_SCHEMAS,
        RATELIMIT_ENABLED=True,
        RATELIMIT_FORMS="2 per minute",
        RATELIMIT_STORAGE_URI="memory://",
    )
    client = app.test_client()
    statuses = [post(client, 1, {"objet": "x"}).status_code for _ in range(3)]
    assert statuses == [422, 422, 429]


def test_expired_drafts_are_purged_with_a_journal_line(app, client):
    walk(client, upto=1)
    other = app.test_client()
    walk(other, upto=2)
    with app.app_context():
        first = db.session.scalars(select(BrouillonFormulaire).order_by(BrouillonFormulaire.id))
        first = first.first()
        first.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["formulaires", "purger-brouillons"])
    assert result.exit_code == 0, result.output
    assert "1 brouillon(s) expiré(s) supprimé(s)." in result.output
    assert count(app, BrouillonFormulaire) == 1
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.operation == "purger_brouillons")
        ).one()
        assert event.details["supprimes"] == 1 and event.actor_type == "systeme"


def test_each_save_pushes_the_expiry_by_the_setting(make_app):
    app = make_app(FORMS_SCHEMAS_DIR=TEST_SCHEMAS, BROUILLONS_EXPIRATION_JOURS=7)
    client = app.test_client()
    walk(client, upto=1)
    expires = draft(app).expires_at
    assert timedelta(days=7) - timedelta(minutes=1) < expires - utcnow() <= timedelta(days=7)


def test_taking_a_draft_needs_the_csrf_token(make_app):
    app = make_app(FORMS_SCHEMAS_DIR=TEST_SCHEMAS, WTF_CSRF_ENABLED=True)
    with app.app_context():
        factories.identite("mgerard", "GERARD", "Mathilde")
        db.session.commit()
    anonyme = app.test_client()
    page = text(anonyme.get(f"{URL}/etape/1"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert post(anonyme, 1, ETAPE_1, csrf_token=token).status_code == 303
    link = private_link(text(anonyme.get(f"{URL}/etape/2")))

    mathilde = app.test_client()
    page = text(mathilde.get("/connexion"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    signed = mathilde.post(
        "/connexion",
        data={"identifiant": "mgerard", "mot_de_passe": factories.PHRASE, "csrf_token": token},
    )
    assert signed.status_code == 303
    assert mathilde.post(link).status_code == 400
    assert set(owners(app).values()) == {None}
    page = text(mathilde.get(link))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert mathilde.post(link, data={"csrf_token": token}).status_code == 303
    assert set(owners(app).values()) == {"mgerard"}
