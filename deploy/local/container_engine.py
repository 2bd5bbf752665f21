"""Detection of a reachable Docker engine, for fixtures that prefer testcontainers.

The Docker SDK would do this in one call, but on a socket that accepts and
never responds, docker 7.2.0 leaves the timed-out socket open, which fails
test runs that treat ResourceWarning as an error. The checks below close
every socket they open.
"""

import http.client
import logging
import os
import shutil
import socket
import subprocess

logger = logging.getLogger(__name__)

DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock"
CHECK_TIMEOUT_SECONDS = 3.0


class UnixHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection over a Unix domain socket."""

    def __init__(self, socket_path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(self.timeout)
        try:
            connection.connect(self.socket_path)
        except OSError:
            connection.close()
            raise
        self.sock = connection


def docker_available() -> bool:
    """Return whether a Docker engine responds within a few seconds.

    A Unix socket (``DOCKER_HOST=unix://...`` or the default socket) gets a
    ``GET /_ping``. Any other ``DOCKER_HOST`` is checked with ``docker info``.
    """
    docker_host = os.environ.get("DOCKER_HOST", "")
    if docker_host and not docker_host.startswith("unix://"):
        return docker_info_succeeds()
    socket_path = docker_host.removeprefix("unix://") or DEFAULT_DOCKER_SOCKET
    if not os.path.exists(socket_path):
        return False
    return engine_responds_to_ping(socket_path)


def engine_responds_to_ping(socket_path: str) -> bool:
    connection = UnixHTTPConnection(socket_path, CHECK_TIMEOUT_SECONDS)
    try:
        connection.request("GET", "/_ping")
        return connection.getresponse().status == http.client.OK
    except (OSError, http.client.HTTPException) as error:
        logger.debug("Docker engine at %s did not respond: %s", socket_path, error)
        return False
    finally:
        connection.close()


def docker_info_succeeds() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        result = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=CHECK_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        logger.debug("`docker info` did not finish in %.0f s", CHECK_TIMEOUT_SECONDS)
        return False
    return result.returncode == 0
