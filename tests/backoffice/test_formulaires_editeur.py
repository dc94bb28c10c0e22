"""« Formulaires »: an Administrateur edits a draft definition without writing JSON; the other
roles get 403 on every URL and action, every POST needs the CSRF token, and a change that
would break the application (a bound property removed, invalid JSON) is refused with the
reason shown and nothing saved."""

from __future__ import annotations

import html
import json
import re

import pytest
from sqlalchemy import select

from extensions import db
from models.assistance import DemandeAssistance
from models.formulaires import EtatVersion, FormVersion
from models.submission import Submission
from tests.backoffice.conftest import ADMIN, ASP, PHRASE, UD, connecter, creer

BASE = "/backoffice/formulaires"
COMPTE = "demande-creation-compte"
JETON = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
EMPREINTE = re.compile(r'name="empreinte" (?:type="hidden" )?value="([^"]*)"')

GETS = [
    f"{BASE}/",
    f"{BASE}/nouveau",
    f"{BASE}/{COMPTE}/",
    f"{BASE}/{COMPTE}/questions/nouvelle?conteneur=etablissement",
    f"{BASE}/{COMPTE}/question?chemin=etablissement.fax",
    f"{BASE}/{COMPTE}/sections/nouvelle",
    f"{BASE}/{COMPTE}/section?chemin=etablissement",
    f"{BASE}/{COMPTE}/reglages",
    f"{BASE}/{COMPTE}/avance",
]
POSTS = [
    (f"{BASE}/nouveau", {"identifiant": "essai", "titre": "Essai", "copie_de": ""}),
    (f"{BASE}/{COMPTE}/ouvrir", {}),
    (f"{BASE}/{COMPTE}/monter", {"chemin": "etablissement.fax"}),
    (f"{BASE}/{COMPTE}/descendre", {"chemin": "etablissement.fax"}),
    (f"{BASE}/{COMPTE}/retirer", {"chemin": "etablissement.fax"}),
    (f"{BASE}/{COMPTE}/deplacer", {"chemin": "etablissement.fax", "conteneur": "utilisateur"}),
    (
        f"{BASE}/{COMPTE}/questions/nouvelle",
        {"conteneur": "", "libelle": "Intrus", "type": "texte"},
    ),
    (
        f"{BASE}/{COMPTE}/question",
        {"chemin": "etablissement.fax", "libelle": "Télécopie", "type": "telephone"},
    ),
    (f"{BASE}/{COMPTE}/sections/nouvelle", {"conteneur": "", "libelle": "Intruse"}),
    (f"{BASE}/{COMPTE}/section", {"chemin": "etablissement", "libelle": "Intruse"}),
    (f"{BASE}/{COMPTE}/reglages", {"titre": "Intrus"}),
    (f"{BASE}/{COMPTE}/avance", {"schema": "{}"}),
]


def _texte(reponse) -> str:
    return html.unescape(reponse.get_data(as_text=True))


def _client(app, email=ADMIN, role="administrateur", departements=""):
    client = app.test_client()
    connecter(client, creer(app, email, role, departements))
    return client


def _brouillon(app, form_id=COMPTE) -> FormVersion | None:
    with app.app_context():
        version = db.session.scalar(
            select(FormVersion).where(
                FormVersion.form_id == form_id, FormVersion.etat == EtatVersion.BROUILLON
            )
        )
        if version is not None:
            db.session.expunge(version)
        return version


def _ouvrir(client, form_id=COMPTE) -> str:
    """Open the draft of ``form_id``; return the fingerprint its editor page carries."""
    reponse = client.post(f"{BASE}/{form_id}/ouvrir")
    assert reponse.status_code == 303
    return _empreinte(client.get(f"{BASE}/{form_id}/"))


def _empreinte(reponse) -> str:
    trouve = EMPREINTE.search(reponse.get_data(as_text=True))
    assert trouve, "no fingerprint in the page"
    return trouve.group(1)


# --- access ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role, email, departements", [("asp", ASP, ""), ("ud", UD, "44")])
def test_other_roles_get_403_on_every_editor_url_and_action(app, role, email, departements):
    client = _client(app, email, role, departements)
    for url in GETS:
        reponse = client.get(url)
        assert reponse.status_code == 403, url
        assert "Votre rôle ne vous donne pas accès" in _texte(reponse)
    for url, donnees in POSTS:
        assert client.post(url, data=donnees).status_code == 403, url
    assert _brouillon(app) is None and _brouillon(app, "essai") is None
    assert f"{BASE}/" not in _texte(client.get("/backoffice/"))  # not in the menu either


def test_anonymous_visitors_are_sent_to_the_sign_in_page(app):
    client = app.test_client()
    for url in GETS:
        reponse = client.get(url)
        assert reponse.status_code == 302 and "/backoffice/connexion" in reponse.location, url
    for url, donnees in POSTS:
        assert client.post(url, data=donnees).status_code == 302, url


def test_the_administrator_reaches_every_page_of_an_open_draft(app):
    client = _client(app)
    assert "Formulaires" in _texte(client.get("/backoffice/"))
    _ouvrir(client)
    for url in GETS:
        assert client.get(url).status_code == 200, url


# --- CSRF ------------------------------------------------------------------------------------


@pytest.fixture
def csrf_app(make_app):
    return make_app(WTF_CSRF_ENABLED=True)


def _connecter_avec_jetons(client, agent):
    page = client.get("/backoffice/connexion").get_data(as_text=True)
    reponse = client.post(
        "/backoffice/connexion",
        data={"email": agent.email, "mot_de_passe": PHRASE, "csrf_token": JETON.search(page)[1]},
    )
    assert reponse.status_code == 303
    page = client.get("/backoffice/connexion/code").get_data(as_text=True)
    reponse = client.post(
        "/backoffice/connexion/code",
        data={"code": agent.code(), "csrf_token": JETON.search(page)[1]},
    )
    assert reponse.status_code == 303


def test_every_post_of_the_editor_needs_the_csrf_token(csrf_app):
    client = csrf_app.test_client()
    _connecter_avec_jetons(client, creer(csrf_app))
    page = client.get(f"{BASE}/{COMPTE}/").get_data(as_text=True)
    jeton = JETON.search(page)[1]
    assert client.post(f"{BASE}/{COMPTE}/ouvrir").status_code == 400
    assert _brouillon(csrf_app) is None
    # With the token the draft opens: the refusal above was the token's.
    assert client.post(f"{BASE}/{COMPTE}/ouvrir", data={"csrf_token": jeton}).status_code == 303
    avant = _brouillon(csrf_app).schema
    empreinte = _empreinte(client.get(f"{BASE}/{COMPTE}/"))
    for url, donnees in POSTS:
        reponse = client.post(url, data={**donnees, "empreinte": empreinte})
        assert reponse.status_code == 400, url
        assert "Votre session a expiré ou le formulaire n'est plus valide." in _texte(reponse)
    assert _brouillon(csrf_app).schema == avant
    assert _brouillon(csrf_app, "essai") is None
    reponse = client.post(
        f"{BASE}/{COMPTE}/retirer",
        data={"chemin": "etablissement.fax", "empreinte": empreinte, "csrf_token": jeton},
    )
    assert reponse.status_code == 303
    assert "fax" not in _brouillon(csrf_app).schema["properties"]["etablissement"]["properties"]


# --- the list ----------------------------------------------------------------------------------


def test_the_list_shows_versions_drafts_and_submission_counts(app):
    client = _client(app)
    with app.app_context():
        for _ in range(2):
            db.session.add(
                DemandeAssistance(
                    form_id="demande-support", form_version=1, data={}, courriel="a@exemple.fr"
                )
            )
        db.session.add(Submission(form_id="contrat-prestation", form_version=1, data={}))
        db.session.commit()
    _ouvrir(client)
    page = _texte(client.get(f"{BASE}/"))
    lignes = dict(
        re.findall(
            r'<tr data-formulaire="([^"]+)">.*?<td class="soumissions">(\d+)</td>', page, re.S
        )
    )
    assert lignes["demande-support"] == "2"
    assert lignes["contrat-prestation"] == "1"
    assert lignes[COMPTE] == "0"
    ligne = page[page.index(f'data-formulaire="{COMPTE}"') :].split("</tr>")[0]
    assert '<td class="version-publiee">2</td>' in ligne
    assert "En cours (claire.martin@asp.localhost)" in ligne
    assert "Créer un formulaire" in page


# --- editing -----------------------------------------------------------------------------------


def test_an_optional_question_with_help_text_is_added_to_a_copy_of_the_account_request(app):
    client = _client(app)
    reponse = client.post(
        f"{BASE}/nouveau",
        data={"identifiant": "compte-tva", "titre": "Compte avec TVA", "copie_de": COMPTE},
    )
    assert reponse.status_code == 303
    assert reponse.location.endswith(f"{BASE}/compte-tva/")
    formulaire = client.get(f"{BASE}/compte-tva/questions/nouvelle?conteneur=etablissement")
    assert "Ajouter une question dans « Information établissement »" in _texte(formulaire)
    reponse = client.post(
        f"{BASE}/compte-tva/questions/nouvelle",
        data={
            "empreinte": _empreinte(formulaire),
            "conteneur": "etablissement",
            "libelle": "Numéro de TVA intracommunautaire",
            "type": "texte",
            "aide": "Facultatif : si votre établissement en a un.",
            "longueur_max": "20",
            "condition": "",
        },
    )
    assert reponse.status_code == 303, _texte(reponse)
    assert reponse.location.endswith("#el-etablissement-numero_de_tva_intracommunautaire")

    page = _texte(client.get(reponse.location))
    assert "Question « Numéro de TVA intracommunautaire » ajoutée au brouillon." in page
    element = page[page.index('id="el-etablissement-numero_de_tva_intracommunautaire"') :]
    element = element.split("</li>")[0]
    assert "Numéro de TVA intracommunautaire" in element
    assert "Facultatif : si votre établissement en a un." in element
    assert "Obligatoire" not in element

    schema = _brouillon(app, "compte-tva").schema
    etablissement = schema["properties"]["etablissement"]
    assert etablissement["properties"]["numero_de_tva_intracommunautaire"] == {
        "type": "string",
        "title": "Numéro de TVA intracommunautaire",
        "description": "Facultatif : si votre établissement en a un.",
        "maxLength": 20,
        "x-ui": {"order": len(etablissement["properties"])},
    }
    assert "numero_de_tva_intracommunautaire" not in etablissement["required"]
    assert _brouillon(app) is None  # the original definition is untouched


def test_a_question_form_with_errors_keeps_what_was_typed(app):
    client = _client(app)
    empreinte = _ouvrir(client)
    avant = _brouillon(app).schema
    reponse = client.post(
        f"{BASE}/{COMPTE}/questions/nouvelle",
        data={
            "empreinte": empreinte,
            "conteneur": "utilisateur",
            "libelle": "Âge",
            "type": "nombre",
            "aide": "Votre âge en années.",
            "minimum": "dix-huit",
            "maximum": "120",
        },
    )
    assert reponse.status_code == 422
    page = _texte(reponse)
    assert "Rien n'a été enregistré" in page
    assert re.search(r'id="minimum"[^>]*value="dix-huit"', page)
    assert "Saisissez un nombre (par exemple 12 ou 3,5)." in page
    assert "Votre âge en années.</textarea>" in page
    assert _brouillon(app).schema == avant

    reponse = client.post(
        f"{BASE}/{COMPTE}/questions/nouvelle",
        data={"empreinte": empreinte, "conteneur": "", "libelle": "Choix", "type": "liste"},
    )
    assert reponse.status_code == 422
    assert "Indiquez au moins une option." in _texte(reponse)


def test_outline_buttons_reorder_and_a_stale_page_changes_nothing(app):
    client = _client(app)
    empreinte = _ouvrir(client)
    reponse = client.post(
        f"{BASE}/{COMPTE}/monter", data={"chemin": "utilisateur.prenom", "empreinte": empreinte}
    )
    assert reponse.status_code == 303
    page = _texte(client.get(f"{BASE}/{COMPTE}/"))
    assert page.index('id="el-utilisateur-prenom"') < page.index('id="el-utilisateur-nom"')
    apres = _brouillon(app).schema
    # The old fingerprint: the page was made before that move.
    reponse = client.post(
        f"{BASE}/{COMPTE}/descendre", data={"chemin": "utilisateur.prenom", "empreinte": empreinte}
    )
    assert "Le brouillon a été modifié entre-temps" in _texte(client.get(reponse.location))
    assert _brouillon(app).schema == apres


def test_a_question_is_edited_with_a_condition_on_another_one(app):
    client = _client(app)
    _ouvrir(client, "demande-support")
    formulaire = client.get(f"{BASE}/demande-support/question?chemin=telephone")
    page = _texte(formulaire)
    assert "Quand « Souhaitez-vous être rappelé(e) ? » vaut « Oui »" in page
    assert re.search(r'<option selected value="rappel=true">', page)
    reponse = client.post(
        f"{BASE}/demande-support/question",
        data={
            "empreinte": _empreinte(formulaire),
            "chemin": "telephone",
            "libelle": "Numéro où vous rappeler",
            "type": "telephone",
            "placeholder": "01 23 45 67 89",
            "condition": "rappel=true",
        },
    )
    assert reponse.status_code == 303, _texte(reponse)
    schema = _brouillon(app, "demande-support").schema
    assert schema["properties"]["telephone"]["title"] == "Numéro où vous rappeler"
    assert schema["properties"]["telephone"]["x-ui"]["placeholder"] == "01 23 45 67 89"
    assert schema["then"] == {"required": ["telephone"]}
    page = _texte(client.get(f"{BASE}/demande-support/"))
    assert "Affichée si « Souhaitez-vous être rappelé(e) ? » vaut « Oui »" in page


def test_a_section_marked_as_a_step_and_a_repeatable_group_are_added(app):
    client = _client(app)
    client.post(f"{BASE}/nouveau", data={"identifiant": "atelier", "titre": "Atelier"})
    formulaire = client.get(f"{BASE}/atelier/sections/nouvelle")
    reponse = client.post(
        f"{BASE}/atelier/sections/nouvelle",
        data={"empreinte": _empreinte(formulaire), "libelle": "Votre entreprise", "etape": "y"},
    )
    assert reponse.status_code == 303, _texte(reponse)
    formulaire = client.get(f"{BASE}/atelier/sections/nouvelle")
    reponse = client.post(
        f"{BASE}/atelier/sections/nouvelle",
        data={
            "empreinte": _empreinte(formulaire),
            "libelle": "Participants",
            "repetable": "y",
            "min_entrees": "1",
            "max_entrees": "10",
        },
    )
    assert reponse.status_code == 303, _texte(reponse)
    schema = _brouillon(app, "atelier").schema
    assert schema["properties"]["votre_entreprise"]["x-ui"]["step"] is True
    groupe = schema["properties"]["participants"]
    assert (groupe["type"], groupe["minItems"], groupe["maxItems"]) == ("array", 1, 10)
    page = _texte(client.get(f"{BASE}/atelier/"))
    assert "Étape" in page and "1 à 10 entrées" in page


# --- refusals --------------------------------------------------------------------------------


def test_a_bound_property_cannot_be_removed_and_the_message_names_it(app):
    client = _client(app)
    empreinte = _ouvrir(client)
    avant = _brouillon(app).schema
    page = _texte(client.get(f"{BASE}/{COMPTE}/"))
    siret = page[page.index('id="el-etablissement-siret"') :].split("</li>")[0]
    assert "Lue par l'application" in siret and "/retirer" not in siret
    reponse = client.post(
        f"{BASE}/{COMPTE}/retirer", data={"chemin": "etablissement.siret", "empreinte": empreinte}
    )
    assert reponse.status_code == 303
    page = _texte(client.get(reponse.location))
    assert (
        "La propriété « etablissement.siret » est lue par l'application (x-bindings) : "
        "elle ne peut pas être retirée." in page
    )
    assert _brouillon(app).schema == avant
    reponse = client.post(
        f"{BASE}/{COMPTE}/retirer", data={"chemin": "etablissement", "empreinte": empreinte}
    )
    page = _texte(client.get(reponse.location))
    assert "Cette section ne peut pas être retirée" in page and "« etablissement.siret »" in page
    # An unbound question goes.
    reponse = client.post(
        f"{BASE}/{COMPTE}/retirer", data={"chemin": "etablissement.fax", "empreinte": empreinte}
    )
    assert "« Fax » retiré du brouillon." in _texte(client.get(reponse.location))
    assert "fax" not in _brouillon(app).schema["properties"]["etablissement"]["properties"]


def test_the_advanced_tab_refuses_invalid_json_and_shows_the_problem(app):
    client = _client(app)
    _ouvrir(client)
    avant = _brouillon(app).schema
    formulaire = client.get(f"{BASE}/{COMPTE}/avance")
    texte = _texte(formulaire)
    assert json.loads(re.search(r"<textarea[^>]*>(.*?)</textarea>", texte, re.S)[1]) == avant
    empreinte = _empreinte(formulaire)

    reponse = client.post(
        f"{BASE}/{COMPTE}/avance", data={"empreinte": empreinte, "schema": '{"title": "x",'}
    )
    assert reponse.status_code == 422
    page = _texte(reponse)
    assert "Schéma refusé : rien n'a été enregistré" in page
    assert re.search(r"<li><code>\$</code> : JSON invalide : ", page)
    assert '{"title": "x",</textarea>' in page  # what was typed is kept

    inconnu = {
        **avant,
        "properties": {
            **avant["properties"],
            "note": {"type": "string", "anyOf": [{"minLength": 1}]},
        },
    }
    reponse = client.post(
        f"{BASE}/{COMPTE}/avance", data={"empreinte": empreinte, "schema": json.dumps(inconnu)}
    )
    assert reponse.status_code == 422
    page = _texte(reponse)
    assert "<li><code>$.properties.note['anyOf']</code> : mot-clé non pris en charge" in page

    sans_siret = json.loads(json.dumps(avant))
    del sans_siret["properties"]["etablissement"]["properties"]["siret"]
    sans_siret["properties"]["etablissement"]["required"].remove("siret")
    reponse = client.post(
        f"{BASE}/{COMPTE}/avance", data={"empreinte": empreinte, "schema": json.dumps(sans_siret)}
    )
    assert reponse.status_code == 422
    assert "la propriété « etablissement.siret » est lue par l'application" in _texte(reponse)
    assert _brouillon(app).schema == avant

    modifie = json.loads(json.dumps(avant))
    modifie["properties"]["etablissement"]["properties"]["fax"]["title"] = "Télécopie"
    reponse = client.post(
        f"{BASE}/{COMPTE}/avance", data={"empreinte": empreinte, "schema": json.dumps(modifie)}
    )
    assert reponse.status_code == 303
    schema = _brouillon(app).schema
    assert schema["properties"]["etablissement"]["properties"]["fax"]["title"] == "Télécopie"


def test_an_opened_draft_and_a_copy_keep_the_order_of_the_served_version(app):
    client = _client(app)
    _ouvrir(client)
    client.post(
        f"{BASE}/nouveau", data={"identifiant": "copie", "titre": "Copie", "copie_de": COMPTE}
    )
    with app.app_context():
        servi = app.extensions["forms"][COMPTE]
        attendu = [f"{spec.name}.{enfant.name}" for spec in servi.tree for enfant in spec.children]
    for form_id in (COMPTE, "copie"):
        page = _texte(client.get(f"{BASE}/{form_id}/"))
        chemins = re.findall(r'data-chemin="([^"]+\.[^"]+)"', page)
        assert chemins == attendu, form_id


# --- in a real Chromium ----------------------------------------------------------------------


@pytest.mark.browser
def test_the_editor_in_chromium_under_the_csp(make_app):
    from tests.browser.conftest import ARTEFACTS, _browser_available

    if not _browser_available():
        pytest.skip("Playwright or Chromium not installed")
    import threading

    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from tests.backoffice.test_navigateur import VIOLATIONS, _axe

    app = make_app(WTF_CSRF_ENABLED=True)
    agent = creer(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    ARTEFACTS.mkdir(exist_ok=True)
    try:
        with sync_playwright() as playwright:
            navigateur = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
            )
            onglet = navigateur.new_page(viewport={"width": 1280, "height": 900})
            console = []
            onglet.on("console", lambda message: console.append(message.text))
            onglet.on("dialog", lambda dialog: dialog.accept())
            onglet.add_init_script(VIOLATIONS)
            onglet.goto(f"{base}/backoffice/connexion")
            onglet.fill("#email", agent.email)
            onglet.fill("#mot_de_passe", PHRASE)
            onglet.get_by_role("button", name="Continuer").click()
            onglet.wait_for_url(f"{base}/backoffice/connexion/code")
            onglet.fill("#code", agent.code())
            onglet.get_by_role("button", name="Se connecter").click()
            onglet.wait_for_url(f"{base}/backoffice/")

            onglet.get_by_role("link", name="Formulaires").first.click()
            onglet.wait_for_url(f"{base}{BASE}/")
            _axe(onglet, "formulaires-liste")
            onglet.screenshot(path=str(ARTEFACTS / "formulaires-01-liste.png"), full_page=True)
            onglet.goto(f"{base}{BASE}/{COMPTE}/")
            onglet.get_by_role(
                "button", name="Modifier ce formulaire (ouvrir un brouillon)"
            ).click()
            onglet.wait_for_url(f"{base}{BASE}/{COMPTE}/")
            _axe(onglet, "formulaires-editeur")
            onglet.screenshot(path=str(ARTEFACTS / "formulaires-02-editeur.png"), full_page=True)

            onglet.get_by_role(
                "link", name="+ Ajouter une question dans « Information établissement »"
            ).click()
            onglet.wait_for_url(f"{base}{BASE}/{COMPTE}/questions/nouvelle?conteneur=etablissement")
            # The settings that do not apply to the chosen type are hidden by the script.
            assert onglet.locator("#options").is_hidden()
            onglet.select_option("#type", "liste")
            assert onglet.locator("#options").is_visible()
            assert onglet.locator("#longueur_max").is_hidden()
            onglet.select_option("#type", "texte")
            onglet.fill("#libelle", "Numéro de TVA intracommunautaire")
            onglet.fill("#aide", "Si votre établissement en a un.")
            _axe(onglet, "formulaires-question")
            onglet.screenshot(path=str(ARTEFACTS / "formulaires-03-question.png"), full_page=True)
            onglet.get_by_role("button", name="Ajouter la question").click()
            onglet.wait_for_url(
                lambda url: url.endswith("#el-etablissement-numero_de_tva_intracommunautaire")
            )
            assert "ajoutée au brouillon" in onglet.inner_text("main")
            ligne = onglet.locator("#el-etablissement-numero_de_tva_intracommunautaire")
            assert "Si votre établissement en a un." in ligne.inner_text()

            # « Retirer » asks for a confirmation (backoffice.js, data-confirmer), then posts.
            onglet.locator("#el-etablissement-fax").get_by_role("button", name="Retirer").click()
            onglet.wait_for_url(lambda url: url.endswith("#el-etablissement"))
            assert "« Fax » retiré du brouillon." in onglet.inner_text("main")
            onglet.get_by_role("link", name="Avancé").click()
            onglet.wait_for_url(f"{base}{BASE}/{COMPTE}/avance")
            _axe(onglet, "formulaires-avance")
            onglet.screenshot(path=str(ARTEFACTS / "formulaires-04-avance.png"), full_page=True)

            violations = onglet.evaluate("window.__violations")
            refus = [texte for texte in console if "Content Security Policy" in texte]
            assert violations == [] and refus == [], (violations, refus)
            navigateur.close()
    finally:
        server.shutdown()


@pytest.mark.parametrize("action", ["monter", "descendre", "retirer", "deplacer"])
@pytest.mark.parametrize("chemin", ["a\r\nSet-Cookie: x=1", "etablissement.fax\n", "é", "a b"])
def test_an_outline_action_on_a_malformed_path_is_refused_in_french(app, action, chemin):
    client = _client(app)
    empreinte = _ouvrir(client)
    avant = _brouillon(app).schema
    reponse = client.post(
        f"{BASE}/{COMPTE}/{action}",
        data={"chemin": chemin, "conteneur": "utilisateur", "empreinte": empreinte},
    )

    assert reponse.status_code == 303
    assert reponse.location.endswith(f"{BASE}/{COMPTE}/")  # no anchor from the posted path
    assert all("x=1" not in valeur for _, valeur in reponse.headers.items())
    assert "n'existe pas dans ce brouillon." in _texte(client.get(reponse.location))
    assert _brouillon(app).schema == avant


# --- cost at scale ---------------------------------------------------------------------------


class Requetes:
    """The SQL statements run while the block runs."""

    def __init__(self, app):
        self.app, self.lignes = app, []

    def _noter(self, conn, cursor, statement, parameters, context, executemany):
        self.lignes.append(" ".join(statement.split()))

    def __enter__(self):
        from sqlalchemy import event

        with self.app.app_context():
            self.engine = db.engine
        event.listen(self.engine, "before_cursor_execute", self._noter)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._noter)

    def sur(self, *tables) -> list[str]:
        motif = re.compile(rf"\bFROM ({'|'.join(tables)})\b", re.I)
        return [ligne for ligne in self.lignes if motif.search(ligne)]


def test_the_list_counts_submissions_per_form_with_capped_queries(app):
    client = _client(app)
    with Requetes(app) as requetes:
        assert client.get(f"{BASE}/").status_code == 200

    comptes = requetes.sur("submission", "demande_compte", "demande_assistance")
    assert comptes
    for ligne in comptes:
        assert "GROUP BY" not in ligne.upper(), ligne  # no scan of a whole table
        assert "LIMIT" in ligne.upper(), ligne
        assert "form_id =" in ligne, ligne


def test_beyond_ten_thousand_submissions_the_list_says_more_than_ten_thousand(app):
    from sqlalchemy import insert

    client = _client(app)
    with app.app_context():
        db.session.execute(
            insert(Submission),
            [{"form_id": "contrat-prestation", "form_version": 1, "data": {}}] * 10_001,
        )
        db.session.commit()
    page = _texte(client.get(f"{BASE}/"))
    ligne = page[page.index('data-formulaire="contrat-prestation"') :].split("</tr>")[0]
    assert '<td class="soumissions">plus de 10\u202f000</td>' in ligne


def test_an_editor_page_reads_only_the_draft_of_its_form(app):
    client = _client(app)
    _ouvrir(client)
    client.post(f"{BASE}/nouveau", data={"identifiant": "autre", "titre": "Autre", "copie_de": ""})
    for url in (f"{BASE}/{COMPTE}/", f"{BASE}/{COMPTE}/reglages"):
        with Requetes(app) as requetes:
            assert client.get(url).status_code == 200
        lectures = requetes.sur("form_version")
        assert lectures, url
        for ligne in lectures:
            assert "form_version.form_id =" in ligne, (url, ligne)  # never every draft
