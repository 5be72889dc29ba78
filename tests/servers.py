"""What the tests that start real server processes share: a free port, and the test database's URL."""

import socket
from urllib.parse import quote, urlencode, urlunsplit

from django.conf import settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_database_url() -> str:
    """The test database (pytest-django has renamed NAME by now), as a DATABASE_URL for a server."""
    database = settings.DATABASES["default"]
    userinfo = quote(database.get("USER") or "", safe="")
    if database.get("PASSWORD"):
        userinfo += ":" + quote(database["PASSWORD"], safe="")
    netloc = f"{userinfo}@" if userinfo else ""
    # A Unix socket's folder (the embedded PostgreSQL) is the host, percent-encoded.
    netloc += f"{quote(database.get('HOST') or 'localhost', safe='')}:{database.get('PORT') or 5432}"
    options = {key: value for key, value in (database.get("OPTIONS") or {}).items() if isinstance(value, str | int)}
    return urlunsplit(("postgres", netloc, "/" + quote(str(database["NAME"]), safe=""), urlencode(options), ""))
