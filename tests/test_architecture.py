"""The house rules (ARCHITECTURE.md), read from the code itself: which package may import which,
no import cycle between packages (at module level or inside functions), and rooms of a size a
reader can hold (Python modules up to 500 lines, JavaScript up to 600)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "store", "safety", "results", "engine_pool", "stages", "contestants", "studio")
# What each top-level package may import (besides itself): every arrow points down.
MAY_IMPORT = {
    "core": set(),
    "store": {"core"},
    "safety": {"core"},
    "engine_pool": {"core"},
    "results": {"core", "engine_pool"},
    "stages": {"core", "engine_pool", "safety", "results"},
    "contestants": {"core", "store", "safety", "engine_pool"},
    "studio": {"core", "store", "safety", "results", "engine_pool", "stages", "contestants"},
}
# Inside studio/: the show knows no server and no command line; the server no command line.
STUDIO_MAY_IMPORT = {"studio.show": set(), "studio.server": {"studio.show"}, "studio": {"studio.show", "studio.server"}}


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def package_of(module: str, known: dict[str, Path]) -> str:
    return module if known[module].name == "__init__.py" else module.rpartition(".")[0]


def imports(known: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the modules of ours it imports, anywhere in it (functions and TYPE_CHECKING too)."""
    found: dict[str, set[str]] = defaultdict(set)
    for module, path in known.items():
        package = package_of(module, known)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(parts + ([node.module] if node.module else []))
                targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            for target in targets:
                while target and target not in known:
                    target = target.rpartition(".")[0]
                if target and target != module:
                    found[module].add(target)
    return found


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def package_edges(level) -> dict[str, set[str]]:
    known = modules()
    edges: dict[str, set[str]] = defaultdict(set)
    for module, targets in imports(known).items():
        for target in targets:
            a, b = level(module, known), level(target, known)
            if a != b:
                edges[a].add(b)
    return edges


def test_every_arrow_between_top_level_packages_points_down():
    edges = package_edges(lambda m, known: m.split(".")[0])
    wrong = sorted(f"{a} -> {b}" for a, targets in edges.items() for b in targets if b not in MAY_IMPORT[a])
    assert not wrong, wrong


def test_no_cycle_between_packages_or_subpackages():
    top = package_edges(lambda m, known: m.split(".")[0])
    sub = package_edges(package_of)
    assert cycles(top) == [] and cycles(sub) == [], (cycles(top), cycles(sub))


def test_inside_the_studio_the_show_knows_no_server_and_the_server_no_command_line():
    edges = package_edges(package_of)
    wrong = sorted(
        f"{a} -> {b}"
        for a, targets in edges.items()
        if a in STUDIO_MAY_IMPORT
        for b in targets
        if b.startswith("studio") and b != a and b not in STUDIO_MAY_IMPORT[a]
    )
    assert not wrong, wrong


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_rooms_stay_small_enough_to_read():
    python = [p for p in REPO.rglob("*.py") if not {".venv", ".git", "node_modules"} & set(p.parts)]
    scripts = [*REPO.glob("overlays/**/*.js"), *REPO.glob("overlays/**/*.mjs"), *REPO.glob("studio/**/*.js")]
    long = [f"{p.relative_to(REPO)}: {n}" for p in python if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500]
    long += [f"{p.relative_to(REPO)}: {n}" for p in scripts if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600]
    assert not long, long
