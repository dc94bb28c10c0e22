"""identites.motdepasse: hashing, password rules, identifiants, tokens (reliability.md §1.1-1.6)."""

import hashlib
import random
import re
import string
import unicodedata

import argon2
import pytest

from identites import motdepasse as m

ARGON2ID = re.compile(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$")
# ASVS 5.0 Appendix C argon2id floors as (t, minimum m in KiB), p=1.
ASVS_ROWS = [(1, 47_104), (2, 19_456), (3, 12_288)]

TOO_SHORT = "Votre mot de passe doit comporter au moins 12 caractères."
TOO_LONG = "Votre mot de passe doit comporter au plus 128 caractères."


def _random_text(length: int, seed: int = 7) -> str:
    """A password with no pattern, deterministic across runs."""
    rng = random.Random(seed)
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(length))


@pytest.fixture
def cheap(app):
    """An app context with TESTING: the hasher uses the CHEAPEST profile."""
    with app.app_context():
        yield


# --- hashing -------------------------------------------------------------------------------------


def test_production_parameters_are_argon2id_at_the_asvs_minimum_row():
    ph = m.hasher()  # no app context: production parameters
    assert ph.type is argon2.Type.ID
    assert (ph.time_cost, ph.memory_cost, ph.parallelism) == (2, 19_456, 1)
    match = ARGON2ID.match(m.hash_secret("un mot de passe assez long"))
    assert match
    memory, time_cost, parallelism = map(int, match.groups())
    assert parallelism == 1
    assert any(time_cost >= t and memory >= floor for t, floor in ASVS_ROWS)


def test_staff_parameters_are_the_rfc_9106_low_memory_profile():
    ph = m.hasher(staff=True)
    assert ph.type is argon2.Type.ID
    assert (ph.time_cost, ph.memory_cost, ph.parallelism) == (3, 65_536, 4)


def test_testing_config_selects_the_cheapest_profile(cheap):
    ph = m.hasher()
    assert (ph.time_cost, ph.memory_cost) == (1, 8)
    assert m.hasher(staff=True) is ph


def test_without_testing_the_app_gets_production_parameters(make_app):
    with make_app(TESTING=False).app_context():
        assert m.hasher().memory_cost == 19_456


def test_round_trip_and_wrong_secret(cheap):
    stored = m.hash_secret("Le chat dort sur le radiateur")
    assert stored.startswith("$argon2id$")
    assert "radiateur" not in stored
    assert m.verify_secret(stored, "Le chat dort sur le radiateur") == (True, None)
    assert m.verify_secret(stored, "le chat dort sur le radiateur") == (False, None)
    assert m.verify_secret(stored, "") == (False, None)


def test_same_secret_hashes_differently(cheap):
    assert m.hash_secret("Le chat dort sur le radiateur") != m.hash_secret(
        "Le chat dort sur le radiateur"
    )


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "",
        "garbage",
        "$argon2id$v=19$m=19456,t=2,p=1$bad",
        "$argon2id$v=19$m=8,t=1,p=1$YWJjZGVmZ2g$bad",
        "$2b$12$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY",
        "mot de passe en clair",
    ],
)
def test_unknown_account_or_malformed_hash_is_false_without_raising(cheap, stored):
    assert m.verify_secret(stored, "mot de passe en clair") == (False, None)


def test_unknown_account_costs_one_verification_like_a_known_one(monkeypatch):
    """Same work for unknown and known accounts (reliability.md §1.4): one argon2 verify each."""
    calls = []

    class Counting(argon2.PasswordHasher):
        def verify(self, hash, password):
            calls.append(hash)
            return super().verify(hash, password)

    counting = Counting.from_parameters(argon2.profiles.CHEAPEST)
    monkeypatch.setattr(m, "hasher", lambda *, staff=False: counting)
    stored = counting.hash("Le chat dort sur le radiateur")

    for stored_hash in (stored, None, "garbage"):
        calls.clear()
        assert m.verify_secret(stored_hash, "un autre mot de passe")[0] is False
        worked = [h for h in calls if h.startswith("$argon2id$")]  # "garbage" fails at parsing
        assert len(worked) == 1
        params = argon2.extract_parameters(worked[0])
        assert (params.type, params.time_cost, params.memory_cost) == (argon2.Type.ID, 1, 8)


def test_rehash_when_parameters_changed(cheap):
    old = argon2.PasswordHasher(time_cost=2, memory_cost=64, parallelism=1).hash("ancien secret 42")
    ok, new_hash = m.verify_secret(old, "ancien secret 42")
    assert ok and new_hash is not None
    assert ARGON2ID.match(new_hash).groups() == ("8", "1", "1")
    assert m.verify_secret(new_hash, "ancien secret 42") == (True, None)


def test_rehash_up_to_production_parameters_outside_the_app():
    weak = argon2.PasswordHasher.from_parameters(argon2.profiles.CHEAPEST).hash("ancien secret 42")
    ok, new_hash = m.verify_secret(weak, "ancien secret 42")
    assert ok
    assert ARGON2ID.match(new_hash).groups() == ("19456", "2", "1")


def test_no_truncation_after_72_bytes(cheap):
    """bcrypt ignores bytes after the 72nd; argon2 must not (reliability.md §1.1)."""
    prefix = "é" * 40  # 80 bytes in UTF-8
    stored = m.hash_secret(prefix + "A")
    assert m.verify_secret(stored, prefix + "B") == (False, None)
    assert m.verify_secret(stored, prefix) == (False, None)


@pytest.mark.parametrize(
    "password",
    ["  espaces au début et à la fin  ", "🐱 le chat 🐱 dort 🛏️", "пароль очень длинный", "a\tb c"],
)
def test_unicode_and_spaces_round_trip_as_typed(cheap, password):
    stored = m.hash_secret(password)
    assert m.verify_secret(stored, password) == (True, None)
    assert m.verify_secret(stored, password.strip() + "x") == (False, None)


def test_composed_and_decomposed_accents_verify_alike(cheap):
    composed = "Éléonore aime les crêpes"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    assert m.verify_secret(m.hash_secret(composed), decomposed) == (True, None)


# --- secret answers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Paris", " paris "),
        ("PARIS", "paris"),
        ("Éléonore", "eleonore"),
        ("Cœur", "coeur"),
        ("Lætitia", "LAETITIA"),
        ("Saint-Étienne", "saint–etienne"),
        ("l’Isle-Adam", "L'isle-adam"),
        ("rue  de\tla   Paix", "rue de la paix"),
        ("Ｐａｒｉｓ", "paris"),  # full-width (NFKC)
        ("Straße", "STRASSE"),
    ],
)
def test_normalise_reponse_equivalences(a, b):
    assert m.normalise_reponse(a) == m.normalise_reponse(b)


@pytest.mark.parametrize(
    ("a", "b"), [("Saint-Étienne", "saint etienne"), ("C++", "C"), ("Lyon", "Lyons")]
)
def test_normalise_reponse_keeps_what_matters(a, b):
    assert m.normalise_reponse(a) != m.normalise_reponse(b)


def test_normalised_answer_verifies_after_hashing(cheap):
    stored = m.hash_secret(m.normalise_reponse("Saint-Étienne"))
    assert m.verify_secret(stored, m.normalise_reponse("  SAINT-ETIENNE ")) == (True, None)


# --- password rules ------------------------------------------------------------------------------


def test_length_bounds():
    assert m.check_password(_random_text(11)) == [TOO_SHORT]
    assert m.check_password(_random_text(12)) == []
    assert m.check_password(_random_text(128)) == []
    assert m.check_password(_random_text(129)) == [TOO_LONG]
    assert m.check_password("") == [TOO_SHORT]


def test_length_counts_code_points_after_nfc():
    base = "Jx7qLm2v" + "écé"  # 11 code points composed
    decomposed = unicodedata.normalize("NFD", base + "é")
    assert len(decomposed) > 12
    assert m.check_password(decomposed) == []
    assert m.check_password(unicodedata.normalize("NFD", base)) == [TOO_SHORT]


def test_staff_need_sixteen_characters():
    assert m.check_password(_random_text(15), staff=True) == [
        "Votre mot de passe doit comporter au moins 16 caractères."
    ]
    assert m.check_password(_random_text(16), staff=True) == []


def test_no_composition_rules():
    assert m.check_password("vqkzmrtplwxn") == []  # lower case letters only
    assert m.check_password("839201746583") == []  # digits only, no pattern


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "Le chat de ma voisine dort sur le radiateur en hiver",
        "j'aime les pâtes au beurre",
        "🐱 mon chat s'appelle Réglisse 🐱",
    ],
)
def test_passphrases_are_accepted(password):
    assert m.check_password(password, nom="Gérard", prenom="Mathilde") == []


@pytest.mark.parametrize(
    "password",
    [
        "password1234",
        "Password1234!",
        "P@ssw0rd2024!",
        "azertyuiop123",
        "Azerty123456!",
        "motdepasse2024",
        "Mot de passe 2024",
        "soleil123456",
        "Soleil2024!!!",
        "$oleil2024!!!!",
        "s0leil-123456",
        "doudou123456",
        "Marseille1313",
        "marseille2024!",
        "jetaime123456",
        "1q2w3e4r5t6y",
        "activitepartielle2020",
        "Activité partielle 2020",
    ],
)
def test_common_passwords_and_decorated_variants_are_refused(password):
    assert m.check_password(password) == [m.MESSAGE_COMMON]


@pytest.mark.parametrize(
    "password",
    [
        "123456789012",
        "aaaaaaaaaaaa",
        "AAAAAAAAAAAAAAAAAAAA",
        "abcdefghijkl",
        "zyxwvutsrqpo",
        "987654321098",
        "abcdef123456",
        "abcabcabcabc",
        "123123123123",
        "soleilsoleil",
        "€€€€€€€€€€€€",
    ],
)
def test_repetitions_and_simple_sequences_are_refused(password):
    assert m.check_password(password) == [m.MESSAGE_SIMPLE]


def test_blocklist_is_compact_but_large_enough():
    entries = m.blocklist()
    assert len(entries) >= 3000  # ASVS 5.0 6.2.4: at least the top 3000
    assert {"azerty", "motdepasse", "soleil", "doudou", "marseille", "password"} <= entries
    assert all(entry == entry.casefold() for entry in entries)


@pytest.mark.parametrize(
    ("password", "identity"),
    [
        ("Un bon mgerard du soir", {"identifiant": "mgerard"}),
        ("mathilde et ses chats", {"prenom": "Mathilde"}),
        ("ma famille GÉRARD unie", {"nom": "Gérard"}),
        ("les gerard sont partis", {"nom": "Gérard"}),
        ("delatour est mon chateau", {"nom": "De La Tour"}),
        ("le grand pierre de lune", {"prenom": "Jean-Pierre"}),
        ("m.dupont-42-xyzt", {"courriel": "m.dupont@example.fr"}),
        ("bonjour mdupont42 !", {"courriel": "mdupont42@example.fr"}),
    ],
)
def test_personal_information_is_refused(password, identity):
    assert m.check_password(password, **identity) == [m.MESSAGE_PERSONAL]


def test_short_names_are_not_searched():
    assert m.check_password("il roy est alle au lit", nom="Roy", prenom="Li") == []


def test_context_words_such_as_the_siret_are_refused():
    messages = m.check_password(
        "notre 83245612300018 a nous",
        contexte=["83245612300018", "832456123", "Boulangerie Dupain"],
    )
    assert messages == [m.MESSAGE_CONTEXT]
    assert m.check_password("vive la boulangerie dupain", contexte=["Boulangerie Dupain"]) == [
        m.MESSAGE_CONTEXT
    ]


def test_several_reasons_are_all_given():
    messages = m.check_password("Mathilde1", prenom="Mathilde")
    assert TOO_SHORT in messages and m.MESSAGE_PERSONAL in messages


def test_messages_are_french_and_polite():
    for message in (m.MESSAGE_COMMON, m.MESSAGE_SIMPLE, m.MESSAGE_PERSONAL, m.MESSAGE_CONTEXT):
        assert "tu " not in message and "ton " not in message
    assert m.MESSAGE_PERSONAL.startswith("Votre mot de passe ne doit pas contenir")


# --- identifiants --------------------------------------------------------------------------------


def test_identifiant_from_names_with_accents_and_collisions():
    taken: set[str] = set()

    def make() -> str:
        identifiant = m.generate_identifiant("Gérard", "Mathilde", taken.__contains__)
        taken.add(identifiant)
        return identifiant

    assert [make(), make(), make()] == ["mgerard", "mgerard2", "mgerard3"]


@pytest.mark.parametrize(
    ("nom", "prenom", "expected"),
    [
        ("Apart", "Test", "tapart"),
        ("D'Artagnan", "Charles", "cdartagnan"),
        ("De La Tour-Maubourg", "Éloïse", "edelatourmaubourg"),
        ("Lœwenbruck", "Ægidius", "aloewenbruck"),
        ("Müller", "", "muller"),
        ("李", "王", "compte"),
    ],
)
def test_identifiant_is_ascii_lower_case(nom, prenom, expected):
    assert m.generate_identifiant(nom, prenom, lambda _: False) == expected


def test_identifiant_is_at_most_twenty_characters_even_with_a_number():
    nom = "Dupont-Delacroix-Montmorency"
    first = m.generate_identifiant(nom, "Anne", lambda _: False)
    assert first == "adupontdelacroixmont" and len(first) == 20
    second = m.generate_identifiant(nom, "Anne", {first}.__contains__)
    assert second == "adupontdelacroixmon2" and len(second) == 20


def test_identifiant_falls_back_to_random_digits_after_many_homonyms():
    asked: list[str] = []

    def exists(candidate: str) -> bool:
        asked.append(candidate)
        return len(asked) <= 99

    identifiant = m.generate_identifiant("Martin", "Jean", exists)
    assert re.fullmatch(r"jmartin\d{6}", identifiant)
    assert len(asked) == 100


# --- tokens --------------------------------------------------------------------------------------


def test_new_token_and_digest():
    token, digest = m.new_token()
    assert len(token) >= 43 and re.fullmatch(r"[A-Za-z0-9_-]+", token)  # 256 bits, URL-safe
    assert digest == hashlib.sha256(token.encode()).hexdigest() == m.token_digest(token)
    assert len(digest) == 64
    assert token not in digest
    assert m.new_token()[0] != token
