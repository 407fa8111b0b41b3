"""Renders k8s/ overlays offline: the subset of kustomize those overlays use, and nothing more.

kustomize is a Go program, not on PyPI and not installed here, so CI renders with this instead.
It does what `kustomize build` does for the fields below and refuses every other field, patch
form or directive, so an overlay that starts using something new fails here loudly rather than
rendering differently from kustomize:

- Kustomization: `resources` (YAML files and directories holding a kustomization), `components`,
  `namespace`, `images`, `patches`. Component (kustomize.config.k8s.io/v1alpha1): `resources`, `patches`.
  Resources come first, then each component in order (its resources join, then its patches apply
  to everything gathered so far), then the kustomization's own patches, namespace and images.
- `patches`: from a file (`path`) or inline (`patch`).
  Strategic merge: one or more documents, each applied to the one object of its kind and name, or
  (a single document) to every object `target` selects, whatever its name. Maps merge, `null`
  deletes a key; in built-in kinds the lists Kubernetes merges by key (containers and env by name,
  container ports by containerPort, Service ports by port, volumes by name, volumeMounts by
  mountPath, ...) merge by that key, and every other list, as in custom resources, is replaced.
  `$patch`-style directives are refused.
  JSON 6902: a YAML list of operations (`add`, `remove`, `replace`, `test`), `target` required.
  A `target` that selects nothing leaves everything as it was, as in kustomize; selectors are
  group, version, kind, name (a regular expression matching the whole name), namespace and
  labelSelector (`key=value` terms, comma-separated).
- `namespace`: set on every namespaced object (cluster-scoped kinds are left alone).
- `images`: `newName`, `newTag` or `digest` for every container and init container whose image
  is `name` (with or without a tag), in pod templates of any kind.

Two objects with the same group, kind, namespace and name are an error, as in kustomize. Output
keeps the order objects were gathered in (kustomize sorts by kind; nothing here depends on order).
Scalars that YAML 1.1 (kubectl) and YAML 1.2 (kustomize) read differently — yes/no/on/off, numbers
with a leading zero — are refused unless quoted.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

KUSTOMIZATION_FILE = "kustomization.yaml"
_KUSTOMIZATION_FIELDS = frozenset({"apiVersion", "kind", "resources", "components", "namespace", "images", "patches"})
_COMPONENT_FIELDS = frozenset({"apiVersion", "kind", "resources", "patches"})
_PATCH_FIELDS = frozenset({"path", "patch", "target"})
_TARGET_FIELDS = frozenset({"group", "version", "kind", "name", "namespace", "labelSelector"})
_IMAGE_FIELDS = frozenset({"name", "newName", "newTag", "digest"})

# Kinds without a namespace among those a deployment like this could carry.
CLUSTER_SCOPED_KINDS = frozenset({
    "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume",
    "StorageClass", "PriorityClass", "IngressClass", "RuntimeClass", "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration", "APIService", "ClusterIssuer", "ClusterImageCatalog"})

# Built-in API groups: their objects' lists merge by key. Custom resources' lists are replaced.
_BUILT_IN_GROUPS = frozenset({"", "apps", "batch", "policy", "autoscaling", "networking.k8s.io", "rbac.authorization.k8s.io"})

# Kubernetes' patch merge keys for the lists this repository patches (and their neighbours).
_MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "env": "name",
    "volumes": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath", "imagePullSecrets": "name",
    "hostAliases": "ip", "topologySpreadConstraints": "topologyKey",
}

_POD_SPEC_PATHS = (("spec",), ("spec", "template", "spec"), ("spec", "jobTemplate", "spec", "template", "spec"))


class RenderError(Exception):
    """The kustomization uses something this renderer does not do, or is wrong in itself."""


# --- YAML as both kubectl (YAML 1.1) and kustomize (YAML 1.2) read it ---------------------------

class _Loader(yaml.SafeLoader):
    """Refuses plain scalars the two YAML versions resolve differently."""


def _bool(loader: _Loader, node: yaml.ScalarNode) -> bool:
    if node.value.lower() not in ("true", "false"):
        raise RenderError(f"{node.value!r} at {node.start_mark}: a boolean in YAML 1.1, a string in 1.2; quote it")
    return node.value.lower() == "true"


def _int(loader: _Loader, node: yaml.ScalarNode) -> int:
    digits = node.value.lstrip("+-")
    if (len(digits) > 1 and digits.startswith("0") and not digits.startswith(("0x", "0o"))) or ":" in digits:
        raise RenderError(f"{node.value!r} at {node.start_mark}: read differently by YAML 1.1 and 1.2; "
                          "write it in decimal or quote it")
    return yaml.SafeLoader.construct_yaml_int(loader, node)


_Loader.add_constructor("tag:yaml.org,2002:bool", _bool)
_Loader.add_constructor("tag:yaml.org,2002:int", _int)


def load_documents(text: str) -> list[Any]:
    return [document for document in yaml.load_all(text, Loader=_Loader) if document is not None]


def load_file(path: Path) -> list[Any]:
    try:
        return load_documents(path.read_text())
    except RenderError as error:
        raise RenderError(f"{path}: {error}") from None


# --- kustomizations ----------------------------------------------------------------------

def kustomization(directory: Path) -> dict:
    """The kustomization in `directory`, its fields checked against what this renderer does."""
    path = directory / KUSTOMIZATION_FILE
    if not path.is_file():
        raise RenderError(f"{directory} has no {KUSTOMIZATION_FILE}")
    documents = load_file(path)
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise RenderError(f"{path}: expected one kustomization")
    spec = documents[0]
    kind = spec.get("kind", "Kustomization")
    expected = {"Kustomization": ("kustomize.config.k8s.io/v1beta1", _KUSTOMIZATION_FIELDS),
                "Component": ("kustomize.config.k8s.io/v1alpha1", _COMPONENT_FIELDS)}
    if kind not in expected or spec.get("apiVersion", expected[kind][0]) != expected[kind][0]:
        raise RenderError(f"{path}: unknown kustomization kind {spec.get('apiVersion')}/{kind}")
    unknown = set(spec) - expected[kind][1]
    if unknown:
        raise RenderError(f"{path}: {sorted(unknown)} not supported by tests/support/k8s_render.py")
    return spec


def render(directory: Path) -> list[dict]:
    """What `kustomize build directory` prints, as objects."""
    directory = directory.resolve()
    spec = kustomization(directory)
    if spec.get("kind") == "Component":
        raise RenderError(f"{directory} is a Component: it is rendered only as part of a Kustomization")
    objects = _gather_resources(directory, spec, [])
    for entry in spec.get("components", []):
        component_directory = (directory / entry).resolve()
        component = kustomization(component_directory)
        if component.get("kind") != "Component":
            raise RenderError(f"{component_directory} is listed as a component but is a {component.get('kind')}")
        objects = _gather_resources(component_directory, component, objects)
        _apply_patches(component_directory, component, objects)
    _apply_patches(directory, spec, objects)
    if "namespace" in spec:
        _set_namespace(objects, spec["namespace"])
    for image in spec.get("images", []):
        _set_image(objects, image, directory)
    return objects


def _gather_resources(directory: Path, spec: dict, objects: list[dict]) -> list[dict]:
    for entry in spec.get("resources", []):
        if "://" in entry or entry.startswith("github.com/"):
            raise RenderError(f"{directory}: remote resource {entry!r} not supported")
        path = (directory / entry).resolve()
        if path.is_dir():
            found = render(path)
        elif path.is_file():
            found = load_file(path)
        else:
            raise RenderError(f"{directory}: resource {entry!r} does not exist")
        for item in found:
            _add(objects, item, path)
    return objects


def _identity(item: dict) -> tuple[str, str, str, str]:
    group = item.get("apiVersion", "").rpartition("/")[0]
    metadata = item.get("metadata") or {}
    return group, item.get("kind", ""), metadata.get("namespace", ""), metadata.get("name", "")


def _add(objects: list[dict], item: Any, source: Path) -> None:
    if not isinstance(item, dict) or not item.get("kind") or not (item.get("metadata") or {}).get("name"):
        raise RenderError(f"{source}: every document must be an object with a kind and a name")
    if any(_identity(existing) == _identity(item) for existing in objects):
        raise RenderError(f"{source}: {item['kind']}/{item['metadata']['name']} is defined twice")
    objects.append(copy.deepcopy(item))


# --- patches ---------------------------------------------------------------------------

def _apply_patches(directory: Path, spec: dict, objects: list[dict]) -> None:
    for entry in spec.get("patches", []):
        if not isinstance(entry, dict) or set(entry) - _PATCH_FIELDS or ("path" in entry) == ("patch" in entry):
            raise RenderError(f"{directory}: a patch is `path` or `patch`, with an optional `target`: {entry!r}")
        where = f"{directory / entry['path']}" if "path" in entry else f"{directory} (inline patch)"
        try:
            documents = load_file(directory / entry["path"]) if "path" in entry else load_documents(entry["patch"])
        except FileNotFoundError:
            raise RenderError(f"{where} does not exist") from None
        target = entry.get("target")
        if len(documents) == 1 and isinstance(documents[0], list):
            if target is None:
                raise RenderError(f"{where}: a JSON 6902 patch needs a target")
            for item in _selected(objects, target, where):
                _json6902(item, documents[0], where)
        elif documents and all(isinstance(document, dict) for document in documents):
            if target is not None:
                if len(documents) != 1:
                    raise RenderError(f"{where}: several strategic-merge patches cannot share one target")
                for item in _selected(objects, target, where):
                    _strategic_merge(item, documents[0], where)
            else:
                for document in documents:
                    _strategic_merge(_patched_object(objects, document, where), document, where)
        else:
            raise RenderError(f"{where}: neither a strategic-merge patch nor a JSON 6902 operation list")


def _patched_object(objects: list[dict], patch: dict, where: str) -> dict:
    """The one object a strategic-merge patch without a target names (kind and name, and namespace if set)."""
    name = (patch.get("metadata") or {}).get("name")
    namespace = (patch.get("metadata") or {}).get("namespace")
    matches = [item for item in objects
               if item.get("kind") == patch.get("kind") and item["metadata"]["name"] == name
               and item.get("apiVersion") == patch.get("apiVersion")
               and (namespace is None or item["metadata"].get("namespace") == namespace)]
    if len(matches) != 1:
        raise RenderError(f"{where}: {patch.get('apiVersion')} {patch.get('kind')}/{name} matches "
                          f"{len(matches)} objects, not one")
    return matches[0]


def _labels_match(labels: dict, selector: str, where: str) -> bool:
    for term in filter(None, (part.strip() for part in selector.split(","))):
        key, operator, value = re.fullmatch(r"([^=!]+?)\s*(==|=|!=)?\s*([^=!]*)", term).groups()
        if operator not in ("=", "=="):
            raise RenderError(f"{where}: labelSelector term {term!r}: only key=value is supported")
        if labels.get(key) != value:
            return False
    return True


def _selected(objects: list[dict], target: dict, where: str) -> list[dict]:
    unknown = set(target) - _TARGET_FIELDS
    if unknown:
        raise RenderError(f"{where}: target fields {sorted(unknown)} not supported")
    selected = []
    for item in objects:
        group, _, version = item.get("apiVersion", "").rpartition("/")
        metadata = item["metadata"]
        if (("group" in target and target["group"] != group) or ("version" in target and target["version"] != version)
                or ("kind" in target and target["kind"] != item["kind"])
                or ("name" in target and not re.fullmatch(target["name"], metadata["name"]))
                or ("namespace" in target and not re.fullmatch(target["namespace"], metadata.get("namespace", "")))
                or ("labelSelector" in target
                    and not _labels_match(metadata.get("labels") or {}, target["labelSelector"], where))):
            continue
        selected.append(item)
    return selected


def _strategic_merge(item: dict, patch: dict, where: str) -> None:
    """Merges `patch` into `item` in place; identity fields of the patch are not merged."""
    body = {key: value for key, value in patch.items() if key not in ("apiVersion", "kind")}
    metadata = {key: value for key, value in (body.pop("metadata", None) or {}).items()
                if key not in ("name", "namespace")}
    if metadata:
        body["metadata"] = metadata
    keyed = item.get("apiVersion", "").rpartition("/")[0] in _BUILT_IN_GROUPS
    _merge_map(item, body, keyed, where)


def _merge_map(base: dict, patch: dict, keyed: bool, where: str) -> None:
    for key, value in patch.items():
        if key.startswith("$"):
            raise RenderError(f"{where}: strategic-merge directive {key!r} not supported")
        if value is None:
            base.pop(key, None)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge_map(base[key], value, keyed, where)
        elif isinstance(value, list) and isinstance(base.get(key), list) and keyed and _merge_key(key, value):
            _merge_list(base[key], value, _merge_key(key, value), keyed, where)
        else:
            base[key] = copy.deepcopy(value)


def _merge_key(field: str, items: list) -> str | None:
    if field == "ports" and items and all(isinstance(item, dict) for item in items):
        return "containerPort" if "containerPort" in items[0] else "port"
    return _MERGE_KEYS.get(field)


def _merge_list(base: list, patch: list, key: str, keyed: bool, where: str) -> None:
    for element in patch:
        if not isinstance(element, dict) or key not in element:
            raise RenderError(f"{where}: every element of a list merged by {key!r} needs one: {element!r}")
        existing = next((item for item in base if isinstance(item, dict) and item.get(key) == element[key]), None)
        if existing is None:
            base.append(copy.deepcopy(element))
        else:
            _merge_map(existing, element, keyed, where)


def _json6902(item: dict, operations: list, where: str) -> None:
    for operation in operations:
        op, path = operation.get("op"), operation.get("path", "")
        if op not in ("add", "remove", "replace", "test"):
            raise RenderError(f"{where}: JSON 6902 operation {op!r} not supported")
        tokens = [token.replace("~1", "/").replace("~0", "~") for token in path.split("/")[1:]]
        if not path.startswith("/") or not tokens:
            raise RenderError(f"{where}: {path!r} is not a JSON pointer into the object")
        parent = item
        for token in tokens[:-1]:
            parent = _step(parent, token, where, path)
        last = tokens[-1]
        if op == "test":
            if _step(parent, last, where, path) != operation.get("value"):
                raise RenderError(f"{where}: test failed at {path}")
        elif isinstance(parent, list):
            index = len(parent) if (last == "-" and op == "add") else _index(parent, last, where, path, op == "add")
            if op == "add":
                parent.insert(index, copy.deepcopy(operation["value"]))
            elif op == "remove":
                del parent[index]
            else:
                parent[index] = copy.deepcopy(operation["value"])
        elif isinstance(parent, dict):
            if op != "add" and last not in parent:
                raise RenderError(f"{where}: nothing at {path} to {op}")
            if op == "remove":
                del parent[last]
            else:
                parent[last] = copy.deepcopy(operation["value"])
        else:
            raise RenderError(f"{where}: {path} goes through a scalar")


def _index(items: list, token: str, where: str, path: str, adding: bool) -> int:
    if not token.isdigit() or int(token) > len(items) or (int(token) == len(items) and not adding):
        raise RenderError(f"{where}: {path}: no element {token}")
    return int(token)


def _step(node: Any, token: str, where: str, path: str) -> Any:
    if isinstance(node, dict) and token in node:
        return node[token]
    if isinstance(node, list):
        return node[_index(node, token, where, path, adding=False)]
    raise RenderError(f"{where}: {path}: nothing at {token!r}")


# --- namespace and images --------------------------------------------------------------

def _set_namespace(objects: list[dict], namespace: str) -> None:
    for item in objects:
        if item["kind"] not in CLUSTER_SCOPED_KINDS:
            item["metadata"]["namespace"] = namespace


def pod_specs(item: dict) -> list[dict]:
    """The pod specs inside an object (a Pod, a template, a CronJob's job template)."""
    found = []
    for path in _POD_SPEC_PATHS:
        node: Any = item
        for step in path:
            node = node.get(step) if isinstance(node, dict) else None
        if isinstance(node, dict) and "containers" in node:
            found.append(node)
    return found


def _split_image(image: str) -> tuple[str, str, str]:
    """(name, tag, digest) of an image reference; a port in the registry is not a tag."""
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = ""
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    return name, tag, digest


def _set_image(objects: list[dict], image: dict, directory: Path) -> None:
    if set(image) - _IMAGE_FIELDS or "name" not in image:
        raise RenderError(f"{directory}: images entries take name, newName, newTag, digest: {image!r}")
    for item in objects:
        for spec in pod_specs(item):
            for container in [*spec.get("initContainers", []), *spec["containers"]]:
                name, tag, digest = _split_image(container.get("image", ""))
                if name != image["name"]:
                    continue
                name = image.get("newName", name)
                if "digest" in image:
                    container["image"] = f"{name}@{image['digest']}"
                else:
                    tag = image.get("newTag", tag)
                    container["image"] = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
