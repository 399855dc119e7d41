#!/usr/bin/env python3
"""The project's two entry points, for a fresh machine that has only Python 3.11+.

    python3 dev.py demo [ARGS...]   cognito-confirm demo: confirm users in a local moto server
    python3 dev.py test [ARGS...]   lint, type-check and run the whole test suite with coverage
    python3 dev.py bench [ARGS...]  run the benchmarks

Each creates ./.venv on first use and installs what it needs there (again only when
pyproject.toml changes), then runs: demo the project with its [demo] extra; test and bench the
project with its [cli,demo] extras plus the PEP 735 dependency group "dev", installed with uv
(or pip 25.1 or newer where uv cannot be had). Only the standard library is used here.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
INSTALLS = {"demo": ("demo", None), "dev": ("cli,demo", "dev")}
"""What each set installs: the project's extras, and a dependency group (PEP 735) or None."""
COMMANDS = {"demo": "demo", "test": "dev", "bench": "dev"}
PYTEST_PARALLEL = ("-n", "3", "--dist", "loadfile")
"""pytest-xdist: 3 worker processes on 2 cores (a few tests still wait on a process or a
server); a file's tests on one worker, so what a module builds once (the docs site, the
wheel) is built once. Measured on 2 idle cores with coverage: 2 workers 68.6 s (101 s of
CPU), 3 workers 62.5 s (110 s), 4 workers 65.3 s (119 s): each worker imports and collects
the whole suite. (Not ``loadgroup``: with pytest 9 its ``xdist_group`` marks did not group.)"""


def ensure_installed(name: str) -> None:
    """Create the virtual environment and install the set ``name`` into it if needed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - an older python3 may well start this file
        sys.exit(f"cognito-confirm needs Python 3.11 or newer, this is {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        print(f"creating {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = VENV / f".installed-{name}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    extras, group = INSTALLS[name]
    groups = ["--group", group] if group else []
    what = f"cognito-confirm[{extras}]" + (f" and the {group} group" if group else "")
    print(f"installing {what} into {VENV} ...", flush=True)
    install = [*installer(), "--quiet", "-e", f".[{extras}]", *groups]
    subprocess.run(install, check=True, cwd=ROOT)
    stamp.write_text(digest)


def installer() -> list[str]:
    """The command that installs into the virtual environment: uv's pip where it can be had.

    uv installs the dev set in about 12 s where pip takes 60-90 s (most of a first test run);
    it comes from the package index as one wheel. Where it cannot be installed, pip 25.1 or
    newer (``--group`` needs it) does the same work.

    Both compile the packages' bytecode at install, as pip always does (uv only when told:
    ``--compile-bytecode``, about 10 s more). Where ``PYTHONDONTWRITEBYTECODE`` is set (it is
    on this project's CI machines) nothing else ever writes it, and every test worker and
    every process a test starts compiled botocore, moto and the rest from source again: 0.8 s
    more CPU for each ``import cognito_confirm.cli`` (0.5 s with the bytecode, 1.3 s without).
    """
    python = str(BIN / "python")
    pip = [python, "-m", "pip", "--disable-pip-version-check", "install", "--quiet"]
    if subprocess.run([*pip, "uv"], check=False, cwd=ROOT).returncode == 0:
        return [python, "-m", "uv", "pip", "install", "--python", python, "--compile-bytecode"]
    subprocess.run([*pip, "--upgrade", "pip>=25.1"], check=True)
    return pip


def run(*command: str) -> int:
    """Run a command from the virtual environment in the project root; return its exit code."""
    print("+", " ".join(command), flush=True)
    return subprocess.run([str(BIN / command[0]), *command[1:]], cwd=ROOT, check=False).returncode


def test(args: list[str]) -> int:
    """Lint, then type-check beside pytest with branch coverage; the first failure's code.

    mypy (18 s from a clean clone) runs in the background while pytest runs: most of pytest's
    time is spent waiting on processes and servers, not computing.
    """
    for step in (("ruff", "check", "."), ("ruff", "format", "--check", ".")):
        code = run(*step)
        if code:
            return code
    print("+ mypy (beside pytest; its output follows pytest's)", flush=True)
    mypy = subprocess.Popen(
        [str(BIN / "mypy")], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    pytest = run(
        "pytest",
        *PYTEST_PARALLEL,
        "--cov",
        "--cov-branch",
        "--cov-report=term-missing:skip-covered",
        *args,
    )
    output, _ = mypy.communicate()
    print("+ mypy", output, sep="\n", end="", flush=True)
    return mypy.returncode or pytest


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    command, args = argv[0], argv[1:]
    ensure_installed(COMMANDS[command])
    if command == "test":
        return test(args)
    if command == "bench":
        return run("python", "benchmarks/run.py", *args)
    return run("cognito-confirm", "demo", *args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
