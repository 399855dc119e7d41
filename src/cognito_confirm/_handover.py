"""Hand-overs between the bulk engine's tasks that go through the event loop only when they must.

Every ``await`` of anyio's memory streams and capacity limiter yields to the loop first; at a
thousand calls a second those extra loop iterations break up aiobotocore's batching of socket
reads and writes and cost more CPU than the engine's own work (the overhead benchmark measures
it). These take the item or the token at once when it is there.
"""

from __future__ import annotations

from typing import TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

__all__ = ["acquire_token", "receive", "send"]

_T = TypeVar("_T")


async def send(stream: MemoryObjectSendStream[_T], item: _T) -> None:
    """Hand an item over, through the event loop only when the other side is not ready.

    Every ``await send()`` yields to the loop first; at a thousand calls a second those extra
    loop iterations break up aiobotocore's batching of socket reads and writes and cost more
    CPU than the engine's own work (the overhead benchmark measures it).
    """
    try:
        stream.send_nowait(item)
    except anyio.WouldBlock:
        await stream.send(item)


async def acquire_token(limiter: anyio.CapacityLimiter, borrower: object) -> None:
    """Take a token for ``borrower``, through the event loop only when none is free.

    ``CapacityLimiter.acquire()`` always ends with a shielded checkpoint: a cancel scope and a
    trip through the loop per user, 25 us of the engine's ~90 us per user on an instant client
    (cProfile). The call that follows yields to the loop anyway; see ``send``. The borrower is
    the caller's own (release with ``release_on_behalf_of``): ``acquire()`` and ``release()``
    look the current task up each time, in Python.
    """
    try:
        limiter.acquire_on_behalf_of_nowait(borrower)
    except anyio.WouldBlock:
        await limiter.acquire_on_behalf_of(borrower)


async def receive(stream: MemoryObjectReceiveStream[_T]) -> _T:
    """Take an item, through the event loop only when none is ready; see ``send``."""
    try:
        return stream.receive_nowait()
    except anyio.WouldBlock:
        return await stream.receive()
