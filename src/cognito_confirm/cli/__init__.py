"""The ``cognito-confirm`` command line; it needs the ``[cli]`` extra (click and rich).

Only ``main`` is public: the ``cognito-confirm`` script and ``python -m cognito_confirm`` call it.
The modules, each importing only the ones listed after it (and the library)::

    commands   the click commands and their options: confirm, demo
    options    confirm's options once parsed, and the checks of values click cannot do by
               type (rate, grace, endpoint, timeouts, ...)
    run        BulkRun (shared by confirm and demo), dry_run, the exit codes
    display    the progress bar, the summary table or JSON, one-line errors and notes
    logs       -v and --debug: the library's logger on stderr (above the progress bar)
    output     --output json: the summary as one JSON object
    tally      what a run counts, by outcome
    userpool   ListUsers (--from-pool), AdminUpdateUserAttributes (--verify-email),
               DescribeUserPool (--dry-run), each at its own pace
    inputs     usernames from a text file, a CSV column or standard input
    report     the JSON Lines report, and resuming from it
    demo       a local moto server holding a pool of unconfirmed users (the [demo] extra)

click is imported only when ``main`` runs, so that without the extra the script says what to
install instead of dying with a traceback, and ``import cognito_confirm`` never pays for it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Final

__all__ = ["main"]

EXIT_MISSING_EXTRA: Final = 2
_EXTRA_MODULES: Final = frozenset({"click", "rich"})
_MISSING_EXTRA: Final = (
    "cognito-confirm: the command line needs its extra: pip install 'cognito-confirm[cli]'"
)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line (and exit with its code), or say which extra it needs and exit 2."""
    try:
        from .commands import main as run_command_line
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in _EXTRA_MODULES:
            raise
        print(_MISSING_EXTRA, file=sys.stderr)
        sys.exit(EXIT_MISSING_EXTRA)
    run_command_line(argv)
