"""An asyncio loop on virtual time, for the tests that reason about time (trio's MockClock).

``@virtual_time`` runs an ``async def`` test on a ``VirtualTimeLoop``: its clock starts at 0 and
jumps to the next timer as soon as every task waits (trio's ``autojump_threshold=0``), so a 30 s
outage budget passes in milliseconds and every run sees the same times, on any machine. The
library reads the running loop's clock (``cognito_confirm._clock``) and waits with
``anyio.sleep``, and ``FakeCognito.local_client()`` runs the fake on the same loop: nothing in
such a test reads the wall clock. No socket may be in flight in such a test (the clock would
jump past its timeouts): that is what the local client is for.

Why not ``looptime`` (PyPI): with pytest-asyncio 1.5 it left event loops unclosed (a
``ResourceWarning``, an error under ``filterwarnings = ["error"]``) and made every async test of
the suite slower, marked or not. This is 40 lines and plain asyncio.
"""

from __future__ import annotations

import asyncio
import functools
import selectors
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ParamSpec, cast

from cognito_confirm.testing import FakeCognito

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient

_P = ParamSpec("_P")


class _JumpingSelector(selectors.DefaultSelector):
    """Polls without blocking; where the loop would wait for a timer, moves its clock there."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:  # no timer at all: only another thread can wake the loop
            return super().select(None)
        self.now += timeout
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose ``time()`` is virtual and jumps to the next timer."""

    def __init__(self) -> None:
        self._jumping = _JumpingSelector()
        super().__init__(self._jumping)

    def time(self) -> float:
        return self._jumping.now


def virtual_time(test: Callable[_P, Awaitable[None]]) -> Callable[_P, None]:
    """Run the async ``test`` on a fresh ``VirtualTimeLoop`` (a plain test for pytest)."""

    @functools.wraps(test)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> None:
        loop = VirtualTimeLoop()
        try:
            loop.run_until_complete(_main(test(*args, **kwargs)))
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    return run


async def _main(test: Awaitable[Any]) -> None:
    await test


def local_client(
    fake: FakeCognito, connections: int = 16, read_timeout: float = 60.0
) -> CognitoIdentityProviderClient:
    """``fake.local_client()`` typed as the client ``client=`` takes (the bulk default: 16
    calls at once)."""
    client = fake.local_client(max_pool_connections=connections, read_timeout=read_timeout)
    return cast("CognitoIdentityProviderClient", client)
