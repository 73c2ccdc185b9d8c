"""The layers of ARCHITECTURE.md hold: lower layers never import higher ones, no import cycle,
and every module of the folder tree is in the module map.

Imports are read from the source (``ast``), lazy ones inside functions included: a lazy import
upward is still a dependency upward.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "analysis"
ARCHITECTURE = SRC.parent / "ARCHITECTURE.md"

# Lowest first. A module belongs to the first prefix that matches it (longest prefixes first
# within the table, so ``index766.rules`` is reference data and the rest of index766 is not).
LAYERS = [
    (
        "base",
        ("analysis", "config", "errors", "files", "escape", "text", "i18n", "calendar", "quarters"),
    ),  # fmt: skip
    ("reference", ("registry", "measures", "index766.rules")),
    ("panel", ("panel", "sources")),
    ("ingest", ("ingest",)),
    ("synthetic", ("synthetic",)),
    ("designs", ("designs",)),
    ("index766", ("index766",)),
    ("evaluation", ("evaluation",)),
    ("documents", ("documents",)),
    ("render", ("render",)),
    ("batch", ("batch",)),
    ("cli", ("cli",)),
]
RANK = {name: i for i, (name, _) in enumerate(LAYERS)}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> str:
    """The layer of a dotted module name (``analysis.documents.brief`` -> ``documents``)."""
    short = module.removeprefix("analysis.") if module != "analysis" else "analysis"
    best = None
    for name, prefixes in LAYERS:
        for prefix in prefixes:
            if (short == prefix or short.startswith(prefix + ".")) and (
                best is None or len(prefix) > len(best[1])
            ):
                best = (name, prefix)
    assert best is not None, f"{module} is in no layer of tests/base/test_architecture.py"
    return best[0]


def imports(module: str) -> set[str]:
    """The modules of the package that ``module`` imports (a submodule when one is named)."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "analysis"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "analysis":
                continue
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
    return found - {module}


def test_every_module_has_a_layer():
    for module in MODULES:
        assert layer(module) in RANK


@pytest.mark.parametrize("module", sorted(MODULES))
def test_lower_layers_never_import_higher_ones(module):
    mine = RANK[layer(module)]
    upward = sorted(m for m in imports(module) if RANK[layer(m)] > mine)
    assert upward == [], f"{module} ({layer(module)}) imports higher layers: {upward}"


def test_no_import_cycle():
    graph = {m: {d for d in imports(m) if d in MODULES} for m in MODULES}
    # A package's __init__ re-exporting its submodules is not a cycle with them.
    for m, deps in graph.items():
        graph[m] = {d for d in deps if not d.startswith(m + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                cycle = stack[stack.index(d) :] + [d]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_module_map_names_every_module_and_package():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    missing = []
    for path in MODULES.values():
        rel = path.relative_to(PACKAGE)
        if len(rel.parts) == 1:
            if rel.name != "__init__.py" and f"`{rel.name}`" not in text:
                missing.append(str(rel))
        elif f"`{rel.parts[0]}/" not in text:
            missing.append(str(rel))
    assert missing == []


def test_diagram_draws_the_layers_in_order():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    block = text.split("```mermaid", 1)[1].split("```", 1)[0]
    order = [name for name, _ in LAYERS]
    positions = [block.find(f"{name}[") for name in order]
    assert -1 not in positions, dict(zip(order, positions, strict=True))
    edges = [f"{a} --> {b}" for a, b in zip(order, order[1:], strict=False)]
    assert [e for e in edges if e not in block] == []
