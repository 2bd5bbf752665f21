"""A Redis server from Debian's redis-server package, with its own configuration.

Files under ``<state>/redis``: ``redis.conf`` and the data directory ``data/``
(append-only file). Redis writes its log to standard output, which the
launcher stores in ``<state>/logs/redis.log``.
"""

import logging
import os
import shutil
import subprocess
from pathlib import Path

import redis

from deploy.local.errors import InstallError
from deploy.local.processes import LOOPBACK_HOST, ManagedProcess, ProbeError

logger = logging.getLogger(__name__)

REDIS_EXECUTABLE = "redis-server"
DEBIAN_PACKAGE = "redis-server"
APT_TIMEOUT_SECONDS = 15 * 60.0
PROBE_TIMEOUT_SECONDS = 2.0


class RedisServer:
    """The local Redis server on one loopback port."""

    name = "redis"

    def __init__(self, state_dir: Path, port: int) -> None:
        self.port = port
        self.home = state_dir / "redis"
        self.data_dir = self.home / "data"
        self.config_path = self.home / "redis.conf"
        self.process = ManagedProcess(
            self.name,
            state_dir,
            probe=self.probe,
            probe_description="PING",
            ports=(port,),
            cwd=self.home,
        )

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK_HOST}:{self.port}/0"

    def prepare(self) -> list[str]:
        """Install redis-server if missing and write the configuration.

        Return the command that runs the server.
        """
        executable = ensure_redis_installed()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self.render_configuration())
        return [executable, str(self.config_path)]

    def render_configuration(self) -> str:
        settings = [
            ("bind", LOOPBACK_HOST),
            ("port", str(self.port)),
            ("protected-mode", "yes"),
            # The launcher tracks the process by pid, so it must stay in the
            # foreground.
            ("daemonize", "no"),
            ("dir", quote_redis_value(str(self.data_dir))),
            ("appendonly", "yes"),
            # The append-only file alone keeps the data, without RDB snapshots.
            ("save", '""'),
            ("logfile", '""'),
        ]
        return "".join(f"{key} {value}\n" for key, value in settings)

    def probe(self) -> None:
        client = redis.Redis(
            host=LOOPBACK_HOST,
            port=self.port,
            socket_timeout=PROBE_TIMEOUT_SECONDS,
            socket_connect_timeout=PROBE_TIMEOUT_SECONDS,
        )
        try:
            reply = client.ping()
        except redis.RedisError as error:
            raise ProbeError(f"PING to {self.url} failed: {error}") from error
        finally:
            client.close()
        if reply is not True:
            raise ProbeError(f"PING to {self.url} returned {reply!r}, not PONG")


def ensure_redis_installed() -> str:
    """Return the path of redis-server, installing the Debian package if missing."""
    path = shutil.which(REDIS_EXECUTABLE)
    if path is not None:
        return path

    command = apt_install_command()
    logger.info(
        "%s not found on PATH; installing the Debian package %s with apt-get",
        REDIS_EXECUTABLE,
        DEBIAN_PACKAGE,
    )
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "update"], ["apt-get", "install", "-y", DEBIAN_PACKAGE]):
        run_apt(command + step, environment)

    path = shutil.which(REDIS_EXECUTABLE)
    if path is None:
        raise InstallError(
            f"installed the {DEBIAN_PACKAGE} package but {REDIS_EXECUTABLE} is still "
            f"not on PATH ({os.environ.get('PATH', '')})"
        )
    logger.info("installed %s at %s", REDIS_EXECUTABLE, path)
    return path


def apt_install_command() -> list[str]:
    """Return the prefix that runs apt-get as root: nothing, or sudo."""
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") is None:
        raise InstallError(
            f"{REDIS_EXECUTABLE} not found on PATH, and installing the "
            f"{DEBIAN_PACKAGE} package needs root but sudo is missing; run "
            f"`apt-get install -y {DEBIAN_PACKAGE}` as root"
        )
    return ["sudo"]


def run_apt(command: list[str], environment: dict[str, str]) -> None:
    try:
        result = subprocess.run(
            command,
            env=environment,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=APT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise InstallError(f"`{' '.join(command)}` failed: {error}") from error
    if result.returncode != 0:
        raise InstallError(
            f"`{' '.join(command)}` failed with exit code {result.returncode}: "
            f"{result.stderr.strip()[-2000:]}"
        )


def quote_redis_value(value: str) -> str:
    """Quote a value for redis.conf, which splits unquoted values at spaces."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
