"""``session=`` takes an aiobotocore ``AioSession`` or an aioboto3 ``Session``, nothing else."""

from __future__ import annotations

import aioboto3
import pytest

from cognito_confirm import AccessDeniedError, CognitoConfirmer, Outcome
from cognito_confirm._client import _new_session
from cognito_confirm.testing import FakeCognito


async def test_aioboto3_session_confirms_a_user(fake: FakeCognito) -> None:
    """``CognitoConfirmer(..., session=aioboto3.Session())`` confirms a user in the fake."""
    fake.add_user("alice")
    async with CognitoConfirmer(
        fake.user_pool_id, endpoint_url=fake.endpoint_url, session=aioboto3.Session()
    ) as confirmer:
        result = await confirmer.confirm("alice")
    assert result.outcome is Outcome.CONFIRMED
    assert fake.user_status("alice") == "CONFIRMED"


async def test_aioboto3_sessions_credentials_are_the_ones_used(fake: FakeCognito) -> None:
    """The aioboto3 session's own credentials sign the call (the fake denies this key)."""
    fake.add_user("alice")
    session = aioboto3.Session(aws_access_key_id="denied", aws_secret_access_key="x")
    async with CognitoConfirmer(
        fake.user_pool_id, endpoint_url=fake.endpoint_url, session=session
    ) as confirmer:
        with pytest.raises(AccessDeniedError):
            await confirmer.confirm("alice")
    assert fake.user_status("alice") == "UNCONFIRMED"


@pytest.mark.parametrize("session", [object(), "default", aioboto3])
def test_anything_else_is_a_type_error_saying_what_to_pass(session: object) -> None:
    """A session of another kind fails at construction, naming both kinds it takes."""
    with pytest.raises(TypeError, match=r"AioSession .* or an aioboto3 Session"):
        CognitoConfirmer("us-east-1_Abc", session=session)


def test_the_confirmers_own_sessions_share_one_data_loader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sessions made by confirmers share botocore's loader for their data path (the models are
    parsed once a process), and a data path of their own gets a loader of its own."""
    first, second = _new_session(None), _new_session(None)
    assert first is not second
    assert first.get_component("data_loader") is second.get_component("data_loader")
    monkeypatch.setenv("AWS_DATA_PATH", "/nonexistent")
    other = _new_session(None)
    assert other.get_component("data_loader") is not first.get_component("data_loader")
