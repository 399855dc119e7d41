#!/usr/bin/env python3
"""The project's two entry points, for a fresh machine that has only Python 3.11+.

    python3 dev.py demo [ARGS...]   cognito-confirm demo: confirm users in a local moto server
    python3 dev.py test [ARGS...]   lint, type-check and run the whole test suite with coverage
    python3 dev.py bench [ARGS...]  run the benchmarks

Each creates ./.venv on first use and installs what it needs there (again only when
pyproject.toml changes), then runs: demo the project with its [demo] extra; test and bench the
project with its [cli,demo] extras plus the PEP 735 dependency group "dev" (pip 25.1 or newer,
which this script installs first). Only the standard library is used here.
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
PYTEST_PARALLEL = ("-n", "4", "--dist", "loadfile")
"""pytest-xdist: 4 worker processes (most tests wait on a process or a server, not the CPU);
a file's tests on one worker, so what a module builds once (the docs site, the wheel) is built
once. (Not ``loadgroup``: with pytest 9 its ``xdist_group`` marks did not group.)"""


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
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check"]
    # --group needs pip 25.1 or newer.
    subprocess.run([*pip, "install", "--quiet", "--upgrade", "pip>=25.1"], check=True)
    install = [*pip, "install", "--quiet", "-e", f".[{extras}]", *groups]
    subprocess.run(install, check=True, cwd=ROOT)
    stamp.write_text(digest)


def run(*command: str) -> int:
    """Run a command from the virtual environment in the project root; return its exit code."""
    print("+", " ".join(command), flush=True)
    return subprocess.run([str(BIN / command[0]), *command[1:]], cwd=ROOT, check=False).returncode


def test(args: list[str]) -> int:
    """Lint, type-check, then run pytest with branch coverage; stop at the first failure."""
    steps = [
        ("ruff", "check", "."),
        ("ruff", "format", "--check", "."),
        ("mypy",),
        (
            "pytest",
            *PYTEST_PARALLEL,
            "--cov",
            "--cov-branch",
            "--cov-report=term-missing:skip-covered",
            *args,
        ),
    ]
    for step in steps:
        code = run(*step)
        if code:
            return code
    return 0


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
