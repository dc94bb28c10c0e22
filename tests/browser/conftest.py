"""A live server and a real Chromium (Debian's, driven by Playwright) for the main journeys."""

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTEFACTS = Path(__file__).resolve().parents[1] / "artefacts"


def _browser_available() -> bool:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return shutil.which(CHROMIUM) is not None or Path(CHROMIUM).exists()


def pytest_collection_modifyitems(config, items):
    if _browser_available():
        return
    if os.environ.get("CI"):
        raise pytest.UsageError(f"browser tests need Playwright and Chromium at {CHROMIUM}")
    skip = pytest.mark.skip(reason=f"Playwright or Chromium ({CHROMIUM}) not installed")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def live_server(make_app):
    """Serve a test app on a free loopback port; yield its base URL."""
    app = make_app(FORMS_SCHEMAS_DIR=str(Path(__file__).parent / "schemas"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    ARTEFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page()
        page.set_default_timeout(10_000)
        yield page
        browser.close()
