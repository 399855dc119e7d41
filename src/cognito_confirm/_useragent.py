"""botocore's User-Agent string, built once per distinct value rather than twice per call.

Why: botocore assembles the ``User-Agent`` header from its parts on every call, twice (for the
request and again just before it is sent, in case a feature joined meanwhile), and cleans each
part character by character in a Python generator: about 600 generator steps a call. On an
instant endpoint that was 15% of a confirmation's CPU (130 of 850 us a user; the overhead
benchmark's fake, 3,000 users), more than the whole bulk engine.

The string depends on the client (its config, session and platform, all fixed when it is made)
and on the set of botocore "features" in use: the client's own and those the current call
registered in its context (a retry mode, a credential source; botocore 1.35, the oldest that
aiobotocore 2.15 takes, has none). ``remember_user_agent`` keeps each client's strings by that
set, in botocore's own order, so the header sent is the one botocore would have built, byte for
byte (``tests/test_useragent.py`` compares them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from botocore.useragent import UserAgentString

if TYPE_CHECKING:
    from botocore.context import ClientContext

try:
    from botocore.context import get_context
except ImportError:  # pragma: no cover - an older botocore (1.35) puts no features in the header

    def get_context() -> ClientContext | None:
        """No call context: the header has no features, and one string per client."""
        return None


__all__ = ["remember_user_agent"]

_KEPT: Final = 64
"""Distinct strings kept per client at most (a handful of feature sets in practice)."""


def remember_user_agent(client: Any) -> None:
    """Make ``client`` build each distinct User-Agent string once.

    For a client whose User-Agent builder is botocore's own; any other is left alone.
    """
    creator = getattr(client, "_user_agent_creator", None)
    if type(creator) is not UserAgentString or "to_string" in vars(creator):
        return
    creator.to_string = _remembered(creator)  # type: ignore[method-assign]


def _remembered(creator: UserAgentString) -> Callable[[], str]:
    build = creator.to_string
    strings: dict[tuple[str, ...], str] = {}

    def to_string() -> str:
        # What botocore's _build_feature_metadata joins, in the order it would join it; the
        # other parts are fixed once the client is made.
        context = get_context()
        client_features = getattr(creator, "_client_features", None) or set()
        features = tuple(client_features.union(() if context is None else context.features))
        string = strings.get(features)
        if string is None:
            if len(strings) >= _KEPT:
                strings.clear()
            string = strings[features] = build()
        return string

    return to_string
