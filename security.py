"""HTTP security headers, the per-request CSP nonce, and the reverse-proxy fix.

Every response (pages, JSON, static files, error pages) leaves with the same header set;
templates put ``nonce="{{ csp_nonce() }}"`` on each ``<script>``, and the nonce changes at
every request.
"""

from __future__ import annotations

import hashlib
import os
import secrets

from flask import Flask, Response, g, request, url_for
from werkzeug.middleware.proxy_fix import ProxyFix

HSTS = "max-age=31536000; includeSubDomains"
STATIC_CACHE_CONTROL = "public, max-age=31536000"
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


def csp_nonce() -> str:
    """The nonce of the current request, created on first use."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(18)
    return nonce


def content_security_policy(nonce: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ]
    )


def _asset_url_factory(app: Flask):
    """``asset_url("css/app.css")``: the static URL with a content fingerprint (``?v=``).

    Static files are cached for a year, so the fingerprint is what makes a new version reach
    browsers. Fingerprints are computed once per file and process (files change on deploy).
    """
    fingerprints: dict[str, str] = {}

    def asset_url(filename: str) -> str:
        fingerprint = fingerprints.get(filename)
        if fingerprint is None:
            path = os.path.join(app.static_folder or "", filename)
            try:
                with open(path, "rb") as handle:
                    fingerprint = hashlib.sha256(handle.read()).hexdigest()[:12]
            except OSError:
                fingerprint = "0"
            if not app.debug:
                fingerprints[filename] = fingerprint
        return url_for("static", filename=filename, v=fingerprint)

    return asset_url


def _is_static(app: Flask) -> bool:
    return request.endpoint == "static" or (
        app.static_url_path is not None and request.path.startswith(app.static_url_path + "/")
    )


def init_app(app: Flask) -> None:
    if app.config.get("PROXY_FIX_HOPS", 0) > 0:
        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)

    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.globals["dsfr_marque_etat"] = lambda: bool(app.config.get("DSFR_MARQUE_ETAT"))
    app.jinja_env.globals["asset_url"] = _asset_url_factory(app)

    @app.after_request
    def set_security_headers(response: Response) -> Response:
        headers = response.headers
        headers["Content-Security-Policy"] = content_security_policy(csp_nonce())
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        headers["X-Frame-Options"] = "DENY"
        headers["Permissions-Policy"] = PERMISSIONS_POLICY
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers["Strict-Transport-Security"] = HSTS
        if _is_static(app) and response.status_code < 400:
            headers["Cache-Control"] = STATIC_CACHE_CONTROL
        elif response.mimetype == "text/html" or response.status_code >= 400:
            headers["Cache-Control"] = "no-store"
            headers.pop("Expires", None)
        return response
