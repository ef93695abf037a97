"""A pure-Python renderer for the subset of kustomize our overlays use (no kubectl here).

Supported kustomization fields: `resources` (files and directories), `patches` with `path`
(strategic-merge patches matched by kind and name), `namespace`, `images` (newName/newTag) and
`replicas`. Anything else raises, so an overlay cannot silently depend on a feature this
renderer would ignore; `kubectl kustomize` renders the same files the same way.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]

SUPPORTED = {"apiVersion", "kind", "resources", "patches", "namespace", "images", "replicas"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


def load_documents(path: Path) -> list[Manifest]:
    """Every non-empty YAML document in `path`."""
    with path.open() as f:
        return [doc for doc in yaml.safe_load_all(f) if doc]


def render(directory: Path) -> list[Manifest]:
    """The manifests `kubectl kustomize directory` would print, for our subset."""
    kustomization = load_documents(directory / "kustomization.yaml")[0]
    unsupported = set(kustomization) - SUPPORTED
    if unsupported:
        raise ValueError(f"{directory}: kustomization fields not supported: {unsupported}")

    manifests: list[Manifest] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        manifests += render(path) if path.is_dir() else load_documents(path)
    manifests = copy.deepcopy(manifests)

    for patch_ref in kustomization.get("patches", []):
        if set(patch_ref) != {"path"}:
            raise ValueError(f"{directory}: only `patches: - path:` is supported: {patch_ref}")
        for patch in load_documents(directory / patch_ref["path"]):
            target = find(manifests, patch["kind"], patch["metadata"]["name"])
            merged = strategic_merge(target, patch)
            target.clear()
            target.update(merged)

    for image in kustomization.get("images", []):
        _set_image(manifests, image)
    for replica in kustomization.get("replicas", []):
        find(manifests, "Deployment", replica["name"])["spec"]["replicas"] = replica["count"]
    if "namespace" in kustomization:
        for manifest in manifests:
            if manifest["kind"] not in CLUSTER_SCOPED:
                manifest["metadata"]["namespace"] = kustomization["namespace"]
    return manifests


def find(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    """The one manifest with this kind and name (a patch target must exist, like kustomize)."""
    matches = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    if len(matches) != 1:
        raise LookupError(f"expected one {kind}/{name}, found {len(matches)}")
    return matches[0]


def strategic_merge(base: Any, patch: Any) -> Any:
    """Merge `patch` into `base`: maps recursively, lists of named maps by `name`, else replace.

    This is strategic-merge-patch for the fields we patch (containers, env, ports, volumes and
    volumeMounts all merge on `name`); a null value deletes the key, as in kustomize.
    """
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = strategic_merge(merged[key], value)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    if _named_list(base) and _named_list(patch):
        merged_list = [copy.deepcopy(item) for item in base]
        index = {item["name"]: i for i, item in enumerate(merged_list)}
        for item in patch:
            if item["name"] in index:
                i = index[item["name"]]
                merged_list[i] = strategic_merge(merged_list[i], item)
            else:
                merged_list.append(copy.deepcopy(item))
        return merged_list
    return copy.deepcopy(patch)


def pod_spec(manifest: Manifest) -> Manifest | None:
    """The pod spec of a workload (Deployment, Job), None for other kinds."""
    template = manifest.get("spec", {}).get("template")
    return template["spec"] if template else None


def containers(manifest: Manifest) -> list[Manifest]:
    """Init and regular containers of a workload."""
    spec = pod_spec(manifest)
    if spec is None:
        return []
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def _named_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, dict) and "name" in item for item in value)
    )


def _set_image(manifests: list[Manifest], image: Manifest) -> None:
    for manifest in manifests:
        for container in containers(manifest):
            name, tag, _ = split_image(container["image"])
            if name != image["name"]:
                continue
            name = image.get("newName", name)
            if "digest" in image:  # like kustomize, a digest replaces the tag
                container["image"] = f"{name}@{image['digest']}"
            else:
                container["image"] = f"{name}:{image.get('newTag', tag)}"


def split_image(reference: str) -> tuple[str, str, str]:
    """(name, tag, digest) of an image reference; missing parts are ''."""
    reference, _, digest = reference.partition("@")
    last = reference.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = reference.rsplit(":", 1)
        return name, tag, digest
    return reference, "", digest


def is_pinned(image: str) -> bool:
    """A sha256 digest, or an explicit tag that is not `latest`."""
    _, tag, digest = split_image(image)
    if digest:
        return digest.startswith("sha256:") and len(digest) == len("sha256:") + 64
    return bool(tag) and tag != "latest"
