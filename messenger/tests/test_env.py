"""Configuration: `.env.example` lists every variable the server reads, and copying it changes nothing."""

import re

import pytest
from dotenv import dotenv_values

from messenger.env import env_bool, env_int, env_list, env_str
from messenger.tests.environment import ROOT, application_environment, names_read_in, settings_for

EXAMPLE = ROOT / ".env.example"
# Service URLs stay commented out: set, they would replace the embedded defaults.
SERVICE_URLS = {"DATABASE_URL", "REDIS_URL", "S3_BUCKET", "S3_ENDPOINT_URL", "S3_PUBLIC_ENDPOINT_URL"}
S3_CREDENTIALS = {"S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"}


def example_names() -> tuple[set[str], set[str]]:
    """(names set in .env.example, names only shown in comments as `# NAME=...`)."""
    text = EXAMPLE.read_text()
    assigned = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, re.MULTILINE))
    commented = set(re.findall(r"^# ?([A-Z][A-Z0-9_]*)=", text, re.MULTILINE))
    return assigned, commented


def test_the_scan_finds_every_way_of_reading_the_environment():
    source = """
import os
from messenger.env import env_str
a = env_str("A", "")
b = env_int("B", 1)
c = os.environ.get("C")
d = os.environ["D"]
e = os.getenv("E")
os.environ.setdefault("NOT_A_READ", "x")
other = {}.get("NOT_EITHER")
"""
    assert names_read_in(source) == {"A", "B", "C", "D", "E"}


def test_the_scan_sees_settings_and_the_server_entry_point():
    read = application_environment()
    assert read["DJANGO_SECRET_KEY"] == {ROOT.joinpath("messenger/settings.py").relative_to(ROOT)}
    assert read["ASGI_LOOP"] == {ROOT.joinpath("messenger/server.py").relative_to(ROOT)}


def test_every_variable_read_is_in_env_example():
    assigned, commented = example_names()
    read = application_environment()
    missing = {name: sorted(map(str, read[name])) for name in read.keys() - (assigned | commented)}
    assert not missing, f"read from the environment but not in .env.example: {missing}"


def test_env_example_lists_nothing_the_server_does_not_read():
    assigned, commented = example_names()
    assert not (assigned | commented) - set(application_environment())


def test_service_urls_are_commented_out():
    assigned, commented = example_names()
    assert commented >= SERVICE_URLS | S3_CREDENTIALS
    assert not (SERVICE_URLS | S3_CREDENTIALS) & assigned


def test_copying_env_example_to_env_keeps_every_default(monkeypatch):
    example = {name: value or "" for name, value in dotenv_values(EXAMPLE).items()}
    assert example, "nothing parsed"
    defaults = settings_for({}, monkeypatch)
    copied = settings_for(example, monkeypatch)
    differ = {name for name in defaults.keys() | copied.keys() if defaults.get(name) != copied.get(name)}
    assert not differ, {name: (defaults.get(name), copied.get(name)) for name in differ}


def test_settings_see_the_values_of_the_environment(monkeypatch):
    """The comparison above can fail: a changed value does change the settings."""
    defaults = settings_for({}, monkeypatch)
    changed = settings_for({"SEND_BATCH_MAX_SIZE": "7", "DJANGO_ALLOWED_HOSTS": "chat.example.com"}, monkeypatch)
    assert (defaults["SEND_BATCH_MAX_SIZE"], changed["SEND_BATCH_MAX_SIZE"]) == (64, 7)
    assert changed["ALLOWED_HOSTS"] == ["chat.example.com"]


def test_readme_configuration_table_names_only_listed_variables():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    # The variables are in the first column; the others name values (`HS256`) as well.
    first_cells = [line.split("|")[1] for line in table.splitlines() if line.startswith("|")]
    named = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", "".join(first_cells)))
    assigned, commented = example_names()
    assert named and not named - (assigned | commented)


@pytest.mark.parametrize(
    ("reader", "default"),
    [(env_str, "fallback"), (env_int, 3), (env_bool, True), (env_list, ["a"])],
)
def test_an_empty_value_means_the_default(monkeypatch, reader, default):
    monkeypatch.setenv("MESSENGER_TEST_EMPTY", "")
    assert reader("MESSENGER_TEST_EMPTY", default) == default
    monkeypatch.delenv("MESSENGER_TEST_EMPTY")
    assert reader("MESSENGER_TEST_EMPTY", default) == default
