"""The fake Cognito endpoint, seen through a real aiobotocore client (and raw HTTP).

What matters is that botocore parses the fake's answers exactly as it parses Cognito's: the
error code and message, the HTTP status and the request id, and which exception a dropped
connection raises.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import anyio
import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError, ConnectionClosedError, HTTPClientError
from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient

from cognito_confirm.testing import TARGET_PREFIX, FakeCognito, _command
from tests.helpers import share_built_once
from tests.virtual_time import local_client, virtual_time


@pytest.fixture(autouse=True)
def built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """One SSL context for every client, one signing key for moto's pools (tests.helpers)."""
    share_built_once(monkeypatch)


POOL = "us-east-1_FakePool1"
CONFIG = AioConfig(retries={"total_max_attempts": 1, "mode": "standard"}, max_pool_connections=32)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ALREADY = "User cannot be confirmed. Current status is CONFIRMED"


@contextlib.asynccontextmanager
async def cognito(
    fake: FakeCognito, access_key: str = "testing"
) -> AsyncIterator[CognitoIdentityProviderClient]:
    """A real aiobotocore cognito-idp client pointed at the fake, without retries."""
    session = get_session()
    async with session.create_client(
        "cognito-idp",
        region_name="us-east-1",
        endpoint_url=fake.endpoint_url,
        aws_access_key_id=access_key,
        aws_secret_access_key="testing",
        config=CONFIG,
    ) as client:
        yield client


@pytest.fixture
async def client(fake: FakeCognito) -> AsyncIterator[CognitoIdentityProviderClient]:
    """A client for the ``fake`` fixture."""
    async with cognito(fake) as opened:
        yield opened


async def confirm_error(
    client: CognitoIdentityProviderClient, username: str, pool: str = POOL
) -> ClientError:
    """The ClientError an AdminConfirmSignUp raises (the test fails if it succeeds)."""
    with pytest.raises(ClientError) as info:
        await client.admin_confirm_sign_up(UserPoolId=pool, Username=username)
    return info.value


def assert_error(error: ClientError, code: str, message: str, status: int = 400) -> None:
    """The parsed error is exactly what botocore would make of Cognito's answer."""
    assert error.response["Error"]["Code"] == code
    assert error.response["Error"]["Message"] == message
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert UUID.match(error.response["ResponseMetadata"]["RequestId"])


def raw_request(
    fake: FakeCognito,
    method: str,
    path: str,
    payload: object = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """One plain HTTP request (for the admin endpoints and malformed calls)."""
    url = urlsplit(fake.endpoint_url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    try:
        body = None if payload is None else json.dumps(payload)
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        answer = json.loads(response.read())
        return response.status, {k.lower(): v for k, v in response.getheaders()}, answer
    finally:
        connection.close()


def cognito_call(
    fake: FakeCognito, action: str, payload: object
) -> tuple[int, dict[str, str], Any]:
    """A hand-made Cognito call: any Credential= in the Authorization header will do."""
    headers = {
        "X-Amz-Target": TARGET_PREFIX + action,
        "Content-Type": "application/x-amz-json-1.1",
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/cognito-idp/aws4",
    }
    return raw_request(fake, "POST", "/", payload, headers)


async def test_confirm_unconfirmed_user(
    fake: FakeCognito, client: CognitoIdentityProviderClient
) -> None:
    """An UNCONFIRMED user is confirmed with HTTP 200 and a request id."""
    fake.add_user("alice")
    answer = await client.admin_confirm_sign_up(UserPoolId=POOL, Username="alice")
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert UUID.match(answer["ResponseMetadata"]["RequestId"])
    assert fake.user_status("alice") == "CONFIRMED"
    assert fake.stats().confirmations == {"alice": 1}


async def test_second_confirm_is_not_authorized(
    fake: FakeCognito, client: CognitoIdentityProviderClient
) -> None:
    """Confirming a CONFIRMED user is Cognito's NotAuthorizedException, counted separately."""
    fake.add_user("alice")
    await client.admin_confirm_sign_up(UserPoolId=POOL, Username="alice")
    assert_error(await confirm_error(client, "alice"), "NotAuthorizedException", ALREADY)
    stats = fake.stats()
    assert stats.confirm_calls == {"alice": 2}
    assert stats.confirmations == {"alice": 1}
    assert stats.already_confirmed == {"alice": 1}


async def test_force_change_password_cannot_be_confirmed(
    fake: FakeCognito, client: CognitoIdentityProviderClient
) -> None:
    """A FORCE_CHANGE_PASSWORD user gets the same error naming its own status."""
    fake.add_user("admin-made", status="FORCE_CHANGE_PASSWORD")
    message = "User cannot be confirmed. Current status is FORCE_CHANGE_PASSWORD"
    assert_error(await confirm_error(client, "admin-made"), "NotAuthorizedException", message)
    assert fake.user_status("admin-made") == "FORCE_CHANGE_PASSWORD"
    assert fake.stats().already_confirmed == {}


async def test_unknown_user(client: CognitoIdentityProviderClient) -> None:
    """A missing user is UserNotFoundException."""
    error = await confirm_error(client, "ghost")
    assert_error(error, "UserNotFoundException", "User does not exist.")


async def test_unknown_pool(fake: FakeCognito, client: CognitoIdentityProviderClient) -> None:
    """Another pool id is ResourceNotFoundException, for every action."""
    fake.add_user("alice")
    error = await confirm_error(client, "alice", pool="us-east-1_Nope")
    assert_error(error, "ResourceNotFoundException", "User pool us-east-1_Nope does not exist.")
    with pytest.raises(ClientError) as info:
        await client.list_users(UserPoolId="us-east-1_Nope")
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert fake.user_status("alice") == "UNCONFIRMED"


async def test_throttling_is_http_400() -> None:
    """An empty token bucket answers HTTP 400 TooManyRequestsException "Rate exceeded"."""
    with FakeCognito(quota=5, burst=1) as fake:
        fake.add_users(["a", "b", "c"])
        async with cognito(fake) as client:
            await client.admin_confirm_sign_up(UserPoolId=POOL, Username="a")
            assert_error(
                await confirm_error(client, "b"), "TooManyRequestsException", "Rate exceeded"
            )
            assert fake.user_status("b") == "UNCONFIRMED"
            await anyio.sleep(0.25)  # 5/s refills one token in 0.2 s
            await client.admin_confirm_sign_up(UserPoolId=POOL, Username="b")
        assert fake.stats().throttled == 1


async def test_error_rate_is_http_500() -> None:
    """error_rate=1 answers HTTP 500 InternalErrorException and confirms nobody."""
    with FakeCognito(error_rate=1.0) as fake:
        fake.add_user("alice")
        async with cognito(fake) as client:
            error = await confirm_error(client, "alice")
        assert_error(error, "InternalErrorException", "Internal server error.", status=500)
        assert fake.user_status("alice") == "UNCONFIRMED"
        assert fake.stats().internal_errors == 1


async def test_dropped_connections() -> None:
    """A drop raises botocore's ConnectionClosedError; half the drops still confirm the user."""
    users = [f"user{index}" for index in range(6)]
    with FakeCognito(drop_rate=1.0) as fake:
        fake.add_users(users)
        async with cognito(fake) as client:
            for username in users:
                with pytest.raises(ConnectionClosedError) as info:
                    await client.admin_confirm_sign_up(UserPoolId=POOL, Username=username)
                assert isinstance(info.value, HTTPClientError)
        stats = fake.stats()
        assert (stats.dropped_before, stats.dropped_after) == (3, 3)
        assert sum(stats.confirmations.values()) == 3
        assert fake.status_counts() == {"CONFIRMED": 3, "UNCONFIRMED": 3}


async def test_latency_delays_answers() -> None:
    """latency=0.2 makes every answer take at least 0.2 s."""
    with FakeCognito(latency=0.2) as fake:
        fake.add_user("alice")
        async with cognito(fake) as client:
            started = time.monotonic()
            await client.admin_confirm_sign_up(UserPoolId=POOL, Username="alice")
            assert time.monotonic() - started >= 0.2


@virtual_time
async def test_a_trigger_delays_only_the_calls_that_confirm() -> None:
    """``trigger_latency`` runs after the quota admitted the call and the user was confirmed,
    as a post-confirmation trigger does: a throttled call or one that confirms nobody comes
    back after ``latency`` alone (on the loop's virtual clock)."""
    fake = FakeCognito(quota=1.0, burst=1.0, latency=0.03, trigger_latency=0.5)
    fake.add_users(["alice", "bob"])
    client = local_client(fake)
    took: dict[str, float] = {}
    for name, username in (("confirms", "alice"), ("throttled", "bob"), ("again", "alice")):
        started = anyio.current_time()
        with contextlib.suppress(ClientError):
            await client.admin_confirm_sign_up(UserPoolId=POOL, Username=username)
        took[name] = anyio.current_time() - started
        if name == "throttled":
            await anyio.sleep(1.0)  # the bucket refills: "again" is admitted
    assert took == pytest.approx({"confirms": 0.53, "throttled": 0.03, "again": 0.03})
    stats = fake.stats()
    assert stats.throttled == 1
    assert sum(stats.already_confirmed.values()) == 1


def test_a_negative_trigger_latency_is_refused() -> None:
    with pytest.raises(ValueError, match="trigger_latency must not be negative"):
        FakeCognito(trigger_latency=-0.1)


async def test_scripted_failure_then_success(
    fake: FakeCognito, client: CognitoIdentityProviderClient
) -> None:
    """fail(times=1) answers a Lambda trigger error once, then the user confirms."""
    fake.add_user("alice")
    fake.fail("alice", "UserLambdaValidationException", times=1)
    message = "PostConfirmation failed with error Injected trigger error."
    assert_error(await confirm_error(client, "alice"), "UserLambdaValidationException", message)
    assert fake.user_status("alice") == "UNCONFIRMED"
    await client.admin_confirm_sign_up(UserPoolId=POOL, Username="alice")
    assert fake.user_status("alice") == "CONFIRMED"


async def test_scripted_internal_error_defaults_to_500(
    fake: FakeCognito, client: CognitoIdentityProviderClient
) -> None:
    """fail() gives InternalErrorException its real HTTP status, 500, and a custom message."""
    fake.add_user("alice")
    fake.fail("alice", "InternalErrorException", message="boom")
    assert_error(await confirm_error(client, "alice"), "InternalErrorException", "boom", 500)
    assert_error(await confirm_error(client, "alice"), "InternalErrorException", "boom", 500)
    fake.fail("alice", "InternalErrorException", times=0)
    await client.admin_confirm_sign_up(UserPoolId=POOL, Username="alice")


async def test_list_users_filter_and_pagination(
    fake: FakeCognito, client: CognitoIdentityProviderClient
) -> None:
    """Filters pick users (status case-insensitively), pages of 2 carry a token until the end."""
    for name in ("bob", "alice", "carol", "dave", "erin"):
        fake.add_user(name, attributes={"email": f"{name}@example.com"})
    fake.add_user("zed", status="CONFIRMED")
    pages = client.get_paginator("list_users").paginate(
        UserPoolId=POOL,
        Filter='cognito:user_status = "unconfirmed"',
        PaginationConfig={"PageSize": 2},
    )
    sizes, names = [], []
    async for page in pages:
        sizes.append(len(page["Users"]))
        names += [user["Username"] for user in page["Users"]]
    assert (sizes, names) == ([2, 2, 1], ["alice", "bob", "carol", "dave", "erin"])
    one = await client.list_users(UserPoolId=POOL, Filter='email = "dave@example.com"')
    assert [user["Username"] for user in one["Users"]] == ["dave"]
    assert "PaginationToken" not in one
    prefixed = await client.list_users(UserPoolId=POOL, Filter='username ^= "c"', Limit=60)
    assert [user["UserStatus"] for user in prefixed["Users"]] == ["UNCONFIRMED"]


async def test_list_users_answer_shape(
    fake: FakeCognito, client: CognitoIdentityProviderClient
) -> None:
    """Users carry Cognito's fields; AttributesToGet trims; Limit over 60 is rejected."""
    fake.add_user("alice", attributes={"email": "a@example.com"})
    answer = await client.list_users(UserPoolId=POOL, AttributesToGet=["email"])
    (user,) = answer["Users"]
    assert user["Enabled"] is True
    assert user["Attributes"] == [{"Name": "email", "Value": "a@example.com"}]
    assert user["UserCreateDate"] <= user["UserLastModifiedDate"]
    with pytest.raises(ClientError) as info:
        await client.list_users(UserPoolId=POOL, Limit=61)
    assert info.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as info:
        await client.list_users(UserPoolId=POOL, Filter="email = unquoted")
    assert info.value.response["Error"]["Code"] == "InvalidParameterException"


async def test_shrinking_list_skips_users(
    fake: FakeCognito, client: CognitoIdentityProviderClient
) -> None:
    """The token is an offset: confirming a page's users makes the next page skip as many."""
    fake.add_users([f"u{index}" for index in range(6)])
    unconfirmed = 'cognito:user_status = "UNCONFIRMED"'
    first = await client.list_users(UserPoolId=POOL, Filter=unconfirmed, Limit=2)
    for user in first["Users"]:
        await client.admin_confirm_sign_up(UserPoolId=POOL, Username=user["Username"])
    second = await client.list_users(
        UserPoolId=POOL, Filter=unconfirmed, Limit=2, PaginationToken=first["PaginationToken"]
    )
    assert [user["Username"] for user in second["Users"]] == ["u4", "u5"]
    assert fake.user_status("u2") == fake.user_status("u3") == "UNCONFIRMED"  # skipped


async def test_update_attributes_and_get_user(
    fake: FakeCognito, client: CognitoIdentityProviderClient
) -> None:
    """AdminUpdateUserAttributes sets values that AdminGetUser and the fake then show."""
    fake.add_user("alice", attributes={"email": "old@example.com"})
    await client.admin_update_user_attributes(
        UserPoolId=POOL,
        Username="alice",
        UserAttributes=[{"Name": "email", "Value": "new@example.com"}],
    )
    assert fake.user_attributes("alice")["email"] == "new@example.com"
    user = await client.admin_get_user(UserPoolId=POOL, Username="alice")
    assert {"Name": "email", "Value": "new@example.com"} in user["UserAttributes"]
    assert (user["UserStatus"], user["Enabled"]) == ("UNCONFIRMED", True)
    with pytest.raises(ClientError) as info:
        await client.admin_update_user_attributes(
            UserPoolId=POOL, Username="ghost", UserAttributes=[{"Name": "email", "Value": "x"}]
        )
    assert info.value.response["Error"]["Code"] == "UserNotFoundException"


async def test_describe_user_pool(fake: FakeCognito, client: CognitoIdentityProviderClient) -> None:
    """DescribeUserPool reports the pool id and its user count."""
    fake.add_users(["a", "b"])
    pool = (await client.describe_user_pool(UserPoolId=POOL))["UserPool"]
    assert (pool["Id"], pool["EstimatedNumberOfUsers"]) == (POOL, 2)
    assert pool["Arn"].endswith(f":userpool/{POOL}")


async def test_invalid_and_denied_access_keys(fake: FakeCognito) -> None:
    """Unknown keys are UnrecognizedClientException, unauthorised ones AccessDeniedException."""
    fake.add_user("alice")
    async with cognito(fake, access_key="invalid") as client:
        message = "The security token included in the request is invalid."
        assert_error(await confirm_error(client, "alice"), "UnrecognizedClientException", message)
    async with cognito(fake, access_key="denied") as client:
        error = await confirm_error(client, "alice")
    assert error.response["Error"]["Code"] == "AccessDeniedException"
    assert "is not authorized to perform: cognito-idp:AdminConfirmSignUp" in str(error)
    assert fake.user_status("alice") == "UNCONFIRMED"


async def test_stats_and_max_in_flight() -> None:
    """Concurrent calls are all counted, and max_in_flight sees them overlap."""
    users = [f"user{index}" for index in range(10)]
    with FakeCognito(latency=0.3) as fake:
        fake.add_users(users)
        async with cognito(fake) as client:

            async def confirm(username: str) -> None:
                await client.admin_confirm_sign_up(UserPoolId=POOL, Username=username)

            async with anyio.create_task_group() as group:
                for username in users:
                    group.start_soon(confirm, username)
        stats = fake.stats()
        assert stats.max_in_flight == 10
        assert stats.requests == {"AdminConfirmSignUp": 10}
        assert stats.confirm_calls == dict.fromkeys(users, 1)
        assert stats.first_request_at is not None
        assert stats.last_request_at is not None
        assert stats.first_request_at <= stats.last_request_at
        fake.reset_stats()
        assert fake.stats().requests == {}
        assert fake.stats().max_in_flight == 0


async def test_a_call_given_up_on_stays_in_flight_until_carried_out() -> None:
    """A client that stops waiting leaves its call in flight: the fake carries it out after its
    latency, as Cognito would, and only then counts it out."""
    with FakeCognito(latency=0.3) as fake:
        fake.add_user("alice")
        assert fake.confirmations_in_flight() == 0
        async with cognito(fake) as client:
            async with anyio.create_task_group() as group:

                async def confirm() -> None:
                    await client.admin_confirm_sign_up(UserPoolId=POOL, Username="alice")

                group.start_soon(confirm)
                # The fake's own thread changes the count: polled.
                while fake.confirmations_in_flight() == 0:  # noqa: ASYNC110
                    await anyio.sleep(0.01)
                group.cancel_scope.cancel()
        assert fake.user_status("alice") == "UNCONFIRMED"
        while fake.confirmations_in_flight():  # noqa: ASYNC110
            await anyio.sleep(0.01)
        assert fake.user_status("alice") == "CONFIRMED"
        assert fake.stats().confirmations == {"alice": 1}


def test_admin_endpoints(fake: FakeCognito) -> None:
    """The /_fake/ endpoints add users, reconfigure, report and reset stats over HTTP."""
    status, _, answer = raw_request(fake, "POST", "/_fake/users", {"usernames": ["a", "b"]})
    assert (status, answer) == (200, {"added": 2})
    assert raw_request(fake, "POST", "/_fake/config", {"quota": 1000, "latency": 0})[0] == 200
    assert raw_request(fake, "POST", "/_fake/config", {"nope": 1})[0] == 400
    assert cognito_call(fake, "AdminConfirmSignUp", {"UserPoolId": POOL, "Username": "a"})[0] == 200
    status, _, stats = raw_request(fake, "GET", "/_fake/stats")
    assert status == 200
    assert stats["confirm_calls_total"] == stats["confirmations_total"] == 1
    assert stats["max_confirmations_per_user"] == 1
    assert stats["users_by_status"] == {"CONFIRMED": 1, "UNCONFIRMED": 1}
    assert raw_request(fake, "POST", "/_fake/reset")[0] == 200
    assert raw_request(fake, "GET", "/_fake/stats")[2]["confirm_calls_total"] == 0
    assert raw_request(fake, "GET", "/_fake/nothing")[0] == 404


def test_unknown_operation_and_connection_close(fake: FakeCognito) -> None:
    """An unknown action is UnknownOperationException; Connection: close is honoured."""
    status, headers, answer = cognito_call(fake, "Bogus", {})
    assert (status, answer["__type"]) == (400, "UnknownOperationException")
    assert headers["x-amzn-errortype"] == "UnknownOperationException"
    headers = {"Connection": "close", "X-Amz-Target": TARGET_PREFIX + "DescribeUserPool"}
    headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=testing/x"
    status, headers, answer = raw_request(fake, "POST", "/", {"UserPoolId": POOL}, headers)
    assert (status, headers["connection"]) == (200, "close")
    assert headers["content-type"] == "application/x-amz-json-1.1"


def test_lifecycle_and_configuration() -> None:
    """endpoint_url needs a started fake, stop() is idempotent, bad settings are refused."""
    fake = FakeCognito()
    with pytest.raises(RuntimeError):
        _ = fake.endpoint_url
    fake.start()
    assert fake.endpoint_url.startswith("http://127.0.0.1:")
    fake.stop()
    fake.stop()
    with pytest.raises(ValueError, match="error_rate"):
        fake.configure(error_rate=2.0)
    with pytest.raises(ValueError, match="unknown user status"):
        fake.add_user("x", status="confirmed")


def test_command_line_help_gives_every_option_its_meaning() -> None:
    """``--help`` explains every option, with its unit where it has one."""
    parser = _command._parser()
    for action in parser._actions:
        assert action.help, action.option_strings
    text = parser.format_help()
    for unit in ("calls/s", "seconds", "fraction 0-1", "AWS_ACCESS_KEY_ID=fake"):
        assert unit in text


def test_command_line() -> None:
    """``python -m cognito_confirm.testing`` prints its URL, serves users, exits on SIGTERM."""
    command = [sys.executable, "-m", "cognito_confirm.testing", "--users", "3", "--quota", "50"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.fullmatch(r"endpoint_url=(http://127\.0\.0\.1:\d+)\n", line)
        assert match is not None, line
        assert process.stdout.readline() == "user_pool_id=us-east-1_FakePool1\n"
        url = urlsplit(match.group(1))
        connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
        connection.request("GET", "/_fake/stats")
        stats = json.loads(connection.getresponse().read())
        connection.close()
        assert stats["users_by_status"] == {"UNCONFIRMED": 3}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


@pytest.mark.parametrize(
    ("action", "payload", "code"),
    [
        ("AdminConfirmSignUp", {"UserPoolId": POOL}, "InvalidParameterException"),
        (
            "ListUsers",
            {"UserPoolId": POOL, "PaginationToken": "not-a-token"},
            "InvalidParameterException",
        ),
        ("ListUsers", {"UserPoolId": POOL, "Limit": "ten"}, "InvalidParameterException"),
        (
            "ListUsers",
            {"UserPoolId": POOL, "AttributesToGet": "email"},
            "InvalidParameterException",
        ),
        (
            "ListUsers",
            {"UserPoolId": POOL, "Filter": 'custom:x = "1"'},
            "InvalidParameterException",
        ),
        (
            "AdminUpdateUserAttributes",
            {"UserPoolId": POOL, "Username": "a"},
            "InvalidParameterException",
        ),
        (
            "AdminUpdateUserAttributes",
            {"UserPoolId": POOL, "Username": "a", "UserAttributes": [1]},
            "InvalidParameterException",
        ),
        ("AdminGetUser", [], "SerializationException"),
    ],
)
def test_invalid_parameters(fake: FakeCognito, action: str, payload: object, code: str) -> None:
    """Requests botocore would refuse to send still get a Cognito-style 400, not a crash."""
    fake.add_user("a")
    status, headers, answer = cognito_call(fake, action, payload)
    assert (status, answer["__type"], headers["x-amzn-errortype"]) == (400, code, code)


def test_list_users_other_filters(fake: FakeCognito) -> None:
    """``status`` is Enabled/Disabled (not the user status), ``username =`` is exact."""
    fake.add_users(["a", "ab", "b"])
    fake.add_user("a", status="CONFIRMED")  # replacing a user re-indexes its status

    def names(flt: str) -> list[str]:
        answer = cognito_call(fake, "ListUsers", {"UserPoolId": POOL, "Filter": flt})[2]
        return [user["Username"] for user in answer["Users"]]

    assert names('status = "Enabled"') == ["a", "ab", "b"]
    assert names('status = "UNCONFIRMED"') == []
    assert names('username = "a"') == ["a"]
    assert names('cognito:user_status ^= "UN"') == ["ab", "b"]
    assert names('cognito:user_status = "confirmed"') == ["a"]
    assert names('email ^= "x"') == []


def test_missing_signature(fake: FakeCognito) -> None:
    """An unsigned Cognito call is refused before anything else happens."""
    headers = {"X-Amz-Target": TARGET_PREFIX + "DescribeUserPool"}
    status, _, answer = raw_request(fake, "POST", "/", {"UserPoolId": POOL}, headers)
    assert (status, answer["__type"]) == (400, "MissingAuthenticationTokenException")


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"NONSENSE\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
    ],
)
def test_malformed_http_gets_400_and_close(fake: FakeCognito, request_bytes: bytes) -> None:
    """What the tiny HTTP server cannot parse is answered 400 and the connection closed."""
    assert exchange(fake, request_bytes).startswith(b"HTTP/1.1 400 Bad Request\r\n")


def test_http_10_closes_and_truncated_head_is_refused(fake: FakeCognito) -> None:
    """HTTP/1.0 without keep-alive gets one answer then EOF; a half request head gets 400."""
    answer = exchange(fake, b"GET /_fake/stats HTTP/1.0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Connection: close\r\n" in answer
    assert exchange(fake, b"GET /_fake/st").startswith(b"HTTP/1.1 400 ")
    assert exchange(fake, b"") == b""


def exchange(fake: FakeCognito, data: bytes) -> bytes:
    """Send raw bytes, half-close, and read the whole answer until the server closes."""
    url = urlsplit(fake.endpoint_url)
    with socket.create_connection((url.hostname or "", url.port or 0), timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_admin_endpoints_refuse_bad_bodies(fake: FakeCognito) -> None:
    """Malformed admin requests are 400 with a reason, not a dropped connection."""
    assert raw_request(fake, "POST", "/_fake/users", {"names": []})[0] == 400
    assert raw_request(fake, "POST", "/_fake/config", [1])[0] == 400
    assert raw_request(fake, "POST", "/_fake/config", {"quota": "fast"})[0] == 400
    assert raw_request(fake, "POST", "/_fake/config", {"quota": -1})[0] == 400


async def test_configure_quota_at_run_time(
    fake: FakeCognito, client: CognitoIdentityProviderClient
) -> None:
    """configure() can impose a quota mid-run and lift it again."""
    fake.add_users(["a", "b", "c"])
    fake.configure(quota=1.0, burst=1.0)
    await client.admin_confirm_sign_up(UserPoolId=POOL, Username="a")
    assert_error(await confirm_error(client, "b"), "TooManyRequestsException", "Rate exceeded")
    fake.configure(quota=None)
    await client.admin_confirm_sign_up(UserPoolId=POOL, Username="b")
    fake.fail("c", "UnexpectedLambdaException", times=2)
    for _ in range(2):
        error = await confirm_error(client, "c")
        assert error.response["Error"]["Code"] == "UnexpectedLambdaException"
    await client.admin_confirm_sign_up(UserPoolId=POOL, Username="c")


def test_port_in_use_and_unknown_user_attributes(fake: FakeCognito) -> None:
    """start() raises the bind error; user_attributes() of a missing user is a KeyError."""
    port = urlsplit(fake.endpoint_url).port or 0
    with pytest.raises(OSError, match=r"(?i)address already in use"):
        FakeCognito(port=port).start()
    with pytest.raises(KeyError):
        fake.user_attributes("ghost")
    assert fake.user_status("ghost") is None
