"""examples/fastapi_app.py in its lifespan: every documented status, one client, clean logs.

The app is driven through httpx's ASGI transport with ``app.router.lifespan_context`` entered
around it, so startup and shutdown run exactly as under uvicorn. (``fastapi.testclient`` would run
the lifespan too, but with httpx rather than httpx2 it warns on import, and warnings are errors.)
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import httpx
import pytest
import pytest_asyncio
from aiobotocore.session import AioSession
from fastapi import FastAPI

import cognito_confirm
from cognito_confirm import (
    CognitoConfirmer,
    CognitoConfirmError,
    InvalidUserPoolIdError,
    NotConfirmableError,
    RepeatedFailureError,
    TriggerFailingError,
)
from cognito_confirm.testing import FakeCognito
from tests.helpers import MotoPool, first_call_at_once, isolate_aws, share_built_once
from tests.virtual_time import local_client, virtual_time


@pytest.fixture(autouse=True)
def quick_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """One SSL context for every client, one signing key for moto's pools, the first call at
    its slot's start: these tests look at answers, not at the pace (tests.helpers)."""
    share_built_once(monkeypatch)
    first_call_at_once(monkeypatch)


EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "fastapi_app.py"
TOO_LONG = "u" * 129


@pytest.fixture(scope="module")
def example() -> Iterator[ModuleType]:
    """The example module, imported from its file (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location("fastapi_app", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the models' annotations through it
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


@pytest.fixture
def app(example: ModuleType) -> FastAPI:
    """The example's ``app``."""
    application: FastAPI = example.app
    return application


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the app, inside the app's lifespan."""
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield client


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCognito]:
    """A FakeCognito the app is configured (through the environment) to use."""
    with FakeCognito() as fake:
        monkeypatch.setenv("COGNITO_USER_POOL_ID", fake.user_pool_id)
        monkeypatch.setenv("AWS_ENDPOINT_URL", fake.endpoint_url)
        yield fake


@pytest.fixture
def on_moto(moto_pool: MotoPool, monkeypatch: pytest.MonkeyPatch) -> MotoPool:
    """A moto user pool the app is configured (through the environment) to use."""
    monkeypatch.setenv("COGNITO_USER_POOL_ID", moto_pool.pool_id)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_pool.endpoint_url)
    return moto_pool


@pytest.fixture
def in_process(example: ModuleType, monkeypatch: pytest.MonkeyPatch) -> FakeCognito:
    """A fake the app's confirmer reaches in-process (its client ``local_client(fake)``), for
    a test on virtual time: the retries' backoff and the pace take no wall time, and the
    Retry-After they lead to is the same on any machine."""
    fake = FakeCognito()
    monkeypatch.setenv("COGNITO_USER_POOL_ID", fake.user_pool_id)

    def confirmer(*args: Any, **kwargs: Any) -> CognitoConfirmer:
        return CognitoConfirmer(*args, client=local_client(fake), **kwargs)

    monkeypatch.setattr(example, "CognitoConfirmer", confirmer)
    return fake


def confirm_calls(fake: FakeCognito) -> int:
    return sum(fake.stats().confirm_calls.values())


# --- one user: POST /users/{username}/confirm and POST /users/confirm-one ---------------------


async def test_confirms_an_unconfirmed_user(app: FastAPI, on_moto: MotoPool) -> None:
    """200 "confirmed", and the user is CONFIRMED in moto afterwards."""
    on_moto.sign_up("alice")
    async with serving(app) as client:
        response = await client.post("/users/alice/confirm")
    assert response.status_code == 200
    assert response.json() == {"username": "alice", "outcome": "confirmed"}
    assert on_moto.status("alice") == "CONFIRMED"


async def test_confirm_one_takes_the_username_from_the_body(
    app: FastAPI, on_moto: MotoPool
) -> None:
    """POST /users/confirm-one (username and client metadata in the body) confirms the user."""
    on_moto.sign_up("bob")
    async with serving(app) as client:
        response = await client.post(
            "/users/confirm-one", json={"username": "bob", "client_metadata": {"source": "crm"}}
        )
    assert response.status_code == 200
    assert response.json() == {"username": "bob", "outcome": "confirmed"}
    assert on_moto.status("bob") == "CONFIRMED"


async def test_already_confirmed_is_a_success(app: FastAPI, fake: FakeCognito) -> None:
    """A user Cognito reports as already CONFIRMED gets 200 "already_confirmed"."""
    fake.add_user("carol", status="CONFIRMED")
    async with serving(app) as client:
        response = await client.post("/users/carol/confirm", json={"client_metadata": {"a": "b"}})
    assert response.status_code == 200
    assert response.json() == {"username": "carol", "outcome": "already_confirmed"}


async def test_username_with_a_slash_reaches_cognito_whole(app: FastAPI, fake: FakeCognito) -> None:
    """A username holding "/" (sent as %2F) is confirmed under its full name, not a 404 route."""
    fake.add_user("team/dave")
    async with serving(app) as client:
        response = await client.post("/users/team%2Fdave/confirm")
    assert response.status_code == 200
    assert response.json()["username"] == "team/dave"
    assert fake.user_status("team/dave") == "CONFIRMED"


async def test_unknown_user_is_404(app: FastAPI, on_moto: MotoPool) -> None:
    """A user that is not in the pool gets 404 with Cognito's code and message."""
    async with serving(app) as client:
        response = await client.post("/users/nobody/confirm")
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "UserNotFoundException"
    assert body["message"]
    assert body["request_id"]


async def test_force_change_password_is_409_naming_the_status(
    app: FastAPI, fake: FakeCognito
) -> None:
    """A FORCE_CHANGE_PASSWORD user gets 409 whose body names that status."""
    fake.add_user("erin", status="FORCE_CHANGE_PASSWORD")
    async with serving(app) as client:
        response = await client.post("/users/erin/confirm")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "NotAuthorizedException"
    assert body["status"] == "FORCE_CHANGE_PASSWORD"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (f"/users/{TOO_LONG}/confirm", None),
        ("/users/has%20space/confirm", None),
        ("/users/confirm-one", {"username": TOO_LONG}),
    ],
    ids=["129-characters", "space", "in-body"],
)
async def test_invalid_username_is_422_without_calling_cognito(
    app: FastAPI, fake: FakeCognito, path: str, body: dict[str, str] | None
) -> None:
    """A username botocore's model rejects gets 422 saying why, and no call reaches Cognito."""
    async with serving(app) as client:
        response = await client.post(path, json=body)
    assert response.status_code == 422
    assert response.json()["code"] == "InvalidUsernameError"
    assert fake.stats().requests == {}


@virtual_time
async def test_throttled_is_429_with_retry_after(
    app: FastAPI, example: ModuleType, in_process: FakeCognito
) -> None:
    """Throttling that outlasts the HTTP retry budget (3 calls) gets 429 and Retry-After."""
    fake = in_process
    fake.add_user("frank")
    fake.fail("frank", "TooManyRequestsException")
    async with serving(app) as client:
        response = await client.post("/users/frank/confirm")
    assert response.status_code == 429
    # Whole seconds until the pace has room again: at least 1, never more than max_wait's worth.
    assert 1 <= int(response.headers["Retry-After"]) <= example.MAX_WAIT + 1
    assert response.json()["code"] in {"TooManyRequestsException", "ThrottledError"}
    assert 1 <= confirm_calls(fake) <= example.HTTP_RETRY.max_attempts == 3


@pytest.mark.parametrize(
    "code", ["UserLambdaValidationException", "UnexpectedLambdaException", "InternalErrorException"]
)
@virtual_time
async def test_lambda_and_other_cognito_failures_are_502(
    app: FastAPI, in_process: FakeCognito, code: str
) -> None:
    """A failing Lambda trigger, or any other Cognito error, gets 502 with Cognito's code
    (InternalErrorException after the HTTP retry budget's backoff, on virtual time)."""
    fake = in_process
    fake.add_user("gina")
    fake.fail("gina", code)
    async with serving(app) as client:
        response = await client.post("/users/gina/confirm")
    assert response.status_code == 502
    assert response.json()["code"] == code
    assert fake.user_status("gina") == "UNCONFIRMED"


# --- the server's own problems: 503 -------------------------------------------------------------


async def test_unknown_pool_is_503(
    app: FastAPI, moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pool that does not exist gets 503 with a clear message, not 404 (that means the user)."""
    monkeypatch.setenv("COGNITO_USER_POOL_ID", "us-east-1_DoesNotExist")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    async with serving(app) as client:
        response = await client.post("/users/alice/confirm")
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "ResourceNotFoundException"
    assert "user pool" in body["message"]


async def test_missing_credentials_is_503(
    app: FastAPI, on_moto: MotoPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no AWS credentials anywhere the app still starts, and a request gets 503."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    on_moto.sign_up("hank")
    async with serving(app) as client:
        response = await client.post("/users/hank/confirm")
    assert response.status_code == 503
    assert response.json() == {
        "code": "CredentialsError",
        "message": "the server has no usable AWS credentials",
    }
    assert on_moto.status("hank") == "UNCONFIRMED"


async def test_access_denied_is_503_without_credentials_in_the_body(
    app: FastAPI, fake: FakeCognito, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Credentials IAM refuses get 503; the body names neither the key nor the IAM principal."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "denied")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cret-Sauce")
    fake.add_user("ivy")
    async with serving(app) as client:
        response = await client.post("/users/ivy/confirm")
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "AccessDeniedException"
    assert "cognito-idp:AdminConfirmSignUp" in body["message"]
    assert "user/denied" not in response.text
    assert "s3cret-Sauce" not in response.text
    assert fake.user_status("ivy") == "UNCONFIRMED"


async def test_missing_pool_id_fails_at_startup(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without COGNITO_USER_POOL_ID the app refuses to start, saying which variable to set."""
    monkeypatch.delenv("COGNITO_USER_POOL_ID", raising=False)
    with pytest.raises(RuntimeError, match="COGNITO_USER_POOL_ID is not set"):
        async with serving(app):
            pass


async def test_malformed_pool_id_fails_at_startup(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A malformed COGNITO_USER_POOL_ID stops the startup with the library's explanation."""
    monkeypatch.setenv("COGNITO_USER_POOL_ID", "not a pool id")
    with pytest.raises(InvalidUserPoolIdError, match="malformed user pool id"):
        async with serving(app):
            pass


# --- many users: POST /users/confirm ------------------------------------------------------------


async def test_batch_reports_each_user_in_input_order(app: FastAPI, fake: FakeCognito) -> None:
    """One 200 carries every user's outcome, in input order, and the counts."""
    fake.add_users(["u1", "u2"])
    fake.add_user("u3", status="CONFIRMED")
    fake.add_user("u4", status="FORCE_CHANGE_PASSWORD")
    fake.add_user("u5")
    fake.fail("u5", "UserLambdaValidationException")
    usernames = ["u1", "u2", "u3", "ghost", "u4", "u5", TOO_LONG, "u1"]
    async with serving(app) as client:
        response = await client.post("/users/confirm", json={"usernames": usernames})
    assert response.status_code == 200
    body = response.json()
    assert [item["username"] for item in body["results"]] == usernames
    assert [item["outcome"] for item in body["results"]] == [
        "confirmed",
        "confirmed",
        "already_confirmed",
        "not_found",
        "not_confirmable",
        "failed",
        "invalid",
        "duplicate",
    ]
    assert body["results"][3]["error_code"] == "UserNotFoundException"
    assert body["results"][4]["user_status"] == "FORCE_CHANGE_PASSWORD"
    assert body["results"][5]["error_code"] == "UserLambdaValidationException"
    assert body["results"][0]["attempts"] == 1
    assert body["results"][6]["attempts"] == 0
    assert body["ok"] is False
    assert body["counts"] == {
        "confirmed": 2,
        "already_confirmed": 1,
        "not_found": 1,
        "not_confirmable": 1,
        "invalid": 1,
        "duplicate": 1,
        "skipped": 0,
        "failed": 1,
    }
    assert fake.status_counts() == {"CONFIRMED": 3, "FORCE_CHANGE_PASSWORD": 1, "UNCONFIRMED": 1}


@pytest.mark.parametrize("size", [0, 1001])
async def test_batch_size_out_of_bounds_is_422(app: FastAPI, fake: FakeCognito, size: int) -> None:
    """An empty batch or one over 1,000 users fails validation before any call."""
    fake.add_user("u1")
    async with serving(app) as client:
        response = await client.post("/users/confirm", json={"usernames": ["u1"] * size})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "RequestValidationError"
    assert body["message"].startswith("body.usernames: ")
    assert body["errors"][0]["loc"] == ["body", "usernames"]
    assert fake.stats().requests == {}


async def test_batch_setup_error_is_503(
    app: FastAPI, fake: FakeCognito, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch against a pool that does not exist gets 503, not 200 with 3 failures."""
    monkeypatch.setenv("COGNITO_USER_POOL_ID", "us-east-1_Elsewhere")
    fake.add_users(["u1", "u2", "u3"])
    async with serving(app) as client:
        response = await client.post("/users/confirm", json={"usernames": ["u1", "u2", "u3"]})
    assert response.status_code == 503
    assert response.json()["code"] == "ResourceNotFoundException"


# --- lifetime and logs --------------------------------------------------------------------------


async def test_one_client_serves_every_request(
    app: FastAPI, fake: FakeCognito, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One confirmer and one aiobotocore client serve all requests, concurrent ones included."""
    created: list[str] = []
    create_client = AioSession.create_client

    def counting_create_client(self: AioSession, *args: Any, **kwargs: Any) -> Any:
        created.append(args[0] if args else kwargs["service_name"])
        return create_client(self, *args, **kwargs)

    monkeypatch.setattr(AioSession, "create_client", counting_create_client)
    names = [f"user{index}" for index in range(12)]
    fake.add_users(names)
    fake.configure(latency=0.05)  # so that concurrent requests overlap at the fake
    statuses: list[int] = []

    async def confirm(client: httpx.AsyncClient, name: str) -> None:
        statuses.append((await client.post(f"/users/{name}/confirm")).status_code)

    async with serving(app) as client:
        confirmer = app.state.confirmer
        assert isinstance(confirmer, CognitoConfirmer)
        aiobotocore_client = confirmer.client
        config: Any = aiobotocore_client.meta.config  # botocore's stubs omit the timeouts
        assert config.read_timeout == 8  # HTTP_TIMEOUTS, not the library's 30 s
        async with anyio.create_task_group() as task_group:
            for name in names[:10]:
                task_group.start_soon(confirm, client, name)
        batch = await client.post("/users/confirm", json={"usernames": names[10:]})
        assert app.state.confirmer is confirmer
        assert confirmer.client is aiobotocore_client
    assert statuses == [200] * 10
    assert batch.json()["ok"] is True
    assert created == ["cognito-idp"]
    assert fake.stats().max_in_flight > 1
    assert not hasattr(app.state, "confirmer")  # shutdown closed it and let it go


async def test_logs_hold_no_username_or_credential(
    app: FastAPI,
    fake: FakeCognito,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """At INFO, across every kind of answer, the server logs no username and no credential."""
    secret = "wJalrXUtnFEMI-K7MDENG-LOGTEST-SECRET"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIALOGTESTKEYID")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    ok, done, fcp, slow, lam = (f"{who}.private@example.com" for who in "abcde")
    ghost, invalid = "ghost.private@example.com", "f private@example.com"
    fake.add_users([ok, slow, lam])
    fake.add_user(done, status="CONFIRMED")
    fake.add_user(fcp, status="FORCE_CHANGE_PASSWORD")
    fake.fail(slow, "TooManyRequestsException")
    fake.fail(lam, "UserLambdaValidationException", message=f"PostConfirmation: no such {lam}")
    caplog.set_level(logging.INFO)
    async with serving(app) as client:
        statuses = [
            (await client.post(f"/users/{name}/confirm")).status_code
            for name in (ok, done, ghost, fcp, slow, lam, invalid)
        ]
        one = await client.post("/users/confirm-one", json={"username": ok})
        batch = await client.post(
            "/users/confirm", json={"usernames": [ok, done, ghost, fcp, lam, invalid, ok]}
        )
    assert statuses == [200, 200, 404, 409, 429, 502, 422]
    assert one.status_code == batch.status_code == 200
    # httpx's own INFO lines come from the test's client, which the server does not run.
    records = [record for record in caplog.records if not record.name.startswith("httpx")]
    assert {"fastapi_app", "aiobotocore.credentials"} <= {record.name for record in records}
    logged = "\n".join(caplog.handler.format(record) for record in records)
    for private in (ok, done, fcp, slow, lam, ghost, invalid, "private@", secret):
        assert private not in logged
    assert "AKIALOGTESTKEYID" not in logged


# --- one error model, declared, with nothing internal in it -------------------------------------

ONE_USER_STATUSES = {"404", "409", "422", "429", "502", "503"}
ERROR_REF = "#/components/schemas/ErrorBody"
INTERNAL_URL = "http://10.20.30.40:4566/internal"
KEY_ID, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def every_error_class() -> list[type[CognitoConfirmError]]:
    """CognitoConfirmError and every public subclass: the hierarchy a caller can meet."""
    exported = (getattr(cognito_confirm, name) for name in cognito_confirm.__all__)
    return [
        cls for cls in exported if isinstance(cls, type) and issubclass(cls, CognitoConfirmError)
    ]


def leaky(cls: type[CognitoConfirmError]) -> CognitoConfirmError:
    """An instance whose message holds an internal URL, an access key id and a secret key."""
    message = f"Could not connect to the endpoint URL: {INTERNAL_URL} as {KEY_ID} / {SECRET}"
    if cls is NotConfirmableError:
        return NotConfirmableError(message, status="FORCE_CHANGE_PASSWORD", request_id="r-1")
    if cls is RepeatedFailureError:
        return RepeatedFailureError(CognitoConfirmError(message, code="Weird"), 3)
    if cls is TriggerFailingError:
        return TriggerFailingError(CognitoConfirmError(message, code="UnexpectedLambda"), 10, 10)
    return cls(message, username="alice", request_id="r-1")


async def test_openapi_declares_every_error_status_with_the_error_model(
    app: FastAPI, fake: FakeCognito
) -> None:
    """/openapi.json: each endpoint lists every status it can answer, each with ErrorBody."""
    async with serving(app) as client:
        spec = (await client.get("/openapi.json")).json()
    expected = {
        "/users/confirm-one": ONE_USER_STATUSES,
        "/users/{username}/confirm": ONE_USER_STATUSES,
        "/users/confirm": {"422", "503"},
    }
    for path, statuses in expected.items():
        responses = spec["paths"][path]["post"]["responses"]
        assert set(responses) == {"200"} | statuses, path
        for status in statuses:
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": ERROR_REF}, (path, status)
        if "429" in statuses:
            assert "Retry-After" in responses["429"]["headers"]
    schemas = spec["components"]["schemas"]
    assert set(schemas["ErrorBody"]["required"]) == {"code", "message"}
    assert "HTTPValidationError" not in schemas  # FastAPI's own 422 shape is gone


@pytest_asyncio.fixture(scope="class", loop_scope="class")
async def served_once(
    example: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    """The app served over a fake, for the tests of one class, in the environment that
    ``fake`` and ``aws_isolation`` give a single test (theirs last only a test)."""
    aws = tmp_path_factory.mktemp("aws")
    with FakeCognito() as fake, pytest.MonkeyPatch.context() as patch:
        isolate_aws(patch, aws)
        patch.setenv("COGNITO_USER_POOL_ID", fake.user_pool_id)
        patch.setenv("AWS_ENDPOINT_URL", fake.endpoint_url)
        async with serving(example.app) as client:
            yield client


class TestNoErrorClassShowsAnInternalUrlOrCredentials:
    """Every error class (confirm and confirm_many patched to raise it), through one app and
    one fake for the whole class: the app's startup is not what these cases look at, and it
    cost most of each case's time (a client created, a fake started)."""

    @pytest.mark.asyncio(loop_scope="class")
    @pytest.mark.parametrize("cls", every_error_class(), ids=lambda cls: cls.__name__)
    @pytest.mark.parametrize("endpoint", ["one", "batch"])
    async def test_no_error_class_shows_an_internal_url_or_credentials(
        self,
        served_once: httpx.AsyncClient,
        monkeypatch: pytest.MonkeyPatch,
        cls: type[CognitoConfirmError],
        endpoint: str,
    ) -> None:
        """Every error class, raised with an endpoint URL and keys in its message: a declared
        status, the one error model, and neither the URL nor the keys in the body."""

        async def raising(*args: object, **kwargs: object) -> None:
            raise leaky(cls)

        monkeypatch.setattr(CognitoConfirmer, "confirm", raising)
        monkeypatch.setattr(CognitoConfirmer, "confirm_many", raising)
        if endpoint == "one":
            response = await served_once.post("/users/confirm-one", json={"username": "alice"})
        else:
            response = await served_once.post("/users/confirm", json={"usernames": ["alice"]})
        assert str(response.status_code) in ONE_USER_STATUSES
        body = response.json()
        assert set(body) <= {"code", "message", "status", "request_id", "errors"}
        assert body["code"]
        assert body["message"]
        for private in ("10.20.30.40", "4566", KEY_ID, SECRET):
            assert private not in response.text
        if response.status_code == 429:
            assert int(response.headers["Retry-After"]) >= 1


async def test_unreachable_endpoint_is_502_without_its_url(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dead endpoint: 502 saying Cognito could not be reached; the URL stays in the log."""
    monkeypatch.setenv("COGNITO_USER_POOL_ID", "us-east-1_Nowhere")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard: nothing listens
    async with serving(app) as client:
        response = await client.post("/users/confirm-one", json={"username": "alice"})
    assert response.status_code == 502
    assert response.json() == {
        "code": "TransportError",
        "message": "Cognito could not be reached: the connection failed or timed out",
    }
    assert "127.0.0.1" not in response.text


async def test_framework_errors_use_the_error_model_too(app: FastAPI, fake: FakeCognito) -> None:
    """An unknown path (404), a wrong method (405) and malformed JSON (422): one shape."""
    async with serving(app) as client:
        unknown = await client.post("/nowhere")
        method = await client.get("/users/confirm")
        malformed = await client.post(
            "/users/confirm-one",
            content=b"{not json",
            headers={"content-type": "application/json"},
        )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "NotFound")
    assert (method.status_code, method.json()["code"]) == (405, "MethodNotAllowed")
    assert method.headers["allow"] == "POST"
    assert malformed.status_code == 422
    assert malformed.json()["code"] == "RequestValidationError"
    assert "not json" not in malformed.text  # the input is not echoed back
