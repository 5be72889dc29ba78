"""What the application reads from its environment, found in its source (for the configuration tests).

A variable counts as read when a module of the running application (not tests, migrations or the
benchmark) passes a literal name to `messenger.env`'s readers, `os.environ.get`, `os.getenv` or
`os.environ[...]`. `os.environ.setdefault` is a write and does not count.
"""

import ast
import runpy
import subprocess
from pathlib import Path
from typing import Any

import dotenv
import pytest

ROOT = Path(__file__).resolve().parents[2]
READERS = {"env_str", "env_int", "env_bool", "env_list", "getenv"}


def tracked_files(*patterns: str) -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z", *patterns], cwd=ROOT, capture_output=True, check=True)
    return [ROOT / name for name in listed.stdout.decode().split("\0") if name]


def application_modules() -> list[Path]:
    """The tracked Python files that run in a server process or a management command."""
    excluded = ("tests", "migrations", "bench")
    return [
        path
        for path in tracked_files("*.py")
        if not set(path.relative_to(ROOT).parts) & set(excluded) and path.name != "conftest.py"
    ]


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _is_os_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ" and getattr(node.value, "id", None) == "os"


def names_read_in(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and node.args:
            function = node.func
            called = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
            environ_get = called == "get" and isinstance(function, ast.Attribute) and _is_os_environ(function.value)
            if called in READERS or environ_get:
                name = _literal(node.args[0])
                if name:
                    names.add(name)
        elif isinstance(node, ast.Subscript) and _is_os_environ(node.value):
            name = _literal(node.slice)
            if name:
                names.add(name)
    return names


def application_environment() -> dict[str, set[Path]]:
    """Every variable the application reads, with the files that read it."""
    read: dict[str, set[Path]] = {}
    for path in application_modules():
        for name in names_read_in(path.read_text()):
            read.setdefault(name, set()).add(path.relative_to(ROOT))
    return read


PLACEHOLDER_DATABASE_URL = "postgres://settings-test@127.0.0.1:9/unused"


def settings_for(environ: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """messenger/settings.py evaluated with exactly `environ` (and no .env file): its upper-case names.

    Settings need a database: without DATABASE_URL in `environ` they get a placeholder one, as they
    would get the embedded PostgreSQL's (which a clean checkout has not started). The test process's
    own settings stay as they are; the environment is restored after the test.
    """
    for name in set(application_environment()) | set(environ):
        monkeypatch.delenv(name, raising=False)
    environ = {"DATABASE_URL": PLACEHOLDER_DATABASE_URL, **environ}
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(dotenv, "load_dotenv", lambda *args, **kwargs: False)
    evaluated = runpy.run_path(str(ROOT / "messenger" / "settings.py"))
    return {name: value for name, value in evaluated.items() if name.isupper()}
