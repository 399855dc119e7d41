"""The README is a front page: short, with no link a package index cannot follow, and its
code samples run as written, against the fake Cognito endpoint."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cognito_confirm.cli.commands import cli
from cognito_confirm.testing import FakeCognito

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)
POOL_ID = "eu-west-1_AbC123"
MAX_CHARACTERS = 12_000
"""The front page's budget: what it is, install, quick start, one example each, the headline."""
LINK = re.compile(r"\]\(([^)\s]+)\)|<a\s[^>]*href=\"([^\"]+)\"|^\[[^\]]+\]:\s*(\S+)", re.MULTILINE)


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


def test_readme_is_a_front_page() -> None:
    """The README stays within its budget: the manual lives in docs/."""
    assert len(README.read_text(encoding="utf-8")) <= MAX_CHARACTERS


def test_readme_links_are_absolute() -> None:
    """Every link is absolute (https): on the package index a relative link is a 404."""
    links = ["".join(groups) for groups in LINK.findall(README.read_text(encoding="utf-8"))]
    assert [link for link in links if not link.startswith("https://")] == []


def test_link_pattern_finds_relative_links() -> None:
    """The link check sees Markdown, reference-style and HTML links, relative or not."""
    text = '[a](CHANGELOG.md) <a href="src/x.py">x</a>\n[ref]: docs/index.md\n[b](https://x.org)'
    links = ["".join(groups) for groups in LINK.findall(text)]
    assert links == ["CHANGELOG.md", "src/x.py", "docs/index.md", "https://x.org"]


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
