"""The package layering of docs/architecture.md, read from the code's own imports."""

import ast
from collections import defaultdict
from pathlib import Path

import governor

SRC = Path(governor.__file__).parent
FACES = {"cli", "web"}
"""The thin faces: they call the domain; nothing else imports them."""


def _package(module: str) -> str | None:
    """The package of `governor.X.…` (X), or None for a module outside Governor."""
    parts = module.split(".")
    return parts[1] if parts[0] == "governor" and len(parts) > 1 else None


def _imported(path: Path) -> set[str]:
    """Every governor module a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert not node.level, f"{path}:{node.lineno}: Governor imports by absolute names"
            found |= {f"{node.module}.{alias.name}" for alias in node.names} | {str(node.module)}
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return {name for name in found if name.startswith("governor.")}


def _package_imports() -> dict[str, dict[str, set[str]]]:
    """package → imported package → the files of the first that import the second."""
    edges: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC).parts
        if len(parts) == 1:  # governor/__init__.py, jobs.py, config.py…: the glue and the base
            continue
        for module in _imported(path):
            target = _package(module)
            if target is not None and target != parts[0] and (SRC / target).is_dir():
                edges[parts[0]][target].add(str(path.relative_to(SRC)))
    return edges


def test_no_domain_package_imports_a_face():
    edges = _package_imports()
    wrong = {
        f"{package} -> {face}: {sorted(files)}"
        for package, targets in edges.items()
        if package not in FACES
        for face, files in targets.items()
        if face in FACES
    }
    assert not wrong, "domain code imports cli/ or web/ (drive them through services): " + str(
        sorted(wrong)
    )


def test_the_web_never_imports_the_command_line():
    # (The command line imports the web: `governor serve` starts it.)
    assert not _package_imports()["web"].get("cli")


def test_no_packages_import_each_other_even_through_others():
    edges = _package_imports()
    cycles = []
    for start in sorted(edges):
        # Every package reachable from `start`, with the path that reached it.
        seen: dict[str, list[str]] = {start: [start]}
        frontier = [start]
        while frontier:
            here = frontier.pop()
            for there in sorted(edges.get(here, {})):
                if there == start:
                    cycles.append(" -> ".join([*seen[here], start]))
                elif there not in seen:
                    seen[there] = [*seen[here], there]
                    frontier.append(there)
    described = [
        f"{cycle} (e.g. {sorted(edges[a][b])[0]} imports {b})"
        for cycle in cycles
        for a, b in [cycle.split(" -> ")[:2]]
    ]
    assert not described, "packages import each other: " + "; ".join(described)
