"""The security check: image and audio code, single use, expiry, the test answer."""

import io
import wave
from datetime import timedelta

import pytest
from flask import render_template_string
from flask_wtf import FlaskForm
from sqlalchemy import func, select, update
from wtforms import StringField

from extensions import db
from models.controle import DefiControle
from models.types import utcnow
from portail import controle


def _wired(app):
    """The app with the controle blueprint (until the application factory registers it)."""
    if "controle" not in app.blueprints:
        controle.init_app(app)
    return app


@pytest.fixture
def app(make_app):
    return _wired(make_app())


def _defi(app) -> tuple[str, str]:
    """A new challenge: (jeton, its code)."""
    with app.test_request_context():
        jeton = controle.nouveau_defi()
        return jeton, controle._code(jeton)


def _verifier(app, jeton: str, reponse: str) -> bool:
    with app.test_request_context():
        return controle.verifier(jeton, reponse)


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(DefiControle))


def test_code_is_six_unambiguous_digits_stable_for_a_jeton(app):
    jeton, code = _defi(app)
    assert len(code) == controle.LONGUEUR == 6
    assert set(code) <= set(controle.ALPHABET)
    assert not set(code) & set("01OIL")
    with app.test_request_context():
        assert controle._code(jeton) == code
        row = db.session.scalar(select(DefiControle).where(DefiControle.jeton == jeton))
        assert code not in (row.reponse_hash, row.jeton)
        assert row.expires_at - row.created_at == timedelta(minutes=controle.DUREE_MINUTES)


def test_image_is_a_png_not_cached(app, client):
    jeton, _ = _defi(app)
    response = client.get(f"/controle/{jeton}.png")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert response.headers["Cache-Control"] == "no-store"


def test_audio_is_a_wav_not_cached(app, client):
    jeton, _ = _defi(app)
    response = client.get(f"/controle/{jeton}.wav")
    assert response.status_code == 200
    assert response.mimetype == "audio/wav"
    assert response.data[:4] == b"RIFF" and response.data[8:12] == b"WAVE"
    assert response.headers["Cache-Control"] == "no-store"
    with wave.open(io.BytesIO(response.data)) as sound:
        assert sound.getnframes() / sound.getframerate() > 3  # six spoken digits


def test_fetching_the_image_does_not_consume_the_challenge(app, client):
    jeton, code = _defi(app)
    assert client.get(f"/controle/{jeton}.png").status_code == 200
    assert client.get(f"/controle/{jeton}.wav").status_code == 200
    assert _verifier(app, jeton, code)


@pytest.mark.parametrize("suffix", ["png", "wav"])
def test_unknown_jeton_is_404(app, client, suffix):
    response = client.get(f"/controle/inconnu.{suffix}")
    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("suffix", ["png", "wav"])
def test_expired_jeton_is_404(app, client, suffix):
    jeton, _ = _defi(app)
    _expire(app, jeton)
    assert client.get(f"/controle/{jeton}.{suffix}").status_code == 404


def test_right_answer_accepted_once(app):
    jeton, code = _defi(app)
    assert _verifier(app, jeton, code)
    assert not _verifier(app, jeton, code)
    assert _count(app) == 0


def test_answer_ignores_case_and_spaces(app):
    jeton, code = _defi(app)
    assert _verifier(app, jeton, f"  {code[:3]} {code[3:]}\t")
    assert controle.normaliser(" ab c\u00a0d ") == "ABCD"


def test_wrong_answer_consumes_the_challenge(app, client):
    jeton, code = _defi(app)
    wrong = "".join("2" if c != "2" else "3" for c in code)
    assert not _verifier(app, jeton, wrong)
    assert not _verifier(app, jeton, code)
    assert client.get(f"/controle/{jeton}.png").status_code == 404


@pytest.mark.parametrize("reponse", ["", "   "])
def test_empty_answer_refused_and_consumes(app, reponse):
    jeton, code = _defi(app)
    assert not _verifier(app, jeton, reponse)
    assert not _verifier(app, jeton, code)


def test_unknown_or_empty_jeton_refused(app):
    _, code = _defi(app)
    assert not _verifier(app, "inconnu", code)
    assert not _verifier(app, "", code)
    assert _count(app) == 1


def _expire(app, jeton: str) -> None:
    with app.app_context():
        db.session.execute(
            update(DefiControle)
            .where(DefiControle.jeton == jeton)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


def test_expired_challenge_refused(app):
    jeton, code = _defi(app)
    _expire(app, jeton)
    assert not _verifier(app, jeton, code)


def test_new_challenge_purges_expired_ones(app):
    old, _ = _defi(app)
    _expire(app, old)
    new, _ = _defi(app)
    with app.app_context():
        assert db.session.scalars(select(DefiControle.jeton)).all() == [new]


def test_codes_depend_on_the_secret_key(make_app):
    one = _wired(make_app(SECRET_KEY="une-cle"))
    other = _wired(make_app(SECRET_KEY="une-autre-cle"))
    jetons = [f"jeton{i}" for i in range(10)]
    with one.test_request_context():
        codes = [controle._code(j) for j in jetons]
    with other.test_request_context():
        assert [controle._code(j) for j in jetons] != codes


def test_test_answer_accepted_when_testing(make_app):
    app = _wired(make_app(CAPTCHA_TEST_ANSWER="abc 123"))
    jeton, _ = _defi(app)
    assert _verifier(app, jeton, "ABC123")
    assert not _verifier(app, jeton, "ABC123")  # still single use
    other, code = _defi(app)
    assert _verifier(app, other, code)  # the real code still works


def test_test_answer_does_not_revive_expired_challenges(make_app):
    app = _wired(make_app(CAPTCHA_TEST_ANSWER="ABC123"))
    jeton, _ = _defi(app)
    _expire(app, jeton)
    assert not _verifier(app, jeton, "ABC123")


def test_test_answer_ignored_outside_testing_and_debug(make_app):
    app = _wired(make_app())
    jeton, _ = _defi(app)
    app.config["CAPTCHA_TEST_ANSWER"] = "ABC123"
    app.testing = False
    assert not _verifier(app, jeton, "ABC123")


def test_init_app_refuses_test_answer_in_production(make_app):
    app = make_app(TESTING=False, DEBUG=False)
    app.config["CAPTCHA_TEST_ANSWER"] = "ABC123"
    app.blueprints.pop("controle", None)  # as if the factory had not wired it yet
    with pytest.raises(RuntimeError, match="CAPTCHA_TEST_ANSWER") as refused:
        controle.init_app(app)
    assert "ni TESTING ni DEBUG" in str(refused.value)
    assert "neither TESTING nor DEBUG" in str(refused.value)


def test_application_factory_refuses_test_answer_in_production(make_app):
    if "controle" not in make_app().blueprints:
        pytest.skip("create_app does not call controle.init_app yet")
    with pytest.raises(RuntimeError, match="CAPTCHA_TEST_ANSWER"):
        make_app(TESTING=False, DEBUG=False, CAPTCHA_TEST_ANSWER="ABC123")


@pytest.mark.parametrize("flags", [{"TESTING": True}, {"TESTING": False, "DEBUG": True}])
def test_init_app_allows_test_answer_with_testing_or_debug(make_app, flags):
    app = make_app(**flags, CAPTCHA_TEST_ANSWER="ABC123")
    app.blueprints.pop("controle", None)
    controle.init_app(app)
    assert "controle" in app.blueprints


class _Formulaire(FlaskForm):
    code = StringField("Recopier le code ci-contre")


def test_macro_renders_the_dsfr_block(app):
    jeton, _ = _defi(app)
    with app.test_request_context("/creer-mon-espace/", method="POST", data={"code": "x"}):
        form = _Formulaire()
        form.code.errors = ["Le code recopié ne correspond pas."]
        html = render_template_string(
            '{% import "_macros/controle.html" as securite %}'
            "{{ securite.controle(jeton, form.code) }}",
            jeton=jeton,
            form=form,
        )
    assert "Contrôle de sécurité</legend>" in html
    assert f'src="/controle/{jeton}.png" alt="Code de sécurité à recopier"' in html
    assert f'href="/controle/{jeton}.wav"' in html and ">Écouter le code</a>" in html
    assert 'href="/creer-mon-espace/?nouveau-code=1">Afficher un autre code</a>' in html
    assert '<label class="fr-label" for="code">Recopier le code ci-contre' in html
    assert 'autocomplete="off"' in html and 'aria-invalid="true"' in html
    assert "fr-input--error" in html and "Le code recopié ne correspond pas." in html
    assert "<script" not in html
