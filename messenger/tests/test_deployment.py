"""The container deployment, checked without a Docker engine: docker-compose.yml, the Dockerfile and
deploy/nginx.conf against the settings, the URL routes and the README.
"""

import json
import re
import shlex
from urllib.parse import urlsplit

import pytest
import yaml
from django.urls import resolve

from messenger.tests.environment import ROOT, application_environment, settings_for

# Variables the third-party images read themselves (their documented configuration).
IMAGE_VARIABLES = {
    "postgres": {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"},
    "quay.io/minio/minio": {"MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"},
}
# ${NAME:-default} / ${NAME-default} / ${NAME}: what `docker compose` substitutes from the shell.
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


def interpolate(value, shell: dict[str, str]):
    if isinstance(value, str):
        return INTERPOLATION.sub(lambda match: shell.get(match[1], match[2] or ""), value).replace("$$", "$")
    if isinstance(value, list):
        return [interpolate(item, shell) for item in value]
    if isinstance(value, dict):
        return {key: interpolate(item, shell) for key, item in value.items()}
    return value


def compose(shell: dict[str, str] | None = None) -> dict:
    """docker-compose.yml as `docker compose config` would resolve it, for this shell environment."""
    return interpolate(yaml.safe_load((ROOT / "docker-compose.yml").read_text()), shell or {})


def service(name: str, shell: dict[str, str] | None = None) -> dict:
    return compose(shell)["services"][name]


def environment(name: str, shell: dict[str, str] | None = None) -> dict[str, str]:
    return {key: str(value) for key, value in (service(name, shell).get("environment") or {}).items()}


def image_name(definition: dict) -> str | None:
    image = definition.get("image")
    return image.rsplit(":", 1)[0] if image else None


def dockerfile_cmd() -> list[str]:
    (line,) = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD ")]
    return json.loads(line.removeprefix("CMD "))


def nginx_conf() -> str:
    return (ROOT / "deploy" / "nginx.conf").read_text()


def nginx_location(path: str) -> str:
    match = re.search(rf"location {re.escape(path)} \{{(.*?)\n    \}}", nginx_conf(), re.DOTALL)
    assert match, f"no `location {path}` in deploy/nginx.conf"
    return match[1]


def readme() -> str:
    return (ROOT / "README.md").read_text()


class TestEnvironment:
    def test_app_services_set_only_variables_the_application_reads(self):
        read = set(application_environment())
        for name in ("app", "migrate"):
            command = " ".join(service(name).get("command") or [])
            unknown = {var for var in environment(name) if var not in read and f"${var}" not in command}
            assert not unknown, f"{name} sets variables nothing reads: {sorted(unknown)}"

    def test_other_services_set_only_variables_their_images_or_commands_read(self):
        for name, definition in compose()["services"].items():
            if "build" in definition:
                continue
            script = " ".join([*(definition.get("command") or []), *(definition.get("entrypoint") or [])])
            known = IMAGE_VARIABLES.get(image_name(definition), set())
            unknown = {var for var in environment(name) if var not in known and f"${var}" not in script}
            assert not unknown, f"{name} sets variables nothing reads: {sorted(unknown)}"

    def test_the_app_environment_passes_the_production_checks(self, monkeypatch):
        app = settings_for(environment("app"), monkeypatch)  # raises ImproperlyConfigured otherwise
        assert app["IS_PRODUCTION"] and not app["DEBUG"] and not app["ALLOW_OWN_ORIGIN"]
        assert app["DATABASES"]["default"]["ENGINE"] == "django.db.backends.postgresql"
        assert app["CHANNEL_LAYERS"]["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
        assert app["STORAGES"]["default"]["BACKEND"] == "storages.backends.s3.S3Storage"

    def test_migrate_runs_with_the_app_environment(self):
        assert environment("migrate") == {**environment("app"), "DEMO_DATA": "false"}

    def test_services_agree_on_names_and_credentials(self):
        app = environment("app")
        database = urlsplit(app["DATABASE_URL"])
        postgres = environment("postgres")
        assert (database.hostname, database.port) == ("postgres", 5432)
        assert (database.username, database.password, database.path) == (
            postgres["POSTGRES_USER"],
            postgres["POSTGRES_PASSWORD"],
            "/" + postgres["POSTGRES_DB"],
        )
        assert urlsplit(app["REDIS_URL"]).hostname == "redis"
        minio = environment("minio")
        assert urlsplit(app["S3_ENDPOINT_URL"]).netloc == "minio:9000"
        assert (app["S3_ACCESS_KEY_ID"], app["S3_SECRET_ACCESS_KEY"]) == (
            minio["MINIO_ROOT_USER"],
            minio["MINIO_ROOT_PASSWORD"],
        )
        assert environment("minio-setup") == minio
        setup = " ".join(service("minio-setup")["entrypoint"])
        assert 'mc alias set local http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"' in setup
        assert f"mc mb --ignore-existing local/{app['S3_BUCKET']}" in setup
        assert f"mc anonymous set none local/{app['S3_BUCKET']}" in setup


class TestHealthChecks:
    @pytest.mark.django_db
    def test_the_app_is_probed_on_a_real_endpoint_on_the_port_it_serves(self, client):
        test = service("app")["healthcheck"]["test"]
        (url,) = re.findall(r"http://[^'\"]+", " ".join(test))
        parts = urlsplit(url)
        assert resolve(parts.path).url_name in {"healthz", "readyz"}
        assert parts.hostname in environment("app")["DJANGO_ALLOWED_HOSTS"].split(",")  # else 400
        assert client.get(parts.path).status_code == 200
        cmd = dockerfile_cmd()
        assert cmd[cmd.index("-p") + 1] == str(parts.port)
        assert f"server app:{parts.port};" in nginx_conf()

    def test_the_stores_are_probed_for_the_names_the_app_uses(self):
        postgres = environment("postgres")
        assert service("postgres")["healthcheck"]["test"] == [
            "CMD-SHELL",
            f"pg_isready -U {postgres['POSTGRES_USER']} -d {postgres['POSTGRES_DB']}",
        ]
        assert service("redis")["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
        assert service("minio")["healthcheck"]["test"] == ["CMD", "mc", "ready", "local"]

    def test_dependencies_wait_for_health_or_completion(self):
        conditions = {"postgres": "service_healthy", "redis": "service_healthy", "minio": "service_healthy"}
        conditions |= {"migrate": "service_completed_successfully", "minio-setup": "service_completed_successfully"}
        conditions |= {"app": "service_healthy"}
        for name, definition in compose()["services"].items():
            for dependency, how in (definition.get("depends_on") or {}).items():
                assert how == {"condition": conditions[dependency]}, (name, dependency)
                if conditions[dependency] == "service_healthy":
                    assert "healthcheck" in service(dependency), dependency


class TestCommands:
    def test_the_app_runs_the_images_command_which_the_readme_documents(self):
        assert "command" not in service("app") and "entrypoint" not in service("app")
        cmd = dockerfile_cmd()
        assert cmd[:3] == ["python", "-m", "messenger.server"]
        assert f"`{shlex.join(cmd)}`" in readme()

    def test_replicas_start_after_the_one_migration_run(self):
        assert service("app")["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert "migrate" not in " ".join(dockerfile_cmd())
        assert service("migrate")["command"][2].startswith("python manage.py migrate --noinput && ")

    def test_demo_data_is_opt_in_and_documented(self):
        assert environment("migrate")["DEMO_DATA"] == "false"
        assert environment("migrate", {"DEMO_DATA": "true"})["DEMO_DATA"] == "true"
        script = service("migrate")["command"][2]
        assert 'if [ "$DEMO_DATA" = true ]; then python manage.py seed_demo; fi' in script
        assert "DEMO_DATA=true docker compose up --build" in readme()

    def test_images_are_pinned_to_releases(self):
        for name, definition in compose()["services"].items():
            if "image" in definition:
                repository, _, tag = definition["image"].rpartition(":")
                assert repository and tag and tag != "latest", name
                if "minio" in repository:
                    assert re.fullmatch(r"RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ", tag), name


class TestPublicMediaEndpoint:
    """Presigned URLs must be reachable from outside the compose network: nginx serves the bucket."""

    def test_urls_are_signed_for_nginx_on_the_apps_host(self):
        app = environment("app")
        public = urlsplit(app["S3_PUBLIC_ENDPOINT_URL"])
        (published,) = service("nginx")["ports"]
        assert str(public.port) == published.split(":")[0]
        assert public.hostname in app["DJANGO_ALLOWED_HOSTS"].split(",")
        assert f"{public.scheme}://{public.netloc}" in app["DJANGO_ALLOWED_ORIGINS"].split(",")

    def test_nginx_passes_the_bucket_path_and_host_unchanged_to_minio(self):
        app = environment("app")
        location = nginx_location(f"/{app['S3_BUCKET']}/")
        # No URI part after the host: the signed path reaches MinIO as the client sent it.
        assert f"proxy_pass {app['S3_ENDPOINT_URL']};" in location
        assert "proxy_set_header Host $http_host;" in location
        assert "limit_except GET HEAD { deny all; }" in location

    def test_nginx_accepts_the_largest_upload(self, settings):
        (limit,) = re.findall(r"client_max_body_size (\d+)m;", nginx_conf())
        assert int(limit) * 1024**2 >= max(settings.MEDIA_MAX_UPLOAD_BYTES.values())


def test_the_deployment_guide_covers_the_production_steps():
    guide = (ROOT / "docs" / "deploy.md").read_text()
    for topic in ("TLS", "Secrets", "Migrations", "Scaling", "Backups", "Upgrades"):
        assert re.search(rf"^## .*{topic}", guide, re.MULTILINE), topic
    assert "pg_dump" in guide and "mc mirror" in guide


class TestProductionOverride:
    """docs/deploy.md's docker-compose.override.yml, merged the way Compose merges it, still holds together."""

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!reset", lambda loader, node: None)  # Compose: drop the base file's value

    @classmethod
    def merged_environment(cls, name: str) -> dict[str, str]:
        guide = (ROOT / "docs" / "deploy.md").read_text()
        (block,) = re.findall(r"```yaml\n(.*?)```", guide, re.DOTALL)
        # Placeholders become values of production strength; equal placeholders stay equal.
        block = re.sub(r"<([^>]+)>", lambda match: "x" * 40 + re.sub(r"\W", "", match[1]) * 3, block)
        override = yaml.load(block, Loader=cls.Loader)["services"]  # noqa: S506 - SafeLoader subclass
        merged = {**environment(name), **(override.get(name, {}).get("environment") or {})}
        return {key: str(value) for key, value in merged.items()}

    def test_the_production_environment_loads(self, monkeypatch):
        app = settings_for(self.merged_environment("app"), monkeypatch)
        assert app["IS_PRODUCTION"] and app["SECURE_SSL_REDIRECT"]
        assert app["REST_FRAMEWORK"]["NUM_PROXIES"] == 2
        assert self.merged_environment("migrate") == {**self.merged_environment("app"), "DEMO_DATA": "false"}

    def test_the_health_check_host_is_still_allowed(self):
        (url,) = re.findall(r"http://[^'\"]+", " ".join(service("app")["healthcheck"]["test"]))
        assert urlsplit(url).hostname in self.merged_environment("app")["DJANGO_ALLOWED_HOSTS"].split(",")

    def test_urls_are_signed_for_the_public_https_origin(self):
        app = self.merged_environment("app")
        public = urlsplit(app["S3_PUBLIC_ENDPOINT_URL"])
        assert public.scheme == "https"
        assert f"https://{public.netloc}" in app["DJANGO_ALLOWED_ORIGINS"].split(",")
        assert public.hostname in app["DJANGO_ALLOWED_HOSTS"].split(",")

    def test_secrets_agree_across_services(self):
        app = self.merged_environment("app")
        database = urlsplit(app["DATABASE_URL"])
        assert database.password == self.merged_environment("postgres")["POSTGRES_PASSWORD"]
        minio = self.merged_environment("minio")
        assert minio == self.merged_environment("minio-setup")
        assert (app["S3_ACCESS_KEY_ID"], app["S3_SECRET_ACCESS_KEY"]) == (
            minio["MINIO_ROOT_USER"],
            minio["MINIO_ROOT_PASSWORD"],
        )
        # None of the trial's published secrets is left.
        secrets = {"app": ("DJANGO_SECRET_KEY", "S3_SECRET_ACCESS_KEY"), "postgres": ("POSTGRES_PASSWORD",)}
        secrets |= {"minio": ("MINIO_ROOT_PASSWORD",)}
        for name, keys in secrets.items():
            for key in keys:
                assert self.merged_environment(name)[key] != environment(name)[key], (name, key)
        assert database.password != urlsplit(environment("app")["DATABASE_URL"]).password


class TestTurnServer:
    """coturn accepts exactly the credentials the app mints, on the ports the app tells clients."""

    def test_coturn_shares_the_apps_secret_in_the_rest_scheme(self):
        app, coturn = environment("app"), environment("coturn")
        assert app["TURN_SHARED_SECRET"] == coturn["TURN_SHARED_SECRET"]
        script = " ".join(service("coturn")["entrypoint"])
        assert '--use-auth-secret --static-auth-secret="$TURN_SHARED_SECRET"' in script
        merged = TestProductionOverride.merged_environment
        assert merged("app")["TURN_SHARED_SECRET"] == merged("coturn")["TURN_SHARED_SECRET"]
        assert merged("coturn")["TURN_SHARED_SECRET"] != coturn["TURN_SHARED_SECRET"]

    def test_the_advertised_urls_reach_the_published_ports(self):
        app, coturn = environment("app"), service("coturn")
        script = " ".join(coturn["entrypoint"])
        for url in [*app["STUN_URLS"].split(","), *app["TURN_URLS"].split(",")]:
            host, port, transport = re.fullmatch(r"(?:stun|turn):([^:]+):(\d+)(?:\?transport=(udp|tcp))?", url).groups()
            assert host == "localhost" and f"--listening-port={port}" in script
            assert f"{port}:{port}/{transport or 'udp'}" in coturn["ports"], url
        low, high = re.search(r"--min-port=(\d+) --max-port=(\d+)", script).groups()
        assert f"{low}-{high}:{low}-{high}/udp" in coturn["ports"]

    def test_the_compose_network_cannot_be_reached_through_the_relay(self):
        script = " ".join(service("coturn")["entrypoint"])
        for private in ("10.0.0.0-10.255.255.255", "172.16.0.0-172.31.255.255", "192.168.0.0-192.168.255.255"):
            assert f"--denied-peer-ip={private}" in script
