"""French error pages, JSON errors, and the CSRF failure page."""

from html import unescape

from flask import abort, request
from flask_wtf.csrf import generate_csrf


def html_of(response):
    """The page's HTML with character references resolved, to compare with French text."""
    return unescape(response.get_data(as_text=True))


def assert_french_error_page(response, code, titre, message):
    assert response.status_code == code
    assert response.mimetype == "text/html"
    html = html_of(response)
    assert f"<h1>{titre}</h1>" in html
    assert f'<p class="fr-text--sm fr-mb-3w">Erreur {code}</p>' in html
    assert message in html
    assert '<a class="fr-btn" href="/">Page d\'accueil</a>' in html
    assert f"<title>{titre} (erreur {code}) - Activité partielle</title>" in html


def test_unknown_page_gives_the_french_not_found_page(client):
    response = client.get("/page-inconnue")
    assert_french_error_page(
        response,
        404,
        "Page non trouvée",
        "La page que vous cherchez est introuvable. Excusez-nous pour la gêne occasionnée.",
    )


def test_json_clients_get_the_error_as_json(client):
    response = client.get("/page-inconnue", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json() == {
        "erreur": "La page que vous cherchez est introuvable. Excusez-nous pour la gêne occasionnée."
    }


def test_reference_data_urls_always_answer_errors_as_json(client):
    response = client.get("/referentiels/inconnu", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "erreur" in response.get_json()


def test_wrong_method_gives_the_french_page_and_keeps_the_allow_header(client):
    response = client.post("/healthz")
    assert_french_error_page(
        response, 405, "Méthode non autorisée", "Cette adresse n'accepte pas ce type de requête."
    )
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "HEAD"}


def test_too_large_body_gives_the_french_page(make_app):
    app = make_app(MAX_CONTENT_LENGTH=1024)

    @app.post("/_test/envoi")
    def envoi():
        return str(len(request.form))

    response = app.test_client().post("/_test/envoi", data={"champ": "x" * 4096})
    assert_french_error_page(
        response,
        413,
        "Envoi trop volumineux",
        "Le fichier ou le formulaire envoyé est trop volumineux.",
    )


def test_too_many_requests_gives_the_french_page_and_keeps_retry_after(make_app):
    from extensions import limiter

    app = make_app(RATELIMIT_ENABLED=True)

    @app.get("/_test/limite")
    @limiter.limit("1 per minute")
    def limite():
        return "ok"

    client = app.test_client()
    assert client.get("/_test/limite").status_code == 200
    response = client.get("/_test/limite")
    assert_french_error_page(
        response, 429, "Trop de requêtes", "Vous avez envoyé trop de requêtes en peu de temps."
    )
    assert int(response.headers["Retry-After"]) > 0
    assert "per 1 minute" not in html_of(response)


def test_unexpected_exception_gives_the_french_page_without_details(make_app):
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.get("/_test/panne")
    def panne():
        raise RuntimeError("secret interne du serveur")

    response = app.test_client().get("/_test/panne")
    assert_french_error_page(
        response,
        500,
        "Erreur inattendue",
        "Désolé, le service rencontre un problème, nous travaillons pour le résoudre",
    )
    assert "secret interne" not in html_of(response)
    assert "Traceback" not in html_of(response)


def test_forbidden_page_shows_the_french_message_given_by_the_view(app, client):
    @app.get("/_test/interdit")
    def interdit():
        abort(403, description="Cet établissement n'est pas rattaché à votre compte.")

    response = client.get("/_test/interdit")
    assert_french_error_page(
        response,
        403,
        "Accès refusé",
        "Cet établissement n'est pas rattaché à votre compte.",
    )


def test_bad_request_gives_the_french_page(app, client):
    @app.get("/_test/invalide")
    def invalide():
        abort(400)

    assert_french_error_page(
        client.get("/_test/invalide"),
        400,
        "Requête invalide",
        "La requête envoyée n'a pas pu être traitée.",
    )


CSRF_MESSAGE = (
    "Votre session a expiré ou le formulaire n'est plus valide. Rechargez la page et "
    "renvoyez le formulaire."
)


def _csrf_app(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)

    @app.route("/_test/formulaire", methods=["GET", "POST"])
    def formulaire():
        if request.method == "GET":
            return generate_csrf()
        return "enregistré"

    return app


def test_post_without_csrf_token_gives_the_session_expired_page(make_app):
    app = _csrf_app(make_app)
    response = app.test_client().post("/_test/formulaire", data={"nom": "Dupont"})
    assert response.status_code == 400
    html = html_of(response)
    assert "<h1>Session expirée</h1>" in html
    assert CSRF_MESSAGE in html
    assert "Erreur 400" in html


def test_post_with_the_token_of_another_session_is_refused(make_app):
    app = _csrf_app(make_app)
    other_token = app.test_client().get("/_test/formulaire").get_data(as_text=True)
    client = app.test_client()
    client.get("/_test/formulaire")
    response = client.post("/_test/formulaire", data={"csrf_token": other_token})
    assert response.status_code == 400
    assert CSRF_MESSAGE in html_of(response)


def test_post_with_the_session_token_is_accepted(make_app):
    app = _csrf_app(make_app)
    client = app.test_client()
    token = client.get("/_test/formulaire").get_data(as_text=True)
    response = client.post("/_test/formulaire", data={"csrf_token": token})
    assert response.status_code == 200


def test_every_parameterless_post_route_refuses_a_post_without_token(make_app):
    app = _csrf_app(make_app)
    client = app.test_client()
    rules = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.methods & {"POST", "PUT", "PATCH", "DELETE"} and not rule.arguments
    ]
    assert rules
    for rule in rules:
        method = sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"})[0]
        response = client.open(rule.rule, method=method, data={"x": "1"})
        assert response.status_code == 400, rule.rule
        assert CSRF_MESSAGE in html_of(response), rule.rule


def test_csrf_failure_on_a_json_request_answers_json(make_app):
    app = _csrf_app(make_app)
    response = app.test_client().post(
        "/_test/formulaire", data={"x": "1"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 400
    assert response.get_json() == {
        "erreur": CSRF_MESSAGE.replace("'", "'"),
    }
