# Copy to instance/config.py (git-ignored) and adapt. Environment variables of the same
# name override these values. See the README's configuration table.

# SECRET_KEY = "a long random string, the same on every node"
# DATABASE_URL = "postgresql://apart@127.0.0.1:5432/apart"
# REDIS_URL = "redis://127.0.0.1:6379/0"
# MAIL_SERVER = "smtp.example.org"
# MAIL_PORT = 587
# MAIL_USE_TLS = True
# SESSION_COOKIE_SECURE = True
# DSFR_MARQUE_ETAT = False
