"""Session fixtures: real Kafka, Redis and MongoDB-protocol servers, and the services.

Without a Docker engine (the team's machines) the servers are local
processes from ``deploy.local``; with one, testcontainers runs them. Either
way they listen on ports of their own, so a running ``make run`` stack is
not disturbed, and every process started here is stopped at the end of the
session, also when tests fail.
"""

import socket
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from deploy.demo.media import write_jpeg, write_mp4
from deploy.local import (
    Endpoints,
    LocalServers,
    ServerPorts,
    ServiceSet,
    docker_available,
)
from shared.settings import Settings

TEST_JWT_SECRET = "vitrine-test-secret-0123456789abcdef0123456789"


def free_ports(count: int) -> list[int]:
    """Ask the kernel for ``count`` distinct free loopback ports.

    Free ports let two test runs on one machine, or a test run beside
    ``make run``, proceed without colliding.
    """
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture(scope="session")
def ports() -> dict[str, int]:
    names = [
        "kafka",
        "kafka_controller",
        "redis",
        "mongodb",
        "ingest",
        "feed",
        "engagement",
        "commerce",
        "engagement-worker",
    ]
    return dict(zip(names, free_ports(len(names)), strict=True))


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vitrine-state")


@pytest.fixture(scope="session")
def endpoints(state_dir: Path, ports: dict[str, int]) -> Iterator[Endpoints]:
    with ExitStack() as stack:
        if docker_available():
            yield stack.enter_context(_containers())
            return
        server_ports = ServerPorts(
            kafka=ports["kafka"],
            kafka_controller=ports["kafka_controller"],
            redis=ports["redis"],
            mongodb=ports["mongodb"],
        )
        servers = stack.enter_context(LocalServers(state_dir, server_ports))
        yield servers.start()


@pytest.fixture(scope="session")
def settings(endpoints: Endpoints) -> Settings:
    return Settings(
        kafka_bootstrap_servers=endpoints.kafka_bootstrap_servers,
        redis_url=endpoints.redis_url,
        mongo_url=endpoints.mongo_url,
    )


@pytest.fixture(scope="session")
def services(
    state_dir: Path, endpoints: Endpoints, ports: dict[str, int]
) -> Iterator[ServiceSet]:
    names = ("ingest", "feed", "engagement", "commerce", "engagement-worker")
    service_ports = {name: ports[name] for name in names}
    environment = {
        **endpoints.as_environment(),
        "VITRINE_ENVIRONMENT": "test",
        "VITRINE_DEV_TOKENS_ENABLED": "true",
        "VITRINE_JWT_SECRET": TEST_JWT_SECRET,
    }
    service_set = ServiceSet(state_dir, environment, service_ports)
    try:
        service_set.start()
        yield service_set
    finally:
        service_set.stop()


@pytest.fixture(scope="session")
def service_urls(services: ServiceSet) -> dict[str, str]:
    names = ("ingest", "feed", "engagement", "commerce")
    return {name: services.url(name) for name in names}


@pytest.fixture(scope="session")
def media_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A real JPEG photograph and a one-second H.264 MP4 made from another."""
    folder = tmp_path_factory.mktemp("upload-media")
    return {
        "jpeg": write_jpeg("chelsea", folder / "chelsea.jpg"),
        "mp4": write_mp4("coffee", folder / "coffee.mp4", seconds=1.0),
    }


@pytest.fixture
def report(capsys: pytest.CaptureFixture[str]) -> Callable[[str], None]:
    """Print a measured figure even while pytest captures output."""

    def write(line: str) -> None:
        with capsys.disabled():
            print(f"\n    {line}", end="")

    return write


class _containers:
    """Kafka, Redis and MongoDB in containers, for machines with a Docker engine.

    NOTE: this path has not run, because no machine of the team has a
    Docker engine. The tests there use the local servers above.
    """

    def __init__(self) -> None:
        from testcontainers.community.kafka import KafkaContainer
        from testcontainers.community.mongodb import MongoDbContainer
        from testcontainers.community.redis import RedisContainer

        # NOTE: testcontainers' Kafka module accepts only Confluent image tags
        # (7.0 and later) for KRaft, so this path runs Kafka 3.9 from
        # cp-kafka 7.9, not the 4.1 broker used everywhere else.
        self._kafka = KafkaContainer("confluentinc/cp-kafka:7.9.0").with_kraft()
        self._redis = RedisContainer("redis:7")
        self._mongo = MongoDbContainer("mongo:8")

    def __enter__(self) -> Endpoints:
        for container in (self._kafka, self._redis, self._mongo):
            container.start()
        redis_host = self._redis.get_container_host_ip()
        redis_port = self._redis.get_exposed_port(6379)
        return Endpoints(
            kafka_bootstrap_servers=self._kafka.get_bootstrap_server(),
            redis_url=f"redis://{redis_host}:{redis_port}/0",
            mongo_url=self._mongo.get_connection_url(),
        )

    def __exit__(self, *exc_info: object) -> None:
        for container in (self._mongo, self._redis, self._kafka):
            container.stop()
