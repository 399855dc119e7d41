"""The package's shape: imports go one way, the library never loads the CLI, files stay short."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "cognito_confirm"
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


SOURCES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(path: Path) -> Iterator[str]:
    """The package's modules this file imports, at run time or only for type checking."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in SOURCES)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                if submodule in SOURCES:
                    yield submodule
                elif target in SOURCES:
                    yield target


GRAPH = {name: set(imported_modules(path)) - {name} for name, path in SOURCES.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles: strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_the_imports() -> None:
    """The parser below finds relative, absolute, parent and TYPE_CHECKING imports."""
    assert "cognito_confirm._bulk" in GRAPH["cognito_confirm._client"]
    assert "cognito_confirm._result" in GRAPH["cognito_confirm._errors"]  # TYPE_CHECKING only
    assert "cognito_confirm._client" in GRAPH["cognito_confirm.cli.run"]
    assert "cognito_confirm.cli.commands" in GRAPH["cognito_confirm.cli"]  # inside main()
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_two_modules_import_each_other() -> None:
    """Imports only go down: no cycle, not even one closed by a TYPE_CHECKING import."""
    assert cycles(GRAPH) == []


def test_the_bulk_engine_does_not_know_the_client() -> None:
    """_bulk is given what it needs (the confirm function, the limiter): it imports no _client."""
    assert "cognito_confirm._client" not in GRAPH["cognito_confirm._bulk"]


def test_the_library_never_imports_the_cli_or_the_fake() -> None:
    """The library core uses neither the command line nor the fake, and the fake not the CLI."""
    offenders = set()
    for name, targets in GRAPH.items():
        if name.startswith("cognito_confirm.cli") or name == "cognito_confirm.__main__":
            continue
        forbidden = ["cognito_confirm.cli"]
        if not name.startswith("cognito_confirm.testing"):
            forbidden.append("cognito_confirm.testing")
        offenders |= {(name, target) for target in targets if target.startswith(tuple(forbidden))}
    assert offenders == set()


def test_every_source_file_is_short() -> None:
    """No module grows to 500 lines: by then it holds more than one thing."""
    lengths = {name: path.read_text(encoding="utf-8").count("\n") for name, path in SOURCES.items()}
    assert {name: n for name, n in lengths.items() if n >= MAX_LINES} == {}
    assert max(lengths.values()) > MAX_LINES / 2  # the files were read


def test_library_import_does_not_load_the_cli_dependencies() -> None:
    """`import cognito_confirm` loads neither click, rich nor moto, nor the cli or testing package.

    httpx is hidden as in an install without it: aiobotocore imports httpx when it is there,
    and httpx imports its own command line (click and rich) when those are there.
    """
    unwanted = {"click", "rich", "moto", "cognito_confirm.cli", "cognito_confirm.testing"}
    probe = (
        "import sys; sys.modules['httpx'] = None; import cognito_confirm; "
        f"print(sorted(set({sorted(unwanted)!r}) & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stdout.strip() == "[]", result.stderr
