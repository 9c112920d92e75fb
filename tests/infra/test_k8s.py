"""infra/k8s: the manifests against Kubernetes' own schemas (strict: an unknown or misspelt field
fails), the fields a safe CronJob needs, and the Dockerfile (hadolint, slim base, non-root, no
build tools in the final stage). The image itself is not built here: there is no container
daemon; the command it runs is run for real in test_schedulers.py."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from handler.config.settings import Settings
from handler.config.values import env_name

K8S = Path(__file__).resolve().parents[2] / "infra" / "k8s"
# The oldest Kubernetes the manifests are for (CronJob timeZone is GA from 1.27).
KUBERNETES_VERSION = "1.30"


def manifests() -> dict[str, dict[str, Any]]:
    documents = {}
    for path in sorted(K8S.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            name = document.get("metadata", {}).get("name", path.stem)
            documents[f"{document['kind']}/{name}"] = document
    return documents


def pod_spec() -> dict[str, Any]:
    cronjob = manifests()["CronJob/kafka-beat"]
    return dict(cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"])


def dockerfile_stages() -> list[list[str]]:
    """Instructions per stage, continuation lines joined, comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in (K8S / "Dockerfile").read_text().splitlines():
        if raw.lstrip().startswith("#") or not raw.strip():
            continue
        pending += raw.rstrip("\\").strip() + " "
        if not raw.endswith("\\"):
            lines.append(pending.strip())
            pending = ""
    stages: list[list[str]] = []
    for line in lines:
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


@pytest.mark.parametrize("name", sorted(manifests()))
def test_manifest_is_valid_kubernetes(name: str) -> None:
    if name.startswith("Kustomization/"):
        return
    kubernetes_validate.validate(manifests()[name], KUBERNETES_VERSION, strict=True)


def test_cronjob_runs_one_at_a_time_with_bounded_retries_and_resources() -> None:
    cronjob = manifests()["CronJob/kafka-beat"]["spec"]
    job = cronjob["jobTemplate"]["spec"]
    assert cronjob["concurrencyPolicy"] == "Forbid"
    assert 0 < job["backoffLimit"] <= 3
    assert pod_spec()["restartPolicy"] == "Never"
    (container,) = pod_spec()["containers"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind])
    budget = float(manifests()["ConfigMap/kafka-beat-config"]["data"]["KAFKA_BEAT_MAX_SECONDS"])
    assert job["activeDeadlineSeconds"] >= budget + 120, "time to store and commit after"


def test_a_stopped_run_has_its_grace_and_every_run_ends_before_the_next_tick() -> None:
    cronjob = manifests()["CronJob/kafka-beat"]["spec"]
    job = cronjob["jobTemplate"]["spec"]
    data = manifests()["ConfigMap/kafka-beat-config"]["data"]
    settings = Settings(**{name.removeprefix("KAFKA_BEAT_").lower(): v for name, v in data.items()})
    killed_after = pod_spec()["terminationGracePeriodSeconds"]
    # SIGTERM, then SIGKILL: the grace (storing, the commit, leaving the group) fits before it.
    assert killed_after >= settings.stop_grace_seconds + 5
    # Stopped at the deadline at the latest, gone before the schedule's next tick.
    assert cronjob["schedule"] == "*/15 * * * *"
    assert job["activeDeadlineSeconds"] + killed_after < 15 * 60
    rules = job["podFailurePolicy"]["rules"]
    assert {
        "action": "Ignore",
        "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}],
    } in rules


def test_pod_is_non_root_with_a_read_only_root_filesystem() -> None:
    spec = pod_spec()
    (container,) = spec["containers"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] >= 1000
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]], "spool files need a writable /tmp"
    namespace = manifests()["Namespace/kafka-beat"]["metadata"]["labels"]
    assert namespace["pod-security.kubernetes.io/enforce"] == "restricted"


def test_settings_come_from_the_configmap_and_secrets_from_a_secret() -> None:
    (container,) = pod_spec()["containers"]
    sources = container["envFrom"]
    config = manifests()["ConfigMap/kafka-beat-config"]
    secret = manifests()["Secret/kafka-beat-secrets"]
    assert {"configMapRef": {"name": config["metadata"]["name"]}} in sources
    assert any(s.get("secretRef", {}).get("name") == secret["metadata"]["name"] for s in sources)
    assert "env" not in container, "no setting or secret inline in the CronJob"
    known = {env_name(field) for field in Settings.model_fields}
    assert set(config["data"]) <= known
    assert Settings(
        **{name.removeprefix("KAFKA_BEAT_").lower(): v for name, v in config["data"].items()}
    )
    assert set(secret["stringData"]) <= known | {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


def test_kustomization_applies_every_manifest_but_the_secret_example() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    files = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == files - {"secret.example.yaml"}
    (container,) = pod_spec()["containers"]
    assert [image["name"] for image in kustomization["images"]] == [container["image"]]


def test_kustomize_renders_the_image_and_namespace() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    rendered = {d["kind"]: d for d in yaml.safe_load_all(result.stdout)}
    spec = rendered["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert spec["containers"][0]["image"] == "registry.example.com/kafka-beat:0.1.0"
    assert {d["metadata"].get("namespace") for k, d in rendered.items() if k != "Namespace"} == {
        "kafka-beat"
    }


def test_dockerfile_passes_hadolint() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run(
        [str(hadolint), str(K8S / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_is_slim_non_root_and_keeps_no_build_tools() -> None:
    stages = dockerfile_stages()
    # The native encoder is compiled in a Rust stage of its own; the image is built from
    # Python's slim one, which the final stage copies the venv into.
    assert stages[0][0] == "FROM rust:${RUST_VERSION}-slim-bookworm AS native"
    assert all(stage[0].startswith("FROM python:${PYTHON_VERSION}-slim") for stage in stages[1:])
    final = stages[-1]
    text = " ".join(final).lower()
    for tool in ("apt-get install", "gcc", "build-essential", "pip install"):
        assert tool not in text, f"the final stage has {tool}"
    assert "pip uninstall" in text, "pip does not stay in the image"
    copies = [line for line in final if line.startswith("COPY")]
    assert copies == ["COPY --from=build /opt/kafka-beat /opt/kafka-beat"]
    user = next(line for line in final if line.startswith("USER")).split()[1]
    uid = int(user.split(":")[0])
    assert uid >= 1000
    assert uid == pod_spec()["securityContext"]["runAsUser"]
