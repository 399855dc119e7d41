"""The User-Agent header a confirmer's client sends is botocore's own, built once per value."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from botocore.useragent import UserAgentString

from cognito_confirm import CognitoConfirmer
from cognito_confirm._useragent import remember_user_agent
from cognito_confirm.testing import FakeCognito


def _record_user_agents(client: Any) -> list[tuple[str, str]]:
    """Each request's header as sent, beside what botocore builds for it without memory."""
    creator = client._user_agent_creator
    seen: list[tuple[str, str]] = []

    def before_send(request: Any, **_: Any) -> None:
        sent = request.headers["User-Agent"]
        seen.append(
            (sent.decode() if isinstance(sent, bytes) else sent, UserAgentString.to_string(creator))
        )

    client.meta.events.register("before-send.cognito-identity-provider", before_send)
    return seen


async def test_the_header_sent_is_botocores_for_every_feature_set(fake: FakeCognito) -> None:
    """Calls with and without a feature of their own send botocore's header, each its own."""
    # botocore 1.35 (the lowest versions CI runs) puts no features in the header.
    context = pytest.importorskip("botocore.context")
    register_feature_id = pytest.importorskip("botocore.useragent").register_feature_id
    for name in ("alice", "bob", "carol"):
        fake.add_user(name)
    async with CognitoConfirmer(fake.user_pool_id, endpoint_url=fake.endpoint_url) as confirmer:
        seen = _record_user_agents(confirmer.client)
        await confirmer.confirm("alice")
        with context.start_as_current_context():
            register_feature_id("GZIP_REQUEST_COMPRESSION")
            await confirmer.confirm("bob")
        await confirmer.confirm("carol")
    assert len(seen) == 3
    assert all(sent == built for sent, built in seen)
    (first, _), (with_feature, _), (third, _) = seen
    assert first == third
    assert with_feature != first
    assert "cognito-confirm" in first


async def test_each_distinct_header_is_built_once(
    fake: FakeCognito, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second call with the same features builds nothing (botocore alone builds the string
    twice a call), and remembering twice changes nothing."""
    fake.add_user("alice")
    fake.add_user("bob")
    builds: list[str] = []
    build = UserAgentString.to_string

    def counted(self: UserAgentString) -> str:
        builds.append(build(self))
        return builds[-1]

    monkeypatch.setattr(UserAgentString, "to_string", counted)
    async with CognitoConfirmer(fake.user_pool_id, endpoint_url=fake.endpoint_url) as confirmer:
        remembered = confirmer.client._user_agent_creator.to_string  # type: ignore[attr-defined]
        remember_user_agent(confirmer.client)
        assert confirmer.client._user_agent_creator.to_string is remembered  # type: ignore[attr-defined]
        await confirmer.confirm("alice")
        first_call = len(builds)
        await confirmer.confirm("bob")
    assert 1 <= first_call <= 2  # features may join between the two builds of a call
    assert len(builds) == first_call


def test_a_client_without_botocores_builder_is_left_alone() -> None:
    """A test double's builder is not touched, and a client with none is no error."""

    def own() -> str:
        return "a double's own"

    builder = SimpleNamespace(to_string=own)
    double = SimpleNamespace(_user_agent_creator=builder)
    remember_user_agent(double)
    remember_user_agent(object())
    assert double._user_agent_creator is builder
    assert builder.to_string is own
