"""Project-level behaviour: probes, error shape, security headers, API docs, production settings."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_security_headers(client):
    response = client.get("/healthz")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


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


def test_schema_and_docs_are_served_without_a_cdn(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/auth/login" in schema.content
    for page in ("/api/docs/", "/api/redoc/"):
        html = client.get(page).content.decode()
        assert "/static/drf_spectacular_sidecar/" in html
        assert "cdn" not in html.lower() and "unpkg" not in html.lower()


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
