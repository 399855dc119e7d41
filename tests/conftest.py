"""Shared fixtures: AWS isolation, a fake Cognito, a real moto server, user pools in it."""

from __future__ import annotations

import logging
import random
import types
from collections.abc import Iterator
from pathlib import Path

import botocore.loaders
import botocore.session
import pytest
from moto.server import ThreadedMotoServer

import cognito_confirm._client
import cognito_confirm._ratelimit
from cognito_confirm.testing import FakeCognito
from tests.helpers import MotoPool, isolate_aws


class _SeededRandom(random.Random):
    """A generator seeded with 0 unless given a seed."""

    def __init__(self, seed: int | None = None) -> None:
        super().__init__(0 if seed is None else seed)


@pytest.fixture(scope="session", autouse=True)
def shared_service_models() -> Iterator[None]:
    """Every botocore session of the test process shares one data loader, as every client of
    one long-lived session does: a client then costs no re-read of the service models' JSON
    (0.1 s each; the suite creates hundreds)."""
    loaders: dict[str | None, botocore.loaders.Loader] = {}

    def shared_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
        if search_path_string not in loaders:
            loaders[search_path_string] = botocore.loaders.create_loader(search_path_string)
        return loaders[search_path_string]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", shared_loader)
        yield


@pytest.fixture(autouse=True)
def aws_isolation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the developer's own AWS configuration out of every test."""
    isolate_aws(monkeypatch, tmp_path)


@pytest.fixture(autouse=True)
def seeded_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """The library's own generators (backoff jitter, the pace's spacing) are seeded: a test
    makes the same draws on every run (a full-jitter backoff of 30 s drew under 0.05 s once in
    a few hundred runs, and a test of stop() during backoff saw a second call)."""
    seeded = types.SimpleNamespace(Random=_SeededRandom)
    for module in (cognito_confirm._client, cognito_confirm._ratelimit):
        monkeypatch.setattr(module, "random", seeded)


@pytest.fixture
def fake() -> Iterator[FakeCognito]:
    """A fake Cognito endpoint (what moto cannot show), for one test."""
    with FakeCognito() as server:
        yield server


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """A real moto server on loopback, for the whole session."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def moto_pool(moto_url: str) -> Iterator[MotoPool]:
    """A fresh user pool in the moto server, deleted afterwards."""
    pool = MotoPool.create(moto_url)
    yield pool
    pool.delete()
