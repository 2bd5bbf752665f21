"""Checks of the Kubernetes manifests in deploy/k8s.

Every document is validated against the Kubernetes JSON schemas that the
kubernetes-validate package ships, in strict mode so that unknown fields fail.
The other checks tie the manifests to each other and to docker-compose.yml:
probes, Service selectors, commands, ports and settings.
"""

import copy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from shared.settings import Settings

SettingsLoader = Callable[[Mapping[str, str]], Settings]

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST_DIR = REPO_ROOT / "deploy" / "k8s"

# The manifests use only long-stable APIs; 1.33 is the oldest minor version
# they are checked against.
KUBERNETES_VERSION = "1.33"
COMPONENT_LABEL = "app.kubernetes.io/component"
SETTINGS_CONFIG_MAP = "vitrine-settings"
JWT_SECRET_NAME = "vitrine-jwt"
WORKER = "engagement-worker"
TEST_JWT_SECRET = "k8s-test-secret-0123456789-0123456789"


def load_manifests() -> list[tuple[str, dict[str, Any]]]:
    """Return (file name, document) for every YAML document kubectl would apply."""
    manifests = []
    paths = sorted(MANIFEST_DIR.glob("*.yaml")) + sorted(MANIFEST_DIR.glob("*.yml"))
    for path in paths:
        with path.open(encoding="utf-8") as stream:
            for document in yaml.safe_load_all(stream):
                if document is not None:
                    manifests.append((path.name, document))
    return manifests


MANIFESTS = load_manifests()


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {
        document["metadata"]["name"]: document
        for _, document in MANIFESTS
        if document["kind"] == kind
    }


def component(deployment: Mapping[str, Any]) -> str:
    name: str = deployment["spec"]["template"]["metadata"]["labels"][COMPONENT_LABEL]
    return name


def only_container(deployment: Mapping[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, deployment["metadata"]["name"]
    container: dict[str, Any] = containers[0]
    return container


def container_port(container: Mapping[str, Any], port: int | str) -> int | None:
    """Resolve a probe or Service port, by number or by name, to a container port."""
    for declared in container.get("ports", []):
        if port in (declared["containerPort"], declared.get("name")):
            number: int = declared["containerPort"]
            return number
    return None


def plain_env(container: Mapping[str, Any]) -> dict[str, str]:
    return {
        variable["name"]: variable["value"]
        for variable in container.get("env", [])
        if "value" in variable
    }


def selector_problems(
    services: Mapping[str, Mapping[str, Any]],
    deployments: Mapping[str, Mapping[str, Any]],
) -> list[str]:
    """Report Services whose selector matches no Deployment's pods, or several."""
    problems = []
    for name, service in services.items():
        selector = service["spec"]["selector"].items()
        matches = [
            deployment_name
            for deployment_name, deployment in deployments.items()
            if selector <= deployment["spec"]["template"]["metadata"]["labels"].items()
        ]
        if len(matches) != 1:
            problems.append(f"Service {name} selects Deployments {matches}")
    return problems


@pytest.fixture
def compose_commands(
    vitrine_services: dict[str, dict[str, Any]],
) -> dict[str, list[str]]:
    return {name: service["command"] for name, service in vitrine_services.items()}


# Schema validation


def test_manifests_include_core_kinds() -> None:
    kinds = {document["kind"] for _, document in MANIFESTS}

    assert {"ConfigMap", "Deployment", "Service"} <= kinds


@pytest.mark.parametrize(
    "document",
    [document for _, document in MANIFESTS],
    ids=[f"{name}:{doc['kind']}/{doc['metadata']['name']}" for name, doc in MANIFESTS],
)
def test_manifest_matches_kubernetes_schema(document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_schema_rejects_misspelled_probe() -> None:
    deployment = copy.deepcopy(of_kind("Deployment")["vitrine-feed"])
    container = only_container(deployment)
    container["readinesProbe"] = container.pop("readinessProbe")

    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


# Deployments and probes


def test_every_compose_process_has_a_deployment(
    compose_commands: dict[str, list[str]],
) -> None:
    components = sorted(component(d) for d in of_kind("Deployment").values())

    assert components == sorted(compose_commands)


@pytest.mark.parametrize("name", sorted(of_kind("Deployment")))
def test_deployment_selector_matches_its_pods(name: str) -> None:
    deployment = of_kind("Deployment")[name]
    selector = deployment["spec"]["selector"]["matchLabels"].items()
    labels = deployment["spec"]["template"]["metadata"]["labels"].items()

    assert selector <= labels


@pytest.mark.parametrize("name", sorted(of_kind("Deployment")))
def test_deployment_has_http_probes(name: str) -> None:
    deployment = of_kind("Deployment")[name]
    container = only_container(deployment)
    expected_path = "/healthz"

    for probe_name in ("readinessProbe", "livenessProbe"):
        probe = container.get(probe_name)
        assert probe is not None, probe_name
        assert probe["httpGet"]["path"] == expected_path, probe_name
        assert container_port(container, probe["httpGet"]["port"]), probe_name


@pytest.mark.parametrize("name", sorted(of_kind("Deployment")))
def test_container_command_matches_compose(
    compose_commands: dict[str, list[str]], name: str
) -> None:
    deployment = of_kind("Deployment")[name]
    container = only_container(deployment)

    assert container["command"] == compose_commands[component(deployment)]


@pytest.mark.parametrize("name", sorted(of_kind("Deployment")))
def test_container_port_matches_compose(
    vitrine_services: dict[str, dict[str, Any]], name: str
) -> None:
    deployment = of_kind("Deployment")[name]
    container = only_container(deployment)
    compose_environment = vitrine_services[component(deployment)]["environment"]
    variable = (
        "VITRINE_METRICS_PORT"
        if component(deployment) == WORKER
        else "VITRINE_HTTP_PORT"
    )
    port = int(compose_environment[variable])

    assert plain_env(container)[variable] == str(port)
    assert [declared["containerPort"] for declared in container["ports"]] == [port]


@pytest.mark.parametrize("name", sorted(of_kind("Deployment")))
def test_pod_runs_as_image_user(name: str) -> None:
    deployment = of_kind("Deployment")[name]
    pod_security = deployment["spec"]["template"]["spec"]["securityContext"]
    dockerfile = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")
    image_users = [
        line.split()[1].split(":")[0]
        for line in dockerfile.splitlines()
        if line.startswith("USER ")
    ]

    assert pod_security["runAsNonRoot"] is True
    assert str(pod_security["runAsUser"]) == image_users[-1]


# Services


def test_services_select_one_deployment_each() -> None:
    assert selector_problems(of_kind("Service"), of_kind("Deployment")) == []


def test_selector_mismatch_is_reported() -> None:
    services = copy.deepcopy(of_kind("Service"))
    services["vitrine-feed"]["spec"]["selector"][COMPONENT_LABEL] = "timeline"

    problems = selector_problems(services, of_kind("Deployment"))

    assert problems == ["Service vitrine-feed selects Deployments []"]


def test_every_deployment_has_a_service() -> None:
    deployments = of_kind("Deployment")
    covered = {
        deployment_name
        for service in of_kind("Service").values()
        for deployment_name, deployment in deployments.items()
        if service["spec"]["selector"].items()
        <= deployment["spec"]["template"]["metadata"]["labels"].items()
    }

    assert covered == set(deployments)


@pytest.mark.parametrize("name", sorted(of_kind("Service")))
def test_service_target_port_is_a_container_port(name: str) -> None:
    service = of_kind("Service")[name]
    deployment = next(
        deployment
        for deployment in of_kind("Deployment").values()
        if service["spec"]["selector"].items()
        <= deployment["spec"]["template"]["metadata"]["labels"].items()
    )
    container = only_container(deployment)

    for port in service["spec"]["ports"]:
        target = port.get("targetPort", port["port"])
        assert container_port(container, target) == port["port"], port


# Settings


@pytest.mark.parametrize("name", sorted(of_kind("Deployment")))
def test_deployment_reads_settings_and_secret(name: str) -> None:
    container = only_container(of_kind("Deployment")[name])
    config_maps = [
        source["configMapRef"]["name"]
        for source in container["envFrom"]
        if "configMapRef" in source
    ]
    secret_refs = {
        variable["name"]: variable["valueFrom"]["secretKeyRef"]
        for variable in container["env"]
        if "secretKeyRef" in variable.get("valueFrom", {})
    }

    assert config_maps == [SETTINGS_CONFIG_MAP]
    assert SETTINGS_CONFIG_MAP in of_kind("ConfigMap")
    assert secret_refs == {
        "VITRINE_JWT_SECRET": {"name": JWT_SECRET_NAME, "key": "VITRINE_JWT_SECRET"}
    }


def test_no_secret_manifest_is_applied() -> None:
    # The JWT secret is created by the operator; a manifest here would put a
    # placeholder key into production.
    assert of_kind("Secret") == {}


def test_settings_config_map_holds_no_secret() -> None:
    data = of_kind("ConfigMap")[SETTINGS_CONFIG_MAP]["data"]

    assert "VITRINE_JWT_SECRET" not in data


@pytest.mark.parametrize("name", sorted(of_kind("Deployment")))
def test_deployment_environment_loads_as_production_settings(
    load_settings: SettingsLoader, name: str
) -> None:
    container = only_container(of_kind("Deployment")[name])
    environment = {
        **of_kind("ConfigMap")[SETTINGS_CONFIG_MAP]["data"],
        **plain_env(container),
        "VITRINE_JWT_SECRET": TEST_JWT_SECRET,
    }
    unknown = [
        variable
        for variable in environment
        if variable.removeprefix("VITRINE_").lower() not in Settings.model_fields
    ]

    settings = load_settings(environment)

    assert unknown == []
    assert settings.environment == "production"
    assert settings.dev_tokens_enabled is False
    assert settings.http_host == "0.0.0.0"


def test_internal_urls_name_services() -> None:
    data = of_kind("ConfigMap")[SETTINGS_CONFIG_MAP]["data"]
    services = of_kind("Service")

    for variable, service_name in (
        ("VITRINE_INGEST_URL", "vitrine-ingest"),
        ("VITRINE_COMMERCE_URL", "vitrine-commerce"),
    ):
        port = services[service_name]["spec"]["ports"][0]["port"]
        assert data[variable] == f"http://{service_name}:{port}", variable


def test_ingest_mounts_media_claim() -> None:
    deployment = of_kind("Deployment")["vitrine-ingest"]
    container = only_container(deployment)
    media_dir = of_kind("ConfigMap")[SETTINGS_CONFIG_MAP]["data"]["VITRINE_MEDIA_DIR"]
    volumes = {
        volume["name"]: volume
        for volume in deployment["spec"]["template"]["spec"]["volumes"]
    }
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}

    claim = volumes[mounts[media_dir]]["persistentVolumeClaim"]["claimName"]

    assert claim in of_kind("PersistentVolumeClaim")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
