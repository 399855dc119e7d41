"""The benchmark command still runs end to end, at tiny sizes; no speed is ever asserted here."""

from __future__ import annotations

import ast
import json
import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from benchmarks import pacer_sim, pacer_sweep, slow_live

from cognito_confirm import AdaptiveRateLimiter
from tests.test_layout import cycles

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "benchmarks" / "run.py"
BENCHMARKS = ROOT / "benchmarks"


def run_smoke(json_path: Path) -> subprocess.CompletedProcess[str]:
    """``benchmarks/run.py --smoke``, with every warning an error in it and its children."""
    return subprocess.run(
        [sys.executable, "-W", "error", str(RUN), "--smoke", "--json", str(json_path)],
        capture_output=True,
        text=True,
        # A hang guard, not a bound on speed (nothing here asserts one): a few seconds on an
        # idle 2-core machine, several times that beside other CPU-bound work.
        timeout=600,
        check=False,
        cwd=ROOT,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )


def check_run(run: dict[str, Any]) -> None:
    """One run's counts hang together."""
    assert run["users"] > 0
    assert 0 <= run["confirmed"] <= run["users"]
    assert run["requests"] >= run["confirmed"]
    assert 0 <= run["throttled"] <= run["requests"]
    assert 0 <= run["failed"] <= run["users"]
    assert run["elapsed"] > 0
    assert run["cpu"] >= 0


def check_library_runs(scenario: dict[str, Any]) -> None:
    """The library confirmed every user in every run (a tiny job well inside the quota)."""
    for run in scenario["runs"]:
        if run["alternative"].startswith("library"):
            assert run["confirmed"] == run["users"], run
            assert run["failed"] == 0, run


def test_smoke_run_prints_the_tables_and_writes_sane_json(tmp_path: Path) -> None:
    """`run.py --smoke` runs all eleven scenarios, prints every table, writes consistent JSON."""
    json_path = tmp_path / "results.json"
    completed = run_smoke(json_path)
    assert completed.returncode == 0, completed.stderr
    assert "Exception ignored" not in completed.stderr  # e.g. an unclosed resource
    headings = ["machine:", "1. Quota use", "2. Overhead", "3. Latency-bound", "4. Memory"]
    headings += ["5. Sharing the quota", "6. Web service", "7. --rate auto"]
    headings += ["8. Spiking live", "9. Growing live", "10. Slow calls", "11. Several migration"]
    for heading in headings:
        assert heading in completed.stdout
    assert "Targets" in completed.stdout
    results = json.loads(json_path.read_text())
    assert {"cpu", "cores", "python", "aiobotocore", "botocore", "date"} <= set(results["machine"])
    assert set(results["scenarios"]) == {"quota", "overhead", "latency"}
    for scenario in results["scenarios"].values():
        assert len(scenario["summaries"]) == len({run["alternative"] for run in scenario["runs"]})
        for run in scenario["runs"]:
            check_run(run)
        check_library_runs(scenario)
    assert [run["count"] for run in results["memory"]] == [100, 500]
    for run in results["memory"]:
        assert run["results"] == run["count"]
        assert run["peak_kib"] >= run["baseline_kib"] > 0
    numbers = [check["number"] for check in results["targets"]]
    assert numbers == [1, 2, 3, 4, 5, 6, 7, 7, 8, 9, 10, 10, 11]
    assert all(isinstance(check["met"], bool) for check in results["targets"])
    check_sharing(results["sharing"])
    web = results["web"]
    assert sum(web["statuses"].values()) == web["requests"]
    assert web["missing_retry_after"] == 0
    assert [record["denied"] for record in results["auto"]] == [False, True]
    for record in results["auto"]:
        assert record["users"] > 0
        assert len(record["notes"]) == 1
    check_production(results["production"])


def check_sharing(records: list[dict[str, Any]]) -> None:
    """Each migration beside live sign-ups confirmed its users; the live counts add up."""
    assert len(records) == 2
    for record in records:
        assert record["confirmed"] == record["users"], record
        assert 0 <= record["throttled"] <= record["calls"]
        live = record["live"]
        assert 0 <= live["throttled"] <= live["sent"]
        assert live["errors"] == 0


def check_production(records: list[dict[str, Any]]) -> None:
    """Each production shape ran both alternatives; counts and figures hang together."""
    kinds = [record["situation"]["kind"] for record in records]
    assert kinds == ["spikes"] * 2 + ["growth"] * 2 + ["slow"] * 4 + ["processes"] * 2
    assert [record["alternative"] for record in records] == ["library", "adaptive"] * 5
    for record in records:
        assert record["confirmed"] == record["users"] > 0, record
        assert record["failed"] == 0, record
        assert 0 <= record["throttled"] <= record["calls"]
        live = record["live"]
        assert live["errors"] == 0
        assert 0 <= live["spike_throttled"] <= live["spike_sent"] <= live["sent"]
        assert 0 <= live["after_throttled"] <= live["after_sent"] <= live["sent"]
        figures = record["figures"]
        assert figures["per_second"] == record["confirmed"] / record["elapsed"]
        assert (figures["of_room"] is None) == (live["sent"] == 0)
        assert figures["spike_throttled"] is None or record["situation"]["kind"] == "spikes"
        assert figures["after_growth_throttled"] is None or record["situation"]["kind"] == "growth"


def benchmark_imports(path: Path) -> set[str]:
    """The ``benchmarks`` modules this file imports, relative or absolute, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ImportFrom):
            continue
        module = node.module or ""
        if not node.level and module.partition(".")[0] != "benchmarks":
            continue
        module = module.removeprefix("benchmarks").removeprefix(".")
        if module:
            found.add(module.partition(".")[0])
        else:
            found |= {alias.name for alias in node.names}
    return found


def test_benchmark_imports_go_down() -> None:
    """No import circle in benchmarks/; only run.py imports the command line (cli.py)."""
    modules = {path.stem: path for path in BENCHMARKS.glob("*.py")}
    graph = {
        name: benchmark_imports(path) & set(modules) - {name} for name, path in modules.items()
    }
    assert "production" in graph["report"]  # the parser sees relative imports
    assert "production" in graph["slow"]  # and absolute ones
    assert cycles(graph) == []
    assert {name for name, targets in graph.items() if "cli" in targets} == {"run"}


def test_the_pacer_sweep_prints_a_line_per_shape_and_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    """``python3 -m benchmarks.pacer_sweep``: each shape at each rate, medians and worst seed."""
    monkeypatch.setattr(pacer_sweep, "SHAPES", {"steady 20/s": {"live": 20.0, "users": 300}})
    monkeypatch.setattr(pacer_sweep, "RATES", (40.0, None))
    header, *lines = pacer_sweep.sweep(2, workers=1)
    assert header.split()[:3] == ["shape", "rate", "left"]
    assert [line.split()[2] for line in lines] == ["40.0", "None"]
    for line in lines:
        left, share = (float(figure) for figure in line.split()[3:5])
        assert 29 < left < 31  # the quota less live traffic's 20/s, on average
        assert 0.5 < share < 1.2


class _Timing(AdaptiveRateLimiter):
    """No pacing; records how long each answer took on the simulation's clock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        super().__init__(1000.0, quota=1000.0, clock=clock, rng=random.Random(0))
        self.took: dict[str, set[float]] = {"answered": set(), "throttled": set()}
        self._now = clock

    def answered(self, sent_at: float) -> None:
        self.took["answered"].add(round(self._now() - sent_at, 9))
        super().answered(sent_at)

    def throttled(self, sent_at: float) -> None:
        self.took["throttled"].add(round(self._now() - sent_at, 9))
        super().throttled(sent_at)


def test_the_simulation_runs_a_trigger_after_the_quota() -> None:
    """``Setting.trigger``: a call the quota admitted waits for it, a throttled one does not."""
    pacers: list[_Timing] = []

    def make_pacer(_rate: float | None, clock: Callable[[], float], _index: int) -> _Timing:
        pacers.append(_Timing(clock))
        return pacers[-1]

    quota = pacer_sim.Quota(rate=2.0, burst=1.0)
    setting = pacer_sim.Setting(live=0.0, users=4, concurrency=4, quota=quota, trigger=1.0)
    outcome = pacer_sim.simulate(setting, 0, make_pacer)
    assert outcome.confirmed == 4
    assert outcome.throttled > 0
    assert pacers[0].took == {"answered": {1.03}, "throttled": {0.03}}


@pytest.mark.parametrize(("model", "before"), [("trigger", 0.03), ("before", 0.05)])
def test_slow_calls_beside_live_traffic_are_measured(model: str, before: float) -> None:
    """``python3 -m benchmarks.slow_live``: the call's time split as the model says, every user
    confirmed, live traffic counted, the figures scenario 10's."""
    record = slow_live.measure(0.05, 40, model)
    situation = record.situation
    assert (situation.latency, situation.trigger) == pytest.approx((before, 0.05 - before))
    assert situation.live.describe() == "20/s"
    assert record.confirmed == 40
    assert record.failed == 0
    numbers = record.figures
    assert numbers.per_second > 0
    assert numbers.of_room == pytest.approx(numbers.per_second / 30)
    assert 0 <= record.live.throttled <= record.live.sent
    assert 0 <= record.extra["cuts"] <= record.extra["throttles"]  # a cut follows a throttle


def test_slow_calls_beside_live_traffic_refuse_an_unknown_model() -> None:
    with pytest.raises(ValueError, match="model must be one of"):
        slow_live.measure(0.05, 40, "after")
