"""Checks of docker-compose.yml, deploy/prometheus and the Dockerfile.

The schema check uses the Compose Specification JSON schema that the
check-jsonschema package vendors, so it runs without network access. The
other checks cover what a schema cannot see: references between services,
the ports and commands of the interface spec, and the settings the Vitrine
processes receive.
"""

import copy
import importlib.resources
import importlib.util
import json
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from jsonschema.protocols import Validator

from shared.settings import Settings

SettingsLoader = Callable[[Mapping[str, str]], Settings]

REPO_ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_FILE = REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"

VITRINE_COMMANDS = {
    "ingest": ["python", "-m", "services.ingest"],
    "feed": ["python", "-m", "services.feed"],
    "engagement": ["python", "-m", "services.engagement"],
    "engagement-worker": ["python", "-m", "services.engagement.worker"],
    "commerce": ["python", "-m", "services.commerce"],
}
HTTP_PORTS = {"ingest": 8101, "feed": 8102, "engagement": 8103, "commerce": 8104}
WORKER = "engagement-worker"
WORKER_METRICS_PORT = 8105
INFRASTRUCTURE = ("kafka", "redis", "mongo")

# Host port from the interface spec, and the container port it forwards to.
PUBLISHED_PORTS = {
    "kafka": (19092, 19092),
    "redis": (16379, 6379),
    "mongo": (17017, 27017),
    "prometheus": (19090, 9090),
    "ingest": (8101, 8101),
    "feed": (8102, 8102),
    "engagement": (8103, 8103),
    "commerce": (8104, 8104),
    WORKER: (WORKER_METRICS_PORT, WORKER_METRICS_PORT),
}

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error} and ${NAME?error}
INTERPOLATION = re.compile(
    r"\$\{(?P<name>\w+)(?:(?P<operator>:?[-?])(?P<word>[^}]*))?\}"
)
TEST_JWT_SECRET = "compose-test-secret-0123456789-0123456789"


# Compose Specification schema


def compose_schema() -> dict[str, Any]:
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads(
        (vendor / "compose-spec.json").read_text("utf-8")
    )
    return schema


@pytest.fixture(scope="module")
def compose_validator() -> Validator:
    schema = compose_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator: Validator = validator_class(schema)
    return validator


def schema_errors(validator: Validator, document: Any) -> list[str]:
    return [
        f"{error.json_path}: {error.message}"
        for error in validator.iter_errors(document)
    ]


# Checks that a schema cannot express


def missing_healthchecks(compose: Mapping[str, Any]) -> list[str]:
    missing = []
    for name, service in compose["services"].items():
        healthcheck = service.get("healthcheck") or {}
        test = healthcheck.get("test")
        if not test or healthcheck.get("disable") or test in ("NONE", ["NONE"]):
            missing.append(name)
    return missing


def dependency_problems(compose: Mapping[str, Any]) -> list[str]:
    services = compose["services"]
    problems = []
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        if isinstance(depends_on, list):
            problems.append(f"{name}: depends_on is a list, so no condition is set")
            continue
        for target, options in depends_on.items():
            if target not in services:
                problems.append(f"{name}: depends_on names unknown service {target!r}")
                continue
            if options.get("condition") != "service_healthy":
                problems.append(
                    f"{name}: depends_on {target} has condition "
                    f"{options.get('condition')!r}, expected 'service_healthy'"
                )
            if target in missing_healthchecks({"services": {target: services[target]}}):
                problems.append(
                    f"{name}: depends_on {target}, which has no healthcheck"
                )
    return problems


def published_ports(service: Mapping[str, Any]) -> set[tuple[int, int]]:
    """Return (host port, container port) pairs from short and long syntax."""
    pairs = set()
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            if "published" in entry:
                pairs.add((int(entry["published"]), int(entry["target"])))
            continue
        parts = str(entry).split("/")[0].rsplit(":", 2)
        if len(parts) >= 2:
            pairs.add((int(parts[-2]), int(parts[-1])))
    return pairs


def scrape_targets(config: Mapping[str, Any]) -> Iterator[tuple[str, str, int]]:
    """Yield (job, host, port) for each static target."""
    for job in config["scrape_configs"]:
        for group in job.get("static_configs", []):
            for target in group["targets"]:
                host, _, port = target.rpartition(":")
                yield job["job_name"], host, int(port)


def listening_port(name: str, service: Mapping[str, Any]) -> int:
    environment = service["environment"]
    if name == WORKER:
        return int(environment["VITRINE_METRICS_PORT"])
    return int(environment["VITRINE_HTTP_PORT"])


def prometheus_target_problems(
    compose: Mapping[str, Any], config: Mapping[str, Any]
) -> list[str]:
    services = compose["services"]
    problems = []
    for job, host, port in scrape_targets(config):
        if host not in services:
            problems.append(f"job {job}: target host {host!r} is not a compose service")
            continue
        if "build" in services[host] and port != listening_port(host, services[host]):
            problems.append(
                f"job {job}: target port {port} is not the port {host} listens on"
            )
    return problems


def interpolate(value: str, variables: Mapping[str, str]) -> str:
    """Apply Compose variable interpolation to ``value``.

    Raises KeyError for a required variable (``${NAME:?error}``) that is unset.
    """

    def substitute(match: re.Match[str]) -> str:
        name, operator, word = match.group("name", "operator", "word")
        current = variables.get(name)
        # The forms with a colon also treat an empty value as unset.
        if operator and operator.startswith(":"):
            missing = not current
        else:
            missing = current is None
        if missing and operator in (":-", "-"):
            return str(word)
        if missing and operator in (":?", "?"):
            raise KeyError(f"{name} is required: {word}")
        return current or ""

    return INTERPOLATION.sub(substitute, value)


def service_environment(
    service: Mapping[str, Any], variables: Mapping[str, str]
) -> dict[str, str]:
    return {
        name: interpolate(str(value), variables)
        for name, value in service["environment"].items()
    }


def host_and_port(address: str) -> tuple[str, int]:
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    assert parts.hostname is not None, f"no host in {address!r}"
    assert parts.port is not None, f"no port in {address!r}"
    return parts.hostname, parts.port


def container_ports(service: Mapping[str, Any]) -> set[int]:
    return {container for _, container in published_ports(service)}


# Schema validation


def test_compose_file_matches_compose_spec(
    compose_validator: Validator, compose: dict[str, Any]
) -> None:
    assert schema_errors(compose_validator, compose) == []


def test_schema_rejects_unknown_healthcheck_key(
    compose_validator: Validator, compose: dict[str, Any]
) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["ingest"]["healthcheck"]["intervall"] = "5s"

    errors = schema_errors(compose_validator, broken)

    assert any("intervall" in error for error in errors), errors


def test_schema_rejects_unknown_depends_on_condition(
    compose_validator: Validator, compose: dict[str, Any]
) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["feed"]["depends_on"] = {"kafka": {"condition": "service_ready"}}

    errors = schema_errors(compose_validator, broken)

    assert [error.split(":")[0] for error in errors] == ["$.services.feed.depends_on"]


def test_schema_rejects_misspelled_service_key(
    compose_validator: Validator, compose: dict[str, Any]
) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["redis"]["healtcheck"] = broken["services"]["redis"].pop(
        "healthcheck"
    )

    errors = schema_errors(compose_validator, broken)

    assert any("healtcheck" in error for error in errors), errors


# Health checks and dependencies


def test_every_service_has_healthcheck(compose: dict[str, Any]) -> None:
    assert missing_healthchecks(compose) == []


def test_missing_healthcheck_is_reported(compose: dict[str, Any]) -> None:
    broken = copy.deepcopy(compose)
    del broken["services"]["commerce"]["healthcheck"]

    assert missing_healthchecks(broken) == ["commerce"]


def test_depends_on_targets_exist_and_are_healthy(compose: dict[str, Any]) -> None:
    assert dependency_problems(compose) == []


def test_unknown_depends_on_target_is_reported(compose: dict[str, Any]) -> None:
    broken = copy.deepcopy(compose)
    # The services share one depends_on mapping through a YAML merge key, so
    # the broken service gets its own copy.
    depends_on = dict(broken["services"]["feed"]["depends_on"])
    depends_on["postgres"] = {"condition": "service_healthy"}
    broken["services"]["feed"]["depends_on"] = depends_on

    problems = dependency_problems(broken)

    assert problems == ["feed: depends_on names unknown service 'postgres'"]


@pytest.mark.parametrize("name", sorted(VITRINE_COMMANDS))
def test_vitrine_service_waits_for_infrastructure(
    vitrine_services: dict[str, dict[str, Any]], name: str
) -> None:
    depends_on = vitrine_services[name]["depends_on"]

    for dependency in INFRASTRUCTURE:
        assert depends_on.get(dependency) == {"condition": "service_healthy"}, (
            dependency
        )


@pytest.mark.parametrize("name", sorted(HTTP_PORTS))
def test_http_service_healthcheck_calls_healthz(
    vitrine_services: dict[str, dict[str, Any]], name: str
) -> None:
    service = vitrine_services[name]
    test = service["healthcheck"]["test"]
    port = int(service["environment"]["VITRINE_HTTP_PORT"])

    assert port == HTTP_PORTS[name]
    assert test[:3] == ["CMD", "python", "-c"]
    assert f"'http://127.0.0.1:{port}/healthz'" in test[3]


def test_worker_healthcheck_reads_health_on_metrics_port(
    vitrine_services: dict[str, dict[str, Any]],
) -> None:
    service = vitrine_services[WORKER]
    test = service["healthcheck"]["test"]
    port = int(service["environment"]["VITRINE_METRICS_PORT"])

    assert port == WORKER_METRICS_PORT
    assert test[:3] == ["CMD", "python", "-c"]
    assert f"'http://127.0.0.1:{port}/healthz'" in test[3]


# Processes, image and ports


def test_vitrine_processes_are_the_spec_processes(
    vitrine_services: dict[str, dict[str, Any]],
) -> None:
    assert sorted(vitrine_services) == sorted(VITRINE_COMMANDS)


@pytest.mark.parametrize("name", sorted(VITRINE_COMMANDS))
def test_vitrine_service_command(
    vitrine_services: dict[str, dict[str, Any]], name: str
) -> None:
    assert vitrine_services[name]["command"] == VITRINE_COMMANDS[name]


@pytest.mark.parametrize("name", sorted(VITRINE_COMMANDS))
def test_command_module_exists(name: str) -> None:
    module = VITRINE_COMMANDS[name][2]

    assert importlib.util.find_spec(module) is not None, module


def test_vitrine_services_share_one_image(
    vitrine_services: dict[str, dict[str, Any]],
) -> None:
    for name, service in vitrine_services.items():
        assert service["build"] == {"context": ".", "dockerfile": "Dockerfile"}, name
    images = {service["image"] for service in vitrine_services.values()}

    assert len(images) == 1
    assert DOCKERFILE.is_file()


@pytest.mark.parametrize("name", sorted(PUBLISHED_PORTS))
def test_spec_port_is_published(compose: dict[str, Any], name: str) -> None:
    assert PUBLISHED_PORTS[name] in published_ports(compose["services"][name])


def test_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    used = set()
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if not source.startswith((".", "/")):
                used.add(source)

    assert used <= declared
    assert {"kafka-data", "redis-data", "mongo-data", "media"} <= used


def test_bind_mount_sources_exist(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if source.startswith("."):
                assert (REPO_ROOT / source).exists(), f"{name}: {source} does not exist"


def test_ingest_mounts_media_volume(
    vitrine_services: dict[str, dict[str, Any]],
) -> None:
    ingest = vitrine_services["ingest"]
    media_dir = ingest["environment"]["VITRINE_MEDIA_DIR"]

    assert f"media:{media_dir}" in ingest["volumes"]


# Settings passed to the Vitrine processes


def test_jwt_secret_is_a_required_variable(
    vitrine_services: dict[str, dict[str, Any]],
) -> None:
    for name, service in vitrine_services.items():
        value = service["environment"]["VITRINE_JWT_SECRET"]
        assert re.fullmatch(r"\$\{VITRINE_JWT_SECRET:\?[^}]+\}", value), name


def test_missing_jwt_secret_stops_interpolation(
    vitrine_services: dict[str, dict[str, Any]],
) -> None:
    with pytest.raises(KeyError, match="VITRINE_JWT_SECRET"):
        service_environment(vitrine_services["ingest"], {})


@pytest.mark.parametrize("name", sorted(VITRINE_COMMANDS))
def test_environment_loads_as_production_settings(
    vitrine_services: dict[str, dict[str, Any]],
    load_settings: SettingsLoader,
    name: str,
) -> None:
    environment = service_environment(
        vitrine_services[name], {"VITRINE_JWT_SECRET": TEST_JWT_SECRET}
    )
    unknown = [
        variable
        for variable in environment
        if variable.removeprefix("VITRINE_").lower() not in Settings.model_fields
    ]

    settings = load_settings(environment)

    assert unknown == []
    assert settings.environment == "production"
    assert settings.jwt_secret == TEST_JWT_SECRET
    assert settings.dev_tokens_enabled is False
    assert settings.http_host == "0.0.0.0"


@pytest.mark.parametrize("name", sorted(VITRINE_COMMANDS))
def test_environment_addresses_compose_services(
    compose: dict[str, Any],
    vitrine_services: dict[str, dict[str, Any]],
    name: str,
) -> None:
    services = compose["services"]
    environment = service_environment(
        vitrine_services[name], {"VITRINE_JWT_SECRET": TEST_JWT_SECRET}
    )

    kafka_host, kafka_port = host_and_port(
        environment["VITRINE_KAFKA_BOOTSTRAP_SERVERS"]
    )
    advertised = services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert kafka_host == "kafka"
    assert f"PLAINTEXT://{kafka_host}:{kafka_port}" in advertised.split(",")

    redis_host, redis_port = host_and_port(environment["VITRINE_REDIS_URL"])
    assert redis_host == "redis"
    assert redis_port in container_ports(services[redis_host])

    mongo_host, mongo_port = host_and_port(environment["VITRINE_MONGO_URL"])
    assert mongo_host == "mongo"
    assert mongo_port in container_ports(services[mongo_host])

    for variable, target in (
        ("VITRINE_INGEST_URL", "ingest"),
        ("VITRINE_COMMERCE_URL", "commerce"),
    ):
        host, port = host_and_port(environment[variable])
        assert host == target, variable
        assert port == listening_port(target, services[target]), variable


# Kafka single-node settings


def test_kafka_runs_one_combined_kraft_node(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    environment = kafka["environment"]
    listeners = dict(
        listener.split("://") for listener in environment["KAFKA_LISTENERS"].split(",")
    )
    protocols = dict(
        pair.split(":")
        for pair in environment["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    controller = environment["KAFKA_CONTROLLER_LISTENER_NAMES"]

    assert kafka["image"] == "apache/kafka:4.1.1"
    assert set(environment["KAFKA_PROCESS_ROLES"].split(",")) == {
        "broker",
        "controller",
    }
    assert set(listeners) <= set(protocols)
    assert controller in listeners
    assert environment["KAFKA_CONTROLLER_QUORUM_VOTERS"] == (
        f"{environment['KAFKA_NODE_ID']}@kafka{listeners[controller]}"
    )
    assert listeners["HOST"] == ":19092"
    assert "HOST://localhost:19092" in environment["KAFKA_ADVERTISED_LISTENERS"]


def test_kafka_internal_topics_fit_one_broker(compose: dict[str, Any]) -> None:
    environment = compose["services"]["kafka"]["environment"]

    for variable in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR",
    ):
        assert environment[variable] == "1", variable
    assert environment["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"] == "0"


def test_kafka_healthcheck_uses_bundled_script(compose: dict[str, Any]) -> None:
    test = compose["services"]["kafka"]["healthcheck"]["test"]

    assert test[0] == "CMD-SHELL"
    assert test[1].startswith("/opt/kafka/bin/kafka-broker-api-versions.sh ")


# Prometheus scrape configuration


@pytest.fixture
def prometheus_config() -> dict[str, Any]:
    with PROMETHEUS_FILE.open(encoding="utf-8") as stream:
        config = yaml.safe_load(stream)
    assert isinstance(config, dict), f"{PROMETHEUS_FILE} is not a YAML mapping"
    return config


def test_prometheus_targets_are_compose_services(
    compose: dict[str, Any], prometheus_config: dict[str, Any]
) -> None:
    assert prometheus_target_problems(compose, prometheus_config) == []


def test_prometheus_scrapes_every_vitrine_process(
    prometheus_config: dict[str, Any],
) -> None:
    targets = {(host, port) for _, host, port in scrape_targets(prometheus_config)}
    expected = {**HTTP_PORTS, WORKER: WORKER_METRICS_PORT}

    assert targets == set(expected.items())


def test_prometheus_scrapes_metrics_path(prometheus_config: dict[str, Any]) -> None:
    for job in prometheus_config["scrape_configs"]:
        assert job.get("metrics_path", "/metrics") == "/metrics", job["job_name"]


def test_unknown_prometheus_target_is_reported(
    compose: dict[str, Any], prometheus_config: dict[str, Any]
) -> None:
    broken = copy.deepcopy(prometheus_config)
    broken["scrape_configs"][0]["static_configs"][0]["targets"] = ["search:8106"]

    problems = prometheus_target_problems(compose, broken)

    assert len(problems) == 1
    assert "'search' is not a compose service" in problems[0]


def test_prometheus_config_is_mounted(compose: dict[str, Any]) -> None:
    volumes = compose["services"]["prometheus"]["volumes"]

    assert (
        "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro"
        in volumes
    )


# The image the Vitrine services run


def dockerfile_arguments(instruction: str) -> list[str]:
    """Return the arguments of each ``instruction`` line in the Dockerfile.

    Continuation lines are joined first; comment lines are skipped.
    """
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, arguments = line.partition(" ")
        if keyword.upper() == instruction:
            found.append(arguments.strip())
    return found


def test_dockerfile_builds_on_python_slim() -> None:
    bases = dockerfile_arguments("FROM")

    assert bases
    assert all(base.split()[0] == "python:3.11-slim" for base in bases)


def test_dockerfile_installs_project_without_extras() -> None:
    installs = [run for run in dockerfile_arguments("RUN") if "pip install" in run]

    assert len(installs) == 1
    assert installs[0].split()[-1] == "."


def test_dockerfile_copies_every_package() -> None:
    pyproject = tomllib.loads(
        (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    )
    patterns = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    copied = {
        source.rstrip("/")
        for arguments in dockerfile_arguments("COPY")
        if not arguments.startswith("--from")
        for source in arguments.split()[:-1]
    }
    ignored = set(DOCKERIGNORE.read_text(encoding="utf-8").splitlines())

    for pattern in patterns:
        package = pattern.rstrip("*")
        assert package in copied, package
        assert package not in ignored, package
    assert "README.md" not in ignored
    assert "pyproject.toml" not in ignored


def test_dockerfile_runs_as_non_root_user() -> None:
    users = dockerfile_arguments("USER")

    assert users
    uid = users[-1].split(":")[0]
    assert uid.isdigit()
    assert int(uid) != 0


def test_dockerfile_media_volume_matches_settings(
    vitrine_services: dict[str, dict[str, Any]],
) -> None:
    volumes = dockerfile_arguments("VOLUME")
    media_dir = vitrine_services["ingest"]["environment"]["VITRINE_MEDIA_DIR"]

    assert volumes == [json.dumps([media_dir])]
