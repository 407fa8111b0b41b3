"""The production image installs the project's dependencies and nothing else: the tools' packages and the
embedded PostgreSQL are extras (`./dev` installs them), and every module the image ships imports, when it
is loaded, only the standard library, the project and those dependencies."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
FIRST_PARTY = {"services", "gateway", "cli", "healthcode"}


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", requirement).group(0)).lower()


def _installed_closure(names: set[str]) -> set[str]:
    """The distributions `names` need, transitively, as installed here (markers for other platforms aside)."""
    seen, queue = set(), list(names)
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        try:
            requirements = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue  # required only where a marker holds (an older Python, another platform)
        seen.add(name)
        for requirement in requirements:
            if "extra ==" not in requirement:
                queue.append(_name(requirement))
    return seen


def _shipped_directories() -> set[str]:
    """What the Dockerfile copies into the image."""
    text = (ROOT / "Dockerfile").read_text()
    return {match for match in re.findall(r"^COPY\s+(\w+)\s+\./\1\s*$", text, flags=re.MULTILINE)}


def _load_time_imports(path: Path) -> set[str]:
    """Top-level packages a module imports when it is loaded (function bodies import later, if ever)."""
    found: set[str] = set()
    pending = list(ast.parse(path.read_text()).body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            pending.extend(child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt))
    return found


def test_tools_and_the_embedded_database_are_extras_not_production_dependencies():
    production = {_name(requirement) for requirement in PROJECT["dependencies"]}
    extras = {extra: {_name(r) for r in requirements} for extra, requirements in PROJECT["optional-dependencies"].items()}

    assert not production & {"grpcio-tools", "pgserver", "hdrhistogram", "matplotlib"}
    assert "pgserver" in extras["embedded"]
    assert {"grpcio-tools", "hdrhistogram", "matplotlib"} <= extras["tools"]
    dev = (ROOT / "dev").read_text()
    assert all(extra in re.search(r"pip install .*-e '\.\[([\w,]+)\]'", dev).group(1) for extra in extras), \
        "./dev installs every extra, so the README's two commands still do everything"


def test_the_image_ships_the_services_the_gateway_and_the_command_but_not_the_tools():
    assert _shipped_directories() == {"protos", "services", "gateway", "cli"}


def test_every_module_the_image_ships_imports_only_production_dependencies_when_loaded():
    allowed = _installed_closure({_name(requirement) for requirement in PROJECT["dependencies"]})
    providers = importlib.metadata.packages_distributions()
    outside = []
    for directory in sorted(_shipped_directories() - {"protos"}):
        for path in sorted((ROOT / directory).rglob("*.py")):
            for top in sorted(_load_time_imports(path) - FIRST_PARTY - set(sys.stdlib_module_names)):
                if not {_name(d) for d in providers.get(top, [])} & allowed:
                    outside.append(f"{path.relative_to(ROOT)} imports {top}")

    assert outside == []
