"""Identities: password and secret-answer hashing, password rules, identifiants and link tokens."""
