"""The call gate on its own: when the endpoint counts as down, who probes, stop and give up.

On virtual time (``tests.virtual_time``): the real probe waits (0.5 s doubling to 5 s) cost no
wall time, and the durations asserted are loop seconds, the same on any machine."""

from __future__ import annotations

import anyio
import pytest

from cognito_confirm import EndpointUnreachableError
from cognito_confirm._gate import DOWN_USERS, Admission, CallGate
from tests.virtual_time import virtual_time


def call_failed(gate: CallGate, key: str, *, probe: bool = False) -> None:
    gate.sending()
    gate.unanswered(key, probe=probe)


@virtual_time
async def test_down_takes_two_different_users_in_a_row() -> None:
    """One user failing again and again is not an outage; a second user is; an answer ends it."""
    gate = CallGate()
    assert DOWN_USERS == 2
    for _ in range(5):
        call_failed(gate, "a")
    assert gate.open
    assert gate.outage is None
    gate.sending()
    gate.answered()
    call_failed(gate, "b")
    assert not gate.down
    call_failed(gate, "c")
    assert gate.down
    assert not gate.open
    outage = gate.outage
    assert outage is not None
    assert outage >= 0
    gate.sending()
    gate.answered()
    assert gate.open


@virtual_time
async def test_one_probe_at_a_time_taken_in_turn() -> None:
    """While down, the first held call probes; when its probe fails the next one in line
    probes (not the same one again); the first answer lets every held call go."""
    gate = CallGate()
    call_failed(gate, "a")
    call_failed(gate, "b")
    admissions: dict[str, list[Admission]] = {"x": [], "y": []}

    async def caller(key: str) -> None:
        while True:
            admission, _held = await gate.admit()
            admissions[key].append(admission)
            if admission is not Admission.PROBE:
                return
            await anyio.sleep(0.02)
            gate.sending()
            if key == "y":  # y's probe is answered: the endpoint is back
                gate.answered()
                return
            gate.unanswered(key, probe=True)

    first, _held = await gate.admit()
    assert first is Admission.PROBE
    async with anyio.create_task_group() as group:
        group.start_soon(caller, "x")
        group.start_soon(caller, "y")
        await anyio.sleep(0.02)
        assert admissions == {"x": [], "y": []}  # one probe at a time
        call_failed(gate, "t", probe=True)
    assert admissions == {"x": [Admission.PROBE, Admission.GO], "y": [Admission.PROBE]}
    assert gate.open


@virtual_time
async def test_the_budget_gives_up_for_every_held_call() -> None:
    """Past outage_budget without an answer every held call gets GAVE_UP, and so do later ones."""
    gate = CallGate(outage_budget=0.2)
    call_failed(gate, "a")
    call_failed(gate, "b")
    got: list[Admission] = []

    async def caller() -> None:
        admission, _held = await gate.admit()
        if admission is Admission.PROBE:
            await anyio.sleep(0.5)  # a probe left hanging
            gate.cut_short(probe=True, sent=False)
            admission, _held = await gate.admit()
        got.append(admission)

    started = anyio.current_time()
    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(caller)
    assert got == [Admission.GAVE_UP] * 3
    assert anyio.current_time() - started < 2.0  # not another probe wait per caller
    assert isinstance(gate.unreachable, EndpointUnreachableError)
    assert (await gate.admit())[0] is Admission.GAVE_UP


@virtual_time
async def test_stop_releases_held_calls_and_interrupts_waits() -> None:
    """stop(): held calls get STOPPED, an interruptible wait ends at once, nothing waits on."""
    gate = CallGate()
    call_failed(gate, "a")
    call_failed(gate, "b")
    got: list[Admission] = []
    interrupted: list[bool] = []

    async def held() -> None:
        got.append((await gate.admit())[0])

    async def sleeper() -> None:
        with gate.interruptible() as scope:
            await anyio.sleep(10)
        interrupted.append(scope.cancel_called)

    async with anyio.create_task_group() as group:
        for _ in range(2):
            group.start_soon(held)
        group.start_soon(sleeper)
        await anyio.sleep(0.05)
        gate.stop()
    assert sorted(got, key=lambda a: a.value) == [Admission.PROBE, Admission.STOPPED]
    assert interrupted == [True]
    assert (await gate.admit())[0] is Admission.STOPPED
    with gate.interruptible() as scope:
        await anyio.sleep(10)
    assert scope.cancel_called


@virtual_time
async def test_others_reported_waits_for_the_next_report_only() -> None:
    """A user out of retries waits for another call in flight to report, not longer."""
    gate = CallGate()
    await gate.others_reported()  # nothing in flight: at once
    gate.sending()

    async def report_later() -> None:
        await anyio.sleep(0.05)
        gate.unanswered("other")

    started = anyio.current_time()
    async with anyio.create_task_group() as group:
        group.start_soon(report_later)
        await gate.others_reported()
    assert 0.04 <= anyio.current_time() - started < 1


def test_outage_budget_is_checked() -> None:
    """A negative or nan outage budget is refused."""
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="outage_budget"):
            CallGate(outage_budget=bad)


async def test_the_budget_bounds_a_run_from_its_first_call() -> None:
    """No answer ever, one user in flight (not 'down'): past the budget the gate gives up."""
    now = [100.0]
    gate = CallGate(outage_budget=20, clock=lambda: now[0])
    gate.sending()
    assert gate.time_left() == 20
    now[0] += 30  # one 30 s read timeout
    gate.unanswered("a")
    assert not gate.down
    assert gate.overdue()
    assert not gate.open
    admission, _held = await gate.admit()
    assert admission is Admission.GAVE_UP
    assert isinstance(gate.unreachable, EndpointUnreachableError)


async def test_an_idle_run_starts_its_budget_at_its_next_call() -> None:
    """Hours with nothing to send are no outage: the budget runs from the next call sent."""
    now = [0.0]
    gate = CallGate(outage_budget=20, clock=lambda: now[0])
    now[0] += 3600
    gate.sending()
    assert gate.time_left() == 20
    now[0] += 5
    gate.unanswered("a")
    assert not gate.overdue()
    assert gate.open
    assert (await gate.admit())[0] is Admission.GO


@virtual_time
async def test_watch_cuts_the_calls_in_flight_once_the_budget_is_spent() -> None:
    """watch() waits while nothing is in flight, is put off by an answer, then gives up and
    cuts exactly the calls still in flight, once."""
    gate = CallGate(outage_budget=20)
    cuts: list[tuple[object, ...]] = []
    started = anyio.current_time()
    async with anyio.create_task_group() as group:
        group.start_soon(gate.watch, lambda users: cuts.append(tuple(users)))
        await anyio.sleep(60)  # idle: no outage
        assert cuts == []
        gate.sending("a")
        gate.sending("b")
        await anyio.sleep(10)
        gate.answered("b")  # the budget runs from here
    assert cuts == [("a",)]
    assert anyio.current_time() - started == pytest.approx(90)
    assert isinstance(gate.unreachable, EndpointUnreachableError)
