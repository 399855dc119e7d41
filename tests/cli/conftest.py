"""Fixtures of the command-line tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import process_env


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of a ``python -m cognito_confirm`` process: dummy credentials, no AWS
    configuration files, whatever the developer has."""
    return process_env(tmp_path)
