"""Mail templates edited in the back-office (issue #7 item 6): only the placeholders of the
mail, nothing else of Jinja; the shipped files as defaults; a publication applies to mails
queued afterwards (delivered over a real SMTP server on loopback), never to a mail already
queued; restoring publishes an old version again; another process sees a publication."""

from __future__ import annotations

import time

import pytest
from jinja2.exceptions import SecurityError, UndefinedError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from extensions import db
from mailer import modeles, outbox, render
from mailer.catalogue import GLOBALES, TEMPLATES, VARIABLES, variables_de
from mailer.jobs import sweep
from models.modeles_courriel import EtatModele, ModeleCourrielVersion
from models.notification import NotificationState
from tests.mailer.conftest import IDENTIFIANT_CONTEXT, fresh
from tests.mailer.test_outbox import make_due
from workflows import modeles_courriel as operations
from workflows.journal import Acteur

ADMIN = Acteur("agent", "claire.martin@asp.localhost")
HOSTILE = "<script>alert(1)</script>"
SUJET = "{{ site_name }} : bienvenue, voici votre identifiant {{ identifiant|upper }}"
CORPS = (
    "Votre compte pour {{ denomination }} (SIRET {{ siret }}) est ouvert.\n"
    "Identifiant : {{ identifiant }}\n\n"
    "Connectez-vous sur {{ site_url }}/connexion."
)


def publier(modele="identifiant", sujet=SUJET, corps=CORPS) -> ModeleCourrielVersion:
    operations.enregistrer_brouillon(modele, sujet, corps, ADMIN)
    return operations.publier_brouillon(modele, ADMIN)


def refus(modele: str, sujet: str, corps: str) -> list[str]:
    with pytest.raises(modeles.ModeleInvalide) as refuse:
        modeles.verifier(modele, sujet, corps)
    return refuse.value.messages


# --- the fixed list of placeholders -----------------------------------------------------------


def test_each_mail_offers_its_context_variables_then_the_globals_each_described_with_a_sample():
    for nom, spec in TEMPLATES.items():
        variables = variables_de(nom)
        assert [v.nom for v in variables] == [*spec.context, *(g.nom for g in GLOBALES)]
        for variable in variables:
            assert variable.description.strip(), variable.nom
            assert variable.exemple is not None, variable.nom
    assert set(modeles.exemple("dap_acceptee")) == set(TEMPLATES["dap_acceptee"].context)


def test_a_placeholder_the_mail_does_not_have_is_refused_with_its_name():
    # "motif" exists, but not in the identifiant mail.
    [message] = refus("identifiant", "Sujet", "Bonjour {{ identifiant }}, motif : {{ motif }}")
    assert "« {{ motif }} » n'est pas une variable de ce courriel" in message
    assert "Texte, ligne 1" in message
    assert "identifiant" in message and "denomination" in message  # the allowed ones are listed
    [message] = refus("identifiant", "Pour {{ inconnue }}", "Texte")
    assert message.startswith("Sujet, ligne 1 : « {{ inconnue }} »")


@pytest.mark.parametrize(
    ("source", "attendu"),
    [
        ("{{ ''.__class__ }}", "« {{ ''.__class__ }} » est refusé (l'accès à un attribut"),
        ("{{ identifiant.__class__.__mro__ }}", "l'accès à un attribut ou à un élément"),
        ("{{ identifiant[0] }}", "l'accès à un attribut ou à un élément"),
        ("{{ range(10) }}", "les appels de fonction ne sont pas autorisés"),
        ("{{ 7 * 7 }}", "seul le nom d'une variable de la liste est autorisé"),
        ("{{ identifiant|safe }}", "le filtre « safe » n'est pas autorisé"),
        ("{{ identifiant|attr('x') }}", "« {{ identifiant|attr('x') }} » est refusé"),
        ("{% for x in siret %}{{ x }}{% endfor %}", "l'instruction « {% for x in siret %} »"),
        ("{% raw %}{{ identifiant }}{% endraw %}", "l'instruction « {% raw %} »"),
        ("{% set identifiant = 1 %}", "l'instruction « {% set identifiant = 1 %} »"),
        ("Bonjour {# note #}", "les commentaires « {# … #} » ne sont pas autorisés"),
    ],
)
def test_anything_but_a_placeholder_is_refused_with_a_french_message_naming_it(source, attendu):
    messages = refus("identifiant", "Sujet", f"Ligne un\n{source}")
    assert any(attendu in message for message in messages), messages
    assert any("ligne 2" in message for message in messages), messages


def test_a_subject_is_one_line_and_neither_part_may_be_empty():
    assert refus("test", "Un\nDeux", "Texte") == ["Le sujet tient sur une seule ligne."]
    assert refus("test", " ", "") == [
        "Le sujet est obligatoire.",
        "Le texte du courriel est obligatoire.",
    ]


def test_the_whitelisted_filters_only_change_the_case():
    modeles.verifier("identifiant", "{{ identifiant|upper }}", "{{ denomination|capitalize }}")
    assert set(modeles.FILTRES) == {"upper", "lower", "capitalize"}


def test_the_sandbox_itself_refuses_what_the_check_would_let_through():
    """Defence in depth: even without the check, the sandbox has no globals, no other filter,
    and refuses the attributes that lead out of a template."""
    texte = modeles._sandbox(False)
    with pytest.raises((SecurityError, UndefinedError)):
        texte.from_string("{{ ''.__class__.__mro__[1].__subclasses__() }}").render()
    with pytest.raises(UndefinedError):
        texte.from_string("{{ range(3) }}").render()
    with pytest.raises(Exception, match="safe"):
        texte.from_string("{{ 'x'|safe }}").render()
    assert modeles._sandbox(True).from_string("{{ v }}").render(v=HOSTILE) == (
        "&lt;script&gt;alert(1)&lt;/script&gt;"
    )


# --- defaults and rendering -------------------------------------------------------------------


def test_every_default_passes_the_check_and_renders_the_shipped_text(app_context):
    """The editor starts from the shipped files converted to placeholders: for every mail the
    conversion can express, the edited form gives the very text of the shipped files."""
    for nom in TEMPLATES:
        sujet, corps = modeles.defaut(nom)
        compile_ = modeles.compiler(nom, sujet, corps)  # raises if the default is refused
        context = modeles.exemple(nom)
        attendu_sujet, attendu_texte, _ = render.render(nom, context)
        rendu_sujet, rendu_texte, rendu_html = modeles.rendre(compile_, context)
        assert rendu_sujet == attendu_sujet, nom
        if nom not in modeles.DEFAUTS:
            assert rendu_texte == attendu_texte, nom
        assert rendu_html.lstrip().startswith("<!DOCTYPE html>"), nom


def test_the_html_part_is_built_from_escaped_text_and_escaped_values(app_context):
    corps = f"Premier paragraphe {HOSTILE}\nsuite.\n\nSecond : {{{{ denomination }}}}."
    compile_ = modeles.compiler("habilitation", "Sujet {{ denomination }}", corps)
    context = {**modeles.exemple("habilitation"), "denomination": HOSTILE}
    sujet, texte, html = modeles.rendre(compile_, context)
    assert sujet == f"Sujet {HOSTILE}"  # a subject is a header, not HTML
    assert HOSTILE in texte  # the plain-text part is not HTML
    assert HOSTILE not in html and "<script" not in html.lower()
    assert (
        '<p style="margin:0 0 16px 0;">Premier paragraphe &lt;script&gt;alert(1)&lt;/script&gt;'
        "<br>\nsuite.</p>"
    ) in html
    assert "Second : &lt;script&gt;alert(1)&lt;/script&gt;.</p>" in html
    assert "Bonjour Mathilde GERARD," in texte and "Bonjour Mathilde GERARD," in html
    assert "Ce message vous est envoyé automatiquement" in html


def test_display_values_dates_numbers_lists_and_links(app_context):
    compile_ = modeles.compiler(
        "dap_invalidee",
        "n° {{ numero_dap }}",
        "À compléter :\n{{ elements_a_completer }}\n\nVoir {{ site_url }}/demandes.",
    )
    context = {**modeles.exemple("dap_invalidee"), "elements_a_completer": ["Motif", HOSTILE]}
    _, texte, html = modeles.rendre(compile_, context)
    assert f"À compléter :\n- Motif\n- {HOSTILE}\n" in texte
    assert '<li style="margin:0 0 4px 0;">&lt;script&gt;alert(1)&lt;/script&gt;</li>' in html
    assert 'Voir <a href="http://127.0.0.1:5000/demandes" style=' in html
    assert ">http://127.0.0.1:5000/demandes</a>.</p>" in html
    _, texte, _ = modeles.rendre(compile_, {**context, "elements_a_completer": []})
    assert "- se reporter au détail de la demande dans votre espace" in texte

    compile_ = modeles.compiler(
        "dap_acceptee", "s", "{{ heures_autorisees }} h du {{ periode_debut }}"
    )
    _, texte, _ = modeles.rendre(compile_, modeles.exemple("dap_acceptee"))
    assert "1\u00a0607 h du 16 mars 2026" in texte


def test_only_the_addresses_of_the_service_become_links_never_one_a_user_typed(app_context):
    compile_ = modeles.compiler(
        "mot_de_passe",
        "s",
        "Choisissez-le : {{ lien }}\nSociété {{ nom|upper }}, voir https://aide.example/faq.",
    )
    context = {**modeles.exemple("mot_de_passe"), "nom": "https://piege.example/\ue001x"}
    _, texte, _, html = modeles._rendre(compile_, context)  # the body's HTML alone
    assert '<a href="http://127.0.0.1:5000/mot-de-passe/jeton-a-usage-unique"' in html
    assert '<a href="https://aide.example/faq" style=' in html  # written by staff
    assert "Société HTTPS://PIEGE.EXAMPLE/X, voir" in html  # typed by a user: text only
    assert 'href="https://piege' not in html.lower()
    assert "\ue000" not in html and "\ue001" not in html
    assert "https://piege.example/\ue001x".upper() in texte.upper()


# --- which version a mail uses ----------------------------------------------------------------


def test_a_published_version_is_used_for_mails_queued_afterwards_and_delivered_over_smtp(
    smtp_app, smtp_server
):
    server = smtp_server()
    app = smtp_app(server.port)
    with app.app_context():
        avant = outbox.notifier("anne.lefevre@exemple.fr", "identifiant", IDENTIFIANT_CONTEXT)
        outbox.commit()
        assert avant.modele_version_id is None  # nothing published: the shipped files

        version = publier()
        assert version.version == 1 and version.etat is EtatModele.PUBLIEE
        apres = outbox.notifier("anne.lefevre@exemple.fr", "identifiant", IDENTIFIANT_CONTEXT)
        outbox.commit()
        assert fresh(apres.id).modele_version_id == version.id
        assert fresh(apres.id).state == NotificationState.SENT
        assert render.subject_of(fresh(apres.id)) == (
            "Activité partielle : bienvenue, voici votre identifiant ALEFEVRE"
        )

    ancien, nouveau = server.messages
    assert ancien["Subject"] == "Activité partielle : votre identifiant de connexion"
    assert nouveau["Subject"] == "Activité partielle : bienvenue, voici votre identifiant ALEFEVRE"
    texte = nouveau.get_body(("plain",)).get_content()
    html = nouveau.get_body(("html",)).get_content()
    assert "Votre compte pour Boulangerie du Canal (SIRET 73282932000074) est ouvert." in texte
    assert "Bonjour Anne-Sophie Lefèvre," in texte
    assert "Connectez-vous sur http://127.0.0.1:5000/connexion." in texte
    assert "Ce message vous est envoyé automatiquement" in texte  # the shipped frame
    assert "Identifiant : alefevre</p>" in html
    assert '<a href="http://127.0.0.1:5000/connexion"' in html


def test_a_mail_queued_before_a_publication_keeps_its_version(smtp_app, smtp_server):
    """Queued while the relay is down, published, then delivered: the mail is the one that
    was announced when it was queued."""
    server = smtp_server(start=False)  # its port is reserved; nobody listens yet
    app = smtp_app(server.port)
    with app.app_context():
        en_file = outbox.notifier("anne.lefevre@exemple.fr", "identifiant", IDENTIFIANT_CONTEXT)
        outbox.commit()
        assert fresh(en_file.id).state == NotificationState.PENDING

        premiere = publier(sujet="Première version {{ identifiant }}")
        en_file_v1 = outbox.notifier("paul@exemple.fr", "identifiant", IDENTIFIANT_CONTEXT)
        outbox.commit()
        publier(sujet="Deuxième version {{ identifiant }}")

        server.start()
        for notification in (en_file, en_file_v1):
            make_due(notification.id)
        assert sweep() == 2
        assert fresh(en_file.id).state == NotificationState.SENT
        assert fresh(en_file_v1.id).modele_version_id == premiere.id

    sujets = {message["To"]: message["Subject"] for message in server.messages}
    assert sujets == {
        "anne.lefevre@exemple.fr": "Activité partielle : votre identifiant de connexion",
        "paul@exemple.fr": "Première version alefevre",
    }


def test_restoring_an_old_version_publishes_it_again_under_a_new_number(outbox_app):
    with outbox_app.app_context():
        un = publier(sujet="Version un {{ identifiant }}")
        deux = publier(sujet="Version deux {{ identifiant }}")
        trois = operations.restaurer_version("identifiant", 1, ADMIN)
        assert (un.version, deux.version, trois.version) == (1, 2, 3)
        assert trois.restauree_de == 1 and trois.sujet == un.sujet and trois.id != un.id
        assert modeles.version_courante("identifiant") == trois.id
        assert [v.version for v in operations.publiees("identifiant")] == [3, 2, 1]
        with pytest.raises(operations.OperationImpossible, match="déjà la version en vigueur"):
            operations.restaurer_version("identifiant", 3, ADMIN)
        with pytest.raises(operations.OperationImpossible, match="n'existe pas"):
            operations.restaurer_version("identifiant", 9, ADMIN)
        notification = outbox.notifier("a@exemple.fr", "identifiant", IDENTIFIANT_CONTEXT)
        outbox.commit()
        assert render.subject_of(fresh(notification.id)) == "Version un alefevre"


def test_a_template_has_at_most_one_draft_and_published_rows_are_never_rewritten(outbox_app):
    with outbox_app.app_context():
        brouillon = operations.enregistrer_brouillon("test", "Essai", "Un", ADMIN)
        encore = operations.enregistrer_brouillon("test", "Essai 2", "Deux", ADMIN)
        assert encore.id == brouillon.id and encore.sujet == "Essai 2"
        db.session.add(
            ModeleCourrielVersion(modele="test", etat=EtatModele.BROUILLON, sujet="x", corps="y")
        )
        with pytest.raises(IntegrityError):
            db.session.commit()  # the partial unique index
        db.session.rollback()

        publiee = operations.publier_brouillon("test", ADMIN)
        assert operations.brouillon("test") is None  # the draft became the published row
        assert publiee.id > brouillon.id  # a new row: the freshness mark moves
        operations.enregistrer_brouillon("test", "Essai 3", "Trois", ADMIN)
        db.session.expire_all()
        assert db.session.get(ModeleCourrielVersion, publiee.id).sujet == "Essai 2"
        operations.abandonner_brouillon("test", ADMIN)
        with pytest.raises(operations.OperationImpossible, match="pas de brouillon"):
            operations.publier_brouillon("test", ADMIN)
        etats = db.session.scalars(
            select(ModeleCourrielVersion.etat).where(ModeleCourrielVersion.modele == "test")
        ).all()
        assert etats == [EtatModele.PUBLIEE]


def test_a_refused_draft_is_not_saved(outbox_app):
    with outbox_app.app_context():
        with pytest.raises(modeles.ModeleInvalide):
            operations.enregistrer_brouillon("test", "Essai", "{{ ''.__class__ }}", ADMIN)
        assert operations.brouillon("test") is None


def test_another_process_serves_a_publication_within_its_refresh_period(make_app, mail_dir):
    """Two apps stand for two processes: each has its own cache of published versions."""
    reglages = {"REDIS_URL": "", "MAIL_SERVER": "", "MAIL_FILE_DIR": str(mail_dir)}
    web = make_app(**reglages, FORMS_REFRESH_SECONDS=0.3)
    worker = make_app(**reglages, FORMS_REFRESH_SECONDS=0.3)
    with worker.app_context():
        assert modeles.version_courante("test") is None  # checked now: nothing published
    with web.app_context():
        version = publier("test", "Nouveau test", "Texte de test.")
        assert modeles.version_courante("test") == version.id  # at once where it was published
    with worker.app_context():
        limite = time.monotonic() + 5
        while modeles.version_courante("test") != version.id:
            assert time.monotonic() < limite, "the other process never saw the publication"
            time.sleep(0.05)


def test_a_version_whose_placeholders_are_refused_is_never_published(outbox_app):
    with outbox_app.app_context():
        # A draft written before a placeholder left the mail (simulated by a direct write).
        db.session.add(
            ModeleCourrielVersion(
                modele="test", etat=EtatModele.BROUILLON, sujet="Essai", corps="{{ motif }}"
            )
        )
        db.session.commit()
        with pytest.raises(modeles.ModeleInvalide, match="motif"):
            operations.publier_brouillon("test", ADMIN)
        assert operations.publiees("test") == []
        assert modeles.version_courante("test") is None


def test_every_variable_of_the_catalogue_has_a_display_kind_the_renderer_knows():
    genres = {"texte", "date", "datetime", "mois", "nombre", "jours", "multiligne", "liste", "lien"}
    assert {v.genre for v in VARIABLES.values()} <= genres | {"comptes"}
