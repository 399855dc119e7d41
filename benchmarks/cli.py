"""``python benchmarks/run.py [--quick | --smoke] [--production] [--only ...] [--json PATH]``.

Two sets of scenarios: the calm world (1-7, the default) and production's traffic (8-11,
``--production``: spikes, growth, slow calls, several processes). Each takes long at full size,
so a run picks one set; ``--only`` picks among all of them, and ``--smoke`` runs all of them
at tiny sizes (it only proves they run), in one process: the fake, the migration workers on
threads, the memory stream and the command line in this process, the library's clients from
one session. A full run starts a process for each, where their numbers need one.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from . import auto, memory, production, scenarios, sharing, webservice
from .fakeproc import FakeProcess, FakeSettings, isolate_aws_environment, one_process
from .live import library_shares_session
from .machine import machine_info
from .report import Results, render, targets

CALM = ("quota", "overhead", "latency", "memory", "sharing", "web", "auto")
PRODUCTION = production.KINDS
SCENARIOS = (*CALM, *PRODUCTION)
_BUILDERS = {
    "quota": scenarios.quota_scenario,
    "overhead": scenarios.overhead_scenario,
    "latency": scenarios.latency_scenario,
}


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python benchmarks/run.py",
        description="Run the cognito-confirm benchmarks against a fake Cognito endpoint.",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="1 round, smaller sizes (~2 min)")
    size.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, every scenario, in one process: only proves they run",
    )
    parser.add_argument(
        "--production",
        action="store_true",
        help=f"run production's traffic shapes ({','.join(PRODUCTION)}) instead of the calm "
        "scenarios: 2,000 users a run, one run each (23 min on 2 loaded cores; --quick: "
        "1,000 users, 12 min)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="rounds (default 3; quick 1; production's shapes 1, each round one row more)",
    )
    parser.add_argument(
        "--only",
        default=None,
        help=f"comma-separated scenarios to run, of {','.join(SCENARIOS)} (default: "
        f"{','.join(CALM)}; with --production {','.join(PRODUCTION)}; with --smoke all)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    if args.only is None:
        chosen = PRODUCTION if args.production else SCENARIOS if args.smoke else CALM
        args.only = ",".join(chosen)
    elif args.production:
        parser.error("--production and --only do not go together: --only names the scenarios")
    unknown = set(args.only.split(",")) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def chosen_sizes(args: argparse.Namespace) -> scenarios.Sizes:
    """The sizes for ``--quick``, ``--smoke`` or a full run, with ``--rounds`` applied."""
    sizes = scenarios.SMOKE if args.smoke else scenarios.QUICK if args.quick else scenarios.FULL
    if args.rounds is not None:
        sizes = dataclasses.replace(sizes, rounds=args.rounds)
    return sizes


def run(args: argparse.Namespace, command: str) -> Results:
    """Run the chosen scenarios and collect their results."""
    sizes = chosen_sizes(args)
    chosen = args.only.split(",")
    machine = machine_info()
    results = {}
    for key, build in _BUILDERS.items():
        if key in chosen:
            _announce(key)
            results[key] = scenarios.run_scenario(build(sizes), sizes.rounds)
    memory_runs = []
    if "memory" in chosen:
        _announce("memory")
        memory_runs = [
            memory.measure(count, in_process=args.smoke) for count in sizes.memory_counts
        ]
    sharing_runs: list[sharing.SharingRecord] = []
    if "sharing" in chosen:
        _announce("sharing")
        sharing_runs = sharing.run_sharing(
            sizes.quota, sizes.latency, sizes.sharing_users, smoke=args.smoke
        )
    web_run = None
    if "web" in chosen:
        _announce("web")
        with FakeProcess(FakeSettings(quota=sizes.quota, latency=sizes.latency)) as fake:
            web_run = webservice.run_webservice(fake, sizes.web_requests)
    auto_runs: list[auto.AutoRecord] = []
    if "auto" in chosen:
        _announce("auto")
        auto_runs = auto.run_auto(sizes.auto_users, sizes.latency, in_process=args.smoke)
    production_runs: list[production.Record] = []
    if kinds := [kind for kind in PRODUCTION if kind in chosen]:
        _announce(",".join(kinds))
        production_runs = production.run_production(
            kinds,
            sizes.production_users,
            args.rounds or 1,
            time_scale=sizes.time_scale,
            smoke=args.smoke,
        )
    return Results(
        command,
        machine,
        sizes,
        results,
        memory_runs,
        sharing_runs,
        web_run,
        auto_runs,
        production_runs,
    )


def _announce(key: str) -> None:
    print(f"running {key} ...", file=sys.stderr, flush=True)


def as_json(results: Results) -> dict[str, object]:
    """The results as a JSON-ready object (NaN becomes null)."""
    cleaned = _finite(
        {
            "command": results.command,
            "machine": dict(results.machine),
            "sizes": dataclasses.asdict(results.sizes),
            "scenarios": {key: _scenario_json(value) for key, value in results.scenarios.items()},
            "memory": [dataclasses.asdict(run) for run in results.memory],
            "sharing": [
                {
                    **dataclasses.asdict(record),
                    "per_second": record.per_second,
                    "share_of_free": record.share_of_free,
                    "live_harm": record.live.harm,
                }
                for record in results.sharing_runs
            ],
            "web": None if results.web_run is None else dataclasses.asdict(results.web_run),
            "auto": [dataclasses.asdict(record) for record in results.auto_runs],
            "production": production.as_json(results.production_runs),
            "targets": [dataclasses.asdict(check) for check in targets(results)],
        }
    )
    assert isinstance(cleaned, dict)
    return cleaned


def _scenario_json(result: scenarios.ScenarioResult) -> dict[str, object]:
    scenario = result.scenario
    return {
        "title": scenario.title,
        "settings": dataclasses.asdict(scenario.settings),
        "users": scenario.users,
        "concurrency": scenario.concurrency,
        "summaries": [dataclasses.asdict(summary) for summary in result.summaries()],
        "runs": [
            {
                **dataclasses.asdict(record),
                "per_second": record.per_second,
                "throttled_share": record.throttled_share,
                "cpu_ms_per_confirmation": record.cpu_ms_per_confirmation,
            }
            for record in result.records
        ],
    }


def _finite(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def main(argv: Sequence[str]) -> int:
    """Run the benchmarks, print the report, write the JSON if asked; 0 unless it broke."""
    args = parse_args(argv)
    isolate_aws_environment()
    command = shlex.join(["python", "benchmarks/run.py", *argv])
    with one_process(threaded=args.smoke), library_shares_session(args.smoke):
        results = run(args, command)
    print(render(results), end="", flush=True)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(as_json(results), indent=2) + "\n")
    return 0
