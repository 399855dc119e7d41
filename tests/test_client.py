"""The client against a real moto server: configuration chain, lifetime, typed errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from cognito_confirm import (
    ClientStateError,
    CognitoConfirmer,
    CredentialsError,
    InvalidUsernameError,
    InvalidUserPoolIdError,
    Outcome,
    UserNotFoundError,
    UserPoolNotFoundError,
)
from tests.helpers import MotoPool, first_call_at_once, share_built_once


@pytest.fixture(autouse=True)
def quick_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """One SSL context for every client, one signing key for moto's pools, the first call at
    its slot's start: these tests look at answers, not at the pace (tests.helpers)."""
    share_built_once(monkeypatch)
    first_call_at_once(monkeypatch)


async def test_confirm_makes_the_user_confirmed(moto_pool: MotoPool) -> None:
    """An UNCONFIRMED user is CONFIRMED in moto after confirm()."""
    moto_pool.sign_up("alice")
    assert moto_pool.status("alice") == "UNCONFIRMED"
    async with CognitoConfirmer(moto_pool.pool_id, endpoint_url=moto_pool.endpoint_url) as c:
        result = await c.confirm("alice")
    assert result.outcome is Outcome.CONFIRMED
    assert result.attempts == 1
    assert result.elapsed > 0
    assert result.request_id
    assert moto_pool.status("alice") == "CONFIRMED"


async def test_unknown_user_raises_user_not_found(moto_pool: MotoPool) -> None:
    """A user that is not in the pool raises UserNotFoundError carrying its context."""
    async with CognitoConfirmer(moto_pool.pool_id, endpoint_url=moto_pool.endpoint_url) as c:
        with pytest.raises(UserNotFoundError) as caught:
            await c.confirm("nobody")
    error = caught.value
    assert error.username == "nobody"
    assert error.code == "UserNotFoundException"
    assert error.request_id
    assert error.http_status == 400
    assert "nobody" not in str(error)


async def test_unknown_pool_raises_user_pool_not_found(moto_url: str) -> None:
    """A pool that does not exist raises UserPoolNotFoundError."""
    async with CognitoConfirmer("us-east-1_DoesNotExist", endpoint_url=moto_url) as c:
        with pytest.raises(UserPoolNotFoundError) as caught:
            await c.confirm("alice")
    assert caught.value.code == "ResourceNotFoundException"


async def test_aws_endpoint_url_replaces_endpoint_url(
    moto_pool: MotoPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS_ENDPOINT_URL from the environment is honoured like any AWS tool honours it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_pool.endpoint_url)
    moto_pool.sign_up("bob")
    async with CognitoConfirmer(moto_pool.pool_id) as c:
        assert (await c.confirm("bob")).outcome is Outcome.CONFIRMED
    assert moto_pool.status("bob") == "CONFIRMED"


async def test_service_specific_endpoint_variable(
    moto_pool: MotoPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER works too."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", moto_pool.endpoint_url)
    moto_pool.sign_up("carol")
    async with CognitoConfirmer(moto_pool.pool_id) as c:
        await c.confirm("carol")
    assert moto_pool.status("carol") == "CONFIRMED"


async def test_profile_from_config_file(
    moto_pool: MotoPool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A named profile supplies credentials and the endpoint, as in the AWS CLI."""
    config = tmp_path / "config"
    config.write_text(
        "[profile migration]\n"
        "aws_access_key_id = fromprofile\n"
        "aws_secret_access_key = fromprofile\n"
        f"endpoint_url = {moto_pool.endpoint_url}\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    moto_pool.sign_up("dave")
    async with CognitoConfirmer(moto_pool.pool_id, profile_name="migration") as c:
        await c.confirm("dave")
    assert moto_pool.status("dave") == "CONFIRMED"


async def test_unknown_profile_is_a_credentials_error(moto_pool: MotoPool) -> None:
    """A profile that does not exist fails at entry with a CredentialsError."""
    confirmer = CognitoConfirmer(moto_pool.pool_id, profile_name="nope")
    with pytest.raises(CredentialsError, match="nope"):
        await confirmer.__aenter__()
    with pytest.raises(ClientStateError):
        _ = confirmer.client


async def test_missing_credentials_is_a_credentials_error(
    moto_pool: MotoPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No credentials anywhere in the chain raises CredentialsError, not a botocore error."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    async with CognitoConfirmer(moto_pool.pool_id, endpoint_url=moto_pool.endpoint_url) as c:
        with pytest.raises(CredentialsError, match="credentials"):
            await c.confirm("alice")


async def test_region_comes_from_the_pool_id(moto_pool: MotoPool) -> None:
    """With no region configured anywhere, the pool id's prefix names it."""
    async with CognitoConfirmer(moto_pool.pool_id, endpoint_url=moto_pool.endpoint_url) as c:
        assert c.client.meta.region_name == "us-east-1"
    async with CognitoConfirmer(
        moto_pool.pool_id, endpoint_url=moto_pool.endpoint_url, region_name="eu-west-1"
    ) as c:
        assert c.client.meta.region_name == "eu-west-1"


async def test_injected_client_is_used_and_left_open(moto_pool: MotoPool) -> None:
    """A caller's client is used as it is and still works after the confirmer exits."""
    moto_pool.sign_up("erin", "frank")
    session = get_session()
    async with session.create_client(
        "cognito-idp", region_name="us-east-1", endpoint_url=moto_pool.endpoint_url
    ) as client:
        async with CognitoConfirmer(moto_pool.pool_id, client=client) as c:
            assert c.client is client
            await c.confirm("erin")
        response = await client.admin_confirm_sign_up(
            UserPoolId=moto_pool.pool_id, Username="frank"
        )
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert moto_pool.status("erin") == "CONFIRMED"
    assert moto_pool.status("frank") == "CONFIRMED"


async def test_use_outside_context_and_reentry_are_errors(moto_pool: MotoPool) -> None:
    """Calling before entering, after exiting, or entering twice is a ClientStateError."""
    confirmer = CognitoConfirmer(moto_pool.pool_id, endpoint_url=moto_pool.endpoint_url)
    with pytest.raises(ClientStateError, match="unopened"):
        await confirmer.confirm("alice")
    async with confirmer:
        with pytest.raises(ClientStateError, match="open"):
            await confirmer.__aenter__()
    with pytest.raises(ClientStateError, match="closed"):
        await confirmer.confirm("alice")
    with pytest.raises(ClientStateError):
        async with confirmer:
            pass
    await confirmer.aclose()  # idempotent


async def test_invalid_input_is_rejected_before_any_call(moto_url: str) -> None:
    """Bad usernames and pool ids fail locally, with no network call (the endpoint is dead)."""
    with pytest.raises(InvalidUserPoolIdError, match="malformed"):
        CognitoConfirmer("no-underscore")
    with pytest.raises(ValueError, match="1 to 55"):
        CognitoConfirmer("us-east-1_" + "x" * 50)
    async with CognitoConfirmer("us-east-1_Abc", endpoint_url="http://127.0.0.1:9") as c:
        for bad in ["", "has space", "x" * 129, "tab\there", "nul\x00"]:
            with pytest.raises(InvalidUsernameError):
                await c.confirm(bad)


async def test_config_is_merged_and_botocore_retries_are_off(moto_pool: MotoPool) -> None:
    """The caller's AioConfig is kept, but botocore's own retries stay switched off."""
    config = AioConfig(read_timeout=7, retries={"mode": "adaptive", "max_attempts": 9})
    async with CognitoConfirmer(
        moto_pool.pool_id, endpoint_url=moto_pool.endpoint_url, config=config, max_connections=5
    ) as c:
        effective: Any = c.client.meta.config  # botocore-stubs' Config lacks these attributes
        assert effective.read_timeout == 7
        assert effective.max_pool_connections == 5
        assert effective.retries is not None
        assert effective.retries["total_max_attempts"] == 1
        assert c.max_connections == 5
