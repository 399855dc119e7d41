"""Every example runs, as a user would run it.

The scripts run as ``__main__`` in this process (``runpy``), their output captured and their
``sys.exit`` status read from ``SystemExit``: what a user sees, without an interpreter's start
(about 1 s each). The one that serves HTTP runs under uvicorn in a process of its own, and is
stopped with SIGINT as a user stops it.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import MotoPool, first_call_at_once, share_built_once

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(autouse=True)
def quick_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """One SSL context for every client, one signing key for moto's pools, the first call at
    its slot's start: these tests look at answers, not at the pace (tests.helpers)."""
    share_built_once(monkeypatch)
    first_call_at_once(monkeypatch)


def run_example(script: str, *args: str) -> object:
    """``python examples/SCRIPT ARGS``, in this process: the status it exits with."""
    path = str(EXAMPLES / script)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", [path, *args])
        with pytest.raises(SystemExit) as exited:
            runpy.run_path(path, run_name="__main__")
    return exited.value.code


def test_quickstart_confirms_every_demo_user(capsys: pytest.CaptureFixture[str]) -> None:
    """examples/quickstart.py confirms its users in its own fake Cognito and says so."""
    status = run_example("quickstart.py", "15")
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "confirmed: 15" in out
    assert "all ok: True" in out


def aws_env(**extra: str) -> dict[str, str]:
    """The environment for an example: dummy credentials, nothing from the developer's AWS."""
    return {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        **extra,
    }


def bulk_migrate(
    pool: MotoPool, users: Path, report: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[object, str, str]:
    """examples/bulk_migrate.py against moto: its exit status, stdout and stderr."""
    status = run_example(
        "bulk_migrate.py",
        *("--user-pool-id", pool.pool_id, "--input", str(users), "--report", str(report)),
        *("--endpoint-url", pool.endpoint_url, "--rate", "100", "--concurrency", "4"),
    )
    out, err = capsys.readouterr()
    return status, out, err


def test_bulk_migrate_confirms_a_file_of_users(
    moto_pool: MotoPool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bulk_migrate.py confirms every user of its file, one report line each, in a 0o600 file."""
    moto_pool.sign_up("alice", "bob", "carol")
    users = tmp_path / "users.txt"
    users.write_text("alice\nbob\n\n carol \nalice\n", encoding="utf-8")
    report = tmp_path / "report.jsonl"
    status, out, err = bulk_migrate(moto_pool, users, report, capsys)
    assert status == 0, err
    lines = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    by_index = {line["index"]: (line["username"], line["outcome"]) for line in lines}
    assert by_index == {
        0: ("alice", "confirmed"),
        1: ("bob", "confirmed"),
        2: ("carol", "confirmed"),
        3: ("alice", "duplicate"),
    }
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert {moto_pool.status(name) for name in ("alice", "bob", "carol")} == {"CONFIRMED"}
    assert re.search(r"confirmed: 3\n\s+duplicate: 1\n4 users, 0 need attention", out)


def test_bulk_migrate_exits_1_on_failures_and_keeps_its_report(
    moto_pool: MotoPool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown user makes the exit status 1; a second run refuses to overwrite the report."""
    moto_pool.sign_up("dave")
    users = tmp_path / "users.txt"
    users.write_text("dave\nghost\n", encoding="utf-8")
    report = tmp_path / "report.jsonl"
    status, out, err = bulk_migrate(moto_pool, users, report, capsys)
    assert status == 1, err
    outcomes = {
        line["username"]: (line["outcome"], line["error_code"])
        for line in map(json.loads, report.read_text(encoding="utf-8").splitlines())
    }
    assert outcomes == {
        "dave": ("confirmed", None),
        "ghost": ("not_found", "UserNotFoundException"),
    }
    assert "1 need attention" in out
    first_report = report.read_bytes()
    status, _, err = bulk_migrate(moto_pool, users, report, capsys)
    assert status == 2
    assert "exists" in err
    assert report.read_bytes() == first_report


@pytest.fixture
def uvicorn_app(
    moto_pool: MotoPool, tmp_path: Path
) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """examples/fastapi_app.py served by uvicorn on a loopback port: URL, log file, process."""
    log = tmp_path / "server.log"
    env = aws_env(
        COGNITO_USER_POOL_ID=moto_pool.pool_id, AWS_ENDPOINT_URL=moto_pool.endpoint_url, PORT="0"
    )
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, str(EXAMPLES / "fastapi_app.py")],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + 30
        while not (match := re.search(r"running on (http://\S+)", log.read_text())):
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield match.group(1), log, server
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_fastapi_app_under_uvicorn_logs_no_username(
    moto_pool: MotoPool, uvicorn_app: tuple[str, Path, subprocess.Popen[bytes]]
) -> None:
    """Run as a script, the app serves real HTTP and its log (access log off) holds no username."""
    url, log, server = uvicorn_app
    moto_pool.sign_up("erin.private@example.com", "frank.private@example.com")
    with httpx.Client(base_url=url, timeout=30) as client:
        by_path = client.post("/users/erin.private@example.com/confirm")
        by_body = client.post("/users/confirm-one", json={"username": "frank.private@example.com"})
        unknown = client.post("/users/confirm-one", json={"username": "ghost.private@example.com"})
    assert by_path.json() == {"username": "erin.private@example.com", "outcome": "confirmed"}
    assert by_body.json() == {"username": "frank.private@example.com", "outcome": "confirmed"}
    assert unknown.status_code == 404
    assert moto_pool.status("frank.private@example.com") == "CONFIRMED"
    server.send_signal(signal.SIGINT)
    assert server.wait(timeout=15) == 0
    text = log.read_text()
    assert "Application shutdown complete" in text
    assert text.count("confirm answered 200: confirmed") == 2
    assert "private@example.com" not in text


def test_fastapi_app_without_a_pool_id_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Started without COGNITO_USER_POOL_ID, the script exits 1 with one line, no traceback:
    it raises SystemExit with that line, which the interpreter prints to stderr, exiting 1."""
    monkeypatch.delenv("COGNITO_USER_POOL_ID", raising=False)
    monkeypatch.chdir(tmp_path)
    status = run_example("fastapi_app.py")
    assert status == (
        "fastapi_app: COGNITO_USER_POOL_ID is not set: export the id of the user pool whose "
        "users this service confirms, e.g. eu-west-1_AbC123"
    )
    assert capsys.readouterr() == ("", "")
