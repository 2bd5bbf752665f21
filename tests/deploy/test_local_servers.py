"""The local launcher against real Kafka, Redis and MongoDB-protocol servers.

One set of servers runs for the whole module, on free ports in a temporary
state directory, so a developer's running stack is not touched. The first run
on a machine resolves the Kafka jars with Maven, which downloads them.
"""

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pymongo
import pytest
import redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from deploy.local import LocalServers, ManagedProcess, ServerPorts, docker_available
from deploy.local.errors import PortInUseError, StartupError
from deploy.local.processes import ProbeError
from deploy.local.state import REPO_ROOT

KAFKA_TIMEOUT_SECONDS = 60.0


def free_ports(count: int) -> list[int]:
    """Return loopback ports that are free now, all different."""
    with ExitStack() as stack:
        sockets = []
        for _ in range(count):
            listener = stack.enter_context(socket.socket())
            listener.bind(("127.0.0.1", 0))
            sockets.append(listener)
        return [listener.getsockname()[1] for listener in sockets]


def port_is_free(port: int) -> bool:
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def process_exists(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def process_running(pid: int) -> bool:
    """Return whether the pid is a live process. A zombie has exited."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    state = stat[stat.rindex(")") + 2]
    return state != "Z"


def group_exists(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def random_ports() -> ServerPorts:
    kafka, controller, redis_port, mongodb = free_ports(4)
    return ServerPorts(kafka, controller, redis_port, mongodb)


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vitrine-state")


@pytest.fixture(scope="module")
def ports() -> ServerPorts:
    return random_ports()


@pytest.fixture(scope="module")
def servers(state_dir: Path, ports: ServerPorts) -> Iterator[LocalServers]:
    local_servers = LocalServers(state_dir, ports)
    local_servers.start()
    yield local_servers
    local_servers.stop()


async def test_kafka_produce_consume_round_trip(servers: LocalServers) -> None:
    bootstrap = servers.endpoints.kafka_bootstrap_servers
    topic = f"launcher-check-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(topic, num_partitions=1, replication_factor=1)]
        )
    finally:
        await admin.close()

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, key=b"post-1", value=b"hello")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"launcher-check-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), KAFKA_TIMEOUT_SECONDS)
    finally:
        await consumer.stop()

    assert record.key == b"post-1"
    assert record.value == b"hello"


def test_redis_set_get(servers: LocalServers) -> None:
    client = redis.Redis.from_url(servers.endpoints.redis_url)
    try:
        client.set("launcher-check", "42")
        value = client.get("launcher-check")
    finally:
        client.close()

    assert value == b"42"


def test_mongodb_insert_find(servers: LocalServers) -> None:
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
        servers.endpoints.mongo_url, serverSelectionTimeoutMS=5000
    )
    try:
        collection = client["launcher_check"]["posts"]
        collection.insert_one({"_id": "post-1", "caption": "hello"})
        found = collection.find_one({"_id": "post-1"})
    finally:
        client.close()

    assert found == {"_id": "post-1", "caption": "hello"}


def test_endpoints_environment(servers: LocalServers, ports: ServerPorts) -> None:
    environment = servers.endpoints.as_environment()

    assert environment == {
        "VITRINE_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{ports.kafka}",
        "VITRINE_REDIS_URL": f"redis://127.0.0.1:{ports.redis}/0",
        "VITRINE_MONGO_URL": f"mongodb://127.0.0.1:{ports.mongodb}",
    }


def test_start_again_reuses_servers(
    servers: LocalServers, state_dir: Path, ports: ServerPorts
) -> None:
    pids_before = servers.pids()

    endpoints = LocalServers(state_dir, ports).start()

    assert endpoints == servers.endpoints
    assert None not in pids_before.values()
    assert servers.pids() == pids_before


def test_kafka_broker_logs_to_data_folder(servers: LocalServers) -> None:
    server_log = servers.kafka.server_log_path.read_text()

    assert "Kafka Server started" in server_log


def test_failed_start_stops_other_servers(tmp_path: Path) -> None:
    ports = random_ports()
    local_servers = LocalServers(tmp_path, ports)

    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", ports.kafka))
        occupant.listen()
        with pytest.raises(PortInUseError) as raised:
            local_servers.start()

    assert "kafka" in str(raised.value)
    assert str(ports.kafka) in str(raised.value)
    assert local_servers.pids() == {"kafka": None, "redis": None, "mongodb": None}
    assert port_is_free(ports.redis)
    assert port_is_free(ports.mongodb)


def test_early_exit_names_log_file(tmp_path: Path) -> None:
    def never_ready() -> None:
        raise ProbeError("not ready")

    process = ManagedProcess(
        "short-lived", tmp_path, probe=never_ready, probe_description="a request"
    )
    script = "print('configuration invalid'); raise SystemExit(3)"

    with pytest.raises(StartupError) as raised:
        process.start(lambda: [sys.executable, "-c", script], timeout=30)

    message = str(raised.value)
    assert "exited with code 3" in message
    assert str(tmp_path / "logs" / "short-lived.log") in message
    assert "configuration invalid" in message
    assert not process.pid_path.exists()


def test_stop_kills_group_after_timeout(tmp_path: Path) -> None:
    child_pid_path = tmp_path / "child.pid"
    # The parent starts a child that ignores SIGTERM, so only SIGKILL to the
    # process group ends it.
    child_code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "time.sleep(600)"
    )
    parent_code = (
        "import subprocess, sys, time; "
        f"child = subprocess.Popen([sys.executable, '-c', {child_code!r}]); "
        f"open({str(child_pid_path)!r}, 'w').write(str(child.pid)); "
        "time.sleep(600)"
    )

    def child_started() -> None:
        if not child_pid_path.exists():
            raise ProbeError("child not started")

    process = ManagedProcess(
        "group", tmp_path, probe=child_started, probe_description="a child pid file"
    )
    process.start(lambda: [sys.executable, "-c", parent_code], timeout=30)
    parent_pid = process.pid()
    child_pid = int(child_pid_path.read_text())

    stopped = process.stop(timeout=1.0)

    assert stopped
    assert parent_pid is not None
    assert not process_exists(parent_pid)
    assert not group_exists(parent_pid)
    # The child was re-parented to the init process, where it may stay a
    # zombie for a moment.
    deadline = time.monotonic() + 5.0
    while process_running(child_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not process_running(child_pid)
    assert not process.pid_path.exists()


def test_status_reports_stopped_state_dir(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "deploy.local", "status", "--state-dir", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    lines = result.stdout.splitlines()
    assert result.returncode == 3
    assert len(lines) == 8
    assert all(" stopped " in line for line in lines)


def test_docker_available_without_engine() -> None:
    if Path("/var/run/docker.sock").exists() or os.environ.get("DOCKER_HOST"):
        pytest.skip("this machine has a Docker socket or sets DOCKER_HOST")

    assert docker_available() is False


def test_docker_available_silent_socket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    socket_path = tmp_path / "docker.sock"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{socket_path}")

    # A Unix socket that accepts connections but never sends an HTTP response.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(socket_path))
        listener.listen()
        available = docker_available()

    assert available is False


# Runs last in this module because it stops the shared servers.
def test_stop_leaves_no_process(
    servers: LocalServers, state_dir: Path, ports: ServerPorts
) -> None:
    pids = servers.pids()

    # A new instance stops from the pid files alone, as `down` does.
    LocalServers(state_dir, ports).stop()

    for name, pid in pids.items():
        assert pid is not None, name
        assert not process_exists(pid), name
        assert not group_exists(pid), name
    assert list((state_dir / "run").glob("*.pid")) == []
    assert port_is_free(ports.kafka)
    assert port_is_free(ports.kafka_controller)
    assert port_is_free(ports.redis)
    assert port_is_free(ports.mongodb)
