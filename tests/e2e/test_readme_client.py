"""README "A client in five requests", pasted into bash against a real server with the demo data.

The block runs as written, with two substitutions: the server's address for the default one, and
this interpreter for `.venv/bin/python`. Like a person at the terminal, the test pastes the frame
the block prints into the live WebSocket session and reads the answer.
"""

import json
import os
import queue
import re
import shlex
import subprocess
import sys
import threading
import time

import pytest
from django.core.management import call_command

from chats.tests.asyncapi import validate_server_frame
from tests.e2e.conftest import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
DEFAULT_BASE = "B=http://127.0.0.1:8000"
SESSION_TIMEOUT_SECONDS = 60


def readme_blocks() -> tuple[str, list[str]]:
    """(the bash block, the lines of the sample output after it) of the README section."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## A client in five requests", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(\w*)\n(.*?)```", section, re.DOTALL)
    (script,) = [body for language, body in blocks if language == "bash"]
    (sample,) = [body for language, body in blocks if language == ""]
    return script, sample.splitlines()


def run_pasted(script: str) -> list[str]:
    """Run `script` in bash; paste the frame it prints into the socket; stop after the ack."""
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(name, None)
    process = subprocess.Popen(
        ["bash", "-c", script],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
    )
    assert process.stdin is not None and process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=lambda: [*map(lines.put, process.stdout), lines.put(None)], daemon=True).start()
    output: list[str] = []
    deadline = time.monotonic() + SESSION_TIMEOUT_SECONDS
    try:
        while True:
            try:
                line = lines.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                pytest.fail("the README session did not finish:\n" + "".join(output))
            if line is None:
                break
            output.append(line)
            if line.startswith('{"type": "message:send"'):
                process.stdin.write(line)  # what the reader pastes
                process.stdin.flush()
            elif '"type":"ack"' in line:
                process.stdin.close()  # end of input closes the session
        assert process.wait(10) == 0, "".join(output)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    return output


def frames(output: list[str]) -> list[dict]:
    """The frames the interactive client printed as `< {...}` (after its terminal control codes)."""
    received = []
    for line in output:
        _, marker, frame = line.partition("< {")
        if marker:
            received.append(json.loads("{" + frame))
    return received


def test_the_readme_client_runs_as_written(cluster):
    (server,) = cluster.start("a")
    call_command("seed_demo")
    script, sample = readme_blocks()
    assert DEFAULT_BASE in script.splitlines()[0]
    script = script.replace(DEFAULT_BASE, f"B={server.http_url}", 1)
    script = script.replace(".venv/bin/python", shlex.quote(sys.executable))

    output = run_pasted(script)

    # The REST part prints what the README shows (the socket's part names ids that differ per run).
    rest = sample[: next(index for index, line in enumerate(sample) if line.startswith("{"))]
    assert rest and [line.rstrip("\n") for line in output[: len(rest)]] == rest
    ready, ack = frames(output)
    for frame in (ready, ack):
        validate_server_frame(frame)
    assert ready["type"] == "ready" and ready["data"]["user"]["username"] == "alice"
    assert ack["type"] == "ack" and ack["ref"] == "1" and ack["data"]["duplicate"] is False
    assert (ack["data"]["message"]["seq"], ack["data"]["message"]["text"]) == (4, "hi over the socket")
