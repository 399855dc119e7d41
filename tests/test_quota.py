"""rate='auto' from Service Quotas, and the fake's shared UserCreation quota behind it."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import anyio
import botocore.exceptions
import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from click.testing import CliRunner

from cognito_confirm import CognitoConfirmer, Outcome
from cognito_confirm._quota import NOT_ASKED
from cognito_confirm.cli.commands import cli
from cognito_confirm.testing import FakeCognito, _model
from tests.helpers import (
    confirm_args,
    first_call_at_once,
    share_built_once,
    unpaced,
    users_file,
)
from tests.virtual_time import local_client, virtual_time


@pytest.fixture(autouse=True)
def quick_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """One SSL context for every client, one signing key for moto's pools, the first call at
    its slot's start: these tests look at answers, not at the pace (tests.helpers)."""
    share_built_once(monkeypatch)
    first_call_at_once(monkeypatch)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def point_service_quotas_at(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SERVICE_QUOTAS", url)


async def test_auto_paces_at_the_applied_quota_less_the_reserve(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An applied quota of 100/s gives a ceiling of 80/s (20% left to live sign-ups)."""
    with FakeCognito(service_quota=100) as fake:
        fake.add_users(["alice"])
        point_service_quotas_at(monkeypatch, fake.endpoint_url)
        async with CognitoConfirmer(
            fake.user_pool_id, endpoint_url=fake.endpoint_url, rate="auto"
        ) as c:
            assert c.quota is not None
            assert (c.quota.value, c.quota.source, c.quota.problem) == (100, "applied", None)
            assert c.limiter.max_rate == pytest.approx(80)
            assert c.limiter.rate == pytest.approx(80)  # the quota read lets it start there
            assert (await c.confirm("alice")).outcome is Outcome.CONFIRMED
        requests = fake.stats().requests
    assert requests["GetServiceQuota"] == 1


async def test_auto_takes_the_aws_default_when_nothing_is_applied(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No applied value: GetAWSDefaultServiceQuota's 50/s, so 40/s; reserve is adjustable."""
    with FakeCognito() as fake:
        point_service_quotas_at(monkeypatch, fake.endpoint_url)
        async with CognitoConfirmer(
            fake.user_pool_id, endpoint_url=fake.endpoint_url, rate="auto", reserve=0.5
        ) as c:
            assert c.quota is not None
            assert c.quota.source == "aws-default"
            assert c.limiter.max_rate == pytest.approx(25)


async def test_auto_without_permission_falls_back_and_says_so_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """AccessDenied from Service Quotas: 50/s assumed, 40/s paced, one warning naming why."""
    with FakeCognito(service_quota=100, service_quotas_denied=True) as fake:
        point_service_quotas_at(monkeypatch, fake.endpoint_url)
        with caplog.at_level(logging.WARNING, logger="cognito_confirm"):
            async with CognitoConfirmer(
                fake.user_pool_id, endpoint_url=fake.endpoint_url, rate="auto"
            ) as c:
                assert c.limiter.max_rate == pytest.approx(40)
                assert c.quota is not None
                assert c.quota.problem == "AccessDeniedException"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "AccessDeniedException" in warnings[0].getMessage()
    assert "testing" not in warnings[0].getMessage()  # no credential in the log


async def test_auto_with_no_answer_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unreachable Service Quotas endpoint is a fallback too, not a failure."""
    with FakeCognito() as fake:
        point_service_quotas_at(monkeypatch, f"http://127.0.0.1:{closed_port()}")
        async with CognitoConfirmer(
            fake.user_pool_id, endpoint_url=fake.endpoint_url, rate="auto"
        ) as c:
            assert c.quota is not None
            assert c.quota.source == "fallback"
            assert c.limiter.max_rate == pytest.approx(40)


class _Stopped(botocore.exceptions.EndpointConnectionError):
    """Raised before a request leaves the machine: the test records where it was going."""


def held_back(sent: list[str]) -> AioSession:
    """A session whose Service Quotas requests are recorded and stopped before they are sent."""

    def record(request: object, **_: object) -> None:
        url = str(getattr(request, "url", ""))
        sent.append(url)
        raise _Stopped(endpoint_url=url)

    session = AioSession()
    session.register("before-send.service-quotas", record)
    return session


async def test_auto_with_a_local_cognito_asks_no_aws_service_quotas() -> None:
    """#17 case 7: Cognito on loopback, no Service Quotas endpoint set: nothing is asked
    (it went to servicequotas.us-east-1.amazonaws.com, signed), 50/s assumed, and why."""
    sent: list[str] = []
    with FakeCognito(service_quota=100) as fake:
        async with CognitoConfirmer(
            fake.user_pool_id, endpoint_url=fake.endpoint_url, rate="auto", session=held_back(sent)
        ) as c:
            assert c.quota is not None
            assert (c.quota.source, c.quota.problem) == ("fallback", NOT_ASKED)
            assert c.limiter.max_rate == pytest.approx(40)
        assert "GetServiceQuota" not in fake.stats().requests
    assert sent == []


@virtual_time
async def test_auto_with_a_vpc_endpoint_for_cognito_still_reads_the_quota() -> None:
    """A VPC endpoint for Cognito is AWS's: Service Quotas is asked (stopped here, unsent).

    On virtual time: no request leaves, so no socket is in flight, and botocore's backoff
    before its one retry (up to a second, unseeded) takes none of the wall clock."""
    sent: list[str] = []
    vpce = "https://vpce-0abc-1def.cognito-idp.us-east-1.vpce.amazonaws.com"
    async with CognitoConfirmer(
        "us-east-1_Pool1", endpoint_url=vpce, rate="auto", session=held_back(sent)
    ) as c:
        assert c.quota is not None
        assert c.quota.source == "fallback"  # the request was stopped before it left
        assert c.quota.problem != NOT_ASKED
    assert sent
    assert all(url.startswith("https://servicequotas.us-east-1.amazonaws.com") for url in sent)


def test_cli_rate_auto_says_where_its_pace_comes_from(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """--rate auto prints one stderr line: the quota it read, or why it fell back."""
    users = users_file(tmp_path, ["alice"])
    for denied, expected in ((False, "quota 100/s (applied)"), (True, "AccessDeniedException")):
        with FakeCognito(service_quota=100, service_quotas_denied=denied) as fake:
            fake.add_users(["alice"])
            point_service_quotas_at(monkeypatch, fake.endpoint_url)
            report = tmp_path / f"report-{denied}.jsonl"
            args = confirm_args(fake, report, "--input", users, "--rate", "auto", "--no-progress")
            result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        lines = [line for line in result.stderr.splitlines() if "--rate auto" in line]
        assert len(lines) == 1
        assert expected in lines[0]
        assert ("up to 80/s" if not denied else "up to 40/s") in lines[0]


@pytest.mark.parametrize("value", ["0", "-3", "fast", "nan", "20000"])
def test_cli_rejects_a_bad_rate(value: str) -> None:
    """--rate takes a number in (0, 10000] or 'auto'; anything else is one line, exit 2."""
    result = CliRunner().invoke(
        cli,
        ["confirm", "--user-pool-id", "us-east-1_Abc", "--input", "-", "--rate", value],
    )
    assert result.exit_code == 2
    assert "--rate" in result.stderr


async def sign_up(endpoint_url: str, username: str) -> str:
    """One live SignUp, never retried; its error code, or 'ok'."""
    config = AioConfig(retries={"total_max_attempts": 1, "mode": "standard"})
    async with AioSession().create_client(
        "cognito-idp", region_name="us-east-1", endpoint_url=endpoint_url, config=config
    ) as client:
        try:
            await client.sign_up(ClientId="app", Username=username, Password="Passw0rd!")
        except botocore.exceptions.ClientError as exc:
            return str(exc.response["Error"]["Code"])
    return "ok"


@virtual_time
async def test_sign_ups_and_confirmations_share_the_user_creation_quota() -> None:
    """With the bucket spent by confirmations, a live SignUp is throttled and counted apart
    (virtual time: the bucket refills only when the loop's clock says so, on any machine)."""
    fake = FakeCognito(quota=2, burst=2)
    fake.add_users(["a", "b"])
    client = local_client(fake)
    async with CognitoConfirmer(fake.user_pool_id, client=client, limiter=unpaced()) as c:
        report = await c.confirm_many(["a", "b"])
    assert report.ok
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        await client.sign_up(ClientId="app", Username="live-1", Password="P4ss!")
    assert caught.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert fake.stats().throttled_by_action == {"SignUp": 1}
    await anyio.sleep(0.5)  # one token back at 2/s
    assert await client.sign_up(ClientId="app", Username="live-2", Password="P4ss!") is not None
    assert fake.user_status("live-2") == "UNCONFIRMED"


async def test_a_sign_up_creates_an_unconfirmed_user() -> None:
    """SignUp adds an UNCONFIRMED user; the same name again is UsernameExistsException."""
    with FakeCognito() as fake:
        assert await sign_up(fake.endpoint_url, "new") == "ok"
        assert fake.user_status("new") == "UNCONFIRMED"
        assert await sign_up(fake.endpoint_url, "new") == "UsernameExistsException"


def test_fixed_windows_refuse_past_the_quota_until_the_next_second() -> None:
    """quota_windows: 3 calls pass in a one-second window, the 4th is refused, no burst carries."""
    now = [100.2]
    gate = _model.quota_gate(3, None, None, windows=True, clock=lambda: now[0])
    assert gate is not None
    assert [gate.take() for _ in range(4)] == [True, True, True, False]
    now[0] = 101.0
    assert [gate.take() for _ in range(4)] == [True, True, True, False]


async def test_fixed_windows_through_the_fake() -> None:
    """The fake configured with quota_windows refuses within the window as Cognito would."""
    config = AioConfig(retries={"total_max_attempts": 1, "mode": "standard"})
    codes = []
    with FakeCognito(quota=2, quota_windows=True) as fake:
        async with AioSession().create_client(
            "cognito-idp", region_name="us-east-1", endpoint_url=fake.endpoint_url, config=config
        ) as client:
            for number in range(6):  # a few milliseconds: at most two windows
                try:
                    await client.sign_up(ClientId="app", Username=f"w{number}", Password="P4ss!")
                    codes.append("ok")
                except botocore.exceptions.ClientError as exc:
                    codes.append(str(exc.response["Error"]["Code"]))
    assert codes.count("ok") <= 4
    assert "TooManyRequestsException" in codes
