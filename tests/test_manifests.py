"""The Kubernetes manifests in k8s/ run every service the way its code expects to be run.

Read straight from the YAML files (no cluster, no kustomize binary, no database): each
service in `services.cli.SERVICES` has a Deployment and a Service, probed over native
gRPC health, hardened, draining within its grace period, and configured only with
settings the code actually reads. Every object is valid for a fixed Kubernetes version.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from google.protobuf import descriptor_pool

from services.cli import SERVICES, SETTINGS
from services.runtime.settings import PREFIX, Env, ServerSettings, SettingsError

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "k8s"
KUBERNETES_VERSION = "1.30"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")

by_service = pytest.mark.parametrize("service", SERVICES, ids=lambda service: service.NAME)


# --- reading the manifests --------------------------------------------------------------

def _kustomizations() -> list[Path]:
    return sorted(K8S.rglob("kustomization.yaml"))


def _patch_files() -> set[Path]:
    """Files an overlay names as patches: partial objects, not manifests of their own."""
    patches = set()
    for kustomization in _kustomizations():
        spec = yaml.safe_load(kustomization.read_text()) or {}
        for patch in spec.get("patches", []) + spec.get("patchesStrategicMerge", []):
            path = patch.get("path") if isinstance(patch, dict) else patch
            if path:
                patches.add((kustomization.parent / path).resolve())
    return patches


@cache
def _documents() -> tuple[tuple[str, dict], ...]:
    """(where, object) for every Kubernetes object under k8s/; kustomization files are not objects."""
    skipped = set(_kustomizations()) | _patch_files()
    found = []
    for path in sorted([*K8S.rglob("*.yaml"), *K8S.rglob("*.yml")]):
        if path.resolve() in skipped:
            continue
        for index, document in enumerate(yaml.safe_load_all(path.read_text())):
            if document:
                found.append((f"{path.relative_to(K8S)}#{index}", document))
    return tuple(found)


def _objects(kind: str) -> list[dict]:
    return [document for _, document in _documents() if document.get("kind") == kind]


def _named(kind: str, name: str) -> dict:
    matches = [document for document in _objects(kind) if document["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} named {name!r} under k8s/, found {len(matches)}"
    return matches[0]


def _pod_spec(workload: dict) -> dict:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def _container(deployment: dict, name: str) -> dict:
    containers = [c for c in _pod_spec(deployment)["containers"] if c["name"] == name]
    assert containers, f"Deployment {name!r} has no container named {name!r}"
    return containers[0]


def _workloads() -> list[dict]:
    return [document for _, document in _documents() if document.get("kind") in WORKLOAD_KINDS]


def _workload_id(workload: dict) -> str:
    return f"{workload['kind']}/{workload['metadata']['name']}"


def _containers(workload: dict) -> list[dict]:
    spec = _pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def _literal_environ(container: dict) -> dict[str, str]:
    """The settings a container is given as plain values (secret references are left out)."""
    return {item["name"]: item["value"] for item in container.get("env", []) if "value" in item}


def _server_settings(service) -> ServerSettings:
    """What the service itself makes of its Deployment's env, defaults included."""
    container = _container(_named("Deployment", service.NAME), service.NAME)
    return ServerSettings.read(Env(_literal_environ(container)), service.NAME, service.DEFAULT_PORT)


def _grpc_port(container: dict) -> dict:
    ports = [port for port in container.get("ports", []) if port.get("name") == "grpc"]
    assert len(ports) == 1, f"container {container['name']!r} should expose exactly one port named grpc"
    return ports[0]


@cache
def _services_source_nodes() -> tuple[ast.AST, ...]:
    return tuple(node for path in sorted((ROOT / "services").rglob("*.py"))
                 for node in ast.walk(ast.parse(path.read_text(), filename=str(path))))


def _string_literals_in_services() -> frozenset[str]:
    return frozenset(node.value for node in _services_source_nodes()
                     if isinstance(node, ast.Constant) and isinstance(node.value, str))


def _secret_settings() -> frozenset[str]:
    """The database URL (it carries a password) and every key read with Env.secret_key(ring)."""
    return frozenset({"DATABASE_URL"}) | {
        node.args[0].value for node in _services_source_nodes()
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("secret_key", "secret_keyring")
        and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)}


def _settings_the_code_reads() -> frozenset[str]:
    # ServerSettings reads each service's port as f"{upper}_PORT".
    return _string_literals_in_services() | {f"{service.NAME.upper()}_PORT" for service in SERVICES}


# --- every object -----------------------------------------------------------------------

def test_every_kustomization_lists_resources_that_exist():
    for kustomization in _kustomizations():
        spec = yaml.safe_load(kustomization.read_text()) or {}
        for resource in spec.get("resources", []):
            assert (kustomization.parent / resource).exists(), \
                f"{kustomization.relative_to(K8S)} lists {resource!r}, which does not exist"


@pytest.mark.parametrize("where, document", _documents(), ids=[where for where, _ in _documents()])
def test_every_manifest_is_a_valid_kubernetes_object(where, document):
    try:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        problem = None
    except kubernetes_validate.ValidationError as error:
        problem = f"{error.message} at {'.'.join(map(str, error.path)) or 'the top level'}"
    assert problem is None, f"{where}: {problem}"


# --- each service -----------------------------------------------------------------------

@by_service
def test_deployment_exposes_the_default_port_named_grpc(service):
    container = _container(_named("Deployment", service.NAME), service.NAME)
    assert _grpc_port(container)["containerPort"] == service.DEFAULT_PORT


@by_service
def test_deployment_listens_on_the_port_it_exposes(service):
    assert _server_settings(service).port == service.DEFAULT_PORT


@by_service
def test_deployment_listens_on_all_interfaces(service):
    assert _server_settings(service).host == "0.0.0.0", "on 127.0.0.1 neither probes nor the Service reach it"


@by_service
def test_readiness_probe_uses_grpc_health_on_the_service_port(service):
    probe = _container(_named("Deployment", service.NAME), service.NAME).get("readinessProbe", {})
    assert "grpc" in probe, "readinessProbe should be a native grpc probe"
    assert probe["grpc"]["port"] == service.DEFAULT_PORT


@by_service
def test_readiness_probe_asks_for_the_service_s_own_grpc_api(service):
    probe = _container(_named("Deployment", service.NAME), service.NAME).get("readinessProbe", {})
    name = probe.get("grpc", {}).get("service", "")
    assert name.startswith(f"healthcode.{service.NAME}."), f"readiness checks {name!r}"
    descriptor_pool.Default().FindServiceByName(name)  # raises KeyError for a name no proto defines


@by_service
def test_liveness_probe_uses_grpc_health_on_the_service_port(service):
    probe = _container(_named("Deployment", service.NAME), service.NAME).get("livenessProbe", {})
    assert "grpc" in probe, "livenessProbe should be a native grpc probe"
    assert probe["grpc"]["port"] == service.DEFAULT_PORT


@by_service
def test_termination_grace_period_outlasts_the_drain(service):
    deployment = _named("Deployment", service.NAME)
    grace = _pod_spec(deployment).get("terminationGracePeriodSeconds", 30)  # Kubernetes' default
    assert grace > _server_settings(service).grace_seconds


@by_service
def test_deployment_leaves_migrations_to_the_migrate_job(service):
    environ = _literal_environ(_container(_named("Deployment", service.NAME), service.NAME))
    assert environ.get(f"{PREFIX}MIGRATE_ON_START") == "false"


@by_service
def test_deployment_provides_every_required_setting(service):
    container = _container(_named("Deployment", service.NAME), service.NAME)
    # Secret-backed values are unknown here; any non-empty value shows the setting is provided.
    environ = {item["name"]: item.get("value", "from-a-secret") for item in container.get("env", [])}
    try:
        SETTINGS[service.NAME].read(Env(environ))
    except SettingsError as error:
        assert "is required" not in str(error), str(error)


@by_service
def test_service_has_a_port_named_grpc(service):
    ports = [port for port in _named("Service", service.NAME)["spec"]["ports"] if port.get("name") == "grpc"]
    assert len(ports) == 1
    assert ports[0]["port"] == service.DEFAULT_PORT


def test_a_job_runs_migrations():
    assert any(container.get("args") == ["migrate"] for job in _objects("Job") for container in _containers(job))


# --- every workload (Deployments and the migrate Job) -----------------------------------

by_workload = pytest.mark.parametrize("workload", _workloads(), ids=_workload_id)


@by_workload
def test_workload_runs_as_non_root(workload):
    pod = _pod_spec(workload).get("securityContext", {})
    for container in _containers(workload):
        assert container.get("securityContext", {}).get("runAsNonRoot", pod.get("runAsNonRoot")) is True, \
            f"container {container['name']!r} may run as root"


@by_workload
def test_workload_has_a_read_only_root_filesystem(workload):
    for container in _containers(workload):
        assert container.get("securityContext", {}).get("readOnlyRootFilesystem") is True, \
            f"container {container['name']!r} can write its root filesystem"


@by_workload
def test_workload_sets_only_settings_the_code_reads(workload):
    known = _settings_the_code_reads()
    unknown = [item["name"] for container in _containers(workload) for item in container.get("env", [])
               if item["name"].startswith(PREFIX) and item["name"].removeprefix(PREFIX) not in known]
    assert unknown == [], "set but never read anywhere in services/"


@by_workload
def test_workload_takes_secrets_from_a_secret(workload):
    secret_names = {f"{PREFIX}{name}" for name in _secret_settings()}
    for container in _containers(workload):
        for item in container.get("env", []):
            if item["name"] in secret_names:
                assert "secretKeyRef" in item.get("valueFrom", {}), f"{item['name']} should come from a Secret"
