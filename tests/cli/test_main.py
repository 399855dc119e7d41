"""The entry points without the [cli] extra: one line naming it, exit 2, no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cognito_confirm.cli import main

MISSING_EXTRA = (
    "cognito-confirm: the command line needs its extra: pip install 'cognito-confirm[cli]'"
)


def run_without(module: str, entry: str) -> subprocess.CompletedProcess[str]:
    """Run an entry point with ``module`` hidden, as in an install without the extra."""
    probe = f"import sys; sys.modules[{module!r}] = None; {entry}"
    return subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("module", ["click", "rich"])
@pytest.mark.parametrize(
    "entry",
    [
        "from cognito_confirm.cli import main; main(['--help'])",  # the cognito-confirm script
        "import runpy; runpy.run_module('cognito_confirm', run_name='__main__')",  # python -m
    ],
)
def test_without_the_extra_the_command_names_it(module: str, entry: str) -> None:
    """Without click or rich: exactly the one line on stderr, nothing on stdout, exit 2."""
    result = run_without(module, entry)
    assert result.returncode == 2, result.stderr
    assert result.stderr == MISSING_EXTRA + "\n"
    assert result.stdout == ""


def test_other_missing_modules_are_not_blamed_on_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A module missing for another reason is a real error, raised as it is."""
    monkeypatch.setitem(sys.modules, "cognito_confirm.cli.commands", None)
    with pytest.raises(ModuleNotFoundError, match=r"cognito_confirm\.cli\.commands"):
        main(["--help"])


def test_python_dash_m_runs_the_command_line() -> None:
    """`python -m cognito_confirm --version` is the command line."""
    result = subprocess.run(
        [sys.executable, "-m", "cognito_confirm", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("cognito-confirm, version ")
