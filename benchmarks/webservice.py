"""Scenario 6: the FastAPI example hit by many single-user requests at once.

The example's one confirmer paces every request; a request that gets no slot within the
example's ``MAX_WAIT`` is answered 429 at once with a ``Retry-After``, nothing sent. This
measures what Cognito saw (calls, throttled), what the callers got (statuses, the slowest
answer, whether every 429 had a Retry-After), with the fake's quota and latency.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import httpx

from .checks import TargetCheck
from .fakeproc import USER_POOL_ID, FakeProcess, FakeSettings, isolate_aws_environment

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "fastapi_app.py"


@dataclass(frozen=True, slots=True)
class WebRecord:
    """One burst of concurrent requests.

    Attributes:
        requests: Requests sent at once.
        statuses: How many got each HTTP status.
        slowest: Seconds of the slowest answer, as the caller saw it.
        slowest_in_app: Seconds of the slowest ``confirm()`` inside the app (the caller's figure
            adds the app's own handling of the burst, on the same event loop as the caller).
        max_wait: The example's MAX_WAIT.
        latency: The fake's latency per call.
        slowest_call: Seconds of the slowest AdminConfirmSignUp call as the client timed it
            (the fake's latency plus HTTP and the event loop's delays: one call's real latency).
        calls: AdminConfirmSignUp calls Cognito saw.
        throttled: Of those, throttled.
        missing_retry_after: 429 answers without a Retry-After header.
    """

    requests: int
    statuses: dict[int, int]
    slowest: float
    slowest_in_app: float
    max_wait: float
    latency: float
    slowest_call: float
    calls: int
    throttled: int
    missing_retry_after: int

    @property
    def throttled_share(self) -> float:
        """Share of Cognito calls throttled."""
        return self.throttled / self.calls if self.calls else 0.0


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fastapi_app_bench", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # pydantic resolves the models' annotations through sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run_webservice(fake: FakeProcess, requests: int) -> WebRecord:
    """``requests`` concurrent POST /users/confirm-one against the example, in its lifespan."""
    names = [f"web-{n:05d}" for n in range(requests)]
    fake.prepare(names)
    os.environ["COGNITO_USER_POOL_ID"] = USER_POOL_ID
    os.environ["AWS_ENDPOINT_URL"] = fake.endpoint_url
    try:
        example = _load_example()
        answers, in_app, in_call = anyio.run(_burst, example, names)
    finally:
        del os.environ["COGNITO_USER_POOL_ID"], os.environ["AWS_ENDPOINT_URL"]
    counts = fake.counts()
    statuses = Counter(status for status, _, _ in answers)
    return WebRecord(
        requests=requests,
        statuses=dict(sorted(statuses.items())),
        slowest=max(seconds for _, seconds, _ in answers),
        slowest_in_app=max(in_app),
        max_wait=float(example.MAX_WAIT),
        latency=fake.settings.latency,
        slowest_call=max(in_call, default=0.0),
        calls=counts.requests,
        throttled=counts.throttled,
        missing_retry_after=sum(
            1 for status, _, retry_after in answers if status == 429 and not retry_after
        ),
    )


async def _burst(
    example: Any, names: list[str]
) -> tuple[list[tuple[int, float, str | None]], list[float], list[float]]:
    app = example.app
    answers: list[tuple[int, float, str | None]] = []
    in_app: list[float] = []
    in_call: list[float] = []
    async with app.router.lifespan_context(app):
        confirmer = app.state.confirmer
        confirmer.confirm = _timed(confirmer.confirm, in_app)
        client = confirmer.client
        client.admin_confirm_sign_up = _timed(client.admin_confirm_sign_up, in_call)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://example") as http:

            async def one(name: str) -> None:
                started = time.perf_counter()
                response = await http.post("/users/confirm-one", json={"username": name})
                elapsed = time.perf_counter() - started
                answers.append((response.status_code, elapsed, response.headers.get("retry-after")))

            async with anyio.create_task_group() as tasks:
                for name in names:
                    tasks.start_soon(one, name)
    return answers, in_app, in_call


def _timed(method: Any, durations: list[float]) -> Any:
    """``method``, recording how long each await of it took."""

    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await method(*args, **kwargs)
        finally:
            durations.append(time.perf_counter() - started)

    return timed


def render(record: WebRecord, quota: float) -> list[str]:
    """The scenario's lines in the printed report."""
    statuses = ", ".join(f"{status}: {count}" for status, count in record.statuses.items())
    return [
        f"6. Web service: {record.requests} concurrent single-user requests to the FastAPI "
        f"example, quota {quota:g}/s, latency {record.latency * 1000:g} ms, "
        f"max_wait {record.max_wait:g} s",
        f"answers {statuses}; slowest confirm() {record.slowest_in_app:.2f} s, slowest answer "
        f"{record.slowest:.2f} s at the caller (max_wait + the slowest call = "
        f"{record.max_wait:g} + {record.slowest_call:.3f} s); "
        f"Cognito calls {record.calls}, throttled {100 * record.throttled_share:.1f}%; "
        f"429 without Retry-After: {record.missing_retry_after}",
    ]


def target(record: WebRecord) -> TargetCheck:
    """Issue 9's target for the web service."""
    bound = record.max_wait + record.slowest_call
    server_errors = sum(count for status, count in record.statuses.items() if status >= 500)
    return TargetCheck(
        6,
        "<= 5% of Cognito calls throttled, no 5xx, every confirm() within max_wait + one "
        f"call's latency ({bound:.3f} s), every 429 with Retry-After",
        f"{100 * record.throttled_share:.1f}% throttled, {server_errors} 5xx, slowest "
        f"{record.slowest_in_app:.3f} s, {record.missing_retry_after} 429 without Retry-After",
        record.throttled_share <= 0.05
        and server_errors == 0
        and record.slowest_in_app <= bound
        and record.missing_retry_after == 0,
    )


def main(argv: list[str]) -> int:
    """``python -m benchmarks.webservice [REQUESTS]``: scenario 6 alone."""
    isolate_aws_environment()
    requests = int(argv[0]) if argv else 200
    with FakeProcess(FakeSettings(quota=50.0, latency=0.03)) as fake:
        record = run_webservice(fake, requests)
    print("\n".join(render(record, 50.0)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
