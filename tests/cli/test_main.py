"""The entry points without the [cli] extra: one line naming it, exit 2, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cognito_confirm.cli import main

MISSING_EXTRA = (
    "cognito-confirm: the command line needs its extra: pip install 'cognito-confirm[cli]'"
)
MODULES = ("click", "rich")
ENTRIES = (
    "from cognito_confirm.cli import main; main(['--help'])",  # the cognito-confirm script
    "import runpy; runpy.run_module('cognito_confirm', run_name='__main__')",  # python -m
)
PYTHON_DASH_M = (
    # What `python -m cognito_confirm --version` runs: the interpreter's -m calls this.
    "import runpy, sys; sys.argv = ['-m', '--version']; "
    "runpy._run_module_as_main('cognito_confirm')"
)

CASES = """
import contextlib, io, json, sys, traceback

results = []
for module, entry in json.loads(sys.argv[1]):
    for name in list(sys.modules):  # as a fresh interpreter has them: not imported yet
        if name.partition(".")[0] in {"cognito_confirm", "click", "rich"}:
            del sys.modules[name]
    if module is not None:
        sys.modules[module] = None  # as in an install without the extra
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            exec(entry, {})
            code = 0
        except SystemExit as exit_:
            code = exit_.code
        except BaseException:
            traceback.print_exc()  # what an interpreter prints, then exits 1
            code = 1
    if module is not None:
        del sys.modules[module]
    results.append([module, entry, code, out.getvalue(), err.getvalue()])
print(json.dumps(results))
"""
"""Each case (a module hidden or none, an entry point) in turn in one interpreter: before each
one, the package and the extra's modules are forgotten, so each imports them afresh as a new
interpreter would (one interpreter, not five: each costs a second of CPU under coverage)."""

Outcome = tuple[int, str, str]


@pytest.fixture(scope="module")
def outcomes() -> dict[tuple[str | None, str], Outcome]:
    """(module hidden, entry point) -> exit code, stdout, stderr."""
    cases: list[list[str | None]] = [[module, entry] for module in MODULES for entry in ENTRIES]
    cases.append([None, PYTHON_DASH_M])  # last: it leaves its module as __main__
    done = subprocess.run(
        [sys.executable, "-c", CASES, json.dumps(cases)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    return {
        (module, entry): (code, out, err)
        for module, entry, code, out, err in json.loads(done.stdout)
    }


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("entry", ENTRIES)
def test_without_the_extra_the_command_names_it(
    outcomes: dict[tuple[str | None, str], Outcome], module: str, entry: str
) -> None:
    """Without click or rich: exactly the one line on stderr, nothing on stdout, exit 2."""
    code, stdout, stderr = outcomes[module, entry]
    assert code == 2, stderr
    assert stderr == MISSING_EXTRA + "\n"
    assert stdout == ""


def test_other_missing_modules_are_not_blamed_on_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A module missing for another reason is a real error, raised as it is."""
    monkeypatch.setitem(sys.modules, "cognito_confirm.cli.commands", None)
    with pytest.raises(ModuleNotFoundError, match=r"cognito_confirm\.cli\.commands"):
        main(["--help"])


def test_python_dash_m_runs_the_command_line(
    outcomes: dict[tuple[str | None, str], Outcome],
) -> None:
    """`python -m cognito_confirm --version` is the command line (runpy's
    _run_module_as_main is what -m runs; test_process and test_signals run
    `python -m cognito_confirm confirm ...` itself)."""
    code, stdout, stderr = outcomes[None, PYTHON_DASH_M]
    assert code == 0, stderr
    assert stdout.startswith("cognito-confirm, version ")
