"""Migrations install the chats app's SQL functions from chats/sql/, never from copies of their bodies.

A migration that changes a function runs `install_functions()` again: `CREATE OR REPLACE` with the
file as it is now (PL/pgSQL bodies are checked against tables only when they run, so installing
today's body on an older schema, while migrating a new database, is harmless), after dropping
signatures that no longer exist.
"""

from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
# In dependency order: the send function calls chats_stream_append.
FUNCTIONS = {
    "chats_stream_append": "stream_append.sql",
    "chats_message_send_batch": "message_send_batch.sql",
}


def install_functions(*, dropping: tuple[str, ...] = ()) -> migrations.RunPython:
    """An operation that drops `dropping` (full signatures) and installs every file in FUNCTIONS."""

    def install(apps, schema_editor) -> None:
        for signature in dropping:
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {signature}")
        for file_name in FUNCTIONS.values():
            schema_editor.execute((SQL_DIR / file_name).read_text())

    def uninstall(apps, schema_editor) -> None:
        for name in reversed(FUNCTIONS):
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}")

    return migrations.RunPython(install, uninstall, elidable=False)
