"""The Kubernetes manifests in k8s/ run every service the way its code expects to be run.

The base and every overlay under k8s/overlays are rendered offline by tests/support/k8s_render.py (the
subset of kustomize they use; no kustomize binary, no cluster, no database). Every built-in object
is validated strictly against the Kubernetes 1.30 schemas; custom resources (CloudNativePG, Barman
Cloud, Istio), whose schemas kubernetes-validate does not have, are checked field by field against
the shapes below. In every rendering, each service in `cli.healthcode.SERVICES` and the gateway has a
Deployment and a Service that match its code, native gRPC health probes, an autoscaler and a
disruption budget; pods are hardened, drain within their grace period and are configured only with
settings the code reads. Where network policies are rendered they allow exactly the calls the
Deployments are configured to make; where the mesh and the database operator are, they are wired
as intended. The Dockerfile is read, not built (there is no container engine here).
"""

from __future__ import annotations

import ast
import base64
import ipaddress
import re
import shlex
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from google.protobuf import descriptor_pool

from gateway import bootstrap as gateway
from cli.healthcode import SERVICES
from services.runtime.settings import PREFIX, Env, ServerSettings, SettingsError
from tests.support import k8s_render

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "k8s"
KUBERNETES_VERSION = "1.30"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
RUN_AS = 10001  # uid and gid of the image's user (Dockerfile) and of every pod

# The base (what overlays build on) and every overlay: each is rendered and checked on its own.
RENDERINGS = {"base": K8S / "base"} | {
    path.name: path for path in sorted((K8S / "overlays").iterdir()) if (path / "kustomization.yaml").is_file()}
# Renderings that must carry the production pieces (issue 8): policies, mesh, database operator.
PRODUCTION = ("prod",)


@dataclass(frozen=True)
class Server:
    """What the code says about one Deployment: its name, gRPC port, and how it reads its settings."""

    name: str
    port: int
    settings: object  # a class with read(Env)
    has_database: bool

    def server_settings(self, container: dict):
        """(host, port, grace seconds, metrics port) as the code reads them from the container's env."""
        if self.name == gateway.NAME:
            s = gateway.GatewaySettings.read(Env(_environ_with_stand_ins(container)))
            return s.host, s.port, s.grace_seconds, s.metrics_port
        s = ServerSettings.read(Env(_literal_environ(container)), self.name, self.port)
        return s.host, s.port, s.grace_seconds, s.metrics_port


SERVERS = [Server(service.name, service.port, service.settings, True) for service in SERVICES] + [
    Server(gateway.NAME, gateway.DEFAULT_PORT, gateway.GatewaySettings, False)]

by_rendering = pytest.mark.parametrize("rendering", list(RENDERINGS))
by_server = pytest.mark.parametrize("rendering, server", [(r, s) for r in RENDERINGS for s in SERVERS],
                                    ids=[f"{r}-{s.name}" for r in RENDERINGS for s in SERVERS])
by_service = pytest.mark.parametrize("rendering, server", [(r, s) for r in RENDERINGS for s in SERVERS if s.has_database],
                                     ids=[f"{r}-{s.name}" for r in RENDERINGS for s in SERVERS if s.has_database])
in_production = pytest.mark.parametrize("rendering", PRODUCTION)


# --- rendering and reading ---------------------------------------------------------------

@cache
def _rendered(rendering: str) -> tuple[dict, ...]:
    return tuple(k8s_render.render(RENDERINGS[rendering]))


def _objects(rendering: str, kind: str) -> list[dict]:
    return [item for item in _rendered(rendering) if item["kind"] == kind]


def _named(rendering: str, kind: str, name: str) -> dict:
    matches = [item for item in _objects(rendering, kind) if item["metadata"]["name"] == name]
    assert len(matches) == 1, f"{rendering}: expected one {kind} named {name!r}, found {len(matches)}"
    return matches[0]


def _pod_spec(workload: dict) -> dict:
    specs = k8s_render.pod_specs(workload)
    assert len(specs) == 1, f"{workload['kind']}/{workload['metadata']['name']} should hold one pod template"
    return specs[0]


def _pod_template(workload: dict) -> dict:
    spec = workload["spec"]
    return (spec["jobTemplate"]["spec"] if workload["kind"] == "CronJob" else spec)["template"]


def _container(deployment: dict, name: str) -> dict:
    containers = [c for c in _pod_spec(deployment)["containers"] if c["name"] == name]
    assert containers, f"Deployment {deployment['metadata']['name']!r} has no container named {name!r}"
    return containers[0]


def _main_container(rendering: str, server: Server) -> dict:
    return _container(_named(rendering, "Deployment", server.name), server.name)


def _workloads(rendering: str) -> list[dict]:
    return [item for item in _rendered(rendering) if item["kind"] in WORKLOAD_KINDS]


def _containers(workload: dict) -> list[dict]:
    spec = _pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def _literal_environ(container: dict) -> dict[str, str]:
    """The settings a container is given as plain values (secret references are left out)."""
    return {item["name"]: item["value"] for item in container.get("env", []) if "value" in item}


def _environ_with_stand_ins(container: dict) -> dict[str, str]:
    """Every setting a container is given. A secret's value is unknown here: a well-formed stand-in
    takes its place (a 32-byte key, a one-key keyring, any text). Files (*_FILE) are left out:
    they exist only in the pod."""
    kinds = _secret_settings()
    stand_ins = {"secret_key": base64.b64encode(bytes(32)).decode(),
                 "secret_keyring": "k1:" + base64.b64encode(bytes(32)).decode()}
    return {item["name"]: item["value"] if "value" in item
            else stand_ins.get(kinds.get(item["name"].removeprefix(PREFIX), ""), "from-a-secret")
            for item in container.get("env", []) if not item["name"].endswith("_FILE")}


def _server_settings(rendering: str, server: Server):
    return server.server_settings(_main_container(rendering, server))


def _ports(container: dict) -> dict[str, int]:
    return {port["name"]: port["containerPort"] for port in container.get("ports", []) if "name" in port}


def _matches(selector: dict, labels: dict) -> bool:
    """A Kubernetes label selector (matchLabels and matchExpressions) against a set of labels."""
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        holds = {"In": labels.get(key) in values, "NotIn": labels.get(key) not in values,
                 "Exists": key in labels, "DoesNotExist": key not in labels}[operator]
        if not holds:
            return False
    return True


@cache
def _source_nodes() -> tuple[ast.AST, ...]:
    paths = sorted(path for top in ("services", "gateway", "cli") for path in (ROOT / top).rglob("*.py"))
    return tuple(node for path in paths for node in ast.walk(ast.parse(path.read_text(), filename=str(path))))


def _settings_the_code_reads() -> frozenset[str]:
    """Every string literal in services/ and gateway/, plus the names built with f-strings: each
    service's port (ServerSettings: f"{upper}_PORT") and the gateway's upstreams (f"{NAME}_ADDRESS")."""
    literals = {node.value for node in _source_nodes() if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    return frozenset(literals | {f"{service.name.upper()}_PORT" for service in SERVICES}
                     | {f"{name.upper()}_ADDRESS" for name in gateway.UPSTREAMS})


@cache
def _secret_settings() -> dict[str, str]:
    """The database URL (it carries a password) and every key read with Env.secret_key(ring), with
    the method that reads it."""
    return {"DATABASE_URL": "text"} | {
        node.args[0].value: node.func.attr for node in _source_nodes()
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("secret_key", "secret_keyring")
        and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)}


# --- the files under k8s/ -----------------------------------------------------------------

def _kustomization_directories() -> list[Path]:
    return sorted(path.parent for path in K8S.rglob("kustomization.yaml"))


def test_every_kustomization_lists_files_that_exist():
    for directory in _kustomization_directories():
        spec = k8s_render.kustomization(directory)
        listed = [*spec.get("resources", []), *spec.get("components", []),
                  *(patch["path"] for patch in spec.get("patches", []) if "path" in patch)]
        for entry in listed:
            assert (directory / entry).exists(), f"{directory.relative_to(K8S)} lists {entry!r}, which does not exist"


def test_every_manifest_file_is_rendered_or_patched_by_some_kustomization():
    used = set()
    for directory in _kustomization_directories():
        spec = k8s_render.kustomization(directory)
        used |= {(directory / entry).resolve() for entry in spec.get("resources", [])}
        used |= {(directory / patch["path"]).resolve() for patch in spec.get("patches", []) if "path" in patch}
    orphans = [str(path.relative_to(K8S)) for path in sorted(K8S.rglob("*.y*ml"))
               if path.name != "kustomization.yaml" and path.resolve() not in used]
    assert orphans == [], "files no kustomization uses: nothing renders or checks them"


def test_every_component_is_used_by_a_production_overlay():
    components = {path.parent.resolve() for path in (K8S / "components").rglob("kustomization.yaml")}
    used = {(RENDERINGS[name] / entry).resolve() for name in PRODUCTION
            for entry in k8s_render.kustomization(RENDERINGS[name]).get("components", [])}
    assert components <= used, f"components no production overlay uses: {sorted(map(str, components - used))}"


@by_rendering
def test_rendering_succeeds(rendering):
    assert _rendered(rendering), f"{rendering} renders no objects"


@by_rendering
def test_every_built_in_object_is_valid_for_kubernetes(rendering):
    problems = []
    for item in _rendered(rendering):
        if _is_custom(item):
            continue
        try:
            kubernetes_validate.validate(item, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(map(str, error.path)) or "the top level"
            problems.append(f"{item['kind']}/{item['metadata']['name']}: {error.message} at {where}")
    assert problems == []


@by_rendering
def test_every_custom_resource_has_the_shape_its_operator_expects(rendering):
    problems = []
    for item in _rendered(rendering):
        if _is_custom(item):
            problems += [f"{item['kind']}/{item['metadata']['name']}: {problem}" for problem in _shape_problems(item)]
    assert problems == []


# --- custom resources: the fields this repository uses, as their CRDs define them --------------
#
# kubernetes-validate bundles only built-in schemas. These shapes were written from the CRDs
# (cloudnative-pg config/crd/bases/postgresql.cnpg.io_{clusters,scheduledbackups}.yaml,
# plugin-barman-cloud barmancloud.cnpg.io_objectstores.yaml, istio/api customresourcedefinitions.gen.yaml):
# a path maps to a type, a tuple of allowed values, or a regular expression a string must match;
# `*` stands for any one key (free-form maps), `[]` for any list element. A field not listed
# here is an error until someone checks it against the CRD and adds it.

_QUANTITY = (str, int)
_DURATION = re.compile(r"([0-9]+(ms|s|m|h|d|w|y))+")  # Prometheus durations
_CUSTOM_SHAPES = {
    ("postgresql.cnpg.io/v1", "Cluster"): {
        "required": ["spec.instances", "spec.storage.size"],
        "fields": {
            "spec.instances": int, "spec.imageName": str,
            "spec.primaryUpdateStrategy": ("unsupervised", "supervised"),
            "spec.bootstrap.initdb.database": str, "spec.bootstrap.initdb.owner": str,
            "spec.enableSuperuserAccess": bool,
            "spec.postgresql.synchronous.method": ("any", "first"), "spec.postgresql.synchronous.number": int,
            "spec.postgresql.synchronous.dataDurability": ("required", "preferred"),
            "spec.postgresql.parameters.*": str,  # map[string]string: a bare number is refused
            "spec.storage.size": str, "spec.storage.storageClass": str,
            "spec.walStorage.size": str, "spec.walStorage.storageClass": str,
            "spec.resources.requests.*": _QUANTITY, "spec.resources.limits.*": _QUANTITY,
            "spec.affinity.enablePodAntiAffinity": bool, "spec.affinity.podAntiAffinityType": ("required", "preferred"),
            "spec.affinity.topologyKey": str,
            "spec.plugins[].name": str, "spec.plugins[].isWALArchiver": bool, "spec.plugins[].parameters.*": str,
        }},
    ("postgresql.cnpg.io/v1", "ScheduledBackup"): {
        "required": ["spec.schedule", "spec.cluster.name"],
        "fields": {
            "spec.schedule": re.compile(r"\S+( \S+){5}"),  # six fields: seconds first
            "spec.immediate": bool, "spec.backupOwnerReference": ("none", "self", "cluster"),
            "spec.target": ("primary", "prefer-standby"), "spec.cluster.name": str,
            "spec.method": ("barmanObjectStore", "volumeSnapshot", "plugin"), "spec.pluginConfiguration.name": str,
        }},
    ("barmancloud.cnpg.io/v1", "ObjectStore"): {
        "required": ["spec.configuration.destinationPath"],
        "fields": {
            "spec.retentionPolicy": re.compile(r"[1-9][0-9]*[dwm]"),
            "spec.configuration.destinationPath": str, "spec.configuration.endpointURL": str,
            "spec.configuration.s3Credentials.accessKeyId.name": str,
            "spec.configuration.s3Credentials.accessKeyId.key": str,
            "spec.configuration.s3Credentials.secretAccessKey.name": str,
            "spec.configuration.s3Credentials.secretAccessKey.key": str,
            "spec.configuration.wal.compression": ("bzip2", "gzip", "lz4", "snappy", "xz", "zstd"),
            "spec.configuration.wal.encryption": ("AES256", "aws:kms"), "spec.configuration.wal.maxParallel": int,
            "spec.configuration.data.compression": ("bzip2", "gzip", "lz4", "snappy"),
            "spec.configuration.data.encryption": ("AES256", "aws:kms"), "spec.configuration.data.jobs": int,
        }},
    ("security.istio.io/v1", "PeerAuthentication"): {
        "required": [],
        "fields": {
            "spec.mtls.mode": ("UNSET", "DISABLE", "PERMISSIVE", "STRICT"),
            "spec.selector.matchLabels.*": str,
            "spec.portLevelMtls.*.mode": ("UNSET", "DISABLE", "PERMISSIVE", "STRICT"),
        }},
    ("networking.istio.io/v1", "DestinationRule"): {
        "required": ["spec.host"],
        "fields": {
            "spec.host": str, "spec.exportTo[]": str,
            "spec.trafficPolicy.tls.mode": ("DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"),
        }},
    # prometheus-operator (monitoring.coreos.com_servicemonitors.yaml, monitoring.coreos.com_prometheusrules.yaml)
    ("monitoring.coreos.com/v1", "ServiceMonitor"): {
        "required": ["spec.jobLabel", "spec.endpoints[].port"],
        "fields": {
            "spec.jobLabel": str, "spec.selector.matchLabels.*": str,
            "spec.endpoints[].port": str, "spec.endpoints[].path": re.compile(r"/\S*"),
            "spec.endpoints[].interval": _DURATION, "spec.endpoints[].scrapeTimeout": _DURATION,
        }},
    ("monitoring.coreos.com/v1", "PrometheusRule"): {
        "required": ["spec.groups[].name", "spec.groups[].rules[].alert", "spec.groups[].rules[].expr",
                     "spec.groups[].rules[].labels.severity", "spec.groups[].rules[].annotations.summary"],
        "fields": {
            "spec.groups[].name": str, "spec.groups[].rules[].alert": re.compile(r"[A-Z][A-Za-z0-9]+"),
            "spec.groups[].rules[].expr": str, "spec.groups[].rules[].for": _DURATION,
            "spec.groups[].rules[].labels.severity": ("info", "warning", "critical"),
            "spec.groups[].rules[].annotations.*": str,
        }},
}
_METADATA_FIELDS = {"metadata.name": str, "metadata.namespace": str, "metadata.labels.*": str,
                    "metadata.annotations.*": str}


def _is_custom(item: dict) -> bool:
    group = item["apiVersion"].rpartition("/")[0]
    return "." in group and not group.endswith(".k8s.io")


def _leaves(node, path: tuple[str, ...] = ()):
    """(path, value) of every scalar; a path is a tuple of keys, with "[]" for a list element."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, str(key)))
    elif isinstance(node, list):
        for value in node:
            yield from _leaves(value, (*path, "[]"))
    else:
        yield path, node


def _segments(pattern: str) -> tuple[str, ...]:
    return tuple(part for piece in pattern.split(".") for part in re.findall(r"[^\[\]]+|\[\]", piece))


def _pattern_matches(pattern: str, path: tuple[str, ...]) -> bool:
    segments = _segments(pattern)
    return len(segments) == len(path) and all(
        expected == actual or (expected == "*" and actual != "[]") for expected, actual in zip(segments, path))


def _shape_problems(item: dict) -> list[str]:
    shape = _CUSTOM_SHAPES.get((item["apiVersion"], item["kind"]))
    if shape is None:
        return ["no schema in kubernetes-validate and no shape in tests/test_manifests.py: add one"]
    fields = _METADATA_FIELDS | shape["fields"]
    problems = []
    present = set()
    for segments, value in _leaves({k: v for k, v in item.items() if k not in ("apiVersion", "kind")}):
        path = ".".join(segments).replace(".[]", "[]")
        present.add(path)
        expected = next((kind for pattern, kind in fields.items() if _pattern_matches(pattern, segments)), None)
        if expected is None:
            problems.append(f"{path} is not a field this repository has checked against the CRD")
        elif isinstance(expected, tuple) and all(isinstance(v, str) for v in expected):
            if value not in expected:
                problems.append(f"{path} is {value!r}, not one of {expected}")
        elif isinstance(expected, re.Pattern):
            if not isinstance(value, str) or not expected.fullmatch(value):
                problems.append(f"{path} is {value!r}, not of the form {expected.pattern}")
        elif not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            problems.append(f"{path} is {type(value).__name__}, not {expected}")
    problems += [f"{path} is required" for path in shape["required"] if path not in present]
    return problems


# --- each server: the four services and the gateway -----------------------------------------

@by_server
def test_deployment_exposes_the_code_s_port_named_grpc(rendering, server):
    assert _ports(_main_container(rendering, server)).get("grpc") == server.port


@by_server
def test_deployment_listens_on_the_port_it_exposes(rendering, server):
    assert _server_settings(rendering, server)[1] == server.port


@by_server
def test_deployment_listens_on_all_interfaces(rendering, server):
    assert _server_settings(rendering, server)[0] == "0.0.0.0", "on 127.0.0.1 neither probes nor the Service reach it"


def _probe_port(rendering, server) -> int:
    """Where the code answers grpc.health.v1 for a certificate-less kubelet: the gateway on its
    plaintext health port (its gRPC port may require client certificates), a service on its gRPC port."""
    if server.name != gateway.NAME:
        return server.port
    container = _main_container(rendering, server)
    return gateway.GatewaySettings.read(Env(_environ_with_stand_ins(container))).health_port


@by_server
def test_probes_use_grpc_health_where_the_code_serves_it(rendering, server):
    container = _main_container(rendering, server)
    port = _probe_port(rendering, server)
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container.get(probe, {}).get("grpc", {}).get("port") == port, \
            f"{probe} should be a native grpc probe on {port}"


@by_service
def test_readiness_probe_asks_for_the_service_s_own_grpc_api(rendering, server):
    name = _main_container(rendering, server)["readinessProbe"].get("grpc", {}).get("service", "")
    assert name.startswith(f"healthcode.{server.name}."), f"readiness checks {name!r}"
    descriptor_pool.Default().FindServiceByName(name)  # raises KeyError for a name no proto defines


@by_server
def test_termination_grace_period_outlasts_the_drain(rendering, server):
    grace = _pod_spec(_named(rendering, "Deployment", server.name)).get("terminationGracePeriodSeconds", 30)
    assert grace > _server_settings(rendering, server)[2]


@by_server
def test_metrics_port_is_the_one_the_code_serves_and_prometheus_is_told(rendering, server):
    deployment = _named(rendering, "Deployment", server.name)
    metrics_port = _server_settings(rendering, server)[3]
    assert _ports(_main_container(rendering, server)).get("metrics") == metrics_port
    annotations = _pod_template(deployment)["metadata"].get("annotations", {})
    assert annotations.get("prometheus.io/scrape") == "true"
    assert annotations.get("prometheus.io/port") == str(metrics_port)
    assert annotations.get("prometheus.io/path") == "/metrics"


@by_server
def test_deployment_provides_every_required_setting(rendering, server):
    environ = _environ_with_stand_ins(_main_container(rendering, server))
    try:
        server.settings.read(Env(environ))
    except SettingsError as error:
        assert "is required" not in str(error), str(error)


@by_service
def test_deployment_leaves_migrations_to_the_migrate_job(rendering, server):
    assert _literal_environ(_main_container(rendering, server)).get(f"{PREFIX}MIGRATE_ON_START") == "false"


@by_server
def test_service_has_a_port_named_grpc_reaching_the_container_s(rendering, server):
    ports = [port for port in _named(rendering, "Service", server.name)["spec"]["ports"] if port.get("name") == "grpc"]
    assert len(ports) == 1
    assert ports[0]["port"] == server.port and ports[0].get("targetPort") in ("grpc", server.port)


@by_server
def test_service_selects_the_deployment_s_pods(rendering, server):
    selector = _named(rendering, "Service", server.name)["spec"]["selector"]
    labels = _pod_template(_named(rendering, "Deployment", server.name))["metadata"]["labels"]
    assert _matches({"matchLabels": selector}, labels)


@by_server
def test_autoscaler_scales_the_deployment_on_the_server_s_cpu(rendering, server):
    autoscaler = _named(rendering, "HorizontalPodAutoscaler", server.name)
    assert autoscaler["apiVersion"] == "autoscaling/v2"
    assert autoscaler["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": server.name}
    cpu = [metric for metric in autoscaler["spec"]["metrics"]
           if metric.get(metric["type"][0].lower() + metric["type"][1:], {}).get("name") == "cpu"]
    assert cpu, "no CPU metric"
    assert all(m.get("containerResource", {}).get("container", server.name) == server.name for m in cpu)
    assert 1 <= autoscaler["spec"].get("minReplicas", 1) <= autoscaler["spec"]["maxReplicas"]
    assert "replicas" not in _named(rendering, "Deployment", server.name)["spec"], \
        "the autoscaler owns the replica count; `kubectl apply` would reset it"


@by_server
def test_disruption_budget_covers_the_deployment_s_pods(rendering, server):
    budget = _named(rendering, "PodDisruptionBudget", server.name)
    labels = _pod_template(_named(rendering, "Deployment", server.name))["metadata"]["labels"]
    assert _matches(budget["spec"]["selector"], labels)
    assert "maxUnavailable" in budget["spec"], "minAvailable would block every drain of a one-replica dev cluster"


@by_rendering
def test_every_deployment_is_a_server_of_the_code(rendering):
    assert sorted(item["metadata"]["name"] for item in _objects(rendering, "Deployment")) == \
        sorted(server.name for server in SERVERS)


@by_rendering
def test_a_job_runs_migrations_for_every_service(rendering):
    # `healthcode migrate` migrates every service in SERVICES; the gateway has no database.
    assert any(container.get("args") == ["migrate"] for job in _objects(rendering, "Job") for container in _containers(job))


@by_rendering
def test_the_gateway_takes_no_database(rendering):
    environ = _environ_with_stand_ins(_main_container(rendering, SERVERS[-1]))
    assert f"{PREFIX}DATABASE_URL" not in environ


@by_rendering
def test_the_gateway_exposes_grpc_and_http_as_the_code_listens(rendering):
    container = _main_container(rendering, SERVERS[-1])
    settings = gateway.GatewaySettings.read(Env(_environ_with_stand_ins(container)))
    assert _ports(container).get("http") == settings.http_port == gateway.DEFAULT_HTTP_PORT
    service_ports = {port["name"]: port["port"] for port in _named(rendering, "Service", "gateway")["spec"]["ports"]}
    assert service_ports == {"grpc": gateway.DEFAULT_PORT, "http": gateway.DEFAULT_HTTP_PORT}


@in_production
def test_the_gateway_takes_mutual_tls_files_from_the_gateway_tls_secret(rendering):
    deployment = _named(rendering, "Deployment", "gateway")
    container = _container(deployment, "gateway")
    environ = _literal_environ(container)
    volumes = {volume["name"]: volume for volume in _pod_spec(deployment)["volumes"]}
    for setting in ("GATEWAY_TLS_CERT_FILE", "GATEWAY_TLS_KEY_FILE", "GATEWAY_CLIENT_CA_FILE"):
        path = environ[f"{PREFIX}{setting}"]
        mounts = [m for m in container.get("volumeMounts", []) if path.startswith(m["mountPath"].rstrip("/") + "/")]
        assert len(mounts) == 1 and mounts[0].get("readOnly") is True, f"{setting} is not on a read-only mount"
        assert volumes[mounts[0]["name"]].get("secret", {}).get("secretName") == "gateway-tls"


@by_rendering
def test_every_server_reaches_the_others_where_their_services_listen(rendering):
    services = {item["metadata"]["name"]: item for item in _objects(rendering, "Service")}
    for deployment in _objects(rendering, "Deployment"):
        for container in _containers(deployment):
            for name, value in _literal_environ(container).items():
                if name.endswith("_ADDRESS"):
                    host, _, port = value.rpartition(":")
                    assert host in services, f"{deployment['metadata']['name']}: {name} names no Service"
                    assert int(port) in [p["port"] for p in services[host]["spec"]["ports"]], f"{name}={value}"


# --- every workload (Deployments and the migrate Job) ---------------------------------------

@by_rendering
def test_every_workload_runs_as_the_image_s_non_root_user(rendering):
    for workload in _workloads(rendering):
        pod = _pod_spec(workload).get("securityContext", {})
        for container in _containers(workload):
            context = {**pod, **container.get("securityContext", {})}
            assert context.get("runAsNonRoot") is True, f"{container['name']} may run as root"
            assert (context.get("runAsUser"), context.get("runAsGroup")) == (RUN_AS, RUN_AS), container["name"]
        assert pod.get("seccompProfile", {}).get("type") == "RuntimeDefault", workload["metadata"]["name"]


@by_rendering
def test_every_container_is_locked_down(rendering):
    for workload in _workloads(rendering):
        for container in _containers(workload):
            context = container.get("securityContext", {})
            assert context.get("readOnlyRootFilesystem") is True, f"{container['name']} can write its root filesystem"
            assert context.get("allowPrivilegeEscalation") is False, container["name"]
            assert context.get("capabilities", {}).get("drop") == ["ALL"], container["name"]


@by_rendering
def test_every_workload_has_only_tmp_to_write_to(rendering):
    for workload in _workloads(rendering):
        volumes = {volume["name"]: volume for volume in _pod_spec(workload).get("volumes", [])}
        for container in _containers(workload):
            tmp = [m for m in container.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
            assert len(tmp) == 1 and "emptyDir" in volumes[tmp[0]["name"]], f"{container['name']}: /tmp"
            writable = [m["mountPath"] for m in container.get("volumeMounts", [])
                        if m["mountPath"] != "/tmp" and not m.get("readOnly")]
            assert writable == [], f"{container['name']} may write to {writable}"


@by_rendering
def test_every_container_has_resource_requests_and_limits(rendering):
    for workload in _workloads(rendering):
        for container in _containers(workload):
            resources = container.get("resources", {})
            assert {"cpu", "memory"} <= set(resources.get("requests", {})), container["name"]
            assert {"cpu", "memory"} <= set(resources.get("limits", {})), container["name"]


@by_rendering
def test_every_workload_sets_only_settings_the_code_reads(rendering):
    known = _settings_the_code_reads()
    unknown = [item["name"] for workload in _workloads(rendering) for container in _containers(workload)
               for item in container.get("env", [])
               if item["name"].startswith(PREFIX) and item["name"].removeprefix(PREFIX) not in known]
    assert unknown == [], "set but never read anywhere in services/ or gateway/"


@by_rendering
def test_every_workload_takes_secrets_from_a_secret(rendering):
    secret_names = {f"{PREFIX}{name}" for name in _secret_settings()}
    for workload in _workloads(rendering):
        for container in _containers(workload):
            for item in container.get("env", []):
                if item["name"] in secret_names:
                    assert "secretKeyRef" in item.get("valueFrom", {}), f"{item['name']} should come from a Secret"


# --- the dev overlay --------------------------------------------------------------------

def test_dev_runs_one_replica_of_each_server():
    for server in SERVERS:
        autoscaler = _named("dev", "HorizontalPodAutoscaler", server.name)["spec"]
        assert (autoscaler.get("minReplicas"), autoscaler["maxReplicas"]) == (1, 1), server.name


# --- production: policies, mesh, database ----------------------------------------------------

@in_production
def test_production_renders_with_network_policies_mtls_and_the_database_operator(rendering):
    components = {Path(entry).name for entry in k8s_render.kustomization(RENDERINGS[rendering]).get("components", [])}
    assert {"network-policies", "mtls-istio", "postgres-cnpg"} <= components
    kinds = {item["kind"] for item in _rendered(rendering)}
    assert {"NetworkPolicy", "PeerAuthentication", "DestinationRule", "Cluster", "ScheduledBackup"} <= kinds


@in_production
def test_production_pins_a_release_image(rendering):
    images = {container["image"] for workload in _workloads(rendering) for container in _containers(workload)}
    assert all(":" in image.rpartition("/")[2] or "@" in image for image in images), images
    assert not any(image.endswith((":dev", ":latest")) for image in images), images


@in_production
def test_the_gateway_serves_the_provinces_verification_serves(rendering):
    gateway_env = _literal_environ(_main_container(rendering, SERVERS[-1]))
    verification_env = _literal_environ(_container(_named(rendering, "Deployment", "verification"), "verification"))
    assert gateway_env.get(f"{PREFIX}GATEWAY_PROVINCES") == verification_env.get(f"{PREFIX}VERIFICATION_PROVINCES")


# Network policies: a small evaluator of NetworkPolicy semantics over the rendered pods.

@dataclass(frozen=True)
class Pod:
    name: str
    labels: dict = field(hash=False)
    ports: dict = field(hash=False)  # name -> (number, protocol)


def _pods(rendering: str) -> list[Pod]:
    """A pod per workload, and one standing for the instances of each CloudNativePG cluster."""
    pods = []
    for workload in _workloads(rendering):
        ports = {port.get("name", str(port["containerPort"])): (port["containerPort"], port.get("protocol", "TCP"))
                 for container in _containers(workload) for port in container.get("ports", [])}
        pods.append(Pod(workload["metadata"]["name"], _pod_template(workload)["metadata"]["labels"], ports))
    for cluster in _objects(rendering, "Cluster"):
        name = cluster["metadata"]["name"]
        pods.append(Pod(f"{name} (postgres)", {"cnpg.io/cluster": name, "cnpg.io/podRole": "instance"},
                        {"postgresql": (5432, "TCP"), "status": (8000, "TCP"), "metrics": (9187, "TCP")}))
    return pods


def _policies(rendering: str, pod: Pod, direction: str) -> list[dict]:
    """The policies isolating `pod` in `direction` (Ingress or Egress)."""
    found = []
    for policy in _objects(rendering, "NetworkPolicy"):
        spec = policy["spec"]
        types = spec.get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in spec else []))
        if direction in types and _matches(spec["podSelector"], pod.labels):
            found.append(policy)
    return found


def _port_allowed(rule: dict, target: Pod, number: int, protocol: str) -> bool:
    if not rule.get("ports"):
        return True
    for port in rule["ports"]:
        if port.get("protocol", "TCP") != protocol:
            continue
        value = port.get("port")
        if value is None:
            return True
        resolved = target.ports.get(value, (None,))[0] if isinstance(value, str) else value
        if resolved is not None and resolved <= number <= port.get("endPort", resolved):
            return True
    return False


def _peer_is_pod(peer: dict, pod: Pod, namespace: str) -> bool:
    """Whether a policy peer covers a pod of the policy's own namespace."""
    if "ipBlock" in peer:
        # Pod addresses are inside the cluster's range; only an all-addresses block surely covers them.
        return ipaddress.ip_network(peer["ipBlock"]["cidr"]).prefixlen == 0
    if "namespaceSelector" in peer and not _matches(peer["namespaceSelector"],
                                                     {"kubernetes.io/metadata.name": namespace}):
        return False
    return _matches(peer.get("podSelector", {}), pod.labels)


def _allowed(rendering: str, source: Pod, target: Pod, number: int, protocol: str) -> bool:
    namespace = _objects(rendering, "NetworkPolicy")[0]["metadata"].get("namespace", "")

    def one_way(pod: Pod, other: Pod, direction: str, rules: str, peers: str) -> bool:
        policies = _policies(rendering, pod, direction)
        return not policies or any(
            _port_allowed(rule, target, number, protocol)
            and (peers not in rule or any(_peer_is_pod(peer, other, namespace) for peer in rule[peers]))
            for policy in policies for rule in policy["spec"].get(rules, []))

    return one_way(source, target, "Egress", "egress", "to") and one_way(target, source, "Ingress", "ingress", "from")


def _expected_calls(rendering: str) -> set[tuple[str, str, int]]:
    """(from, to, port): what each workload's *_ADDRESS settings and database URL make it call."""
    pods = {pod.name: pod for pod in _pods(rendering)}
    services = {item["metadata"]["name"]: item for item in _objects(rendering, "Service")}
    clusters = {item["metadata"]["name"] for item in _objects(rendering, "Cluster")}
    calls = set()
    for workload in _workloads(rendering):
        source = workload["metadata"]["name"]
        for container in _containers(workload):
            for name, value in _literal_environ(container).items():
                if not (name.startswith(PREFIX) and name.endswith("_ADDRESS")):
                    continue
                host, _, port = value.rpartition(":")
                service = services[host]["spec"]
                target_port = next(p.get("targetPort", p["port"]) for p in service["ports"] if p["port"] == int(port))
                for pod in pods.values():
                    if _matches({"matchLabels": service["selector"]}, pod.labels):
                        number = pod.ports[target_port][0] if isinstance(target_port, str) else target_port
                        calls.add((source, pod.name, number))
            for item in container.get("env", []):
                secret = item.get("valueFrom", {}).get("secretKeyRef", {}).get("name", "")
                if item["name"] == f"{PREFIX}DATABASE_URL" and secret.removesuffix("-app") in clusters:
                    calls.add((source, f"{secret.removesuffix('-app')} (postgres)", 5432))
    for cluster in clusters:  # streaming replication, and the instance managers' status port
        calls |= {(f"{cluster} (postgres)", f"{cluster} (postgres)", port) for port in (5432, 8000)}
    return calls


def _with_network_policies() -> list[str]:
    return [name for name in RENDERINGS if any(i["kind"] == "NetworkPolicy" for i in _rendered(name))]


@in_production
def test_production_denies_every_connection_not_allowed(rendering):
    deny = [policy for policy in _objects(rendering, "NetworkPolicy")
            if policy["spec"]["podSelector"] == {} and set(policy["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
            and not policy["spec"].get("ingress") and not policy["spec"].get("egress")]
    assert deny, "no policy denies all ingress and egress in the namespace"


@in_production
def test_every_server_is_selected_by_a_network_policy_that_allows_it_something(rendering):
    for pod in _pods(rendering):
        allowing = [policy["metadata"]["name"] for direction in ("Ingress", "Egress")
                    for policy in _policies(rendering, pod, direction)
                    if policy["spec"].get("ingress") or policy["spec"].get("egress")]
        assert allowing, f"{pod.name} is selected by no allowing network policy"


@in_production
def test_network_policies_allow_exactly_the_calls_the_workloads_are_configured_to_make(rendering):
    pods = _pods(rendering)
    allowed = {(source.name, target.name, number) for source in pods for target in pods
               if source.name != target.name or source.name.endswith("(postgres)")
               for number, protocol in target.ports.values() if _allowed(rendering, source, target, number, protocol)}
    expected = _expected_calls(rendering)
    assert allowed - expected == set(), "allowed but never called"
    assert expected - allowed == set(), "called but not allowed"


@in_production
def test_only_the_gateway_accepts_connections_from_anywhere(rendering):
    open_ports = {(policy["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name"),
                   port["port"])
                  for policy in _objects(rendering, "NetworkPolicy") for rule in policy["spec"].get("ingress", [])
                  if "from" not in rule or any(ipaddress.ip_network(peer["ipBlock"]["cidr"]).prefixlen == 0
                                               for peer in rule["from"] if "ipBlock" in peer)
                  for port in rule.get("ports", [{"port": "every"}])}
    assert open_ports == {("gateway", gateway.DEFAULT_PORT), ("gateway", gateway.DEFAULT_HTTP_PORT)}


def _egress_to(rendering: str, pod: Pod, accepts) -> set[tuple[int, str]]:
    """(port, protocol) pairs `pod` may send to destinations outside the namespace that `accepts` a peer."""
    return {(port["port"], port.get("protocol", "TCP"))
            for policy in _policies(rendering, pod, "Egress") for rule in policy["spec"].get("egress", [])
            if any(accepts(peer) for peer in rule.get("to", [])) for port in rule.get("ports", [])}


def _in_namespace(name: str, labels: dict):
    def accepts(peer: dict) -> bool:
        return (peer.get("namespaceSelector", {}).get("matchLabels") == {"kubernetes.io/metadata.name": name}
                and peer.get("podSelector", {}).get("matchLabels") == labels)
    return accepts


@in_production
def test_every_pod_may_resolve_names(rendering):
    for pod in _pods(rendering):
        dns = _egress_to(rendering, pod, _in_namespace("kube-system", {"k8s-app": "kube-dns"}))
        assert {(53, "UDP"), (53, "TCP")} <= dns, pod.name


@in_production
def test_prometheus_may_scrape_every_metrics_port(rendering):
    scraper = Pod("prometheus", {"app.kubernetes.io/name": "prometheus"}, {})
    for pod in _pods(rendering):
        if "metrics" not in pod.ports:
            continue
        number, protocol = pod.ports["metrics"]
        rules = [rule for policy in _policies(rendering, pod, "Ingress") for rule in policy["spec"].get("ingress", [])
                 if _port_allowed(rule, pod, number, protocol)
                 and any(_in_namespace("monitoring", scraper.labels)(peer) for peer in rule.get("from", []))]
        assert rules, f"Prometheus cannot scrape {pod.name}:{number}"


@in_production
def test_verification_and_its_configured_peers_may_reach_each_other(rendering):
    verification = next(pod for pod in _pods(rendering) if pod.name == "verification")
    peers = _literal_environ(_container(_named(rendering, "Deployment", "verification"), "verification")).get(
        f"{PREFIX}VERIFICATION_PEERS", "")
    ports = {int(item.rpartition(":")[2]) for item in filter(None, peers.split(","))}
    assert ports, "production federates: HEALTHCODE_VERIFICATION_PEERS should name the peers"
    outbound = _peer_ranges(rendering, verification, "Egress")
    inbound = _peer_ranges(rendering, verification, "Ingress")
    assert ports <= {port for _, port in outbound}, "cannot call its peers"
    # Peers call our FederationService on its own port, from the same ranges we call them at.
    assert {cidr for cidr, _ in inbound} == {cidr for cidr, _ in outbound}
    assert {port for _, port in inbound} == {verification.ports["federation"][0]}
    assert "192.0.2.0/24" not in {cidr for cidr, _ in outbound | inbound}, "the component's placeholder peers"
    (endpoint,) = [s for s in _objects(rendering, "Service") if s["spec"].get("type") == "LoadBalancer"
                   and _matches({"matchLabels": s["spec"]["selector"]}, verification.labels)]
    assert [port["port"] for port in endpoint["spec"]["ports"]] == [verification.ports["federation"][0]]
    assert endpoint["spec"].get("externalTrafficPolicy") == "Local", "peers are admitted by source address"


@in_production
def test_meshed_pods_may_reach_istiod(rendering):
    for pod in _pods(rendering):
        if pod.labels.get("sidecar.istio.io/inject") == "true":
            assert (15012, "TCP") in _egress_to(rendering, pod, _in_namespace("istio-system", {"app": "istiod"})), pod.name


# Mutual TLS by Istio.

def _peer_ranges(rendering: str, pod: Pod, direction: str) -> set[tuple[str, int]]:
    """(address range, port) pairs outside the cluster that `pod` may reach (Egress) or be reached from (Ingress)."""
    rules, peers = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    return {(peer["ipBlock"]["cidr"], port["port"])
            for policy in _policies(rendering, pod, direction) for rule in policy["spec"].get(rules, [])
            for peer in rule.get(peers, []) if "ipBlock" in peer
            and ipaddress.ip_network(peer["ipBlock"]["cidr"]).prefixlen > 0 for port in rule.get("ports", [])}


@in_production
def test_the_namespace_accepts_only_mutual_tls_except_from_federation_peers(rendering):
    policies = _objects(rendering, "PeerAuthentication")
    assert [p["spec"]["mtls"]["mode"] for p in policies if "selector" not in p["spec"]] == ["STRICT"]
    for policy in (p for p in policies if "selector" in p["spec"]):
        # A workload's own policy may let plaintext in only where the network policy admits peers.
        pods = [pod for pod in _pods(rendering) if _matches(policy["spec"]["selector"], pod.labels)]
        from_peers = {port for pod in pods for _, port in _peer_ranges(rendering, pod, "Ingress")}
        assert policy["spec"]["mtls"]["mode"] == "STRICT"
        relaxed = {int(port) for port, setting in policy["spec"].get("portLevelMtls", {}).items()
                   if setting["mode"] != "STRICT"}
        assert pods and relaxed <= from_peers, policy["metadata"]["name"]


@in_production
def test_every_server_is_in_the_mesh_and_the_migrate_job_is_not(rendering):
    for workload in _workloads(rendering):
        injected = _pod_template(workload)["metadata"]["labels"].get("sidecar.istio.io/inject") == "true"
        assert injected == (workload["kind"] == "Deployment"), workload["metadata"]["name"]


@in_production
def test_calls_between_servers_use_istio_certificates(rendering):
    called = {value.rpartition(":")[0] for workload in _workloads(rendering) for container in _containers(workload)
              for name, value in _literal_environ(container).items() if name.endswith("_ADDRESS")}
    rules = {rule["spec"]["host"]: rule["spec"]["trafficPolicy"]["tls"]["mode"]
             for rule in _objects(rendering, "DestinationRule")}
    assert rules == {host: "ISTIO_MUTUAL" for host in called}


@in_production
def test_only_ports_called_from_outside_the_mesh_bypass_the_sidecar(rendering):
    for deployment in _objects(rendering, "Deployment"):
        name = deployment["metadata"]["name"]
        excluded = _pod_template(deployment)["metadata"]["annotations"]["traffic.sidecar.istio.io/excludeInboundPorts"]
        ports = _ports(_container(deployment, name))
        outside = ["metrics"] + {"gateway": ["grpc", "http"], "verification": ["federation"]}.get(name, [])
        assert sorted(int(port) for port in excluded.split(",")) == sorted(ports[p] for p in outside), name


# PostgreSQL by CloudNativePG.

@in_production
def test_postgres_runs_a_primary_and_two_replicas_with_synchronous_commits(rendering):
    (cluster,) = _objects(rendering, "Cluster")
    assert cluster["spec"]["instances"] >= 3
    assert cluster["spec"]["postgresql"]["synchronous"]["number"] >= 1
    assert cluster["spec"]["affinity"]["topologyKey"] == "topology.kubernetes.io/zone"


@in_production
def test_postgres_archives_wal_and_backs_up_to_an_object_store_that_is_defined(rendering):
    (cluster,) = _objects(rendering, "Cluster")
    archivers = [plugin for plugin in cluster["spec"].get("plugins", []) if plugin.get("isWALArchiver")]
    assert len(archivers) == 1
    _named(rendering, "ObjectStore", archivers[0]["parameters"]["barmanObjectName"])
    backups = _objects(rendering, "ScheduledBackup")
    assert backups and all(backup["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
                           and backup["spec"]["pluginConfiguration"]["name"] == archivers[0]["name"]
                           for backup in backups)


@in_production
def test_every_database_client_uses_the_primary_with_verified_tls(rendering):
    (cluster,) = _objects(rendering, "Cluster")
    name = cluster["metadata"]["name"]
    clients = [w for w in _workloads(rendering) if any(item["name"] == f"{PREFIX}DATABASE_URL"
                                                       for c in _containers(w) for item in c.get("env", []))]
    assert sorted(w["metadata"]["name"] for w in clients) == sorted(
        [s.name for s in SERVICES] + ["healthcode-migrate"])
    for workload in clients:
        volumes = {volume["name"]: volume for volume in _pod_spec(workload).get("volumes", [])}
        for container in _containers(workload):
            env = {item["name"]: item for item in container.get("env", [])}
            # The operator's app Secret: its `uri` names the read-write Service, <cluster>-rw.
            assert env[f"{PREFIX}DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": f"{name}-app", "key": "uri"}
            assert env["PGSSLMODE"]["value"] == "verify-full"
            ca = env["PGSSLROOTCERT"]["value"]
            (mount,) = [m for m in container["volumeMounts"] if ca.startswith(m["mountPath"] + "/")]
            secret = volumes[mount["name"]]["secret"]
            assert secret["secretName"] == f"{name}-ca"
            assert [item["key"] for item in secret["items"]] == ["ca.crt"], "the CA's private key stays out of pods"


# --- the container image --------------------------------------------------------------------

def _dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile as stages of (INSTRUCTION, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        elif not stages:
            assert instruction.upper() == "ARG", f"{instruction} before the first FROM"
            continue
        stages[-1].append((instruction.upper(), arguments.strip()))
    return stages


def test_dockerfile_builds_in_one_stage_and_runs_from_a_slim_python_3_11():
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    froms = re.findall(r"^\s*FROM\s+(.+)$", text, flags=re.MULTILINE | re.IGNORECASE)
    assert len(froms) >= 2, "multi-stage: a builder, then the runtime"
    assert re.fullmatch(r"\S+\s+AS\s+builder", froms[0], flags=re.IGNORECASE), froms[0]
    assert froms[-1].split()[0] == "python:3.11-slim", froms[-1]


def test_dockerfile_runtime_stage_installs_nothing_and_takes_the_builder_s_result():
    runtime = _dockerfile_stages()[-1]
    runs = " ".join(arguments for instruction, arguments in runtime if instruction == "RUN")
    assert not re.search(r"\bpip\b|\bapt-get\b|\bgcc\b", runs), "the runtime stage should only add a user"
    assert any(instruction == "COPY" and "--from=builder" in arguments for instruction, arguments in runtime)


def test_dockerfile_runs_as_the_numeric_user_the_manifests_expect():
    users = [arguments for instruction, arguments in _dockerfile_stages()[-1] if instruction == "USER"]
    assert users and users[-1] == f"{RUN_AS}:{RUN_AS}", "numeric, so runAsNonRoot can check it"


def test_dockerfile_works_with_a_read_only_root_filesystem():
    environment = {}
    for instruction, arguments in _dockerfile_stages()[-1]:
        if instruction == "ENV":
            environment |= dict(item.split("=", 1) for item in shlex.split(arguments))
    assert environment.get("PYTHONDONTWRITEBYTECODE") == "1", "Python would try to write __pycache__"
    assert environment.get("HOME") == "/tmp", "the one writable directory"


def test_dockerfile_entrypoint_is_the_healthcode_command():
    entrypoints = [arguments for instruction, arguments in _dockerfile_stages()[-1] if instruction == "ENTRYPOINT"]
    assert entrypoints and yaml.safe_load(entrypoints[-1]) == ["healthcode"], \
        "exec form, so a manifest's args pick the subcommand and SIGTERM reaches the process"


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_build_context():
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    # .data holds the development database and dev-secrets.json.
    assert {".data", ".venv", ".git"} <= ignored


# --- the renderer itself: the kustomize behaviour the overlays rely on ---------------------------

def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


_DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {tier: front}}
spec:
  template:
    spec:
      containers:
        - name: web
          image: web:1
          ports: [{name: http, containerPort: 80}]
          env: [{name: A, value: "1"}, {name: B, value: "2"}]
"""


def test_renderer_merges_kubernetes_lists_by_their_merge_key(tmp_path):
    root = _tree(tmp_path, {
        "kustomization.yaml": "resources: [web.yaml]\npatches: [{path: patch.yaml}]\n",
        "web.yaml": _DEPLOYMENT,
        "patch.yaml": """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
        - name: web
          ports: [{name: metrics, containerPort: 9464}]
          env: [{name: B, value: "3"}, {name: C, value: "4"}, {name: A, value: null}]
"""})
    (container,) = k8s_render.render(root)[0]["spec"]["template"]["spec"]["containers"]
    assert container["env"] == [{"name": "A"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}]
    assert [port["containerPort"] for port in container["ports"]] == [80, 9464]


def test_renderer_replaces_the_lists_of_custom_resources(tmp_path):
    root = _tree(tmp_path, {
        "kustomization.yaml": "resources: [thing.yaml]\npatches: [{path: patch.yaml}]\n",
        "thing.yaml": "apiVersion: example.org/v1\nkind: Thing\nmetadata: {name: t}\nspec: {items: [{name: a}]}\n",
        "patch.yaml": "apiVersion: example.org/v1\nkind: Thing\nmetadata: {name: t}\nspec: {items: [{name: b}]}\n"})
    assert k8s_render.render(root)[0]["spec"]["items"] == [{"name": "b"}]


def test_renderer_applies_a_component_to_what_was_gathered_before_it_then_namespace_and_images(tmp_path):
    root = _tree(tmp_path, {
        "base/kustomization.yaml": "resources: [web.yaml]\n",
        "base/web.yaml": _DEPLOYMENT,
        "component/kustomization.yaml": """apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
patches:
  - path: label.yaml
    target: {kind: Deployment, labelSelector: tier=front}
""",
        "component/label.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: whatever}\n"
                                "spec: {template: {metadata: {labels: {meshed: 'yes'}}}}\n",
        "overlay/kustomization.yaml": "namespace: prod\nresources: [../base]\ncomponents: [../component]\n"
                                      "images: [{name: web, newName: registry.example/web, newTag: '2'}]\n"})
    (web,) = k8s_render.render(root / "overlay")
    assert web["metadata"]["namespace"] == "prod"
    assert web["spec"]["template"]["metadata"]["labels"] == {"meshed": "yes"}
    assert web["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example/web:2"


def test_renderer_json6902_test_operation_stops_a_patch_that_would_misfire(tmp_path):
    root = _tree(tmp_path, {
        "kustomization.yaml": "resources: [web.yaml]\npatches: [{path: ops.yaml, target: {kind: Deployment}}]\n",
        "web.yaml": _DEPLOYMENT,
        "ops.yaml": "- {op: test, path: /metadata/labels/tier, value: back}\n"
                    "- {op: replace, path: /metadata/labels/tier, value: middle}\n"})
    with pytest.raises(k8s_render.RenderError, match="test failed"):
        k8s_render.render(root)


@pytest.mark.parametrize("kustomization, problem", [
    ("resources: [web.yaml]\ncommonLabels: {a: b}\n", "not supported"),
    ("resources: [web.yaml, web.yaml]\n", "defined twice"),
    ("resources: [web.yaml]\npatches: [{path: web.yaml, target: {kind: Deployment, annotationSelector: a=b}}]\n",
     "not supported"),
], ids=["unknown-field", "duplicate-object", "unknown-selector"])
def test_renderer_refuses_what_it_does_not_do(tmp_path, kustomization, problem):
    root = _tree(tmp_path, {"kustomization.yaml": kustomization, "web.yaml": _DEPLOYMENT})
    with pytest.raises(k8s_render.RenderError, match=problem):
        k8s_render.render(root)


@pytest.mark.parametrize("value", ["on", "yes", "0440", "1:30"])
def test_renderer_refuses_scalars_yaml_1_1_and_1_2_read_differently(value):
    with pytest.raises(k8s_render.RenderError):
        k8s_render.load_documents(f"key: {value}\n")


# --- what operators watch: ServiceMonitors, alert rules, the dashboard (issue 22) -----------------

def _exported_series() -> set[str]:
    """Every series name the code exports: each module that defines metrics is imported, then the
    registry's families give their samples' names (a counter's _total, a histogram's _bucket, ...)."""
    import gateway.forwarding  # noqa: F401 - defines the gateway's refusals and cache answers
    import services.runtime.metrics  # noqa: F401 - gRPC and HTTP families
    import services.status.deciding  # noqa: F401 - binding failures
    import services.status.signals  # noqa: F401
    import services.verification.recognition.outbox  # noqa: F401 - federation outbox depth and age
    import services.verification.signals  # noqa: F401
    from prometheus_client import REGISTRY

    names = set()
    for family in REGISTRY.collect():
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}.get(
            family.type, ("",))
        names |= {family.name + suffix for suffix in suffixes}
    return names


_SERIES = re.compile(r"\b((?:grpc|http|healthcode)_[a-z0-9_]+)\b")


def _series_in(expr: str) -> set[str]:
    """The series a PromQL expression selects: label matchers and grouping clauses (label names) left out."""
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    return set(_SERIES.findall(expr))


@in_production
def test_every_server_has_a_service_monitor_reaching_its_metrics_port(rendering):
    services = _objects(rendering, "Service")
    monitors = _objects(rendering, "ServiceMonitor")
    for server in SERVERS:
        container = _main_container(rendering, server)
        pod_labels = _pod_template(_named(rendering, "Deployment", server.name))["metadata"]["labels"]
        (monitor,) = [m for m in monitors if m["metadata"]["name"] == server.name]
        wanted = monitor["spec"]["selector"]["matchLabels"]
        (service,) = [s for s in services if wanted.items() <= s["metadata"].get("labels", {}).items()]
        assert service["spec"]["selector"].items() <= pod_labels.items(), service["metadata"]["name"]
        (endpoint,) = monitor["spec"]["endpoints"]
        (port,) = [p for p in service["spec"]["ports"] if p["name"] == endpoint["port"]]
        assert port["targetPort"] == "metrics" and _ports(container)["metrics"] == _server_settings(rendering, server)[3]
        assert endpoint["path"] == "/metrics"


def _alert_rules(rendering: str) -> list[dict]:
    return [rule for item in _objects(rendering, "PrometheusRule") for group in item["spec"]["groups"]
            for rule in group["rules"]]


@in_production
def test_every_alert_names_only_metrics_the_code_exports(rendering):
    exported = _exported_series()
    rules = _alert_rules(rendering)
    assert rules
    for rule in rules:
        named = _series_in(rule["expr"])
        assert named, f"{rule['alert']} names no metric of the platform"
        assert named <= exported, f"{rule['alert']}: {sorted(named - exported)} are not exported"


@in_production
def test_alerts_cover_errors_latency_recompute_lag_key_expiry_and_the_audit_chain(rendering):
    watched = {}
    for rule in _alert_rules(rendering):
        for series in _series_in(rule["expr"]):
            watched.setdefault(series, []).append(rule["alert"])
    for series in ("grpc_server_handled_total", "grpc_server_handling_seconds_bucket", "http_server_requests_total",
                   "healthcode_status_recompute_lag_seconds",
                   "healthcode_verification_trusted_key_expiry_timestamp_seconds",
                   "healthcode_verification_trust_list_synced_timestamp_seconds",
                   "healthcode_status_binding_failures_total", "healthcode_certificate_expiry_timestamp_seconds",
                   "healthcode_federation_outbox_oldest_age_seconds",
                   "healthcode_audit_chain_verification_failures_total", "healthcode_audit_chain_checked_timestamp_seconds",
                   "healthcode_verification_peer_snapshot_timestamp_seconds"):
        assert series in watched, f"no alert watches {series}"
    error_ratio = next(r for r in _alert_rules(rendering) if r["alert"] == "HealthcodeGrpcErrorRatioHigh")
    assert "INTERNAL" in error_ratio["expr"] and "UNAVAILABLE" in error_ratio["expr"]  # the code names as exported


@in_production
def test_the_dashboard_is_grafana_json_whose_panels_query_exported_metrics(rendering):
    import json

    exported = _exported_series()
    config_map = _named(rendering, "ConfigMap", "healthcode-dashboard")
    assert config_map["metadata"]["labels"].get("grafana_dashboard") == "1"
    dashboard = json.loads(config_map["data"]["healthcode.json"])
    assert dashboard["uid"] and dashboard["title"] and dashboard["panels"]
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
    queried = set()
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            named = _series_in(target["expr"])
            assert named and named <= exported, f"{panel['title']}: {sorted(named - exported)}"
            queried |= named
    # Both sides of gRPC, the HTTP door and every business signal appear on it.
    assert {"grpc_server_handled_total", "grpc_client_handled_total", "http_server_requests_total",
            "healthcode_verification_decisions_total", "healthcode_status_changes_total",
            "healthcode_status_recompute_lag_seconds", "healthcode_status_audit_head_timestamp_seconds",
            "healthcode_audit_chain_verification_failures_total",
            "healthcode_verification_peer_snapshot_timestamp_seconds"} <= queried
