"""Answers are checked: what does not come from Cognito is a run-level error, never a success."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import pytest
from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient

from cognito_confirm import (
    AccessDeniedError,
    ClockSkewError,
    CognitoConfirmer,
    EndpointNotCognitoError,
    InternalServerError,
    Outcome,
    RetryPolicy,
    SetupError,
)
from cognito_confirm._answers import foreign_answer
from cognito_confirm.cli.userpool import EmailVerifier, UnconfirmedUsers, describe_pool
from cognito_confirm.testing import FakeCognito
from tests.helpers import MotoPool, first_call_at_once, share_built_once


@pytest.fixture(autouse=True)
def quick_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """One SSL context for every client, one signing key for moto's pools, the first call at
    its slot's start: these tests look at answers, not at the pace (tests.helpers)."""
    share_built_once(monkeypatch)
    first_call_at_once(monkeypatch)


FAST = RetryPolicy(max_attempts=3, base_delay=0.01)


def confirmer(fake: FakeCognito) -> CognitoConfirmer:
    return CognitoConfirmer(fake.user_pool_id, endpoint_url=fake.endpoint_url, retry=FAST)


async def test_html_200_is_not_a_confirmation(fake: FakeCognito) -> None:
    """HTTP 200 with an HTML page (a captive portal) raises EndpointNotCognitoError."""
    fake.add_user("alice")
    fake.answer_html(200)
    async with confirmer(fake) as c:
        with pytest.raises(EndpointNotCognitoError) as caught:
            await c.confirm("alice")
    error = caught.value
    assert isinstance(error, SetupError)
    assert "did not come from Cognito" in str(error)
    assert "no x-amzn-RequestId" in str(error)
    assert "content type text/html" in str(error)
    assert (error.http_status, error.request_id) == (200, None)
    assert fake.user_status("alice") == "UNCONFIRMED"
    assert fake.stats().confirm_calls == {"alice": 1}


@pytest.mark.parametrize("status", [200, 403, 404])
async def test_bulk_run_against_a_foreign_page_stops_after_one_call(
    fake: FakeCognito, status: int
) -> None:
    """200 users against an HTML page: one call, no result confirmed, EndpointNotCognitoError."""
    names = [f"u{n:03d}" for n in range(200)]
    fake.add_users(names)
    fake.answer_html(status)
    async with confirmer(fake) as c:
        with pytest.raises(EndpointNotCognitoError) as caught:
            await c.confirm_many(names)
    assert caught.value.partial_report is not None
    assert caught.value.partial_report.results == ()
    assert caught.value.http_status == status
    assert sum(fake.stats().confirm_calls.values()) == 1
    assert fake.status_counts() == {"UNCONFIRMED": 200}


async def test_foreign_error_page_quotes_a_short_excerpt(fake: FakeCognito) -> None:
    """A 403 page becomes an error quoting the page's start, not the whole page."""
    fake.answer_html(403, body="<html><body>" + "Forbidden by policy. " * 100 + "</body></html>")
    async with confirmer(fake) as c:
        with pytest.raises(EndpointNotCognitoError) as caught:
            await c.confirm("alice")
    assert caught.value.code == "403"
    assert "Forbidden by policy." in str(caught.value)
    assert len(str(caught.value)) < 400


@pytest.mark.parametrize(
    ("body", "content_type", "request_id", "problem"),
    [
        ("{not json", "application/x-amz-json-1.1", True, "a body that is not JSON"),
        ("{}", "application/x-amz-json-1.1", False, "no x-amzn-RequestId"),
        ("{}", "text/plain", True, "content type text/plain"),
    ],
)
async def test_each_mark_of_an_aws_answer_is_checked(
    fake: FakeCognito, body: str, content_type: str, request_id: bool, problem: str
) -> None:
    """A request id, a JSON content type and a JSON body: missing any one is not Cognito."""
    fake.answer_html(200, body=body, content_type=content_type, request_id=request_id)
    async with confirmer(fake) as c:
        with pytest.raises(EndpointNotCognitoError, match=problem):
            await c.confirm("alice")


async def test_a_proxy_5xx_page_is_an_outage_not_a_wrong_endpoint(fake: FakeCognito) -> None:
    """HTTP 502 from a proxy (no request id) is a retried server error, not a setup error."""
    fake.add_user("alice")
    async with confirmer(fake) as c:
        fake.answer_html(502)
        with pytest.raises(InternalServerError):
            await c.confirm("alice")
        assert fake.stats().confirm_calls["alice"] == FAST.max_attempts
        fake.heal()
        assert (await c.confirm("alice")).outcome is Outcome.CONFIRMED


async def test_the_cli_helper_calls_check_answers_too(fake: FakeCognito) -> None:
    """DescribeUserPool (--dry-run), ListUsers and AdminUpdateUserAttributes: not a KeyError."""
    fake.add_user("alice")
    fake.answer_html(200)
    async with confirmer(fake) as c:
        with pytest.raises(EndpointNotCognitoError):
            await describe_pool(c.client, fake.user_pool_id)
        users = UnconfirmedUsers(c.client, fake.user_pool_id)
        assert [name async for name in users] == []
        assert isinstance(users.error, EndpointNotCognitoError)
        verifier = EmailVerifier(c.client, fake.user_pool_id)
        check = await verifier.verify("alice")
        assert check.verified is False
        assert isinstance(verifier.fatal_error, EndpointNotCognitoError)


async def test_an_injected_client_is_checked_too(fake: FakeCognito) -> None:
    """A client the caller owns gets the same check (its unparsable bodies are marked)."""
    fake.answer_html(200, body="<<<", content_type="application/json", request_id=True)
    async with (
        confirmer(fake) as owner,
        CognitoConfirmer(fake.user_pool_id, client=owner.client) as c,
    ):
        with pytest.raises(EndpointNotCognitoError, match="not JSON"):
            await c.confirm("alice")


async def test_moto_answers_pass_the_check(moto_pool: MotoPool) -> None:
    """moto sends x-amzn-RequestId on answers and errors: every outcome is as before."""
    moto_pool.sign_up("new")
    async with CognitoConfirmer(moto_pool.pool_id, endpoint_url=moto_pool.endpoint_url) as c:
        report = await c.confirm_many(["new", "ghost"])
        await describe_pool(c.client, moto_pool.pool_id)
    assert [r.outcome for r in report.results] == [Outcome.CONFIRMED, Outcome.NOT_FOUND]
    assert all(r.request_id for r in report.results)


def test_responses_that_did_not_come_over_http_are_not_judged() -> None:
    """A stubbed answer (no HTTPHeaders) passes; one over HTTP needs every mark."""
    assert foreign_answer({}) is None
    assert foreign_answer({"ResponseMetadata": {"RequestId": "x"}}) is None
    aws = {"content-type": "application/x-amz-json-1.1"}
    assert foreign_answer({"ResponseMetadata": {"RequestId": "r", "HTTPHeaders": aws}}) is None
    problem = foreign_answer({"ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": {}}})
    assert problem == "HTTP 200 with no x-amzn-RequestId, content type (none)"


@pytest.mark.parametrize(
    ("code", "status", "message", "cls"),
    [
        ("ExpiredToken", 400, "The security token included in the request is expired", None),
        ("ExpiredTokenException", 400, "The security token has expired.", None),
        ("IncompleteSignature", 400, "Authorization header requires 'Signature'", None),
        ("InvalidSignatureException", 400, "The request signature we calculated ...", None),
        ("InvalidClientTokenId", 403, "The security token included is invalid.", None),
        ("SignatureDoesNotMatch", 403, "Signature mismatch", None),
        ("AccessDeniedException", 400, "not authorized", None),
        ("RequestExpired", 400, "Request has expired.", ClockSkewError),
        (
            "InvalidSignatureException",
            400,
            "Signature expired: 20240101T000000Z is now earlier than 20240101T000500Z",
            ClockSkewError,
        ),
    ],
)
async def test_auth_and_clock_codes_stop_a_run_after_one_call(
    fake: FakeCognito, code: str, status: int, message: str, cls: type[SetupError] | None
) -> None:
    """Expired or invalid credentials and a skewed clock: AccessDeniedError at the first call."""
    fake.add_users([f"u{n}" for n in range(50)])
    fake.fail_all(code, status=status, message=message)
    async with confirmer(fake) as c:
        with pytest.raises(AccessDeniedError) as caught:
            await c.confirm_many([f"u{n}" for n in range(50)])
    assert type(caught.value) is (cls or AccessDeniedError)
    assert caught.value.code == code
    assert sum(fake.stats().confirm_calls.values()) == 1
    if cls is ClockSkewError:
        assert "clock is probably off" in str(caught.value)


async def test_a_test_double_client_is_used_as_it_is() -> None:
    """An injected stand-in with no event system and no HTTP metadata confirms as before."""

    class Instant:
        meta = SimpleNamespace(config=SimpleNamespace(max_pool_connections=10))

        async def admin_confirm_sign_up(self, **_kwargs: object) -> dict[str, object]:
            return {}

    client = cast("CognitoIdentityProviderClient", Instant())
    async with CognitoConfirmer("us-east-1_Pool1", client=client) as c:
        assert (await c.confirm("alice")).outcome is Outcome.CONFIRMED
