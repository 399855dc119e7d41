"""A local moto server holding a user pool of unconfirmed users: the demo's stand-in for AWS.

moto is an optional dependency (the ``demo`` extra), imported only when a server starts.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Final

from aiobotocore.session import AioSession

__all__ = ["DemoPool", "DemoUnavailableError", "demo_pool", "demo_session", "moto_server"]

DEMO_PASSWORD: Final = "Demo-Passw0rd!"  # noqa: S105 - moto's throwaway users only


class DemoUnavailableError(RuntimeError):
    """moto is not installed, so the demo has no server to run against."""


def demo_session() -> AioSession:
    """A session with dummy credentials, so the demo never touches a real AWS account."""
    session = AioSession()
    session.set_credentials("demo", "demo")
    return session


@dataclass(frozen=True, slots=True)
class DemoPool:
    """Where the demo's pool lives.

    Attributes:
        endpoint_url: The local moto server.
        user_pool_id: The pool, in us-east-1 as moto names it.
        usernames: The users created in it, all UNCONFIRMED.
    """

    endpoint_url: str
    user_pool_id: str
    usernames: tuple[str, ...]


@contextmanager
def moto_server() -> Iterator[str]:
    """Start moto on a free loopback port; yield its URL."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        msg = "the demo needs moto: pip install 'cognito-confirm[demo]'"
        raise DemoUnavailableError(msg) from exc
    # moto's werkzeug server logs every request at INFO, on top of the demo's own output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@asynccontextmanager
async def demo_pool(users: int, *, endpoint_url: str | None = None) -> AsyncIterator[DemoPool]:
    """A moto server (or the one at ``endpoint_url``) with a pool of ``users`` UNCONFIRMED users.

    The users sign up through an app client, as real users would, so they start UNCONFIRMED.
    """
    if users < 0:
        msg = f"users must be 0 or more, got {users}"
        raise ValueError(msg)
    with _server(endpoint_url) as url:
        async with demo_session().create_client(
            "cognito-idp", region_name="us-east-1", endpoint_url=url
        ) as idp:
            pool = await idp.create_user_pool(PoolName="cognito-confirm-demo")
            pool_id = pool["UserPool"]["Id"]
            app = await idp.create_user_pool_client(UserPoolId=pool_id, ClientName="demo")
            client_id = app["UserPoolClient"]["ClientId"]
            usernames = tuple(f"migrated-user-{number:05d}" for number in range(users))
            for username in usernames:
                await idp.sign_up(
                    ClientId=client_id,
                    Username=username,
                    Password=DEMO_PASSWORD,
                    UserAttributes=[{"Name": "email", "Value": f"{username}@example.com"}],
                )
        yield DemoPool(url, pool_id, usernames)


@contextmanager
def _server(endpoint_url: str | None) -> Iterator[str]:
    if endpoint_url is not None:
        yield endpoint_url
        return
    with moto_server() as url:
        yield url
