"""deploy/k8s: every manifest validates against the Kubernetes JSON schemas (strict: unknown
fields fail), offline, with the schemas shipped in the ``kubernetes-validate`` wheel; and the
objects fit together (selectors, names, probes, security)."""

from __future__ import annotations

import pytest
import yaml

from tests.deploy.tools import REPO, missing_tool, require_tool

K8S = REPO / "deploy" / "k8s"
MANIFESTS = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
#: The oldest Kubernetes minor still commonly run, and the newest the validator knows.
VERSIONS = ("1.29.0", "latest")


def _documents(path):
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


ALL = [(path, doc) for path in MANIFESTS for doc in _documents(path)]


def _by_kind(kind):
    return [doc for _, doc in ALL if doc["kind"] == kind]


@pytest.fixture(scope="module")
def kubernetes_validate():
    try:
        import kubernetes_validate
    except ImportError:
        missing_tool("kubernetes-validate not installed: pip install kubernetes-validate")
    return kubernetes_validate


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("path", "document"),
    ALL,
    ids=[f"{p.name}:{d['kind']}/{d['metadata']['name']}" for p, d in ALL],
)
def test_manifest_validates_against_the_kubernetes_schema(
    kubernetes_validate, path, document, version
):
    from kubernetes_validate.utils import latest_version

    target = f"{latest_version()}.0" if version == "latest" else version
    try:
        kubernetes_validate.validate(document, target, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(p) for p in exc.path)
        pytest.fail(f"{path.name}: {document['kind']} {where}: {exc.message}")


def test_the_validator_rejects_an_unknown_field(kubernetes_validate):
    deployment = yaml.safe_load(yaml.safe_dump(_by_kind("Deployment")[0]))
    deployment["spec"]["replica"] = 3
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.29.0", strict=True)


def test_kustomization_lists_the_manifests_but_the_optional_ones():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    optional = {"secret.example.yaml", "redis.yaml"}
    assert listed == {p.name for p in MANIFESTS} - optional
    assert "# - redis.yaml" in (K8S / "kustomization.yaml").read_text()
    assert kustomization["images"][0]["name"] == "agentcontainers"


def test_api_deployment_is_replicated_probed_and_unprivileged():
    api = next(d for d in _by_kind("Deployment") if d["metadata"]["name"] == "agentcontainers-api")
    assert api["spec"]["replicas"] >= 2
    pod = api["spec"]["template"]["spec"]
    assert pod["enableServiceLinks"] is False  # no injected *_SERVICE_HOST (MCP targets)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    container = pod["containers"][0]
    assert "args" not in container and "command" not in container  # the entrypoint serves
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    refs = {ref.get("secretRef", {}).get("name") for ref in container["envFrom"]}
    assert "agentcontainers-secrets" in refs
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts["/mnt/state"]]["persistentVolumeClaim"]["claimName"] == (
        "agentcontainers-state"
    )
    assert "/tmp" in mounts  # read-only root: scratch space on an emptyDir


def test_services_select_their_pods():
    deployments = _by_kind("Deployment")
    for service in _by_kind("Service"):
        selector = service["spec"]["selector"]
        matching = [
            d
            for d in deployments
            if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(matching) == 1, f"service {service['metadata']['name']} selects {matching}"
        ports = {p["name"] for c in matching[0]["spec"]["template"]["spec"]["containers"]
                 for p in c.get("ports", [])}  # fmt: skip
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports


def test_shared_state_volume_is_read_write_many():
    claim = next(
        d for d in _by_kind("PersistentVolumeClaim")
        if d["metadata"]["name"] == "agentcontainers-state"
    )  # fmt: skip
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


def test_secret_example_has_the_keys_the_pods_need():
    secret = _documents(K8S / "secret.example.yaml")[0]
    assert secret["metadata"]["name"] == "agentcontainers-secrets"
    assert {"ANTHROPIC_API_KEY", "AGENTCONTAINERS_API_KEYS"} <= set(secret["stringData"])


def _api_env(deployment):
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item for item in container.get("env", [])}


def test_replicated_api_requires_the_shared_database():
    # SQLite over a network volume is not safe across machines: without PostgreSQL the pods
    # must not start (a required secretKeyRef), rather than corrupt the session index.
    api = next(d for d in _by_kind("Deployment") if d["metadata"]["name"] == "agentcontainers-api")
    ref = _api_env(api)["AGENTCONTAINERS_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert ref["name"] == "agentcontainers-secrets" and not ref.get("optional", False)
    secret = _documents(K8S / "secret.example.yaml")[0]
    assert secret["stringData"]["AGENTCONTAINERS_DATABASE_URL"].startswith("postgresql://")


def _kustomize(directory):
    import subprocess

    kubectl = require_tool("kubectl", "kubectl (apt: kubectl)", optional=True)
    out = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def test_single_replica_overlay_runs_one_api_pod_on_sqlite(kubernetes_validate):
    base = _kustomize(K8S)
    overlay = _kustomize(REPO / "deploy" / "k8s-single-replica")
    for document in overlay:
        kubernetes_validate.validate(document, "1.29.0", strict=True)
    api = next(d for d in overlay if d["metadata"]["name"] == "agentcontainers-api"
               and d["kind"] == "Deployment")  # fmt: skip
    assert api["spec"]["replicas"] == 1
    assert api["spec"]["strategy"] == {"type": "Recreate"}  # never two pods on one SQLite file
    assert "AGENTCONTAINERS_DATABASE_URL" not in _api_env(api)
    assert "AGENTCONTAINERS_MCP_URL" in _api_env(api)  # the rest of the env is kept
    kinds = {(d["kind"], d["metadata"]["name"]) for d in overlay}
    assert ("HorizontalPodAutoscaler", "agentcontainers-api") not in kinds
    assert ("PodDisruptionBudget", "agentcontainers-api") not in kinds
    # everything else is the base, unchanged
    removed = {("HorizontalPodAutoscaler", "agentcontainers-api"),
               ("PodDisruptionBudget", "agentcontainers-api")}  # fmt: skip
    assert {(d["kind"], d["metadata"]["name"]) for d in base} - removed == kinds
