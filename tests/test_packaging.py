"""The wheel and the sdist carry the licence and honest metadata, as a user installs them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.metadata import Metadata
from packaging.requirements import Requirement
from packaging.version import Version

import cognito_confirm

ROOT = Path(__file__).resolve().parent.parent
LOWEST = ROOT / "constraints" / "lowest.txt"
PYTHONS = ("3.11", "3.12", "3.13")


def unmeasured() -> dict[str, str]:
    """This environment without coverage's variables: the build backend and twine run none of
    the library's code, and coverage's start and tracing in them cost 0.2-0.5 s a process."""
    return {name: value for name, value in os.environ.items() if not name.startswith("COVERAGE_")}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel and an sdist built from this tree by the project's build backend."""
    out = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "hatchling", "build", "--directory", str(out)]
    built = subprocess.run(
        command, cwd=ROOT, env=unmeasured(), capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stderr
    return out


def wheel_files(dist: Path) -> dict[str, bytes]:
    """The wheel's files by path."""
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def sdist_files(dist: Path) -> dict[str, bytes]:
    """The sdist's files by path inside the project (without the name-version/ prefix)."""
    (sdist,) = dist.glob("*.tar.gz")
    files: dict[str, bytes] = {}
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            handle = archive.extractfile(member)
            if handle is not None:
                files[member.name.partition("/")[2]] = handle.read()
    return files


def wheel_metadata(dist: Path) -> Metadata:
    """The wheel's METADATA, validated as twine and the package index validate it."""
    (text,) = [data for name, data in wheel_files(dist).items() if name.endswith("/METADATA")]
    return Metadata.from_email(text, validate=True)


def test_wheel_and_sdist_ship_the_licence(dist: Path) -> None:
    """LICENSE is in both archives, and the wheel's METADATA names it in License-File."""
    licence = (ROOT / "LICENSE").read_bytes()
    assert b"MIT License" in licence
    wheel = wheel_files(dist)
    assert [data for name, data in wheel.items() if name.endswith("/licenses/LICENSE")] == [licence]
    assert sdist_files(dist)["LICENSE"] == licence
    metadata = wheel_metadata(dist)
    assert metadata.license_expression == "MIT"
    assert metadata.license_files == ["LICENSE"]
    pkg_info = Metadata.from_email(sdist_files(dist)["PKG-INFO"], validate=True)
    assert pkg_info.license_files == ["LICENSE"]


def test_classifiers_are_complete_and_honest(dist: Path) -> None:
    """Python versions match requires-python; asyncio only; the licence only as SPDX."""
    metadata = wheel_metadata(dist)
    classifiers = metadata.classifiers or []
    for python in PYTHONS:
        assert f"Programming Language :: Python :: {python}" in classifiers
    claimed = [c.rpartition(" :: ")[2] for c in classifiers if re.search(r":: 3\.\d+$", c)]
    requires_python = metadata.requires_python
    assert requires_python is not None
    assert all(requires_python.contains(version) for version in claimed), claimed
    assert "Framework :: AsyncIO" in classifiers
    assert "Framework :: AnyIO" not in classifiers  # aiobotocore runs on asyncio only
    assert not [c for c in classifiers if c.startswith("License ::")]  # PEP 639: SPDX instead
    assert any(c.startswith("Development Status ::") for c in classifiers)
    assert any(c.startswith("Topic ::") for c in classifiers)
    assert "Typing :: Typed" in classifiers
    assert not metadata.project_urls  # no public home yet: no invented URLs


def test_wheel_holds_the_package_only(dist: Path) -> None:
    """py.typed ships; tests, docs, examples and benchmarks stay out of the wheel."""
    names = wheel_files(dist)
    assert "cognito_confirm/py.typed" in names
    top = {name.partition("/")[0] for name in names}
    assert top == {"cognito_confirm", next(t for t in top if t.endswith(".dist-info"))}


def test_lowest_constraints_pin_the_declared_lower_bounds() -> None:
    """constraints/lowest.txt pins each runtime dependency (library and [cli]) at its bound."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    texts = [*project["dependencies"], *project["optional-dependencies"]["cli"]]
    bounds = {req.name: lower_bound(req) for req in map(Requirement, texts)}
    lines = LOWEST.read_text().splitlines()
    pins = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    assert {req.name: lower_bound(req) for req in pins} == bounds


def lower_bound(requirement: Requirement) -> Version:
    """The version a requirement's one ``>=`` or ``==`` specifier names."""
    (spec,) = [spec for spec in requirement.specifier if spec.operator in (">=", "==")]
    return Version(spec.version)


def test_version_is_the_changelogs_first_section(dist: Path) -> None:
    """pyproject's version, ``__version__``, the wheel's name and the newest changelog agree."""
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    first = re.search(r"^## (\S+)", changelog, re.MULTILINE)
    assert first is not None
    assert first.group(1) == version
    assert cognito_confirm.__version__ == version
    (wheel,) = dist.glob("*.whl")
    assert wheel.name.startswith(f"cognito_confirm-{version}-")


def test_twine_check_strict_passes(dist: Path) -> None:
    """The wheel and sdist pass ``twine check --strict``: the README renders as PyPI shows it."""
    archives = sorted(str(path) for path in dist.iterdir())
    command = [sys.executable, "-m", "twine", "check", "--strict", *archives]
    checked = subprocess.run(command, env=unmeasured(), capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("PASSED") == len(archives), checked.stdout
