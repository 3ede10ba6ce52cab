"""No import cycles inside the scanning engine (every import counts, also those inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT


def _imports(path: Path, package: str) -> set[str]:
    """The modules of ``package`` that ``path`` imports, by their dotted names."""
    here = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    parent = here.rsplit(".", 1)[0] if path.name != "__init__.py" else here.removesuffix(".__init__")
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = parent
            for _ in range(max(0, node.level - 1)):
                base = base.rsplit(".", 1)[0]
            module = f"{base}.{node.module}" if node.level and node.module else (node.module or base)
            found.add(module)
            found.update(f"{module}.{a.name}" for a in node.names)  # "from . import fates": a module, maybe
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m == package or m.startswith(package + ".")}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_scanning_engine_has_no_import_cycle():
    graph = {}
    for path in (ROOT / "scanning").rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        graph[name] = {m for m in _imports(path, "scanning") if m != name}
    graph = {k: {m for m in v if m in graph} for k, v in graph.items()}
    assert "scanning.engines" in graph["scanning.pipeline"]  # the graph sees relative imports
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def _graph(package_dir: Path, package: str) -> dict[str, set[str]]:
    graph = {}
    for path in package_dir.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        graph[name] = {m for m in _imports(path, package) if m != name}
    return {k: {m for m in v if m in graph} for k, v in graph.items()}


def test_the_mail_path_runs_one_way():
    """listener -> qmgr -> (scanq, outcome, delivery): the queue manager calls the others and none of them calls
    it (the scan queue answers with a future); the relay module only wires them."""
    graph = _graph(ROOT / "asyncos_cli" / "relay", "asyncos_cli.relay")
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))
    r = "asyncos_cli.relay."
    path = {r + p for p in ("listener", "qmgr", "scanq", "outcome", "delivery", "relay")}
    parts = {p: graph[r + p] & path for p in ("listener", "qmgr", "scanq", "outcome", "delivery")}
    assert parts["listener"] == set()  # it reaches the queue manager through its Intake
    assert parts["qmgr"] == {r + "outcome", r + "delivery"}  # the scan queue is handed in (its Scanner protocol)
    assert parts["scanq"] == parts["outcome"] == parts["delivery"] == set()


def test_only_the_queue_manager_writes_the_queue():
    writes = ("spool.store", "spool.save_state", "spool.remove", "quarantines.put", "quarantines.remove")
    for path in (ROOT / "asyncos_cli" / "relay").glob("*.py"):
        if path.name in ("qmgr.py", "spool.py"):
            continue
        text = path.read_text()
        assert not [w for w in writes if w in text], path.name
    assert all(w in (ROOT / "asyncos_cli" / "relay" / "qmgr.py").read_text() for w in writes)


def test_counters_are_an_event_subscriber():
    """No part of the relay bumps a counter: relay.counters counts the events they emit."""
    import re

    for path in (ROOT / "asyncos_cli" / "relay").glob("*.py"):
        if path.name != "counters.py":
            assert not re.search(r"counters\.\w+ *\+=", path.read_text()), path.name
