"""The five Vitrine processes: four HTTP services and the engagement worker."""

import functools
import logging
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from deploy.local.processes import LOOPBACK_HOST, ManagedProcess, ProbeError
from deploy.local.servers import stop_all
from deploy.local.state import REPO_ROOT

logger = logging.getLogger(__name__)

# Seconds from spawn until a service must pass its probe. A service's
# /healthz returns 200 only once Kafka, Redis and MongoDB work for it.
READY_TIMEOUT_SECONDS = 120.0
PROBE_TIMEOUT_SECONDS = 2.0
HTTP_PORT_VARIABLE = "VITRINE_HTTP_PORT"


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    module: str
    # The setting that sets the port the process listens on.
    port_variable: str
    readiness_path: str


SERVICE_DEFINITIONS = (
    ServiceDefinition("ingest", "services.ingest", HTTP_PORT_VARIABLE, "/healthz"),
    ServiceDefinition("feed", "services.feed", HTTP_PORT_VARIABLE, "/healthz"),
    ServiceDefinition(
        "engagement", "services.engagement", HTTP_PORT_VARIABLE, "/healthz"
    ),
    ServiceDefinition("commerce", "services.commerce", HTTP_PORT_VARIABLE, "/healthz"),
    # The faust worker's /healthz returns 200 once it owns partitions and
    # has restored its tables, on its metrics port.
    ServiceDefinition(
        "engagement-worker",
        "services.engagement.worker",
        "VITRINE_METRICS_PORT",
        "/healthz",
    ),
)

# Default loopback port of each process, by name.
SERVICE_PORTS: dict[str, int] = {
    "ingest": 8101,
    "feed": 8102,
    "engagement": 8103,
    "commerce": 8104,
    "engagement-worker": 8105,
}


class ServiceSet:
    """Start, reuse and stop the Vitrine service processes of one state directory.

    ``environment`` is added to this process's environment for every service,
    and usually contains ``Endpoints.as_environment()``. Each process also gets
    its own port setting from ``ports``.
    """

    def __init__(
        self,
        state_dir: Path,
        environment: Mapping[str, str],
        ports: Mapping[str, int] | None = None,
        ready_timeout: float = READY_TIMEOUT_SECONDS,
    ) -> None:
        self.state_dir = state_dir
        self.ports = dict(SERVICE_PORTS if ports is None else ports)
        self.ready_timeout = ready_timeout
        self.environment = self.complete_environment(environment)
        self.processes = {
            definition.name: self.build_process(definition)
            for definition in SERVICE_DEFINITIONS
        }

    def url(self, name: str) -> str:
        return f"http://{LOOPBACK_HOST}:{self.ports[name]}"

    def address(self, name: str) -> str:
        """Return the URL to show a user: the API root, or the worker's metrics."""
        definition = next(d for d in SERVICE_DEFINITIONS if d.name == name)
        if definition.port_variable == HTTP_PORT_VARIABLE:
            return self.url(name)
        return f"{self.url(name)}{definition.readiness_path}"

    def complete_environment(self, environment: Mapping[str, str]) -> dict[str, str]:
        """Add service URLs and the media folder unless ``environment`` sets them."""
        defaults = {
            "VITRINE_MEDIA_DIR": str(self.state_dir / "media"),
            "VITRINE_WORKER_DATA_DIR": str(self.state_dir / "engagement-worker"),
            "VITRINE_PUBLIC_MEDIA_URL": f"{self.url('ingest')}/media",
        }
        for definition in SERVICE_DEFINITIONS:
            if definition.port_variable == HTTP_PORT_VARIABLE:
                variable = f"VITRINE_{definition.name.upper()}_URL"
                defaults[variable] = self.url(definition.name)
        return {**defaults, **environment}

    def build_process(self, definition: ServiceDefinition) -> ManagedProcess:
        port = self.ports[definition.name]
        environment = {
            **os.environ,
            **self.environment,
            definition.port_variable: str(port),
            "PYTHONUNBUFFERED": "1",
        }
        url = f"{self.url(definition.name)}{definition.readiness_path}"
        return ManagedProcess(
            definition.name,
            self.state_dir,
            probe=http_probe(url),
            probe_description=f"GET {definition.readiness_path}",
            ports=(port,),
            cwd=REPO_ROOT,
            environment=environment,
        )

    def start(self) -> None:
        """Start all five processes, then wait until each passes its probe.

        If one fails, stop the processes that this call started and raise.
        """
        started: list[ManagedProcess] = []
        try:
            for definition in SERVICE_DEFINITIONS:
                process = self.processes[definition.name]
                prepare = functools.partial(module_command, definition.module)
                if process.launch(prepare):
                    started.append(process)
            for process in self.processes.values():
                process.wait_ready(self.ready_timeout)
        except BaseException:
            if started:
                logger.warning(
                    "stopping %s because a service failed to start",
                    ", ".join(process.name for process in started),
                )
                stop_all(started)
            raise

    def start_one(self, name: str) -> None:
        """Start one process unless it runs, and wait until it is ready."""
        definition = next(d for d in SERVICE_DEFINITIONS if d.name == name)
        prepare = functools.partial(module_command, definition.module)
        self.processes[name].start(prepare, timeout=self.ready_timeout)

    def stop(self) -> None:
        """Stop every service recorded in this state directory's pid files."""
        stop_all(reversed(self.processes.values()))

    def pids(self) -> dict[str, int | None]:
        return {name: process.pid() for name, process in self.processes.items()}


def http_probe(url: str) -> Callable[[], None]:
    """Build a probe that expects 200 from GET ``url``."""

    def probe() -> None:
        try:
            response = httpx.get(url, timeout=PROBE_TIMEOUT_SECONDS)
        except httpx.HTTPError as error:
            raise ProbeError(f"GET {url} failed: {error!r}") from error
        if response.status_code != httpx.codes.OK:
            raise ProbeError(
                f"GET {url} returned {response.status_code}: {response.text[:300]}"
            )

    return probe


def module_command(module: str) -> list[str]:
    return [sys.executable, "-m", module]
