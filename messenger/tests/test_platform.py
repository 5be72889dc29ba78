"""Project-level behaviour: probes, error shape, security headers, API docs, production settings."""

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.staticfiles import finders
from django.urls import URLResolver, get_resolver

from accounts.tests.factories import UserFactory
from messenger.api import docs

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "DJANGO_SECRET_KEY": "q8J2v#kLm4Zr9Xw!tP7cYb3Nf6Hs0Ue1Ga5Dj8Ko2Ri4Vx7Bn9Mz3Lw6Tq1Ps5Hy",
    "DJANGO_ALLOWED_HOSTS": "chat.example.com",
    "DJANGO_ALLOWED_ORIGINS": "https://chat.example.com",
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_checks_database_and_channel_layer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "channel_layer": "ok"}}


def test_readyz_reports_a_broken_channel_layer(client, settings):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]}}
    }
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    try:
        response = client.get("/readyz")
    finally:
        channel_layers.backends.clear()
    assert response.status_code == 503
    assert response.json()["checks"]["channel_layer"] == "error"


def _routes(patterns=None, prefix: str = "/") -> Iterator[str]:
    """Every route of the URLconf without parameters, admin pages included."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = str(pattern.pattern)
        if any(char in route for char in "<^$()[]?\\"):
            continue  # has parameters
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + route)
        else:
            yield prefix + route


PAGES = sorted({*_routes(), "/static/app/app.js", "/no-such-page/", "/api/v1/no-such-endpoint"})


def test_the_urlconf_walk_finds_the_pages():
    for page in ("/", "/app/", "/admin/", "/admin/login/", "/api/docs/", "/api/redoc/", "/api/v1/auth/login"):
        assert page in PAGES


@pytest.mark.parametrize("page", PAGES)
def test_security_headers_on_every_page(client, page):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.get(page)
    assert response.status_code < 500, page
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    if response["Content-Type"] == "application/json":  # API data: no document, no policy
        assert "Content-Security-Policy" not in response
        assert response["X-Frame-Options"] == "DENY"
        return
    policy = dict(directive.strip().split(" ", 1) for directive in response["Content-Security-Policy"].split(";"))
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'none'"
    assert policy["script-src"] == "'self'"  # never inline or eval'd script, on any page
    assert policy["default-src"] == "'self'"
    if response["Content-Type"].startswith("text/html"):
        assert response["X-Frame-Options"] == "DENY"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    if not page.startswith("/api/docs/") and not page.startswith("/api/redoc/"):
        assert policy["style-src"] == "'self'"


def test_production_headers_include_hsts():
    script = (
        "import json; from django.test import Client; "
        "r = Client().get('/', secure=True, headers={'host': 'chat.example.com'}); "
        "print(json.dumps({'status': r.status_code, **r.headers}))"
    )
    result = run_manage("shell", "-c", script, env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    headers = json.loads(result.stdout.strip().splitlines()[-1])
    assert headers["status"] == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "Not found.", "details": {}}


def test_method_not_allowed_uses_error_shape(auth_client):
    response = auth_client.put("/api/v1/auth/sessions")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_crash_under_api_is_json_500(client, monkeypatch):
    from accounts.api import auth_views as views

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.services, "auth_login", boom)
    client.raise_request_exception = False
    response = client.post("/api/v1/auth/login", {"identifier": "a", "password": "b"}, content_type="application/json")
    assert response.status_code == 500
    assert response.json() == {"code": "server_error", "message": "Internal server error.", "details": {}}


class _References(HTMLParser):
    """The src/href of every element of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.urls += [value for name, value in attrs if name in {"src", "href"} and value]


# How JS and CSS refer to something they load. Other URLs in them (JSON-schema ids, XML
# namespaces, links a reader may follow) are not fetched; tests/web/test_pages.py watches what a
# browser actually requests.
_LOADING = re.compile(r"""(?:\bsrc\s*[:=]\s*|url\(\s*|@import\s+|fetch\(\s*|importScripts\(\s*)["']?(https?:)?//""")


def _body(client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_api_docs_load_nothing_from_another_host(client, page):
    html = _body(client, page).decode()
    references = _References()
    references.feed(html)
    assert references.urls, "the page references its scripts and styles"
    for url in references.urls:
        assert urlsplit(url).netloc == "", f"{page} references {url}"
        content = _body(client, url).decode("utf-8", "replace")
        found = _LOADING.search(content)
        assert found is None, f"{url} loads {content[found.start() : found.end() + 60]!r}"
    assert "fonts.googleapis.com" not in html and "fonts.gstatic.com" not in html
    if page == "/api/docs/":
        assert '"validatorUrl": null' in _body(client, "/api/docs/?script=").decode()


def test_the_redoc_bundle_is_patched_where_it_loads_a_third_party_logo():
    original = Path(finders.find(docs.REDOC_BUNDLE)).read_bytes()
    assert original.count(docs.REDOCLY_LOGO) == 1  # a new sidecar version: check what it loads
    assert _LOADING.search(original.decode()) is not None  # the check above would have caught it
    assert docs.REDOCLY_LOGO not in docs.redoc_bundle()


def test_admin_login_page(client):
    assert client.get("/admin/login/").status_code == 200


def test_production_refuses_default_secret_key():
    result = run_manage("check", env={**PRODUCTION_ENV, "DJANGO_SECRET_KEY": ""})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_refuses_debug():
    result = run_manage("check", env={**PRODUCTION_ENV, "DJANGO_DEBUG": "1"})
    assert result.returncode != 0
    assert "DJANGO_DEBUG" in result.stderr


def test_check_deploy_is_clean_under_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cors_allows_configured_origins_only(client):
    allowed = client.options(
        "/api/v1/auth/login", HTTP_ORIGIN="http://localhost:8000", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert allowed["Access-Control-Allow-Origin"] == "http://localhost:8000"
    foreign = client.options(
        "/api/v1/auth/login", HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert "Access-Control-Allow-Origin" not in foreign
