"""The back-office queue « Demandes de création de compte » at 1,000,000 rows on PostgreSQL
(issue #6 item 9; performance.md §1.6 and target P8).

Run (see bench/README.md)::

    createdb -h 127.0.0.1 bench_backoffice
    DATABASE_URL=postgresql://127.0.0.1:5432/bench_backoffice \\
        .venv/bin/python -m bench.backoffice_demandes [--rows 1000000] [--baseline-rows 1000]
        [--runs 15] [--reuse] [--explain] [--no-write]

Each data set lives in its own schema of that database (``bench_1000``, ``bench_1000000``),
built by the real migrations (``flask db upgrade`` with ``search_path`` set to the schema), so
that a re-run with ``--reuse`` measures again without reloading. Loading: the secondary indexes
are dropped, the rows written with ``COPY``, the indexes rebuilt, then ``VACUUM ANALYZE``
(which also sets the visibility map that index-only counts rely on).

Measured: the real pages through Flask's test client (the whole request: session, agent
look-up, queries, Jinja, Flask-Admin) signed in as a real Agent ASP and Agent UD (password and
TOTP), after 2 warm-up requests; the median and the 90th percentile of ``--runs`` requests;
the ratio of the median at ``--rows`` to the median at ``--baseline-rows``; the number of SQL
statements per page and their time (SQLAlchemy cursor events). Nothing else should run on the
machine; the client and the database share its CPUs.

Refuses to run against a database named ``test`` (the CI's).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PHRASE = "cheval correct agrafe batterie"
AGENT_ASP = "bench.asp@asp.localhost"
AGENT_UD = "bench.ud@dreets.localhost"
DEPARTEMENTS_UD = ("13", "75")
GRAINE = 2026

FORMES = ("SARL", "SAS", "SASU", "EURL", "SCI", "SA", "", "", "")
ACTIVITES = (
    "BOULANGERIE", "GARAGE", "RESTAURANT", "HOTEL", "PHARMACIE", "CABINET", "BOUCHERIE",
    "COIFFURE", "LIBRAIRIE", "TRANSPORTS", "MENUISERIE", "PLOMBERIE", "AGENCE", "CAFE",
    "EPICERIE", "FLEURISTE", "IMPRIMERIE", "PATISSERIE", "BRASSERIE", "CONSEIL",
)  # fmt: skip
NOMS = (
    "MARTIN", "BERNARD", "THOMAS", "PETIT", "ROBERT", "RICHARD", "DURAND", "DUBOIS", "MOREAU",
    "LAURENT", "SIMON", "MICHEL", "LEFEBVRE", "LEROY", "ROUX", "DAVID", "BERTRAND", "MOREL",
    "FOURNIER", "GIRARD", "BONNET", "DUPONT", "LAMBERT", "FONTAINE", "ROUSSEAU", "VINCENT",
    "MULLER", "LEFEVRE", "FAURE", "ANDRE", "MERCIER", "BLANC", "GUERIN", "BOYER", "GARNIER",
    "CHEVALIER", "FRANCOIS", "LEGRAND", "GAUTHIER", "GARCIA", "PERRIN", "ROBIN", "CLEMENT",
    "MORIN", "NICOLAS", "HENRY", "ROUSSEL", "MATHIEU", "GAUTIER", "MASSON",
)  # fmt: skip
PRENOMS = ("marie", "jean", "nathalie", "pierre", "sophie", "michel", "isabelle", "alain")
DOMAINES = ("orange.fr", "gmail.com", "free.fr", "exemple.fr", "laposte.net", "sfr.fr")
RECHERCHE_MOTS = "plomberie legrand"  # 2 words: about 1 request in 1,000 has both
MOTIF = "L'établissement est fermé selon le répertoire SIRENE."
COLONNES = (
    "id", "siret", "departement", "state", "form_id", "form_version", "data", "reponse_hash",
    "motif_rejet", "validation_auto", "decided_at", "decided_by", "created_at", "denomination",
    "courriel", "assigned_to_id", "assigned_at",
)  # fmt: skip


# --- the data -----------------------------------------------------------------------------------


def departements_ponderes() -> tuple[list[str], list[float]]:
    """Every département, weighted like a population: a few big ones, a long tail."""
    from backoffice.vues.demandes import DEPARTEMENTS

    codes = list(DEPARTEMENTS)
    random.Random(GRAINE).shuffle(codes)
    grands = ["75", "13", "69", "59", "92", "93", "33", "44", "31", "94"]
    codes = grands + [c for c in codes if c not in grands]
    return codes, [1 / (rang + 1) ** 0.8 for rang in range(len(codes))]


def code_postal(departement: str) -> str:
    return {"2A": "20000", "2B": "20200"}.get(departement) or (departement + "000")[:5]


def lignes(n: int, maintenant: datetime, asp_id: int):
    """``n`` account requests, in filing order over 180 days: 25 % pending (2 % of them taken
    by the ASP agent), 60 % validated, 15 % rejected. Deterministic."""
    hasard = random.Random(GRAINE)
    codes, poids = departements_ponderes()
    departements = hasard.choices(codes, poids, k=n)
    debut = maintenant - timedelta(days=180)
    pas = timedelta(days=180) / n
    for i in range(n):
        departement = departements[i]
        siret = f"{(i + 1) * 7_919_077 % 10**14:014d}"  # a bijection: unique, spread out
        nom, prenom = hasard.choice(NOMS), hasard.choice(PRENOMS)
        denomination = " ".join(
            p for p in (hasard.choice(FORMES), hasard.choice(ACTIVITES), hasard.choice(NOMS)) if p
        )
        courriel = f"{prenom}.{nom.lower()}{i}@{hasard.choice(DOMAINES)}"
        cree = debut + pas * i
        tirage = hasard.random()
        state = "a_traiter" if tirage < 0.25 else "validee" if tirage < 0.85 else "rejetee"
        decide = None if state == "a_traiter" else cree + timedelta(hours=hasard.uniform(1, 72))
        pris = state == "a_traiter" and hasard.random() < 0.02
        data = {
            "etablissement": {
                "denomination": denomination,
                "siret": siret,
                "numero_voie": str(hasard.randint(1, 120)),
                "type_voie": "RUE",
                "libelle_voie": "DE LA REPUBLIQUE",
                "code_postal": code_postal(departement),
                "ville": "VILLE " + departement,
                "courriel": courriel,
                "telephone": "+33240000000",
            },
            "utilisateur": {
                "nom": nom.capitalize(),
                "prenom": prenom.capitalize(),
                "telephone": "+33612345678",
                "courriel": courriel,
                "question_secrete": "Dans quelle ville êtes-vous né(e) ?",
            },
        }
        yield (
            i + 1,
            siret,
            departement,
            state,
            "demande-creation-compte",
            2,
            json.dumps(data, ensure_ascii=False),
            "bench",
            MOTIF if state == "rejetee" else None,
            False,
            decide,
            None if decide is None else "agent.asp@asp.localhost",
            cree,
            denomination,
            courriel,
            asp_id if pris else None,
            cree + timedelta(hours=1) if pris else None,
        )


def charger(n: int, schema: str, asp_id: int) -> float:
    """Replace the requests of ``schema`` by ``n`` generated ones; seconds taken."""
    from sqlalchemy import text

    from extensions import db

    debut = time.perf_counter()
    with db.engine.begin() as connexion:
        connexion.execute(text("TRUNCATE demande_compte RESTART IDENTITY CASCADE"))
        index = connexion.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = :s"
                " AND tablename = 'demande_compte' AND indexname <> 'pk_demande_compte'"
            ),
            {"s": schema},
        ).all()
        for nom, _ in index:
            connexion.execute(text(f'DROP INDEX "{schema}"."{nom}"'))
    brute = db.engine.raw_connection()
    try:
        curseur = brute.cursor()
        maintenant = datetime.now(UTC)
        with curseur.copy(f"COPY demande_compte ({', '.join(COLONNES)}) FROM STDIN") as copie:
            for ligne in lignes(n, maintenant, asp_id):
                copie.write_row(ligne)
        brute.commit()
    finally:
        brute.close()
    with db.engine.begin() as connexion:
        connexion.execute(text("SET maintenance_work_mem = '512MB'"))
        for _, definition in index:
            connexion.execute(text(definition))
        connexion.execute(
            text("SELECT setval(pg_get_serial_sequence('demande_compte', 'id'), :n)"), {"n": n}
        )
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connexion:
        connexion.execute(text("VACUUM ANALYZE demande_compte"))
    return time.perf_counter() - debut


# --- the app, the agents, the measure ------------------------------------------------------------


def application(url: str, schema: str):
    from app import create_app

    return create_app(
        {
            "SECRET_KEY": "bench-backoffice-demandes",
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": {
                "pool_pre_ping": True,
                "connect_args": {"options": f"-csearch_path={schema},public"},
            },
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "MAIL_SUPPRESS_SEND": True,
            "REDIS_URL": "",
            "SESSION_COOKIE_SECURE": False,
        }
    )


def preparer_agents() -> dict[str, str]:
    """The bench's ASP and UD agents (created once), each with a fresh TOTP secret, enrolled;
    returns ``{email: secret}``."""
    from backoffice import agents, totp
    from extensions import db
    from models.types import utcnow
    from workflows.journal import Acteur

    secrets_ = {}
    for email, role, departements in (
        (AGENT_ASP, "asp", ()),
        (AGENT_UD, "ud", DEPARTEMENTS_UD),
    ):
        agent = agents.par_email(email)
        if agent is None:
            cree = agents.creer_agent(
                email, role, PHRASE, acteur=Acteur("systeme", "bench"), departements=departements
            )
            agent = cree.agent
        secret = totp.nouveau_secret()
        agent.totp_secret_chiffre = totp.chiffrer(secret)
        agent.totp_enrolled_at = utcnow()
        agent.totp_dernier_pas = None
        db.session.commit()
        secrets_[email] = secret
    return secrets_


def connecter(app, email: str, secret: str):
    import pyotp

    client = app.test_client()
    reponse = client.post("/backoffice/connexion", data={"email": email, "mot_de_passe": PHRASE})
    assert reponse.status_code == 303, reponse.get_data(as_text=True)[:500]
    reponse = client.post("/backoffice/connexion/code", data={"code": pyotp.TOTP(secret).now()})
    assert reponse.status_code == 303, reponse.get_data(as_text=True)[:500]
    return client


class Chrono:
    """SQL statements and their time, from SQLAlchemy's cursor events."""

    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.nombre = 0
        self.duree = 0.0
        self.requetes: list[tuple[float, str, object]] = []
        self.garder = False
        event.listen(engine, "before_cursor_execute", self.avant)
        event.listen(engine, "after_cursor_execute", self.apres)

    def avant(self, conn, cursor, statement, parameters, context, executemany) -> None:
        conn.info["bench_debut"] = time.perf_counter()

    def apres(self, conn, cursor, statement, parameters, context, executemany) -> None:
        duree = time.perf_counter() - conn.info.pop("bench_debut")
        self.nombre += 1
        self.duree += duree
        if self.garder:
            self.requetes.append((duree, statement, parameters))

    def remettre(self) -> None:
        self.nombre, self.duree, self.requetes = 0, 0.0, []


def scenarios(n: int, siret_cherche: str, demande_id: int) -> list[tuple[str, str, str, str]]:
    """(key, label, agent, URL): the pages an agent opens all day."""
    b = "/backoffice/demandes/"
    fin = datetime.now(UTC).date()
    semaine = f"{fin - timedelta(days=37)}+to+{fin - timedelta(days=30)}"
    return [
        ("premiere_page", "1re page « À traiter », plus anciennes d'abord", AGENT_ASP, b),
        ("tri_recentes", "Triée par âge, plus récentes d'abord", AGENT_ASP, b + "?sort=0&desc=1"),
        ("onglet_toutes", "Onglet « Toutes »", AGENT_ASP, b + "?etat=toutes"),
        (
            "filtre_etat_dept",
            "Filtrée : état « Validée » + département 13",
            AGENT_ASP,
            b + "?flt0_etat=validee&flt1_departement=13",
        ),
        (
            "filtre_date",
            "Filtrée : déposées pendant une semaine (toutes)",
            AGENT_ASP,
            b + f"?etat=toutes&flt0_depot_entre={semaine}",
        ),
        (
            "recherche_siret",
            "Recherche d'un SIRET (toutes)",
            AGENT_ASP,
            b + f"?etat=toutes&search={siret_cherche}",
        ),
        (
            "recherche_mots",
            f"Recherche « {RECHERCHE_MOTS} » (toutes)",
            AGENT_ASP,
            b + "?etat=toutes&search=" + RECHERCHE_MOTS.replace(" ", "+"),
        ),
        ("page_100", "Page 100 « À traiter »", AGENT_ASP, b + "?page=99"),
        ("agent_ud", "1re page d'un Agent UD (13, 75)", AGENT_UD, b),
        ("detail", "Détail d'une demande", AGENT_ASP, b + f"details/?id={demande_id}"),
        ("tableau_de_bord", "Tableau de bord (tuiles comptées)", AGENT_ASP, "/backoffice/"),
    ]


@dataclass
class Jeu:
    """One data set, migrated and loaded, with its app, signed-in clients and SQL chrono."""

    n: int
    schema: str
    app: object
    clients: dict
    chrono: Chrono
    siret: str
    demande_id: int
    chargement_s: float | None

    def scenarios(self) -> list[tuple[str, str, str, str]]:
        return scenarios(self.n, self.siret, self.demande_id)


def preparer_jeu(url: str, n: int, reutiliser: bool) -> Jeu:
    from flask_migrate import upgrade
    from sqlalchemy import create_engine, func, select, text

    schema = f"bench_{n}"
    administration = create_engine(url)
    with administration.begin() as connexion:
        connexion.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
        connexion.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    administration.dispose()

    app = application(url, schema)
    with app.app_context():
        from backoffice import agents
        from extensions import db
        from models.comptes import DemandeCompte

        upgrade()
        preparer_agents()  # before the rows, some of which the ASP agent has taken
        asp_id = agents.par_email(AGENT_ASP).id
        present = db.session.scalar(select(func.count()).select_from(DemandeCompte))
        db.session.commit()
        chargement = None
        if not (reutiliser and present == n):
            print(f"  chargement de {n:,} demandes dans le schéma {schema}…", flush=True)
            chargement = charger(n, schema, asp_id)
            print(f"  chargées en {chargement:.1f} s", flush=True)
        secrets_ = preparer_agents()
        milieu = db.session.get(DemandeCompte, n // 2 + 1)
        siret, demande_id = milieu.siret, milieu.id
        chrono = Chrono(db.engine)
    clients = {email: connecter(app, email, secret) for email, secret in secrets_.items()}
    return Jeu(n, schema, app, clients, chrono, siret, demande_id, chargement)


def une_requete(jeu: Jeu, email: str, url: str) -> tuple[float, int, float]:
    """(ms, SQL statements, SQL ms) of one GET, the body read."""
    jeu.chrono.remettre()
    debut = time.perf_counter()
    reponse = jeu.clients[email].get(url)
    reponse.get_data()
    duree = (time.perf_counter() - debut) * 1000
    assert reponse.status_code == 200, (url, reponse.status_code)
    return duree, jeu.chrono.nombre, jeu.chrono.duree * 1000


def plans(jeu: Jeu, email: str, url: str) -> list[dict]:
    """EXPLAIN (ANALYZE, BUFFERS) of the two slowest SELECTs of one request."""
    from extensions import db

    jeu.chrono.remettre()
    jeu.chrono.garder = True
    jeu.clients[email].get(url).get_data()
    jeu.chrono.garder = False
    plus_lentes = sorted(jeu.chrono.requetes, key=lambda r: r[0], reverse=True)[:2]
    resultat = []
    with jeu.app.app_context(), db.engine.connect() as connexion:
        for _, statement, parametres in plus_lentes:
            if statement.lstrip().upper().startswith("SELECT"):
                plan = connexion.exec_driver_sql(
                    "EXPLAIN (ANALYZE, BUFFERS) " + statement, parametres
                ).all()
                resultat.append({"sql": statement, "plan": [ligne[0] for ligne in plan]})
    return resultat


def mesurer(jeux: list[Jeu], runs: int, expliquer: bool) -> dict[int, dict]:
    """Every scenario on every data set, the runs interleaved (base, large, base, large…) so
    that the noise of a shared machine falls on both alike."""
    resultats: dict[int, dict] = {jeu.n: {} for jeu in jeux}
    listes = [jeu.scenarios() for jeu in jeux]
    for rang, (cle, libelle, email, _) in enumerate(listes[0]):
        urls = [liste[rang][3] for liste in listes]
        comptes = []
        for jeu, url in zip(jeux, urls, strict=True):
            for _ in range(2):
                reponse = jeu.clients[email].get(url)
                assert reponse.status_code == 200, (url, reponse.status_code)
            page = reponse.get_data(as_text=True)
            if "details" not in url and url != "/backoffice/":
                assert "Liste (" in page, (url, page[:300])
            compte = re.search(r"Liste \(([^)]*)\)", page)
            comptes.append(compte.group(1).replace("\u202f", " ") if compte else None)
        mesures: list[list[tuple[float, int, float]]] = [[] for _ in jeux]
        for _ in range(runs):
            for i, (jeu, url) in enumerate(zip(jeux, urls, strict=True)):
                mesures[i].append(une_requete(jeu, email, url))
        for i, jeu in enumerate(jeux):
            durees = sorted(m[0] for m in mesures[i])
            resultats[jeu.n][cle] = {
                "libelle": libelle,
                "url": urls[i],
                "compte_affiche": comptes[i],
                "mediane_ms": statistics.median(durees),
                "p90_ms": durees[max(0, round(0.9 * len(durees)) - 1)],
                "min_ms": durees[0],
                "requetes_sql": statistics.median(m[1] for m in mesures[i]),
                "sql_ms": statistics.median(m[2] for m in mesures[i]),
            }
            if expliquer and jeu is jeux[-1]:
                resultats[jeu.n][cle]["plans"] = plans(jeu, email, urls[i])
    return resultats


def taille_table(jeu: Jeu) -> str:
    from sqlalchemy import text

    from extensions import db

    with jeu.app.app_context(), db.engine.connect() as connexion:
        return connexion.execute(
            text("SELECT pg_size_pretty(pg_total_relation_size('demande_compte'))")
        ).scalar()


def mesurer_exports(jeu: Jeu) -> dict:
    """One CSV and one XLSX export of the « Toutes » tab (capped per format): seconds and
    size; then the same again under ``tracemalloc`` for the peak of Python allocations."""
    import tracemalloc

    from backoffice.vues.demandes import VueDemandes

    client = jeu.clients[AGENT_ASP]
    resultats = {}
    for format_ in ("csv", "xlsx"):
        url = f"/backoffice/demandes/export/{format_}/?etat=toutes"
        debut = time.perf_counter()
        reponse = client.get(url)
        contenu = reponse.get_data()
        duree = time.perf_counter() - debut
        assert reponse.status_code == 200
        tracemalloc.start()
        client.get(url).get_data()
        _, pic = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        resultats[format_] = {
            "secondes": duree,
            "octets": len(contenu),
            "lignes_max": VueDemandes.limite_export(VueDemandes, format_),
            "pic_python_mo": pic / 2**20,
        }
    return resultats


def versions() -> dict[str, str]:
    from importlib.metadata import version

    return {p: version(p) for p in ("Flask", "Flask-Admin", "SQLAlchemy", "psycopg")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--reuse", action="store_true", help="keep a data set already loaded")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the slowest SQL")
    parser.add_argument("--no-write", action="store_true", help="no bench/results/*.json")
    parser.add_argument(
        "--exports", action="store_true", help="also time one CSV and one XLSX export"
    )
    args = parser.parse_args(argv)

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        parser.error("DATABASE_URL must name a PostgreSQL database (see bench/README.md)")
    if urlsplit(url).path.strip("/") == "test":
        parser.error("refusing the 'test' database: create bench_backoffice (bench/README.md)")
    import settings

    url = settings.database_uri(url, str(ROOT / "instance"))

    print(f"Base : {urlsplit(url).path.strip('/')} ; {args.runs} mesures par page.", flush=True)
    jeux = [
        preparer_jeu(url, args.baseline_rows, args.reuse),
        preparer_jeu(url, args.rows, args.reuse),
    ]
    resultats = mesurer(jeux, args.runs, args.explain)
    base, grand = (
        {
            "lignes": jeu.n,
            "schema": jeu.schema,
            "chargement_s": jeu.chargement_s,
            "taille_table": taille_table(jeu),
            "scenarios": resultats[jeu.n],
        }
        for jeu in jeux
    )
    if args.exports:
        grand["exports"] = mesurer_exports(jeux[-1])

    b, g = f"{args.baseline_rows:,}".replace(",", " "), f"{args.rows:,}".replace(",", " ")
    print()
    print(
        f"| page | {b} : médiane | {g} : médiane | {g} : p90 | ratio | compte affiché "
        f"| requêtes SQL | temps SQL {b} → {g} |"
    )
    print("|---|---:|---:|---:|---:|---|---:|---:|")
    for cle, mesure in grand["scenarios"].items():
        reference = base["scenarios"][cle]
        print(
            f"| {mesure['libelle']} | {reference['mediane_ms']:.1f} ms | "
            f"{mesure['mediane_ms']:.1f} ms | {mesure['p90_ms']:.1f} ms | "
            f"{mesure['mediane_ms'] / reference['mediane_ms']:.2f}× | "
            f"{mesure['compte_affiche'] or '—'} | {mesure['requetes_sql']:.0f} | "
            f"{reference['sql_ms']:.1f} → {mesure['sql_ms']:.1f} ms |"
        )
    print(f"\nTaille de demande_compte (table + index) : {grand['taille_table']}.")
    for format_, mesure in grand.get("exports", {}).items():
        lignes_max = f"{mesure['lignes_max']:,}".replace(",", " ")
        print(
            f"Export {format_.upper()} de l'onglet « Toutes » ({lignes_max} lignes au plus) : "
            f"{mesure['secondes']:.1f} s ; {mesure['octets'] / 1e6:.1f} Mo ; "
            f"pic des allocations Python {mesure['pic_python_mo']:.0f} Mo"
        )
    if args.explain:
        for cle, mesure in grand["scenarios"].items():
            for plan in mesure.get("plans", []):
                print(f"\n--- {cle} ---\n{plan['sql']}\n" + "\n".join(plan["plan"]))

    if not args.no_write:
        dossier = ROOT / "bench" / "results"
        dossier.mkdir(exist_ok=True)
        chemin = dossier / f"backoffice_demandes-{time.strftime('%Y-%m-%dT%H%M%S')}.json"
        chemin.write_text(
            json.dumps(
                {
                    "machine": {
                        "cpus": os.cpu_count(),
                        "processeur": platform.processor() or platform.machine(),
                        "python": platform.python_version(),
                        "paquets": versions(),
                    },
                    "runs": args.runs,
                    "base": base,
                    "grand": grand,
                },
                ensure_ascii=False,
                indent=2,
                default=str,
            ),
            encoding="utf-8",
        )
        print(f"Résultats : {chemin.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
