"""Every example runs, as a user would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_quickstart_confirms_every_demo_user() -> None:
    """examples/quickstart.py confirms its users in its own moto server and says so."""
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py"), "15"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "confirmed: 15" in completed.stdout
    assert "all ok: True" in completed.stdout
