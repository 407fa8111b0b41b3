"""The layout's import rules: one direction (services ← gateway ← cli, tools), and tests that import
only support modules, never another test module or a conftest."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Each top-level package and the first-party packages it may not import.
FORBIDDEN = {"services": {"gateway", "cli", "tools", "tests"}, "gateway": {"cli", "tools", "tests"},
             "cli": {"tests"}}
# A benchmark may start deployments with the tests' starter (tests.support), never use a test module.


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def test_imports_go_one_way():
    wrong = [f"{path.relative_to(ROOT)}:{line} imports {name}"
             for package, forbidden in FORBIDDEN.items() for path in sorted((ROOT / package).rglob("*.py"))
             for line, name in _imports(path) if name.split(".")[0] in forbidden]
    wrong += [f"{path.relative_to(ROOT)}:{line} imports {name}" for path in sorted((ROOT / "tools").rglob("*.py"))
              for line, name in _imports(path) if name.startswith("tests.") and not name.startswith("tests.support")]

    assert wrong == []


def test_no_test_module_imports_another_test_module_or_a_conftest():
    wrong = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for line, name in _imports(path):
            parts = name.split(".")
            if parts[0] == "tests" and any(p.startswith("test_") or p == "conftest" for p in parts[1:]):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")

    assert wrong == []


# The one starter of servers in tests (tests/support/platform.py); the ways around it, by name.
STARTING = {"start_server", "start_gateway", "HostedServer", "assemble"}
# The runtime's own tests of start_server (a port taken, health on shutdown) call it as the thing under test.
STARTS_ITS_OWN = {Path("tests/runtime/test_server.py")}


def test_every_test_starts_servers_through_the_one_starter():
    """No test module or conftest outside tests/support/ starts a server, a gateway or a bootstrap's app
    itself: each goes through tests/support/platform.py, so there is one way services start in tests."""
    wrong = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[:2] == ("tests", "support") or relative in STARTS_ITS_OWN:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in STARTING:
                    wrong.append(f"{relative}:{node.lineno} calls {name}")
            elif isinstance(node, ast.ImportFrom):
                wrong += [f"{relative}:{node.lineno} imports {alias.name}" for alias in node.names
                          if alias.name in STARTING - {"HostedServer"}]  # the type, for annotations, is fine

    assert wrong == []


# Every service's SQL is in its repositories (`repository.py`, or `<topic>_repository.py` beside it).
SQL_IN_REPOSITORY_ONLY = ("identity", "itinerary", "status", "verification")


def test_only_a_repository_talks_to_postgres():
    """In these services no module but repository.py imports asyncpg, takes a connection from a pool
    or holds an advisory lock: use cases get a transaction object from the repository."""
    wrong = []
    for service in SQL_IN_REPOSITORY_ONLY:
        for path in sorted((ROOT / "services" / service).rglob("*.py")):
            if path.name.endswith("repository.py"):
                continue
            wrong += [f"{path.relative_to(ROOT)}:{line} imports {name}" for line, name in _imports(path)
                      if name.split(".")[0] == "asyncpg"]
            text = path.read_text()
            markers = (".acquire(", "pg_advisory", "pg_try_advisory")
            wrong += [f"{path.relative_to(ROOT)} uses {marker}" for marker in markers
                      if marker in text]

    assert wrong == []


def test_page_tokens_are_made_and_refused_in_one_place():
    """Every list pages with services.runtime.paging.Cursor: no service spells its own token refusal."""
    wrong = [str(path.relative_to(ROOT)) for path in sorted((ROOT / "services").rglob("*.py"))
             if path.parent.name != "runtime" and "_pb2" not in path.name
             and "PAGE_TOKEN_INVALID" in path.read_text()]
    assert wrong == []


def test_every_verification_rpc_is_answered_by_exactly_one_of_its_two_servicers():
    from healthcode.verification.v1 import verification_pb2

    from services.verification.servicer import RECOGNITION_RPCS, VENUE_RPCS

    methods = [m.name for m in verification_pb2.DESCRIPTOR.services_by_name["VerificationService"].methods]
    assert sorted(RECOGNITION_RPCS + VENUE_RPCS) == sorted(methods)
    assert not set(RECOGNITION_RPCS) & set(VENUE_RPCS)
