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


def mesurer(app, n: int, runs: int, expliquer: bool) -> dict:
    from sqlalchemy import select, text

    from extensions import db
    from models.comptes import DemandeCompte

    with app.app_context():
        secrets_ = preparer_agents()
        clients = {email: connecter(app, email, secret) for email, secret in secrets_.items()}
        milieu = db.session.scalar(select(DemandeCompte).where(DemandeCompte.id == n // 2 + 1))
        siret_cherche, demande_id = milieu.siret, milieu.id
        chrono = Chrono(db.engine)
    resultats = {}
    for cle, libelle, email, url in scenarios(n, siret_cherche, demande_id):
        client = clients[email]
        for _ in range(2):
            reponse = client.get(url)
            assert reponse.status_code == 200, (url, reponse.status_code)
        page = reponse.get_data(as_text=True)
        if "details" not in url and url != "/backoffice/":
            assert "Liste (" in page, (url, page[:300])
        compte = re.search(r"Liste \(([^)]*)\)", page)
        durees, sql_n, sql_ms = [], [], []
        for _ in range(runs):
            chrono.remettre()
            debut = time.perf_counter()
            reponse = client.get(url)
            reponse.get_data()
            durees.append((time.perf_counter() - debut) * 1000)
            assert reponse.status_code == 200
            sql_n.append(chrono.nombre)
            sql_ms.append(chrono.duree * 1000)
        durees.sort()
        resultat = {
            "libelle": libelle,
            "url": url,
            "compte_affiche": compte.group(1) if compte else None,
            "mediane_ms": statistics.median(durees),
            "p90_ms": durees[max(0, round(0.9 * len(durees)) - 1)],
            "min_ms": durees[0],
            "requetes_sql": statistics.median(sql_n),
            "sql_ms": statistics.median(sql_ms),
        }
        if expliquer:
            chrono.remettre()
            chrono.garder = True
            client.get(url).get_data()
            chrono.garder = False
            plus_lentes = sorted(chrono.requetes, key=lambda r: r[0], reverse=True)[:2]
            plans = []
            with app.app_context(), db.engine.connect() as connexion:
                for _, statement, parametres in plus_lentes:
                    if not statement.lstrip().upper().startswith("SELECT"):
                        continue
                    plan = connexion.exec_driver_sql(
                        "EXPLAIN (ANALYZE, BUFFERS) " + statement, parametres
                    ).all()
                    plans.append({"sql": statement, "plan": [ligne[0] for ligne in plan]})
            resultat["plans"] = plans
        resultats[cle] = resultat
    with app.app_context(), db.engine.connect() as connexion:
        taille = connexion.execute(
            text("SELECT pg_size_pretty(pg_total_relation_size('demande_compte'))")
        ).scalar()
    return {"scenarios": resultats, "taille_table": taille}


def jeu_de_donnees(url: str, n: int, reutiliser: bool, runs: int, expliquer: bool) -> dict:
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
        from extensions import db
        from models.comptes import DemandeCompte

        upgrade()
        secrets_ = preparer_agents()  # creates them before the rows that reference the ASP
        del secrets_
        from backoffice import agents

        asp_id = agents.par_email(AGENT_ASP).id
        present = db.session.scalar(select(func.count()).select_from(DemandeCompte))
        db.session.commit()
        chargement = None
        if not (reutiliser and present == n):
            print(f"  chargement de {n:,} demandes dans le schéma {schema}…", flush=True)
            chargement = charger(n, schema, asp_id)
            print(f"  chargées en {chargement:.1f} s", flush=True)
    mesure = mesurer(app, n, runs, expliquer)
    with app.app_context():
        db.engine.dispose()
    return {"lignes": n, "schema": schema, "chargement_s": chargement, **mesure}


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
    args = parser.parse_args(argv)

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        parser.error("DATABASE_URL must name a PostgreSQL database (see bench/README.md)")
    if urlsplit(url).path.strip("/") == "test":
        parser.error("refusing the 'test' database: create bench_backoffice (bench/README.md)")
    import settings

    url = settings.database_uri(url, str(ROOT / "instance"))

    print(f"Base : {urlsplit(url).path.strip('/')} ; {args.runs} mesures par page.", flush=True)
    base = jeu_de_donnees(url, args.baseline_rows, args.reuse, args.runs, False)
    grand = jeu_de_donnees(url, args.rows, args.reuse, args.runs, args.explain)

    titre = (
        f"| page | {args.baseline_rows:,} demandes : médiane | {args.rows:,} demandes : "
        "médiane | p90 | ratio | compte affiché | requêtes SQL | temps SQL |"
    )
    print()
    print(titre.replace(",", " "))
    print("|---|---:|---:|---:|---:|---|---:|---:|")
    for cle, mesure in grand["scenarios"].items():
        reference = base["scenarios"][cle]
        print(
            f"| {mesure['libelle']} | {reference['mediane_ms']:.1f} ms | "
            f"{mesure['mediane_ms']:.1f} ms | {mesure['p90_ms']:.1f} ms | "
            f"{mesure['mediane_ms'] / reference['mediane_ms']:.2f}× | "
            f"{mesure['compte_affiche'] or '—'} | {mesure['requetes_sql']:.0f} | "
            f"{mesure['sql_ms']:.1f} ms |"
        )
    print(f"\nTaille de demande_compte (table + index) : {grand['taille_table']}.")
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
