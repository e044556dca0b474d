"""The code's shape holds: no import cycle, and no import against the stage order that
docs/architecture.md documents (its `layers` block is read here, so the two cannot drift).

Every import counts: at the top of a module, inside a function, or for type checking only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"paperqa": ROOT / "src" / "paperqa", "paperqa_ui": ROOT / "ui" / "paperqa_ui"}


def modules() -> dict[str, Path]:
    """Every module of the project by dotted name (a package by its own name)."""
    found = {}
    for top, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = [top, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules `name` imports, relative imports resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] in PACKAGES}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] not in PACKAGES:
                continue
            subs = {f"{target}.{a.name}" for a in node.names} & known.keys()
            out |= subs or {target}
    return out - {name}


def documented_layers() -> list[list[str]]:
    """The layers block of docs/architecture.md, bottom first."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- layers -->\s*```text\n(.*?)```", text, re.S)
    assert block, "docs/architecture.md has no ```text block after <!-- layers -->"
    rows = [line.split(":", 1)[1].split() for line in block.group(1).splitlines() if ":" in line]
    named = [[m if m.startswith("paperqa") else f"paperqa.{m}" for m in row] for row in rows]
    return [["paperqa" if m == "paperqa.__init__" else m for m in row] for row in named]


def layer_of(name: str, layers: list[list[str]]) -> int:
    """The layer of the most specific entry `name` is, or is inside."""
    best = max(
        (
            (i, entry)
            for i, row in enumerate(layers)
            for entry in row
            if name == entry or (entry != "paperqa" and name.startswith(entry + "."))
        ),
        key=lambda hit: len(hit[1]),
        default=None,
    )
    assert best is not None, f"{name} is in no layer of docs/architecture.md: add it"
    return best[0]


def test_every_import_goes_down_the_documented_layers_or_stays_level() -> None:
    known = modules()
    layers = documented_layers()
    upward = [
        f"{name} (layer {layer_of(name, layers)}) imports {dep} (layer {layer_of(dep, layers)})"
        for name, path in sorted(known.items())
        for dep in sorted(imports(name, path, known))
        if layer_of(dep, layers) > layer_of(name, layers)
    ]
    assert upward == []


def test_the_language_rules_import_nothing_of_the_project() -> None:
    known = modules()
    assert imports("paperqa.text", known["paperqa.text"], known) == set()


def cycles_in(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle a depth-first walk of `graph` meets, as the modules around it."""
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append([*trail[trail.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*trail, dep])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return cycles


def test_no_module_imports_itself_back() -> None:
    known = modules()
    graph = {name: imports(name, path, known) & known.keys() for name, path in known.items()}
    assert cycles_in(graph) == []
    # The walk itself finds a cycle (api -> llamaindex -> api, as it once was).
    assert cycles_in({"api": {"llamaindex", "text"}, "llamaindex": {"api"}, "text": set()}) == [
        ["api", "llamaindex", "api"]
    ]


def test_the_layer_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The check itself: an answer module importing the API is caught."""
    module = tmp_path / "bad.py"
    module.write_text("from ..api import PaperQA\n")
    known = {**modules(), "paperqa.answer.bad": module}
    layers = documented_layers()
    deps = imports("paperqa.answer.bad", module, known)
    assert deps == {"paperqa.api"} and layer_of("paperqa.api", layers) > layer_of(
        "paperqa.answer.bad", layers
    )


# A module a reader can hold in mind, a function that fits on a screen or two.
MODULE_LINES = 600
FUNCTION_LINES = 90


def test_no_module_over_600_lines_and_no_function_over_90() -> None:
    long_modules, long_functions = [], []
    for name, path in sorted(modules().items()):
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MODULE_LINES:
            long_modules.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > FUNCTION_LINES:
                    long_functions.append(f"{name}.{node.name}: {size} lines")
    assert (long_modules, long_functions) == ([], [])
