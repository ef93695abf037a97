"""Kubernetes manifests and Temporal Helm values: schema-valid, pinned, wired to the code.

Static checks only, no cluster and no kubectl. Overlays are rendered by tests/deploy/kustomize.py
and every object is validated against the Kubernetes OpenAPI schemas bundled in
kubernetes-validate (strict: unknown fields fail). KEDA's ScaledObject is a CRD those schemas do
not include, so it gets the structural checks in `check_scaled_object` instead.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType
from typing import Any

import kubernetes_validate
import pytest
import yaml

from workflows.search_attributes import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
OVERLAYS = sorted(p.parent for p in (K8S / "overlays").glob("*/kustomization.yaml"))
HELM_VALUES = ROOT / "deploy" / "helm" / "temporal-values.yaml"
KUBERNETES_VERSION = "1.30"  # oldest minor we support; newer clusters accept these objects too
CRDS = {("keda.sh/v1alpha1", "ScaledObject")}
SHUTDOWN_ANNOTATION = "oms.example.com/graceful-shutdown-seconds"

Manifest = dict[str, Any]


def validate(manifest: Manifest) -> None:
    """Schema-validate a built-in object, or structurally check a known CRD."""
    if (manifest["apiVersion"], manifest["kind"]) in CRDS:
        check_scaled_object(manifest)
    else:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def check_scaled_object(obj: Manifest) -> None:
    """The fields KEDA needs, with the types it accepts (trigger metadata is a string map)."""
    spec = obj["spec"]
    assert isinstance(spec["scaleTargetRef"]["name"], str)
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "temporal"
    metadata = trigger["metadata"]
    assert {"endpoint", "namespace", "taskQueue", "targetQueueSize"} <= set(metadata)
    assert all(isinstance(v, str) for v in metadata.values()), "KEDA metadata values are strings"
    assert re.fullmatch(r"[\w.-]+:\d+", metadata["endpoint"])
    assert int(metadata["targetQueueSize"]) > 0
    assert set(metadata.get("queueTypes", "workflow").split(",")) <= {"workflow", "activity"}


@pytest.fixture(scope="module", params=[p.name for p in OVERLAYS])
def rendered(request: pytest.FixtureRequest, kustomize: ModuleType) -> list[Manifest]:
    """One overlay, rendered."""
    return kustomize.render(K8S / "overlays" / request.param)


def one(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    """The single object of this kind and name."""
    (match,) = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    return match


def raw_manifest_files() -> list[Path]:
    """Every complete manifest file (patch fragments in overlays are checked once applied)."""
    return sorted(p for p in BASE.glob("*.yaml") if p.name != "kustomization.yaml")


def test_overlays_exist() -> None:
    """dev and prod, nothing accidental."""
    assert [p.name for p in OVERLAYS] == ["dev", "prod"]


@pytest.mark.parametrize("path", raw_manifest_files(), ids=lambda p: p.name)
def test_raw_manifests_are_valid(path: Path, kustomize: ModuleType) -> None:
    """Each base file on its own, as `kubectl apply -f` would see it."""
    for manifest in kustomize.load_documents(path):
        validate(manifest)


def test_rendered_overlay_is_valid(rendered: list[Manifest]) -> None:
    """Every object the overlay produces."""
    assert rendered
    for manifest in rendered:
        validate(manifest)


def test_overlay_sets_namespace_and_tag(rendered: list[Manifest], kustomize: ModuleType) -> None:
    """Everything lands in the overlay's namespace; OMS images carry the overlay's tag."""
    namespaces = {m["metadata"].get("namespace") for m in rendered}
    assert len(namespaces) == 1 and None not in namespaces, namespaces
    for manifest in rendered:
        for container in kustomize.containers(manifest):
            assert kustomize.is_pinned(container["image"]), container["image"]
    api_image = one(rendered, "Deployment", "oms-api")["spec"]["template"]["spec"]
    worker_image = one(rendered, "Deployment", "oms-worker")["spec"]["template"]["spec"]
    migrate_image = one(rendered, "Job", "oms-migrate")["spec"]["template"]["spec"]
    images = {spec["containers"][0]["image"] for spec in (api_image, worker_image, migrate_image)}
    assert len(images) == 1, f"api, worker and migrations must run one build: {images}"


def test_env_names_are_settings_fields(
    rendered: list[Manifest], settings_env_names: set[str]
) -> None:
    """ConfigMap and Secret keys, and explicit OMS_* env, are all Settings fields."""
    config = one(rendered, "ConfigMap", "oms-config")["data"]
    secret = yaml.safe_load((BASE / "secret.yaml").read_text())["stringData"]
    explicit = {
        env["name"]
        for m in rendered
        for c in (m.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []))
        for env in c.get("env", [])
    }
    used = set(config) | set(secret) | {n for n in explicit if n.startswith("OMS_")}
    assert used <= settings_env_names, used - settings_env_names
    assert all(isinstance(v, str) for v in config.values()), "ConfigMap values must be strings"
    assert not set(config) & set(secret), "a key in both would depend on envFrom order"


def test_secret_is_a_template_only(rendered: list[Manifest]) -> None:
    """The committed Secret holds placeholders and is never applied over the real one."""
    (secret,) = yaml.safe_load_all((BASE / "secret.yaml").read_text())
    assert secret["metadata"]["annotations"]["oms.example.com/placeholder"] == "true"
    assert all("REPLACE_ME" in value for value in secret["stringData"].values())
    assert not [m for m in rendered if m["kind"] == "Secret"]


def test_processes_and_probes(rendered: list[Manifest]) -> None:
    """api/worker/migrate run the `oms` subcommands; only the API has HTTP probes."""
    api = one(rendered, "Deployment", "oms-api")["spec"]["template"]["spec"]["containers"][0]
    worker = one(rendered, "Deployment", "oms-worker")["spec"]["template"]["spec"]["containers"][0]
    migrate = one(rendered, "Job", "oms-migrate")["spec"]["template"]["spec"]["containers"][0]
    assert (api["args"], worker["args"], migrate["args"]) == (["api"], ["worker"], ["migrate"])
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert api[probe]["httpGet"]["path"] == "/healthz", probe
    liveness, readiness = api["livenessProbe"], api["readinessProbe"]
    assert liveness["periodSeconds"] * liveness["failureThreshold"] >= 120, "liveness too eager"
    assert readiness["failureThreshold"] <= liveness["failureThreshold"]
    assert not any(p in worker for p in ("readinessProbe", "livenessProbe", "startupProbe"))


def test_worker_outlives_its_drain(
    rendered: list[Manifest], graceful_shutdown_seconds: int
) -> None:
    """The kubelet waits longer than the worker's graceful shutdown before SIGKILL."""
    worker = one(rendered, "Deployment", "oms-worker")
    documented = int(worker["metadata"]["annotations"][SHUTDOWN_ANNOTATION])
    assert documented == graceful_shutdown_seconds, "annotation out of date with workers/"
    grace = worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > graceful_shutdown_seconds > 0


def test_pods_are_locked_down(rendered: list[Manifest], kustomize: ModuleType) -> None:
    """Non-root, no privilege escalation, requests and limits on every container."""
    for manifest in rendered:
        spec = kustomize.pod_spec(manifest)
        if spec is None:
            continue
        name = manifest["metadata"]["name"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] > 0, name
        for container in kustomize.containers(manifest):
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"], name
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), name
            assert "memory" in resources["limits"], name


def test_autoscaling(rendered: list[Manifest]) -> None:
    """API on CPU (HPA v2); workers on backlog of the queue they actually poll (KEDA)."""
    hpa = one(rendered, "HorizontalPodAutoscaler", "oms-api")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "oms-api",
    }
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"

    config = one(rendered, "ConfigMap", "oms-config")["data"]
    scaled = one(rendered, "ScaledObject", "oms-worker")
    metadata = scaled["spec"]["triggers"][0]["metadata"]
    assert scaled["spec"]["scaleTargetRef"]["name"] == "oms-worker"
    assert metadata["endpoint"] == config["OMS_TEMPORAL_ADDRESS"]
    assert metadata["namespace"] == config["OMS_TEMPORAL_NAMESPACE"]
    assert metadata["taskQueue"] == config["OMS_TASK_QUEUE"]
    for name in ("oms-api", "oms-worker"):
        assert "replicas" not in one(rendered, "Deployment", name)["spec"], f"{name}: autoscaled"


def test_search_attribute_job_matches_the_code(rendered: list[Manifest]) -> None:
    """The attributes registered in the cluster are exactly those the workflows upsert."""
    job = one(rendered, "Job", "oms-temporal-search-attributes")
    script = job["spec"]["template"]["spec"]["containers"][0]["args"][0]
    match = re.search(r"SEARCH_ATTRIBUTES=\(([^)]*)\)", script)
    assert match
    assert dict(entry.split("=", 1) for entry in match.group(1).split()) == REGISTRY


def test_helm_values_for_temporal(kustomize: ModuleType) -> None:
    """Parse, PostgreSQL for both stores, a stated shard count with the reason it is fixed."""
    text = HELM_VALUES.read_text()
    values = yaml.safe_load(text)
    config = values["server"]["config"]
    assert isinstance(config["numHistoryShards"], int) and config["numHistoryShards"] >= 4
    assert "never be changed" in text and "new cluster" in text
    for store in ("default", "visibility"):
        assert config["persistence"][store]["driver"] == "sql"
        assert config["persistence"][store]["sql"]["driver"] == "postgres12"
        assert "password" not in config["persistence"][store]["sql"], "use existingSecret"
    (namespace,) = config["namespaces"]["namespace"]
    assert config["namespaces"]["create"] is True
    assert re.fullmatch(r"\d+h", namespace["retention"])
    for component in (values["server"], values["admintools"], values["web"]):
        image = component["image"]
        assert kustomize.is_pinned(f"{image['repository']}:{image['tag']}")
    codec = {e["name"]: e["value"] for e in values["web"]["additionalEnv"]}
    assert codec["TEMPORAL_CODEC_ENDPOINT"].endswith("/codec")


def test_helm_namespace_is_the_one_the_oms_uses(rendered: list[Manifest]) -> None:
    """The namespace Helm creates is the one the OMS and KEDA talk to."""
    values = yaml.safe_load(HELM_VALUES.read_text())
    created = {ns["name"] for ns in values["server"]["config"]["namespaces"]["namespace"]}
    assert one(rendered, "ConfigMap", "oms-config")["data"]["OMS_TEMPORAL_NAMESPACE"] in created


def test_renderer_semantics(tmp_path: Path, kustomize: ModuleType) -> None:
    """The helper merges like kustomize for what we use: named lists, images, replicas, ns."""
    base = tmp_path / "base"
    overlay = tmp_path / "overlay"
    base.mkdir()
    overlay.mkdir()
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "a", "image": "r/x:1", "env": [{"name": "K", "value": "1"}]},
                        {"name": "b", "image": "r/y:1"},
                    ]
                }
            }
        },
    }
    (base / "d.yaml").write_text(yaml.safe_dump(deployment))
    (base / "kustomization.yaml").write_text("resources: [d.yaml]\n")
    patch = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"template": {"spec": {"containers": [{"name": "a", "env": [
            {"name": "K", "value": "2"}, {"name": "L", "value": "3"}]}]}}},
    }  # fmt: skip
    (overlay / "p.yaml").write_text(yaml.safe_dump(patch))
    (overlay / "kustomization.yaml").write_text(
        "resources: [../base]\nnamespace: ns\npatches: [{path: p.yaml}]\n"
        "images: [{name: r/x, newTag: '2'}]\nreplicas: [{name: d, count: 3}]\n"
    )
    (out,) = kustomize.render(overlay)
    a, b = out["spec"]["template"]["spec"]["containers"]
    assert a["env"] == [{"name": "K", "value": "2"}, {"name": "L", "value": "3"}]
    assert (a["image"], b["image"]) == ("r/x:2", "r/y:1")
    assert (out["spec"]["replicas"], out["metadata"]["namespace"]) == (3, "ns")

    (overlay / "kustomization.yaml").write_text("resources: [../base]\nnamePrefix: x-\n")
    with pytest.raises(ValueError, match="not supported"):
        kustomize.render(overlay)


def test_temporal_versions_agree_everywhere(kustomize: ModuleType) -> None:
    """Compose, the Helm values and the OMS jobs use one server, one admin-tools, one UI build.

    The schema tool must match the server it prepares, so admin-tools carries the server version.
    """
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    values = yaml.safe_load(HELM_VALUES.read_text())
    job = yaml.safe_load((BASE / "temporal-search-attributes-job.yaml").read_text())
    found: dict[str, set[str]] = {"server": set(), "admin-tools": set(), "ui": set()}
    images = [s["image"] for s in compose.values()]
    images += [c["image"] for c in job["spec"]["template"]["spec"]["containers"]]
    images += [f"{values[k]['image']['repository']}:{values[k]['image']['tag']}" for k in values
               if k in ("server", "admintools", "web")]  # fmt: skip
    for image in images:
        name, tag, _ = kustomize.split_image(image)
        if name.startswith("temporalio/"):
            found[name.removeprefix("temporalio/")].add(tag)
    assert all(len(tags) == 1 for tags in found.values()), found
    (server,), (admin_tools,) = found["server"], found["admin-tools"]
    assert admin_tools.startswith(f"{server}-"), (server, admin_tools)
