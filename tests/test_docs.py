"""The documentation site builds with ``mkdocs build --strict``, and its pages keep their promises.

The build runs once per session in a subprocess (about 2 s): a broken cross-reference, a
docstring mkdocstrings cannot read, a missing included file or a CLI module that moved fails
it. The samples in the pages run against the fake Cognito endpoint.
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import botocore.session
import click
import httpx
import pytest
from click.testing import CliRunner

import cognito_confirm
import cognito_confirm.testing
from cognito_confirm.cli.commands import cli
from cognito_confirm.testing import FakeCognito
from tests.helpers import first_call_at_once, serve_cli_in_process, share_built_once


@pytest.fixture(autouse=True)
def quick_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """One SSL context for every client, one signing key for moto's pools, the first call at
    its slot's start: these tests look at answers, not at the pace (tests.helpers)."""
    share_built_once(monkeypatch)
    first_call_at_once(monkeypatch)


ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
BLOCK = re.compile(r"^ *```(\w+)\n(.*?)^ *```", re.MULTILINE | re.DOTALL)
POOL_ID = "eu-west-1_AbC123"


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built strictly from this tree into a temporary directory."""
    out = tmp_path_factory.mktemp("site")
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)]
    # Not measured by coverage (COVERAGE_PROCESS_CONFIG): the build runs none of the library's
    # code paths, and tracing it made the build 9.1 s against 5.0-7.2 s (one loaded machine).
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    env["NO_MKDOCS_2_WARNING"] = "1"
    built = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr
    return out


def page(site: Path, name: str) -> str:
    """A built page's HTML."""
    return (site / name / "index.html").read_text(encoding="utf-8")


def blocks(path: Path, language: str) -> list[str]:
    """A page's fenced code blocks in one language (indented ones dedented)."""
    found = BLOCK.findall(path.read_text(encoding="utf-8"))
    return [_dedent(body) for lang, body in found if lang == language]


def _dedent(body: str) -> str:
    lines = body.splitlines()
    indent = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
    return "\n".join(line[indent:] for line in lines) + "\n"


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeCognito]:
    """A fake Cognito holding the pages' pool, reached through AWS_ENDPOINT_URL."""
    with FakeCognito(user_pool_id=POOL_ID) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint_url)
        monkeypatch.chdir(tmp_path)
        yield server


def test_api_reference_lists_every_public_name(site: Path) -> None:
    """Every name in cognito_confirm.__all__ has its entry on the API page."""
    html = page(site, "reference/api")
    missing = [
        name for name in cognito_confirm.__all__ if f'id="cognito_confirm.{name}"' not in html
    ]
    assert not missing


def test_testing_reference_lists_every_public_name(site: Path) -> None:
    """Every name in cognito_confirm.testing.__all__ has its entry on the testing page."""
    html = page(site, "reference/testing")
    prefix = "cognito_confirm.testing"
    names = cognito_confirm.testing.__all__
    assert not [name for name in names if f'id="{prefix}.{name}"' not in html]


def test_cli_reference_shows_every_command_and_option(site: Path) -> None:
    """The CLI page is generated from the click group: every command and option is on it."""
    html = page(site, "reference/cli")
    assert isinstance(cli, click.Group)
    for name, command in cli.commands.items():
        assert f"cognito-confirm {name}" in html
        for param in command.params:
            for flag in param.opts:
                assert flag in html, (name, flag)


def test_troubleshooting_covers_every_admin_confirm_sign_up_error() -> None:
    """Each error botocore's model lists for AdminConfirmSignUp has a row in the table.

    An older botocore (the lowest aiobotocore's) lists fewer codes; the page keeps them all.
    """
    model = botocore.session.get_session().get_service_model("cognito-idp")
    codes = {shape.name for shape in model.operation_model("AdminConfirmSignUp").error_shapes}
    text = (DOCS / "guides" / "troubleshooting.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| \[`(\w+)`\]\(#[\w-]+\) \|", text, re.MULTILINE))
    assert codes <= rows, codes - rows


def test_every_python_sample_parses() -> None:
    """No page shows Python that does not even parse (top-level await allowed, as in a REPL)."""
    flags = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    for path in DOCS.rglob("*.md"):
        for code in blocks(path, "python"):
            compile(code, str(path), "exec", flags=flags)


SPHINX_ROLE = re.compile(r":(?:meth|attr|class|func|mod|exc|data|obj|ref):\S|\w::\s")


def test_no_page_shows_a_raw_sphinx_role(site: Path) -> None:
    """mkdocstrings renders Markdown: a ``:meth:`x` `` or ``::`` in a docstring shows as typed."""
    shown = {}
    for html in site.rglob("*.html"):
        # Code listings may hold reST (an example's own docstring); the prose may not.
        prose = re.sub(r"<pre\b.*?</pre>", "", html.read_text(encoding="utf-8"), flags=re.DOTALL)
        text = re.sub(r"<[^>]+>", "", prose)
        found = SPHINX_ROLE.findall(text)
        if found:
            shown[str(html.relative_to(site))] = found
    assert shown == {}


def test_sphinx_role_pattern_finds_roles() -> None:
    """The pattern above sees the roles as the testing page once showed them (tags removed)."""
    assert len(SPHINX_ROLE.findall("see :meth:fail and :attr:FakeCognito.x, then::\n code")) == 3
    assert not SPHINX_ROLE.findall("cognito:user_status = 'x'; https://a.b/c; [a][b]")


async def run_async_sample(code: str, path: Path) -> dict[str, Any]:
    """Run a sample that uses top-level await, as in an async REPL; return its names."""
    namespace: dict[str, Any] = {}
    wrapped = "async def __sample__():\n" + textwrap.indent(code, "    ") + "\n    return locals()"
    exec(compile(wrapped, str(path), "exec"), namespace)  # noqa: S102 - our own page
    result: dict[str, Any] = await namespace["__sample__"]()
    return result


LIBRARY = DOCS / "guides" / "library.md"


def library_sample(fragment: str) -> str:
    """The library guide's one python sample that contains ``fragment``."""
    (found,) = [code for code in blocks(LIBRARY, "python") if fragment in code]
    return found


async def test_library_guide_one_user_sample(pool: FakeCognito) -> None:
    """'One user' confirms alice and catches UserNotFoundError for nobody."""
    pool.add_user("alice")
    names = await run_async_sample(library_sample('confirm("alice")\n    assert'), LIBRARY)
    assert names["result"].outcome.value == "confirmed"
    assert pool.user_status("alice") == "CONFIRMED"


async def test_library_guide_many_users_sample(
    pool: FakeCognito, capsys: pytest.CaptureFixture[str]
) -> None:
    """'Many users' reports what its comments say and streams a file."""
    pool.add_users(["alice", "bob", "carol"])
    await anyio.Path("users.txt").write_text("carol\n\nalice\n")
    names = await run_async_sample(library_sample("confirm_many"), LIBRARY)
    report = names["report"]
    assert report.counts[report.results[0].outcome] == 2
    outcomes = [r.outcome.value for r in report.results]
    assert outcomes == ["confirmed", "confirmed", "duplicate", "invalid"]
    assert not report.ok
    out = capsys.readouterr().out
    assert "Outcome.CONFIRMED" in out
    assert "Outcome.ALREADY_CONFIRMED" in out  # alice, from the file


async def test_library_guide_aioboto3_sample(pool: FakeCognito) -> None:
    """The aioboto3 section's sample confirms alice through an aioboto3 Session."""
    pool.add_user("alice")
    names = await run_async_sample(library_sample("aioboto3.Session()"), LIBRARY)
    assert names["result"].outcome.value == "confirmed"
    assert pool.user_status("alice") == "CONFIRMED"


async def test_testing_page_sample(pool: FakeCognito) -> None:
    """The testing page's FakeCognito sample runs."""
    path = DOCS / "reference" / "testing.md"
    (code,) = [code for code in blocks(path, "python") if "FakeCognito(quota=50" in code]
    names = await run_async_sample(code, path)
    assert "fake" in names


def test_landing_page_sample_runs(pool: FakeCognito, capsys: pytest.CaptureFixture[str]) -> None:
    """The landing page's ten lines confirm alice, bob and carol, as written."""
    pool.add_users(["alice", "bob", "carol"])
    (code,) = [code for code in blocks(DOCS / "index.md", "python") if "asyncio.run" in code]
    exec(compile(code, "docs/index.md", "exec"), {})  # noqa: S102 - our own page
    assert "confirmed" in capsys.readouterr().out
    assert {pool.user_status(name) for name in ("alice", "bob", "carol")} == {"CONFIRMED"}


async def test_fastapi_guide_sample_serves(
    pool: FakeCognito, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The FastAPI guide's pattern confirms a user named in the body."""
    pool.add_user("alice")
    monkeypatch.setenv("COGNITO_USER_POOL_ID", POOL_ID)
    path = DOCS / "guides" / "fastapi.md"
    (code,) = [code for code in blocks(path, "python") if "lifespan" in code]
    namespace: dict[str, Any] = {}
    exec(compile(code, str(path), "exec"), namespace)  # noqa: S102 - our own page
    app = namespace["app"]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            response = await client.post("/users/confirm-one", json={"username": "alice"})
    assert response.json() == {"username": "alice", "outcome": "confirmed"}


def test_runbook_from_dry_run_to_verification(
    pool: FakeCognito, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runbook's commands, in order, and its verification script count the right users.

    The commands run on virtual time against the fake in-process (``serve_cli_in_process``):
    what the runbook promises is the command's, not the transport's."""
    serve_cli_in_process(monkeypatch, pool)
    pool.add_users(["alice", "bob", "carol"])
    Path("users.txt").write_text("alice\nbob\nbob\nnobody\ncarol\n")
    path = DOCS / "guides" / "migration.md"
    commands = [
        line.rstrip("\\").strip()
        for code in blocks(path, "console")
        for line in _joined(code).splitlines()
        if line.startswith("cognito-confirm confirm")
    ]
    dry_run, run, resume, pool_check = commands
    exit_codes = [
        CliRunner().invoke(cli, command.split()[1:], catch_exceptions=False).exit_code
        for command in (dry_run, run, resume, pool_check)
    ]
    # nobody is not_found: the run exits 1, and so does the resumed run, which skips it: its
    # exit code covers the whole report (the note; #17 case 15: it was 0).
    assert exit_codes == [0, 1, 1, 0]
    (script,) = blocks(path, "python")
    monkeypatch.setattr(sys, "argv", ["verify.py", "migration.jsonl"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(script, str(path), "exec"), {"__name__": "__main__"})  # noqa: S102
    first, *attention = out.getvalue().splitlines()
    assert "'confirmed': 3" in first
    assert "'not_found': 1" in first
    assert len(attention) == 1
    assert "not_found UserNotFoundException" in attention[0]


def _joined(code: str) -> str:
    """Console text with backslash continuations joined into one line each."""
    return re.sub(r"\\\n\s*", " ", code)


def test_testing_page_recipe_runs_the_cli_against_the_fake(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The shell recipe: the fake's command prints URL and pool, the CLI confirms its users."""
    monkeypatch.chdir(tmp_path)
    (recipe,) = blocks(DOCS / "reference" / "testing.md", "console")
    commands = [line[2:].split(" #")[0] for line in recipe.splitlines() if line.startswith("$ ")]
    serve, credentials, endpoint, make_users, run = commands
    fake_args = serve.rstrip(" &").split()[3:]
    process = subprocess.Popen(
        [sys.executable, "-m", "cognito_confirm.testing", *fake_args],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip().removeprefix("endpoint_url=")
        pool_id = process.stdout.readline().strip().removeprefix("user_pool_id=")
        assert f"--user-pool-id {pool_id}" in run
        for assignment in credentials.removeprefix("export ").split():
            monkeypatch.setenv(*assignment.split("=", 1))
        assert endpoint.startswith("export AWS_ENDPOINT_URL=http://127.0.0.1:")
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        assert make_users == "seq -f 'user%06g' 0 99 > users.txt"
        Path("users.txt").write_text("".join(f"user{n:06d}\n" for n in range(100)))
        # The recipe's fake lets a burst of 50 through, then 50 a second: at 100/s the 100
        # users fit in its first second (at 1000/s the pace overshoots, is throttled and cuts
        # below the quota: 0.5 s longer).
        arguments = [*run.split()[1:], "--rate", "100", "--no-progress"]
        result = CliRunner().invoke(cli, arguments, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert re.search(r"^confirmed +100$", result.output, re.MULTILINE), result.output
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        if process.stdout is not None:
            process.stdout.close()
