"""``python -m cognito_confirm.testing``: see ``_command.main``."""

from __future__ import annotations

from ._command import main

if __name__ == "__main__":
    main()
