"""Several processes on one host: the census that counts them, and the pace that shares itself.

The census is real files and real ``flock`` locks in the test's own directory (the
``aws_isolation`` fixture points ``COGNITO_CONFIRM_PEERS`` there); two members in one process
hold their locks through two open files, as two processes would. The pace and the limiter run
on a clock the test moves; the bulk runs on virtual time (``tests.virtual_time``).
"""

from __future__ import annotations

import logging
import math
import os
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from cognito_confirm import AdaptiveRateLimiter, CognitoConfirmer, RetryPolicy
from cognito_confirm._pace import GROWTH, PROBE_WAIT_MIN, QUIET, RETURN_TIME, START_SHARE, Pace
from cognito_confirm._peers import ENVIRONMENT, SUFFIX, Census, census_directory
from cognito_confirm._ratelimit import CENSUS_EVERY
from cognito_confirm.testing import FakeCognito
from tests.virtual_time import local_client, virtual_time


@pytest.fixture
def members(tmp_path: Path) -> Iterator[list[Census]]:
    """Census members this test joins, left at its end."""
    joined: list[Census] = []
    yield joined
    for member in joined:
        member.leave()


def join(directory: Path, members: list[Census]) -> Census:
    member = Census.join(directory)
    assert member is not None
    members.append(member)
    return member


def peer_files(directory: Path) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name.endswith(SUFFIX))


# --- the census -------------------------------------------------------------------------------


def test_members_count_each_other_and_leave(tmp_path: Path, members: list[Census]) -> None:
    directory = tmp_path / "base" / "key"
    first = join(directory, members)
    assert first.count() == (1, 0)
    second = join(directory, members)
    assert (first.count(), second.count()) == ((2, 0), (2, 0))
    assert len(peer_files(directory)) == 2
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(directory.parent.stat().st_mode) == 0o700
    second.leave()
    second.leave()  # idempotent
    assert first.count() == (1, 0)
    assert len(peer_files(directory)) == 1


def test_members_hear_each_others_cuts(tmp_path: Path, members: list[Census]) -> None:
    """Each member's file holds the cuts it published; a count adds up the others'."""
    first, second, third = (join(tmp_path / "peers", members) for _ in range(3))
    first.publish(2)
    second.publish(1)
    second.publish(12)  # rewritten in place, never appended
    assert first.count() == (3, 12)
    assert second.count() == (3, 2)
    assert third.count() == (3, 14)
    second.leave()
    second.publish(13)  # after leaving: nowhere to write, and no error
    assert third.count() == (2, 2)


def test_a_member_that_died_is_not_counted_and_its_file_goes(
    tmp_path: Path, members: list[Census]
) -> None:
    """A process killed with -9 leaves its file but not its lock: the next count removes it.
    A file still being created (its temporary name) is no member yet."""
    directory = tmp_path / "peers"
    member = join(directory, members)
    dead = directory / f"4242-deadbeef{SUFFIX}"
    dead.write_text("")
    creating = directory / ".4243-cafe"
    creating.write_text("")
    assert member.count() == (1, 0)
    assert not dead.exists()
    assert creating.exists()


def test_a_member_killed_with_9_is_counted_until_it_dies(
    tmp_path: Path, members: list[Census]
) -> None:
    """The kernel drops a killed process's lock: that is what tells the living from the dead."""
    directory = tmp_path / "peers"
    member = join(directory, members)
    holder = (
        "import fcntl, os, sys\n"
        f"fd = os.open({str(directory / ('99-other' + SUFFIX))!r}, os.O_CREAT | os.O_WRONLY)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "print('locked', flush=True)\n"
        "sys.stdin.read()\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", holder],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        assert process.stdout.readline() == "locked\n"
        assert member.count() == (2, 0)
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert member.count() == (1, 0)
    assert peer_files(directory) == [member.name]


def test_a_directory_others_can_write_to_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "open"
    directory.mkdir()
    directory.chmod(0o777)
    with caplog.at_level(logging.WARNING, logger="cognito_confirm"):
        assert Census.join(directory / "key") is None
    assert "others must not write" in caplog.text
    assert not (directory / "key").exists()


def test_a_file_where_the_directory_should_be_is_refused(tmp_path: Path) -> None:
    (tmp_path / "base").write_text("")
    assert Census.join(tmp_path / "base" / "key") is None
    (tmp_path / "dir").mkdir(mode=0o700)
    (tmp_path / "dir" / "key").write_text("")
    assert Census.join(tmp_path / "dir" / "key") is None


def test_the_directory_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENVIRONMENT, str(tmp_path / "mine"))
    here = census_directory("us-east-1", "https://cognito-idp.us-east-1.amazonaws.com")
    assert here is not None
    assert here.parent == tmp_path / "mine"
    assert here == census_directory("us-east-1", "https://cognito-idp.us-east-1.amazonaws.com")
    assert here != census_directory("eu-west-1", "https://cognito-idp.eu-west-1.amazonaws.com")
    assert here != census_directory("us-east-1", "http://127.0.0.1:5000")
    monkeypatch.setenv(ENVIRONMENT, "off")
    assert census_directory("us-east-1", "http://127.0.0.1:5000") is None
    assert Census.join(None) is None  # off: no member, and a run paces alone
    monkeypatch.delenv(ENVIRONMENT)
    default = census_directory("us-east-1", "http://127.0.0.1:5000")
    assert default is not None
    assert default.parent == Path(tempfile.gettempdir()) / f"cognito-confirm-{os.getuid()}"


# --- the pace's share -------------------------------------------------------------------------


def test_the_pace_takes_its_share_and_gives_it_back() -> None:
    pace = Pace(40.0, 0.0)
    pace.peers_changed(1, 4, 0.0)
    assert pace.rate_at(0.0) == pytest.approx(10.0)
    pace.peers_changed(4, 3, 0.0)
    assert pace.rate_at(0.0) == pytest.approx(40 / 3)
    pace.peers_changed(3, 1, 0.0)
    assert pace.rate_at(0.0) == pytest.approx(40.0)


def test_a_share_never_rises_above_the_ceiling() -> None:
    pace = Pace(40.0, 0.0)
    pace.peers_changed(2, 1, 0.0)  # a peer left before this pace took its share
    assert pace.rate_at(0.0) == pytest.approx(40.0)


def test_a_probe_grows_by_its_share() -> None:
    """N processes probing at once grow as one: each by GROWTH / N a second."""
    alone, shared = Pace(None, 0.0), Pace(None, 0.0)
    shared.peers_changed(1, 4, 0.0)
    start = START_SHARE * 50.0
    later = PROBE_WAIT_MIN + 10.0  # the start holds PROBE_WAIT_MIN s, then probes
    assert alone.rate_at(later) == pytest.approx(start * math.exp(GROWTH * 10.0))
    assert shared.rate_at(later) == pytest.approx(start / 4 * math.exp(GROWTH / 4 * 10.0))


def test_a_run_returns_to_its_share_of_the_hold() -> None:
    """A run of refusals remembers the hold to come back to: a change of share scales it."""
    paces = Pace(40.0, 0.0), Pace(40.0, 0.0)
    for pace in paces:
        for n in range(60):
            pace.answered(n / 40)
        pace.waited = 1.4
        assert pace.throttled(1.4, 1.5) is not None  # the start: a hold
        for n in range(60):
            pace.answered(1.5 + n / 30)
        pace.waited = 3.5
        held = pace.rate_at(3.4)
        assert pace.throttled(3.5, 3.55) is not None  # refused again: the run goes on, deep
        assert pace.rate_at(3.6) < held / 2
    alone, shared = paces
    dipped = alone.rate_at(3.6)
    shared.peers_changed(1, 2, 3.6)
    back = 3.55 + QUIET + RETURN_TIME + 0.5  # the run returned, the hold not yet probed
    alone.finish_return(back)
    shared.finish_return(back)
    assert shared.rate_at(back) == pytest.approx(alone.rate_at(back) / 2)
    assert alone.rate_at(back) > 2 * dipped


# --- the limiter counts its peers -------------------------------------------------------------


class FakeCensus:
    """A census the test sets; it counts how often it was asked, and what it was told."""

    def __init__(self, members: int) -> None:
        self.members = members
        self.heard = 0  # the cuts the other members published
        self.published: list[int] = []
        self.counts = 0
        self.left = 0

    def count(self) -> tuple[int, int]:
        self.counts += 1
        return self.members, self.heard

    def publish(self, cuts: int) -> None:
        self.published.append(cuts)

    def leave(self) -> None:
        self.left += 1


def test_the_limiter_counts_its_peers_once_a_second() -> None:
    now = [0.0]
    limiter = AdaptiveRateLimiter(40.0, clock=lambda: now[0])
    census = FakeCensus(2)
    joined = []

    def joining() -> FakeCensus:
        joined.append(census)
        return census

    def probing(rate: float, peers: int) -> float:
        """The start probes from its first second, by ``GROWTH / peers`` a second."""
        return min(40.0, rate * math.exp(GROWTH / peers * now[0]))

    with limiter.among_peers(joining):
        epoch = limiter.epoch
        limiter.reserve()
        assert limiter.rate == pytest.approx(20.0)
        assert limiter.epoch == epoch + 1  # slots at the whole pace are stale
        with limiter.among_peers(joining):  # a second run at once: still one member
            census.members = 1
            now[0] = CENSUS_EVERY / 2
            limiter.reserve()
            assert census.counts == 1
            assert limiter.rate == pytest.approx(probing(20.0, 2))
            now[0] = CENSUS_EVERY
            limiter.reserve()
            assert census.counts == 2
            assert limiter.rate == pytest.approx(40.0)
            census.members = 4
        assert census.left == 0
        now[0] = 2 * CENSUS_EVERY
        limiter.reserve()
        assert limiter.rate == pytest.approx(probing(10.0, 4))
    assert (len(joined), census.left) == (1, 1)
    assert limiter.rate == pytest.approx(40.0)  # alone again: the whole pace
    now[0] = 3 * CENSUS_EVERY
    limiter.reserve()
    assert census.counts == 3  # no census outside a run


def test_a_peers_cut_is_heard_and_own_cuts_are_told() -> None:
    """A peer's published cut cuts this pace as its own refusal would (once: its episode);
    this pace's cuts for its own throttles are published, a heard one is not."""
    now = [0.0]
    limiter = AdaptiveRateLimiter(40.0, clock=lambda: now[0])
    census = FakeCensus(2)
    census.heard = 5  # cuts made before this run joined: old news

    def answered_for(seconds: float) -> None:
        """Calls at the pace for ``seconds``, every one answered."""
        end = now[0] + seconds
        while now[0] < end:
            now[0] = limiter.reserve() or 0.0
            limiter.answered(now[0])

    with limiter.among_peers(lambda: census):
        answered_for(8.0)
        assert limiter.cuts == 0
        held = limiter.rate
        census.heard = 6
        now[0] += CENSUS_EVERY
        limiter.reserve()
        assert limiter.cuts == 1
        assert limiter.rate < held  # cut by its own rules (here: a start's)
        assert census.published == []
        census.heard = 7  # the other peer's cut of the same episode
        now[0] += CENSUS_EVERY
        limiter.reserve()
        assert limiter.cuts == 1
        answered_for(30.0)
        sent = limiter.reserve()
        assert sent is not None
        now[0] = sent
        limiter.throttled(sent)  # its own refusal, a new episode
        assert limiter.cuts == 2
        assert census.published == [1]


def test_no_census_leaves_the_pace_alone() -> None:
    limiter = AdaptiveRateLimiter(40.0, clock=lambda: 0.0)
    with limiter.among_peers(lambda: None):
        limiter.reserve()
        assert limiter.rate == pytest.approx(40.0)


# --- bulk runs --------------------------------------------------------------------------------


@virtual_time
async def test_two_runs_on_one_host_share_the_pace(tmp_path: Path) -> None:
    """Two confirmers (two processes' worth) against one endpoint: each run counts the other,
    paces half, and leaves nothing behind."""
    fake = FakeCognito()
    fake.add_users([f"user{n}" for n in range(400)])
    directory = census_directory("us-east-1", "local://fake-cognito")  # the local client's
    assert directory is not None
    assert directory.parent == tmp_path / "peers"
    rates: list[tuple[float, float]] = []
    retry = RetryPolicy(base_delay=0.01, max_delay=0.05)
    async with (
        CognitoConfirmer(fake.user_pool_id, client=local_client(fake), retry=retry) as one,
        CognitoConfirmer(fake.user_pool_id, client=local_client(fake), retry=retry) as two,
    ):

        async def watch() -> None:
            await anyio.sleep(3.0)
            rates.append((one.limiter.rate, two.limiter.rate))
            assert len(peer_files(directory)) == 2

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(watch)
            tasks.start_soon(one.confirm_many, [f"user{n}" for n in range(200)])
            tasks.start_soon(two.confirm_many, [f"user{n}" for n in range(200, 400)])
        assert one.limiter.rate == pytest.approx(40.0)
    shared = 20.0 * math.exp(GROWTH / 2 * 3.0)  # counted at 0 s: half the pace, probing
    assert len(rates) == 1
    assert rates[0] == pytest.approx((shared, shared), rel=0.01)
    assert peer_files(directory) == []
    assert fake.status_counts() == {"CONFIRMED": 400}
