"""Run every benchmark: ``python benchmarks/run.py [--quick | --smoke] [--rounds N] [--json PATH]``.

Starts a fake Cognito endpoint in another process for each scenario, compares the library with
the alternatives in the same run, alternating them over rounds, and prints a table of medians
and ratios with the machine it ran on. ``--help`` lists the options.
"""

from __future__ import annotations

import sys
from pathlib import Path


def _main() -> int:
    # Run as a script, this file's directory is on sys.path rather than the repository root.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.cli import main

    return main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(_main())
