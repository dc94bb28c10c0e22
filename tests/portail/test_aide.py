"""« BESOIN D'AIDE ? »: the documentation base (/aide), its search and its articles."""

import os
import re
from html import unescape
from pathlib import Path

import pytest

from portail import aide_index, aide_recherche

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "aide"


def html_of(response) -> str:
    return unescape(response.get_data(as_text=True))


def article(title="Titre", body="## Partie\n\nTexte.", category="Rubrique", **extra) -> str:
    lines = ["---", f"title: {title}", "summary: Résumé.", f"category: {category}"]
    lines += [f"{key}: {value}" for key, value in extra.items()]
    return "\n".join([*lines, "---", body, ""])


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "aide"
    path.mkdir()
    return path


def shipped_articles() -> list[aide_index.Article]:
    return list(aide_index.load(SHIPPED).articles.values())


# -- the shipped base -----------------------------------------------------------------------------


def test_the_shipped_base_has_between_10_and_14_articles_that_all_load():
    articles = shipped_articles()
    assert 10 <= len(articles) <= 14
    assert all(a.title and a.summary and a.category and a.segments for a in articles)


def test_the_index_lists_every_article_under_its_rubrique(client):
    response = client.get("/aide")
    assert response.status_code == 200
    html = html_of(response)
    assert "<h1>Base documentaire</h1>" in html
    for entry in shipped_articles():
        assert f'href="/aide/{entry.slug}">{entry.title}</a>' in html
        assert f">{entry.category}</h2>" in html


def test_every_article_page_renders_with_a_breadcrumb_back_to_the_base(client):
    for entry in shipped_articles():
        response = client.get(f"/aide/{entry.slug}")
        assert response.status_code == 200, entry.slug
        html = html_of(response)
        assert f'<h1 id="article-titre">{entry.title}</h1>' in html
        assert f"<title>{entry.title} - Base documentaire - " in html
        assert re.search(r'class="fr-breadcrumb__link" href="/aide">Base documentaire</a>', html)
        assert re.search(rf'aria-current="page">{re.escape(entry.title)}</a>', html)


def test_an_article_renders_its_markdown_headings_and_lists(client):
    html = html_of(client.get("/aide/creer-mon-espace"))
    assert '<h2 id="avant-de-commencer">Avant de commencer</h2>' in html
    assert "<ol>\n<li>Sur la page de connexion" in html
    assert "<strong>pour chaque établissement</strong>" in html
    # a nested list stays nested: the audio code is an item of the security-check step
    assert re.search(r"valables 10 minutes\.<ul>\s*<li>Le lien « Écouter le code »", html)
    assert '<a href="ajouter-ou-retirer-un-utilisateur">' in html


def test_the_article_side_menu_lists_its_rubrique_with_the_current_page_marked(client):
    html = html_of(client.get("/aide/mot-de-passe-oublie"))
    assert '<div class="fr-sidemenu__title" id="rubrique-titre">Se connecter</div>' in html
    assert re.search(r'href="/aide/mot-de-passe-oublie" aria-current="page">', html)
    assert 'href="/aide/identifiant-oublie">J\'ai oublié mon identifiant</a>' in html


@pytest.mark.parametrize(
    "path",
    [
        "/aide/inconnu",
        "/aide/README",  # a file of the folder that is not an article
        "/aide/..%2F..%2Fapp.py",
        "/aide/..%2Fsettings",
        "/aide/%2e%2e",
        "/aide/Creer-Mon-Espace",
        "/aide/creer-mon-espace.md",
    ],
)
def test_an_unknown_slug_or_a_path_traversal_is_not_found(client, path):
    assert client.get(path).status_code == 404


def test_a_markdown_file_next_to_the_folder_cannot_be_reached(make_app, folder):
    (folder / "guide.md").write_text(article("Guide"), encoding="utf-8")
    (folder.parent / "secret.md").write_text(article("Secret"), encoding="utf-8")
    client = make_app(AIDE_DIR=str(folder)).test_client()
    assert client.get("/aide/guide").status_code == 200
    assert client.get("/aide/..%2Fsecret").status_code == 404
    assert "Secret" not in html_of(client.get("/aide"))


# -- search ---------------------------------------------------------------------------------------


def result_links(html: str) -> list[str]:
    section = html[html.index('id="resultats-titre"') :]
    return re.findall(r'<h3 class="fr-h6 fr-mb-1v"><a href="/aide/([a-z0-9-]+)">', section)


def test_search_ignores_accents_and_case_and_highlights_the_words_as_written(client):
    html = html_of(client.get("/aide", query_string={"q": "IDENTIFIANT OUBLIE"}))
    assert result_links(html)[0] == "identifiant-oublie"
    assert "J'ai <mark>oublié</mark> mon <mark>identifiant</mark></a>" in html
    assert re.search(r"\d+ résultats? pour « IDENTIFIANT OUBLIE »", html)


def test_search_finds_the_forgotten_password_article_first(client):
    html = html_of(client.get("/aide", query_string={"q": "mot de passe oublie"}))
    assert result_links(html)[0] == "mot-de-passe-oublie"
    assert "<mark>Mot</mark> de <mark>passe</mark> <mark>oublié</mark>" in html


def test_a_plural_finds_the_singular():
    results = aide_index.load(SHIPPED).search("utilisateurs")
    assert results.hits[0].article.slug == "ajouter-ou-retirer-un-utilisateur"


def test_a_word_in_the_title_or_keywords_ranks_above_the_same_word_in_the_body(make_app, folder):
    many = "La validation arrive. " * 5
    (folder / "corps.md").write_text(
        article("Premier article", f"## Partie\n\n{many}", order=1), encoding="utf-8"
    )
    (folder / "titre.md").write_text(
        article("Validation du compte", "## Partie\n\nTexte sans le mot.", order=2),
        encoding="utf-8",
    )
    (folder / "motcle.md").write_text(
        article("Troisième", "## Partie\n\nRien.", order=3, keywords="validation, délai"),
        encoding="utf-8",
    )
    html = html_of(make_app(AIDE_DIR=str(folder)).test_client().get("/aide?q=validation"))
    assert result_links(html) == ["titre", "motcle", "corps"]


def test_an_excerpt_shows_the_body_words_around_the_match(client):
    html = html_of(client.get("/aide", query_string={"q": "Firefox"}))
    assert result_links(html) == ["navigateur-conseille"]
    assert re.search(r"<p class=\"fr-text--sm fr-mb-0\">[^<]*Mozilla <mark>Firefox</mark>", html)


def test_no_result_gives_a_french_message_with_suggestions_and_the_rubriques(client):
    html = html_of(client.get("/aide", query_string={"q": "zythogramme"}))
    assert "Aucun résultat pour « zythogramme »" in html
    assert "vérifiez l'orthographe des mots saisis" in html
    assert "« SIRET », « mot de passe » ou « indemnisation »" in html
    assert 'href="/aide/assistance">envoyez une demande d\'assistance</a>' in html
    assert '<h2 id="rubrique-1">' in html  # the rubriques stay offered


def test_when_no_article_holds_every_word_the_partial_matches_are_offered(client):
    html = html_of(client.get("/aide", query_string={"q": "SIRET zythogramme"}))
    assert "Aucun article ne contient tous les mots « SIRET zythogramme »" in html
    assert "creer-mon-espace" in result_links(html)


def test_the_query_is_shown_escaped(client):
    response = client.get("/aide", query_string={"q": "<script>alert(1)</script>"})
    raw = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw


def test_an_empty_query_shows_the_rubriques_without_a_result_section(client):
    html = html_of(client.get("/aide", query_string={"q": "   "}))
    assert 'id="resultats-titre"' not in html
    assert 'value=""' in html


def test_folding_and_highlighting():
    assert aide_recherche.fold("Œuvre Créée À l'ÉTÉ") == "oeuvre creee a l'ete"
    assert aide_recherche.terms_of("Je ne trouve pas mon mot de passe") == (
        "trouve",
        "mot",
        "passe",
    )
    marked = aide_recherche.highlight("Un <b>mot</b> oublié", ("oublie", "mot"))
    assert str(marked) == "Un &lt;b&gt;<mark>mot</mark>&lt;/b&gt; <mark>oublié</mark>"
    # short words match whole words only: "di" does not find "dirigeant"
    assert "<mark>" not in str(aide_recherche.highlight("Le dirigeant", ("di",)))


# -- safe rendering and loading ---------------------------------------------------------------


def test_raw_html_in_a_markdown_file_is_shown_as_text_not_interpreted(make_app, folder):
    body = (
        '## Partie\n\n<script>alert(1)</script>\n\n<div onclick="vol()">bloc</div>\n\n'
        'Texte <b>gras</b> <img src=x onerror="alert(2)"> '
        "[piège](javascript:alert(3)) [ailleurs](https://exemple.fr/page)\n"
    )
    (folder / "piege.md").write_text(article("Piège", body), encoding="utf-8")
    raw = make_app(AIDE_DIR=str(folder)).test_client().get("/aide/piege").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    assert "<div onclick" not in raw and "&lt;div onclick=" in raw
    assert "<b>gras</b>" not in raw and "&lt;b&gt;gras&lt;/b&gt;" in raw
    assert "<img" not in raw
    assert "javascript:" not in raw
    assert "<a>piège</a>" in raw  # the link keeps its text, not its address
    assert '<a href="https://exemple.fr/page">ailleurs</a>' in raw


@pytest.mark.parametrize(
    "text, reason",
    [
        ("pas d'en-tête\n", "doit commencer par un en-tête"),
        ("---\ntitle: T\nsummary: S\ncategory: C\n", "en-tête non terminé"),
        ("---\ntitle: T\ncategory: C\n---\nTexte\n", "« summary » est obligatoire"),
        ("---\ntitle: T\nsummary: S\ncategory: C\nauteur: X\n---\nTexte\n", "clé d'en-tête"),
        ("---\ntitle: T\nsummary: S\ncategory: C\norder: deux\n---\nTexte\n", "nombre entier"),
        ("---\ntitle: T\nsummary: S\ncategory: C\n---\n\n", "l'article est vide"),
        ("---\ntitle: T\nsummary: S\ncategory: C\n---\n# Titre\n", "pas de titre de niveau 1"),
        (article(body="Voir [ailleurs](article-absent)."), "article inexistant « article-absent »"),
    ],
)
def test_a_broken_article_stops_the_start_naming_its_file(make_app, folder, text, reason):
    (folder / "casse.md").write_text(text, encoding="utf-8")
    with pytest.raises(aide_index.AideError) as refused:
        make_app(AIDE_DIR=str(folder))
    assert "casse.md" in str(refused.value)
    assert reason in str(refused.value)


def test_an_article_named_like_a_page_of_the_base_is_ignored(folder):
    (folder / "assistance.md").write_text(article("Détournement"), encoding="utf-8")
    (folder / "guide.md").write_text(article("Guide", "Voir [le formulaire](assistance)."))
    assert list(aide_index.load(folder).articles) == ["guide"]


def test_rubriques_follow_the_smallest_order_of_their_articles(folder):
    (folder / "b.md").write_text(article("B", category="Deuxième", order=5), encoding="utf-8")
    (folder / "a.md").write_text(article("A", category="Première", order=1), encoding="utf-8")
    (folder / "c.md").write_text(article("C", category="Deuxième", order=9), encoding="utf-8")
    base = aide_index.load(folder)
    assert [r.title for r in base.rubriques] == ["Première", "Deuxième"]
    assert [a.slug for a in base.rubriques[1].articles] == ["b", "c"]


def test_articles_are_cached_and_reloaded_on_change_in_debug_mode_only(make_app, folder):
    path = folder / "guide.md"
    path.write_text(article("Ancien titre"), encoding="utf-8")
    app = make_app(AIDE_DIR=str(folder))
    client = app.test_client()
    assert "Ancien titre" in html_of(client.get("/aide"))

    path.write_text(article("Nouveau titre"), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert "Ancien titre" in html_of(client.get("/aide")), "loaded once outside debug mode"

    app.debug = True
    assert "Nouveau titre" in html_of(client.get("/aide"))
    (folder / "autre.md").write_text(article("Article ajouté"), encoding="utf-8")
    assert client.get("/aide/autre").status_code == 200


# -- the ways in ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/connexion", "/support", "/aide/creer-mon-espace"])
def test_the_header_help_link_leads_to_the_documentation_base(client, path):
    html = html_of(client.get(path))
    assert '<a class="fr-btn fr-icon-question-line" href="/aide">Besoin d\'aide ?</a>' in html


@pytest.mark.parametrize("path", ["/", "/connexion"])
def test_the_help_block_offers_the_base_and_the_support_request(client, path):
    html = html_of(client.get(path))
    block = html[html.index("Besoin d'aide ?</h2>") :]
    assert 'href="/aide">Consulter la base documentaire</a>' in block
    assert 'href="/aide/assistance">Envoyer une demande d\'assistance</a>' in block
    assert (
        'href="/aide/difficultes-de-connexion">Fiche pratique : difficultés de connexion</a>'
        in block
    )


def test_the_support_page_links_to_the_base_and_to_the_support_request(client):
    html = html_of(client.get("/support"))
    assert '<a href="/aide">Consulter la base documentaire</a>' in html
    assert '<a href="/aide/assistance">Envoyer une demande d\'assistance</a>' in html


def test_every_link_between_articles_and_to_the_site_leads_to_a_page(client):
    for entry in shipped_articles():
        html = client.get(f"/aide/{entry.slug}").get_data(as_text=True)
        body = html[html.index('<article class="app-aide-article"') : html.index("</article>")]
        for href in re.findall(r'<a href="([^"#]+)', body):
            if href.startswith(("http:", "https:", "mailto:", "tel:")):
                continue
            target = href if href.startswith("/") else f"/aide/{href}"
            assert client.get(target).status_code == 200, (entry.slug, href)
