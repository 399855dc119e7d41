"""The printed report: machine, sizes, one table per scenario, and the targets met or missed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from . import auto, production, sharing, webservice
from .checks import TargetCheck, render_targets, table
from .memory import MemoryRun, bytes_per_name
from .scenarios import ScenarioResult, Sizes, Summary

QUOTA_SHARE_TARGET = 0.95
THROTTLED_TARGET = 0.02
OVERHEAD_TARGET = 0.95
LATENCY_TARGET = 0.9
BYTES_PER_NAME_TARGET = 100.0


@dataclass(frozen=True, slots=True)
class Results:
    """Everything a run of the benchmarks measured."""

    command: str
    machine: Mapping[str, str]
    sizes: Sizes
    scenarios: Mapping[str, ScenarioResult]
    memory: Sequence[MemoryRun]
    sharing_runs: Sequence[sharing.SharingRecord] = ()
    web_run: webservice.WebRecord | None = None
    auto_runs: Sequence[auto.AutoRecord] = ()
    production_runs: Sequence[production.Record] = ()


def render(results: Results) -> str:
    """The whole report, as printed."""
    parts = [_header(results)]
    renderers = {"quota": _quota, "overhead": _overhead, "latency": _latency}
    for key, result in results.scenarios.items():
        parts.append(renderers[key](result, results.sizes))
    if results.memory:
        parts.append(_memory(results.memory))
    sizes = results.sizes
    if results.sharing_runs:
        parts.append("\n".join(sharing.render(results.sharing_runs, sizes.quota, sizes.latency)))
    if results.web_run is not None:
        parts.append("\n".join(webservice.render(results.web_run, sizes.quota)))
    if results.auto_runs:
        parts.append("\n".join(auto.render(results.auto_runs)))
    parts += production.render(results.production_runs)
    checks = targets(results)
    if checks:
        parts.append(render_targets(checks))
    return "\n\n".join(parts) + "\n"


def _header(results: Results) -> str:
    machine = "\n".join(f"  {key}: {value}" for key, value in results.machine.items())
    lines = [f"cognito-confirm benchmarks: {results.command}", f"machine:\n{machine}"]
    sizes = results.sizes
    calm = results.scenarios or results.memory or results.sharing_runs or results.auto_runs
    if calm or results.web_run is not None:
        counts = " and ".join(f"{count:,}" for count in sizes.memory_counts)
        lines.append(
            f"sizes: {sizes.rounds} round(s), alternatives alternated (each round starts with "
            f"the next); quota use {sizes.quota_users} users (boto3 loop capped at "
            f"{sizes.sequential_users}), overhead {sizes.overhead_users}, latency-bound "
            f"{sizes.latency_users}, memory {counts} usernames\n"
            "figures are medians over the rounds; 'failed' is the most in any round"
        )
    if records := results.production_runs:
        rounds = max(record.round for record in records) + 1
        lines.append(
            f"production's traffic (8-11): {sizes.production_users:,} users a run, {rounds} "
            "round(s), the alternatives' order alternating; one row per run"
        )
    return "\n".join(lines)


def _title(result: ScenarioResult) -> str:
    scenario = result.scenario
    return f"{scenario.title}, concurrency {scenario.concurrency}, {scenario.users} users per run"


def _quota(result: ScenarioResult, sizes: Sizes) -> str:
    rows = [
        [
            summary.name,
            str(summary.users),
            f"{summary.per_second:.1f}",
            f"{summary.per_second / sizes.quota:.3f}",
            f"{summary.throttled_share:.1%}",
            f"{summary.requests_per_user:.2f}",
            str(summary.failed_max),
            f"{summary.elapsed:.1f}",
        ]
        for summary in result.summaries()
    ]
    headers = ["alternative", "users", "conf/s", "of quota", "throttled", "req/user"]
    headers += ["failed", "wall s"]
    latency = result.scenario.settings.latency
    notes = (
        "of quota = users the fake confirmed / wall time / quota; each run starts with a full "
        "token bucket\n(burst = quota), so a short run can pass 1.0. throttled = share of "
        "AdminConfirmSignUp requests answered\nTooManyRequestsException. The boto3 loop gets "
        f"at most {sizes.sequential_users} users: one call at a time, it cannot pass\n"
        f"1 / latency = {1 / latency:.0f}/s, so more users would only make the run longer."
    )
    return f"{_title(result)}\n{table(headers, rows)}\n{notes}"


def _overhead(result: ScenarioResult, _sizes: Sizes) -> str:
    raw = result.summary("raw")
    rows = [_against_raw(summary, raw) for summary in result.summaries()]
    headers = ["alternative", "users", "conf/s", "vs raw", "CPU ms/conf", "wall s"]
    return f"{_title(result)}\n{table(headers, rows)}"


def _against_raw(summary: Summary, raw: Summary) -> list[str]:
    return [
        summary.name,
        str(summary.users),
        f"{summary.per_second:.0f}",
        f"{summary.per_second / raw.per_second:.3f}",
        f"{summary.cpu_ms:.3f}",
        f"{summary.elapsed:.2f}",
    ]


def _latency(result: ScenarioResult, _sizes: Sizes) -> str:
    ceiling = _latency_ceiling(result)
    rows = [
        [*_against_raw(summary, result.summary("raw")), f"{summary.per_second / ceiling:.3f}"]
        for summary in result.summaries()
    ]
    headers = ["alternative", "users", "conf/s", "vs raw", "CPU ms/conf", "wall s"]
    headers.append("of conc/latency")
    note = f"theoretical ceiling: concurrency / latency = {ceiling:.0f}/s"
    return f"{_title(result)}\n{table(headers, rows)}\n{note}"


def _latency_ceiling(result: ScenarioResult) -> float:
    return result.scenario.concurrency / result.scenario.settings.latency


def _memory(runs: Sequence[MemoryRun]) -> str:
    rows = [
        [
            f"{run.count:,}",
            f"{run.results:,}",
            f"{run.baseline_kib / 1024:.1f}",
            f"{run.peak_kib / 1024:.1f}",
            f"{run.elapsed:.1f}",
        ]
        for run in runs
    ]
    headers = ["usernames", "results", "RSS before MiB", "peak RSS MiB", "stream s"]
    title = "4. Memory: stream() over a generator, instant fake client, one process each"
    per_name = f"extra peak RSS per extra distinct username: {bytes_per_name(*runs):.1f} bytes"
    return f"{title}\n{table(headers, rows)}\n{per_name}"


def targets(results: Results) -> list[TargetCheck]:
    """The issue's targets for the scenarios that ran."""
    checks: list[TargetCheck] = []
    scenarios = results.scenarios
    if "quota" in scenarios:
        checks.append(_quota_target(scenarios["quota"], results.sizes))
    if "overhead" in scenarios:
        checks.append(_overhead_target(scenarios["overhead"]))
    if "latency" in scenarios:
        checks.append(_latency_target(scenarios["latency"]))
    if results.memory:
        checks.append(_memory_target(results.memory))
    checks += sharing.targets(results.sharing_runs)
    if results.web_run is not None:
        checks.append(webservice.target(results.web_run))
    checks += auto.targets(results.auto_runs)
    checks += production.targets(results.production_runs)
    return checks


def _quota_target(result: ScenarioResult, sizes: Sizes) -> TargetCheck:
    summary = result.summary("library_above")
    share = summary.per_second / sizes.quota
    return TargetCheck(
        1,
        f"{summary.name}: >= {QUOTA_SHARE_TARGET} of the quota, < {THROTTLED_TARGET:.0%} "
        "throttled, 0 failed",
        f"{share:.3f} of the quota, {summary.throttled_share:.1%} throttled, "
        f"{summary.failed_max} failed",
        share >= QUOTA_SHARE_TARGET
        and summary.throttled_share < THROTTLED_TARGET
        and summary.failed_max == 0,
    )


def _overhead_target(result: ScenarioResult) -> TargetCheck:
    ratio = result.summary("library").per_second / result.summary("raw").per_second
    return TargetCheck(
        2,
        f">= {OVERHEAD_TARGET} of raw aiobotocore's throughput",
        f"{ratio:.3f}",
        ratio >= OVERHEAD_TARGET,
    )


def _latency_target(result: ScenarioResult) -> TargetCheck:
    ceiling = _latency_ceiling(result)
    share = result.summary("library").per_second / ceiling
    return TargetCheck(
        3,
        f">= {LATENCY_TARGET} of concurrency / latency ({ceiling:.0f}/s)",
        f"{share:.3f}",
        share >= LATENCY_TARGET,
    )


def _memory_target(runs: Sequence[MemoryRun]) -> TargetCheck:
    per_name = bytes_per_name(*runs)
    return TargetCheck(
        4,
        f"<= {BYTES_PER_NAME_TARGET:g} bytes of peak RSS per distinct username",
        f"{per_name:.1f} bytes",
        per_name <= BYTES_PER_NAME_TARGET,
    )
