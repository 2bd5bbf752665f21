"""A single-node Apache Kafka broker in KRaft combined mode, run from Maven jars.

Files under ``<state>/kafka``: ``libs/`` (the jars that deploy/kafka/pom.xml
resolves), ``server.properties``, ``log4j2.xml``, ``cluster-id``, the broker's
own log ``server.log`` and the log directory ``data/``.
"""

import asyncio
import hashlib
import logging
import shutil
import socket
import subprocess
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from xml.sax.saxutils import quoteattr

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from deploy.local.errors import InstallError, StartupError
from deploy.local.processes import LOOPBACK_HOST, ManagedProcess, ProbeError

logger = logging.getLogger(__name__)

POM_PATH = Path(__file__).resolve().parent.parent / "kafka" / "pom.xml"
KAFKA_JAR_PATTERN = "kafka_2.13-*.jar"
LIBS_MARKER_NAME = ".resolved-from-pom"

MAVEN_TIMEOUT_SECONDS = 30 * 60.0
STORAGE_TOOL_TIMEOUT_SECONDS = 120.0
PROBE_TIMEOUT_MS = 3000

JVM_OPTIONS = (
    "-Xms256m",
    "-Xmx512m",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)

T = TypeVar("T")

LOG4J2_TEMPLATE = """\
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="warn">
  <Appenders>
    <RollingFile name="server" fileName={file_name} filePattern={file_pattern}>
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
      <Policies>
        <SizeBasedTriggeringPolicy size="50 MB"/>
      </Policies>
      <DefaultRolloverStrategy max="3"/>
    </RollingFile>
  </Appenders>
  <Loggers>
    <Logger name="kafka.request.logger" level="warn"/>
    <Root level="info">
      <AppenderRef ref="server"/>
    </Root>
  </Loggers>
</Configuration>
"""


class KafkaBroker:
    """The local Kafka broker and controller, one JVM on two loopback ports."""

    name = "kafka"

    def __init__(self, state_dir: Path, port: int, controller_port: int) -> None:
        self.port = port
        self.controller_port = controller_port
        self.home = state_dir / "kafka"
        self.libs_dir = self.home / "libs"
        self.data_dir = self.home / "data"
        self.properties_path = self.home / "server.properties"
        self.log4j_config_path = self.home / "log4j2.xml"
        self.server_log_path = self.home / "server.log"
        self.cluster_id_path = self.home / "cluster-id"
        self.maven_log_path = self.home / "maven.log"
        self.process = ManagedProcess(
            self.name,
            state_dir,
            probe=self.probe,
            probe_description="a metadata request",
            ports=(port, controller_port),
            cwd=self.home,
            extra_log_paths=(self.server_log_path,),
        )

    @property
    def bootstrap_servers(self) -> str:
        return f"{LOOPBACK_HOST}:{self.port}"

    def prepare(self) -> list[str]:
        """Install the jars, write the configuration, format the log directory.

        Return the command that runs the broker.
        """
        self.home.mkdir(parents=True, exist_ok=True)
        self.install()
        self.write_configuration()
        self.format_storage()
        return self.java_command("kafka.Kafka", str(self.properties_path))

    def install(self) -> None:
        """Resolve the broker's jars with Maven unless libs/ matches the current pom."""
        fingerprint = hashlib.sha256(POM_PATH.read_bytes()).hexdigest()
        marker = self.libs_dir / LIBS_MARKER_NAME
        if marker.is_file() and marker.read_text().strip() == fingerprint:
            return

        maven = require_executable("mvn", "Maven 3 (Debian package maven)")
        if self.libs_dir.exists():
            shutil.rmtree(self.libs_dir)

        logger.info(
            "resolving the Kafka jars with Maven into %s; the first run downloads "
            "them and can take minutes (log %s)",
            self.libs_dir,
            self.maven_log_path,
        )
        started = time.monotonic()
        self.run_maven(maven)
        if not any(self.libs_dir.glob(KAFKA_JAR_PATTERN)):
            raise InstallError(
                f"Maven finished but {self.libs_dir} has no {KAFKA_JAR_PATTERN}; "
                f"see {self.maven_log_path}"
            )
        marker.write_text(fingerprint + "\n")
        logger.info(
            "resolved %d Kafka jars in %.1f s",
            len(list(self.libs_dir.glob("*.jar"))),
            time.monotonic() - started,
        )

    def run_maven(self, maven: str) -> None:
        command = [
            maven,
            "-q",
            "-B",
            "-f",
            str(POM_PATH),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={self.libs_dir}",
        ]
        with self.maven_log_path.open("wb") as maven_log:
            try:
                result = subprocess.run(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=maven_log,
                    stderr=subprocess.STDOUT,
                    timeout=MAVEN_TIMEOUT_SECONDS,
                    check=False,
                )
            except subprocess.TimeoutExpired as error:
                raise InstallError(
                    f"Maven did not finish within {MAVEN_TIMEOUT_SECONDS:.0f} s; "
                    f"see {self.maven_log_path}"
                ) from error
        if result.returncode != 0:
            raise InstallError(
                f"Maven failed with exit code {result.returncode} while resolving "
                f"{POM_PATH}; see {self.maven_log_path}"
            )

    def write_configuration(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.properties_path.write_text(self.render_properties())
        self.log4j_config_path.write_text(
            LOG4J2_TEMPLATE.format(
                file_name=quoteattr(str(self.server_log_path)),
                file_pattern=quoteattr(f"{self.server_log_path}.%i"),
            )
        )

    def render_properties(self) -> str:
        controller = f"{LOOPBACK_HOST}:{self.controller_port}"
        properties = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{controller}",
            "listeners": (
                f"PLAINTEXT://{self.bootstrap_servers},CONTROLLER://{controller}"
            ),
            "advertised.listeners": f"PLAINTEXT://{self.bootstrap_servers}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": (
                "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
            ),
            "log.dirs": str(self.data_dir),
            # One broker: every internal topic gets one replica.
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # Consumer groups form at once instead of after the 3 s default.
            "group.initial.rebalance.delay.ms": "0",
            # The default 128 MiB buffer would take a quarter of the 512 MiB heap.
            "log.cleaner.dedupe.buffer.size": str(16 * 1024 * 1024),
        }
        lines = [f"{key}={escape_property(value)}" for key, value in properties.items()]
        return "\n".join(lines) + "\n"

    def format_storage(self) -> None:
        """Format the log directory once, with a cluster id kept in ``cluster-id``."""
        if (self.data_dir / "meta.properties").is_file():
            return
        cluster_id = self.read_or_create_cluster_id()
        # --ignore-formatted makes a repeated format a no-op. Without
        # --standalone the static controller.quorum.voters list defines the quorum.
        self.run_storage_tool(
            "format",
            "-t",
            cluster_id,
            "-c",
            str(self.properties_path),
            "--ignore-formatted",
        )
        logger.info("formatted %s for Kafka cluster %s", self.data_dir, cluster_id)

    def read_or_create_cluster_id(self) -> str:
        if self.cluster_id_path.is_file():
            return self.cluster_id_path.read_text().strip()
        cluster_id = self.run_storage_tool("random-uuid").strip().splitlines()[-1]
        self.cluster_id_path.write_text(cluster_id + "\n")
        return cluster_id

    def run_storage_tool(self, *arguments: str) -> str:
        command = self.java_command("kafka.tools.StorageTool", *arguments)
        result = subprocess.run(
            command,
            cwd=self.home,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=STORAGE_TOOL_TIMEOUT_SECONDS,
            check=False,
        )
        if result.returncode != 0:
            raise StartupError(
                f"kafka.tools.StorageTool {arguments[0]} failed with exit code "
                f"{result.returncode}: {result.stdout}{result.stderr}"
            )
        return result.stdout

    def java_command(self, main_class: str, *arguments: str) -> list[str]:
        java = require_executable("java", "Java 17 (Debian package openjdk-17-jre)")
        return [
            java,
            *JVM_OPTIONS,
            f"-Dlog4j2.configurationFile={self.log4j_config_path}",
            "-cp",
            str(self.libs_dir / "*"),
            main_class,
            *arguments,
        ]

    def probe(self) -> None:
        """Send a metadata request and check that this cluster sent the response."""
        # A TCP connect first keeps aiokafka from logging a connection error on
        # every attempt while the JVM starts.
        try:
            with socket.create_connection((LOOPBACK_HOST, self.port), timeout=1.0):
                pass
        except OSError as error:
            raise ProbeError(f"connect to {self.bootstrap_servers}: {error}") from error

        try:
            cluster = run_coroutine(describe_cluster(self.bootstrap_servers))
        except KafkaError as error:
            raise ProbeError(f"metadata request failed: {error!r}") from error

        if not cluster.get("brokers"):
            raise ProbeError("metadata response lists no brokers yet")
        expected = self.expected_cluster_id()
        if expected is not None and cluster.get("cluster_id") != expected:
            raise ProbeError(
                f"{self.bootstrap_servers} belongs to cluster "
                f"{cluster.get('cluster_id')!r}, not {expected!r} from "
                f"{self.cluster_id_path}"
            )

    def expected_cluster_id(self) -> str | None:
        try:
            return self.cluster_id_path.read_text().strip()
        except FileNotFoundError:
            return None


async def describe_cluster(bootstrap_servers: str) -> dict[str, Any]:
    client = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        client_id="vitrine-launcher",
        request_timeout_ms=PROBE_TIMEOUT_MS,
    )
    try:
        await client.start()
        result: dict[str, Any] = await client.describe_cluster()
        return result
    finally:
        await client.close()


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a fresh event loop in a worker thread.

    The launcher is synchronous, but its callers may already run an event loop
    (async tests), where asyncio.run would fail.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kafka-probe") as pool:
        return pool.submit(asyncio.run, coroutine).result()


def escape_property(value: str) -> str:
    """Escape a value for a Java properties file."""
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def require_executable(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise InstallError(f"{name} not found on PATH; install {package}")
    return path
