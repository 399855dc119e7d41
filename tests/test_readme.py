"""The README's code samples run as written, against the fake Cognito endpoint."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from click.testing import CliRunner

from cognito_confirm.cli.commands import cli
from cognito_confirm.testing import FakeCognito

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)
POOL_ID = "eu-west-1_AbC123"


def blocks(language: str) -> list[str]:
    """The README's fenced code blocks in one language, in order."""
    return [body for lang, body in BLOCK.findall(README.read_text()) if lang == language]


async def run_async_sample(code: str) -> dict[str, Any]:
    """Run a sample that uses top-level await, as in an async REPL; return its names."""
    namespace: dict[str, Any] = {}
    wrapped = "async def __sample__():\n" + textwrap.indent(code, "    ") + "\n    return locals()"
    exec(compile(wrapped, str(README), "exec"), namespace)  # noqa: S102 - our own README
    result: dict[str, Any] = await namespace["__sample__"]()
    return result


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeCognito]:
    """A fake Cognito holding the README's pool, reached through AWS_ENDPOINT_URL."""
    with FakeCognito(user_pool_id=POOL_ID) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint_url)
        monkeypatch.chdir(tmp_path)
        yield server


def sample(fragment: str) -> str:
    """The one python sample that contains ``fragment``."""
    (found,) = [code for code in blocks("python") if fragment in code]
    return found


async def test_one_user_sample(fake: FakeCognito) -> None:
    """'One user' confirms alice and catches UserNotFoundError for nobody."""
    fake.add_user("alice")
    names = await run_async_sample(sample('await confirmer.confirm("alice")'))
    assert names["result"].outcome.value == "confirmed"
    assert fake.user_status("alice") == "CONFIRMED"


async def test_many_users_sample(fake: FakeCognito, capsys: pytest.CaptureFixture[str]) -> None:
    """'Many users' reports what its comments say and streams a file."""
    fake.add_users(["alice", "bob", "carol"])
    await anyio.Path("users.txt").write_text("carol\n\nalice\n")
    names = await run_async_sample(sample("confirm_many"))
    report = names["report"]
    assert report.counts[report.results[0].outcome] == 2
    assert [r.outcome.value for r in report.results] == [
        "confirmed",
        "confirmed",
        "duplicate",
        "invalid",
    ]
    assert not report.ok
    out = capsys.readouterr().out
    assert "Outcome.CONFIRMED" in out
    assert "Outcome.ALREADY_CONFIRMED" in out  # alice, from the file


async def test_fastapi_sample(fake: FakeCognito, monkeypatch: pytest.MonkeyPatch) -> None:
    """The FastAPI sample serves a confirmation from its lifespan's confirmer."""
    fake.add_user("alice")
    monkeypatch.setenv("COGNITO_USER_POOL_ID", POOL_ID)
    namespace: dict[str, Any] = {}
    exec(compile(sample("FastAPI(lifespan"), str(README), "exec"), namespace)  # noqa: S102
    app = namespace["app"]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            response = await client.post("/users/alice/confirm")
    assert response.json() == {"username": "alice", "outcome": "confirmed"}


async def test_testing_sample(fake: FakeCognito) -> None:
    """The FakeCognito sample from the Development section runs."""
    names = await run_async_sample(sample("FakeCognito(quota=50"))
    assert "fake" in names


def console_commands() -> list[tuple[str, list[str]]]:
    """The README's `$ cognito-confirm ...` commands, each with the output shown under it."""
    commands: list[tuple[str, list[str]]] = []
    for body in blocks("console"):
        for line in body.splitlines():
            if line.startswith("$ "):
                commands.append((line[2:], []))
            elif commands and line.strip():
                commands[-1][1].append(line)
    return [(command, output) for command, output in commands if command.startswith("cognito")]


def test_cli_samples_print_what_the_readme_shows(
    fake: FakeCognito, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each CLI command in the README, run on its sample file, prints the lines shown."""
    fake.add_users(["alice", "bob"])
    fake.add_user("carol", status="CONFIRMED")
    fake.add_user("dave", status="FORCE_CHANGE_PASSWORD")
    (users_txt,) = [text for text in blocks("text") if text.startswith("alice\n")]
    Path("users.txt").write_text(users_txt)
    commands = console_commands()
    assert len(commands) == 2
    for command, shown in commands:
        result = CliRunner().invoke(cli, command.split()[1:], catch_exceptions=False)
        assert result.exit_code == 1, result.output
        for line in shown:
            if " users in " not in line:  # timings differ from run to run
                assert line in result.output, (command, line, result.output)
