"""A FastAPI service that confirms Cognito users: one shared CognitoConfirmer for the whole app.

Configuration comes from the environment: ``COGNITO_USER_POOL_ID`` (required) plus whatever
botocore already reads (``AWS_PROFILE``, credentials, ``AWS_ENDPOINT_URL``, ``AWS_REGION`` when
the pool id does not name one). Run it with::

    COGNITO_USER_POOL_ID=eu-west-1_AbC123 python examples/fastapi_app.py
    # or: uvicorn --app-dir examples fastapi_app:app --no-access-log

Endpoints (every error body, whatever its status, FastAPI's own 422 included, is one model,
``ErrorBody``: ``{"code": ..., "message": ...}`` plus what the status needs; OpenAPI declares
it for every status an endpoint can answer):

    POST /users/{username}/confirm   {"client_metadata": {...}} optional -> one user
    POST /users/confirm-one          {"username": ..., "client_metadata": {...}} -> one user
    POST /users/confirm              {"usernames": [1..1000], "client_metadata": {...}} -> batch

Usernames are personal data, so this service never logs one above DEBUG. uvicorn's access log
would, at INFO, because the first endpoint carries the username in its path: run uvicorn with
``--no-access-log`` (``access_log=False``, as ``__main__`` below does), or keep the access log and
call ``POST /users/confirm-one``, which carries the username in the body. Paths also end up in
proxy and load balancer logs, traces and browser histories that this process does not control,
which is why the body variant exists and is the one to prefer.
"""

from __future__ import annotations

import logging
import math
import os
import re
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Annotated, Any, Final, cast

import uvicorn
from aiobotocore.config import AioConfig
from fastapi import Body, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from cognito_confirm import (
    AccessDeniedError,
    CognitoConfirmer,
    CognitoConfirmError,
    ConfirmResult,
    CredentialsError,
    InternalServerError,
    InvalidParameterError,
    InvalidUsernameError,
    LambdaTriggerError,
    LimitExceededError,
    NotAuthorizedError,
    NotConfirmableError,
    OperationNotEnabledError,
    Outcome,
    RetryPolicy,
    SetupError,
    ThrottledError,
    TooManyFailedAttemptsError,
    TransportError,
    UserNotFoundError,
    UserPoolNotFoundError,
)

logger = logging.getLogger("fastapi_app")

POOL_VARIABLE: Final = "COGNITO_USER_POOL_ID"
MISSING_POOL: Final = (
    f"{POOL_VARIABLE} is not set: export the id of the user pool whose users this service "
    "confirms, e.g. eu-west-1_AbC123"
)
MAX_BATCH: Final = 1000

# An HTTP caller is waiting, so give up far sooner than a bulk job would (the default policy
# makes 8 attempts with backoffs of up to 10 s): a throttled user costs at most 3 calls and 0.6 s
# of backoff (0.2 s, then 0.4 s), then the caller gets 429 with Retry-After and decides itself.
HTTP_RETRY: Final = RetryPolicy(max_attempts=3, max_delay=1.0)
# The library's own timeouts (10 s connect, 30 s read) suit a batch job. Cognito gives a Lambda
# trigger 5 s, so an 8 s read still lets a slow post-confirmation trigger finish; a dead endpoint
# then costs a request at most 3 x (2 + 8) s instead of minutes.
HTTP_TIMEOUTS: Final = AioConfig(connect_timeout=2, read_timeout=8)
# Every request and every batch keeps the confirmer's one pace, which yields to the live
# sign-ups sharing the account's UserCreation quota. A request waits for its slot at most
# MAX_WAIT seconds; past that it is answered 429 at once, nothing sent, with a Retry-After
# taken from the pace.
MAX_WAIT: Final = 2.0
BATCH_CONCURRENCY: Final = 16


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the one confirmer (one aiobotocore client, one connection pool) the app lives with."""
    user_pool_id = os.environ.get(POOL_VARIABLE, "").strip()
    if not user_pool_id:
        raise RuntimeError(MISSING_POOL)
    confirmer = CognitoConfirmer(
        user_pool_id, retry=HTTP_RETRY, config=HTTP_TIMEOUTS, max_wait=MAX_WAIT
    )
    async with confirmer:
        app.state.confirmer = confirmer
        try:
            yield
        finally:
            del app.state.confirmer


app = FastAPI(title="cognito-confirm example", lifespan=lifespan)


def get_confirmer(request: Request) -> CognitoConfirmer:
    """The application's confirmer, opened by the lifespan."""
    return cast(CognitoConfirmer, request.app.state.confirmer)


Confirmer = Annotated[CognitoConfirmer, Depends(get_confirmer)]


class ConfirmRequest(BaseModel):
    """The optional body of ``POST /users/{username}/confirm``."""

    model_config = ConfigDict(extra="forbid")

    client_metadata: dict[str, str] | None = Field(
        default=None, description="Handed to the pool's post-confirmation Lambda trigger."
    )


class ConfirmOneRequest(ConfirmRequest):
    """The body of ``POST /users/confirm-one``: the username stays out of URLs and access logs."""

    username: str


class BatchRequest(ConfirmRequest):
    """The body of ``POST /users/confirm``."""

    usernames: list[str] = Field(min_length=1, max_length=MAX_BATCH)


class FieldError(BaseModel):
    """One problem FastAPI found in a request (without the input it saw: it may be private)."""

    loc: list[str | int] = Field(description="Where: e.g. ['body', 'usernames'].")
    msg: str
    type: str


class ErrorBody(BaseModel):
    """The body of every error answer, whatever its status."""

    code: str = Field(
        description="Cognito's error code (e.g. UserNotFoundException), or the name of the "
        "error found here (InvalidUsernameError, RequestValidationError, NotFound, ...)."
    )
    message: str = Field(description="What went wrong, for a person; no internal detail.")
    status: str | None = Field(
        default=None, description="409: the user's status, e.g. FORCE_CHANGE_PASSWORD."
    )
    request_id: str | None = Field(default=None, description="The AWS request id, if any.")
    errors: list[FieldError] | None = Field(
        default=None, description="422 for a malformed request: each problem found."
    )


def error_response(
    body: ErrorBody, status: int, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """An error answer: the model without its empty fields."""
    content = body.model_dump(exclude_none=True)
    return JSONResponse(content, status_code=status, headers=dict(headers or {}))


ERROR_DESCRIPTIONS: Final = {
    404: "The user is not in the pool.",
    409: "The user's status cannot be confirmed by an administrator (the body names it).",
    422: "A malformed request or username; nothing was sent to Cognito.",
    429: "Cognito's quota has no room now: try again after Retry-After seconds.",
    502: "Cognito, the pool's Lambda trigger or the network failed for this request.",
    503: "The server's own configuration (pool, credentials, permissions) is wrong.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI's ``responses=`` for these statuses: each with ``ErrorBody``."""
    responses: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorBody, "description": ERROR_DESCRIPTIONS[status]}
        for status in statuses
    }
    if 429 in responses:
        responses[429]["headers"] = {
            "Retry-After": {
                "description": "Whole seconds until the pace has room again.",
                "schema": {"type": "integer", "minimum": 1},
            }
        }
    return responses


ONE_USER_ERRORS: Final = error_responses(404, 409, 422, 429, 502, 503)
# A batch reports each user's failure in its 200; only the whole batch can fail.
BATCH_ERRORS: Final = error_responses(422, 503)


class ConfirmResponse(BaseModel):
    """One user confirmed now or before: both mean the user can sign in."""

    username: str
    outcome: Outcome = Field(description="confirmed or already_confirmed")


class BatchItem(BaseModel):
    """One user's result in a batch, in input order."""

    username: str
    outcome: Outcome
    error_code: str | None
    message: str | None
    attempts: int
    user_status: str | None


class BatchResponse(BaseModel):
    """A batch: per-user results in input order, and how many ended each way."""

    ok: bool
    counts: dict[Outcome, int]
    results: list[BatchItem]


async def confirm_one(
    confirmer: CognitoConfirmer, username: str, client_metadata: Mapping[str, str] | None
) -> ConfirmResponse:
    result = await confirmer.confirm(username, client_metadata=client_metadata)
    log_result(result)
    return ConfirmResponse(username=username, outcome=result.outcome)


@app.post("/users/confirm-one", responses=ONE_USER_ERRORS)
async def confirm_user_in_body(body: ConfirmOneRequest, confirmer: Confirmer) -> ConfirmResponse:
    """Confirm one user named in the body (the variant to use when access logs are kept)."""
    return await confirm_one(confirmer, body.username, body.client_metadata)


# `:path` because Cognito usernames may contain "/" (sent as %2F, decoded before routing).
@app.post("/users/{username:path}/confirm", responses=ONE_USER_ERRORS)
async def confirm_user(
    username: str,
    confirmer: Confirmer,
    body: Annotated[ConfirmRequest | None, Body()] = None,
) -> ConfirmResponse:
    """Confirm one user; an already confirmed user is a success too."""
    return await confirm_one(confirmer, username, body.client_metadata if body else None)


@app.post("/users/confirm", responses=BATCH_ERRORS)
async def confirm_users(body: BatchRequest, confirmer: Confirmer) -> BatchResponse:
    """Confirm up to 1,000 users; each user's failure is a result, not an error status.

    Batches and single requests keep one pace, so concurrent batches share it rather than
    multiply it (1,000 users at the default 40/s: about 25 s).
    """
    report = await confirmer.confirm_many(
        body.usernames, concurrency=BATCH_CONCURRENCY, client_metadata=body.client_metadata
    )
    logger.info("batch of %d users: %s", len(report.results), _nonzero(report.counts))
    return BatchResponse(
        ok=report.ok,
        counts=dict(report.counts),
        results=[
            BatchItem(
                username=result.username,
                outcome=result.outcome,
                error_code=result.error_code,
                message=result.message,
                attempts=result.attempts,
                user_status=result.user_status,
            )
            for result in report.results
        ],
    )


# --- errors: one model, one table, a handler per source ------------------------------------------

# Checked in order, the first match wins; any other CognitoConfirmError is a 502.
ERROR_STATUS: Final[tuple[tuple[type[CognitoConfirmError], int], ...]] = (
    (InvalidUsernameError, 422),  # raised by the library before any call
    (UserNotFoundError, 404),
    (NotConfirmableError, 409),  # e.g. FORCE_CHANGE_PASSWORD: the body names the status
    (ThrottledError, 429),  # no slot in the pace within MAX_WAIT, or still throttled
    (SetupError, 503),  # unknown pool, no credentials, access denied: the server's problem
    (LambdaTriggerError, 502),  # the pool's own trigger failed
)

# Cognito's answers about the caller's own user are passed on (scrubbed all the same).
CALLER_MESSAGES: Final[tuple[type[CognitoConfirmError], ...]] = (
    UserNotFoundError,
    NotAuthorizedError,
    InvalidUsernameError,
    InvalidParameterError,
    TooManyFailedAttemptsError,
    ThrottledError,
    LimitExceededError,
)

# Everything else is the server's side: the caller gets a sentence, the log gets the rest.
# A transport error names the endpoint URL; a Lambda trigger's text may name internal hosts;
# an AccessDenied message names the IAM principal and the account.
SERVER_MESSAGES: Final[tuple[tuple[type[CognitoConfirmError], str], ...]] = (
    (UserPoolNotFoundError, f"the user pool in {POOL_VARIABLE} does not exist in this region"),
    (CredentialsError, "the server has no usable AWS credentials"),
    (
        AccessDeniedError,
        "the server's AWS credentials may not call cognito-idp:AdminConfirmSignUp on this pool",
    ),
    (OperationNotEnabledError, "AdminConfirmSignUp is not available in this region"),
    (SetupError, "the server cannot reach Cognito with its configuration"),
    (LambdaTriggerError, "the user pool's Lambda trigger failed; its own log has the details"),
    (TransportError, "Cognito could not be reached: the connection failed or timed out"),
    (InternalServerError, "Cognito answered with a server error; try again later"),
    (CognitoConfirmError, "Cognito refused the call with an error this service does not handle"),
)

# What must never reach a caller even inside a message passed on: URLs (internal endpoints,
# with or without credentials in them), AWS access key ids and secret-key-shaped strings.
_PRIVATE: Final = re.compile(
    r"[a-zA-Z][a-zA-Z0-9+.-]*://\S+"
    r"|\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"
    r"|(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"
)


def public_message(error: CognitoConfirmError) -> str:
    """What the caller may read about ``error``."""
    if isinstance(error, CALLER_MESSAGES):
        return _PRIVATE.sub("[redacted]", error.message)
    return next(text for cls, text in SERVER_MESSAGES if isinstance(error, cls))


@app.exception_handler(CognitoConfirmError)
async def cognito_error(request: Request, error: CognitoConfirmError) -> JSONResponse:
    """Answer a library error with its status; log it without the username."""
    status = next((status for cls, status in ERROR_STATUS if isinstance(error, cls)), 502)
    code = error.code or type(error).__name__
    body = ErrorBody(code=code, message=public_message(error), request_id=error.request_id)
    headers = {}
    if isinstance(error, NotConfirmableError):
        body.status = error.status
    if isinstance(error, ThrottledError):
        headers["Retry-After"] = retry_after(error)
    if isinstance(error, SetupError | TransportError):
        # Neither names a user: the operator needs the whole message (endpoint, principal).
        logger.error("Cognito unusable, answering %d: %s", status, error)
    else:
        # Cognito's per-user messages can quote the username (validation errors, Lambda
        # triggers' own text): only the code and the request id are logged above DEBUG.
        level = logging.WARNING if status >= 500 else logging.INFO
        request_id = error.request_id or "-"
        logger.log(level, "confirm answered %d: %s (request id %s)", status, code, request_id)
        logger.debug("confirm of %r failed: %s", error.username, error.message)
    return error_response(body, status, headers)


@app.exception_handler(RequestValidationError)
async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
    """FastAPI's own 422 in the one error model; the input it saw is not echoed back."""
    errors = [
        FieldError(loc=list(item["loc"]), msg=str(item["msg"]), type=str(item["type"]))
        for item in error.errors()
    ]
    where = ".".join(str(part) for part in errors[0].loc) if errors else "request"
    message = f"{where}: {errors[0].msg}" if errors else "the request is not valid"
    body = ErrorBody(code="RequestValidationError", message=message, errors=errors)
    return error_response(body, 422)


@app.exception_handler(HTTPException)
async def http_error(request: Request, error: HTTPException) -> JSONResponse:
    """Starlette's own errors (an unknown path, a wrong method) in the one error model."""
    code = HTTPStatus(error.status_code).phrase.title().replace(" ", "").replace("-", "")
    body = ErrorBody(code=code, message=str(error.detail))
    return error_response(body, error.status_code, error.headers)


def retry_after(error: ThrottledError) -> str:
    """Whole seconds until the pace has room again (HTTP wants an integer, at least 1)."""
    seconds = error.retry_after if error.retry_after is not None else HTTP_RETRY.max_delay
    return str(max(1, math.ceil(seconds)))


def log_result(result: ConfirmResult) -> None:
    logger.info(
        "confirm answered 200: %s after %d attempt(s) (request id %s)",
        result.outcome.value,
        result.attempts,
        result.request_id,
    )


def _nonzero(counts: Mapping[Outcome, int]) -> str:
    return ", ".join(f"{outcome.value}={count}" for outcome, count in counts.items() if count)


if __name__ == "__main__":
    # Checked before uvicorn starts: a lifespan that fails prints a traceback, not one line.
    if not os.environ.get(POOL_VARIABLE, "").strip():
        sys.exit(f"fastapi_app: {MISSING_POOL}")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # access_log=False: uvicorn's access log line holds the path, and so the username.
    uvicorn.run(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        access_log=False,
    )
