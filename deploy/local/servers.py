"""The servers Vitrine needs locally: Kafka, Redis and a MongoDB-protocol server."""

import logging
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from deploy.local.errors import StartupCancelledError, StopError
from deploy.local.kafka_broker import KafkaBroker
from deploy.local.mongodb_server import MongoServer
from deploy.local.processes import ManagedProcess
from deploy.local.redis_server import RedisServer

logger = logging.getLogger(__name__)

# Seconds from spawn until a server must pass its probe. The Maven download on
# first use happens before the spawn and is not counted.
READY_TIMEOUT_SECONDS = 180.0


class LocalServer(Protocol):
    name: str
    process: ManagedProcess

    def prepare(self) -> list[str]: ...


@dataclass(frozen=True)
class ServerPorts:
    """Loopback ports of the local servers."""

    kafka: int = 19092
    kafka_controller: int = 19093
    redis: int = 16379
    mongodb: int = 17017


@dataclass(frozen=True)
class Endpoints:
    """Addresses at which clients reach the local servers."""

    kafka_bootstrap_servers: str
    redis_url: str
    mongo_url: str

    def as_environment(self) -> dict[str, str]:
        """Return the VITRINE_* settings that point Vitrine at these servers."""
        return {
            "VITRINE_KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "VITRINE_REDIS_URL": self.redis_url,
            "VITRINE_MONGO_URL": self.mongo_url,
        }


class LocalServers:
    """Start, reuse and stop Kafka, Redis and the MongoDB-protocol server.

    Each server keeps its data under ``state_dir``. A server that an earlier
    ``start`` left running in the same state directory is reused.
    """

    def __init__(
        self,
        state_dir: Path,
        ports: ServerPorts = ServerPorts(),
        ready_timeout: float = READY_TIMEOUT_SECONDS,
    ) -> None:
        self.state_dir = state_dir
        self.ports = ports
        self.ready_timeout = ready_timeout
        self.kafka = KafkaBroker(state_dir, ports.kafka, ports.kafka_controller)
        self.redis = RedisServer(state_dir, ports.redis)
        self.mongodb = MongoServer(state_dir, ports.mongodb)
        self.servers: tuple[LocalServer, ...] = (self.kafka, self.redis, self.mongodb)
        # Seconds from spawn (or, for a reused server, from the check) to the
        # first correct probe response, by server name.
        self.ready_seconds: dict[str, float] = {}

    @property
    def endpoints(self) -> Endpoints:
        return Endpoints(
            kafka_bootstrap_servers=self.kafka.bootstrap_servers,
            redis_url=self.redis.url,
            mongo_url=self.mongodb.url,
        )

    def start(self) -> Endpoints:
        """Start the servers concurrently and wait until each passes its probe.

        If one fails, stop the servers that this call started and raise the
        first error, which names the server and its log files.
        """
        cancel = threading.Event()
        started: list[LocalServer] = []
        errors: list[BaseException] = []

        with ThreadPoolExecutor(len(self.servers), "start-server") as pool:
            futures = [
                pool.submit(self._start_server, server, started, cancel)
                for server in self.servers
            ]
            try:
                for future in as_completed(futures):
                    error = future.exception()
                    if error is not None:
                        cancel.set()
                        errors.append(error)
            except BaseException:
                # Interrupted (for example by Ctrl-C): let the other starts give
                # up, then stop what they spawned.
                cancel.set()
                wait(futures)
                stop_all(server.process for server in started)
                raise

        if errors:
            self._stop_and_raise(started, errors)
        return self.endpoints

    def stop(self) -> None:
        """Stop every server recorded in this state directory's pid files."""
        stop_all(server.process for server in self.servers)

    def pids(self) -> dict[str, int | None]:
        return {server.name: server.process.pid() for server in self.servers}

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _start_server(
        self, server: LocalServer, started: list[LocalServer], cancel: threading.Event
    ) -> None:
        if cancel.is_set():
            raise StartupCancelledError(
                f"{server.name}: not started because another failed"
            )
        if server.process.launch(server.prepare):
            started.append(server)
        elapsed = server.process.wait_ready(self.ready_timeout, cancel)
        self.ready_seconds[server.name] = elapsed

    def _stop_and_raise(
        self, started: list[LocalServer], errors: list[BaseException]
    ) -> None:
        real_errors = [e for e in errors if not isinstance(e, StartupCancelledError)]
        first = real_errors[0] if real_errors else errors[0]
        for error in real_errors[1:]:
            logger.error("%s", error)
        if started:
            logger.warning(
                "stopping %s because a server failed to start",
                ", ".join(server.name for server in started),
            )
            stop_all(server.process for server in started)
        raise first


def stop_all(processes: Iterable[ManagedProcess]) -> None:
    """Stop the processes concurrently, then raise the first StopError, if any."""
    process_list = list(processes)
    if not process_list:
        return
    with ThreadPoolExecutor(len(process_list), "stop-process") as pool:
        futures = [pool.submit(process.stop) for process in process_list]
    errors = [error for error in (f.exception() for f in futures) if error is not None]
    if not errors:
        return

    for error in errors[1:]:
        logger.error("%s", error)
    first = errors[0]
    if isinstance(first, StopError):
        raise first
    raise StopError(f"stopping a process failed: {first!r}") from first
