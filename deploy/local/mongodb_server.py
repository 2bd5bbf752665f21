"""SecantusDB's MongoDB-protocol server (``secantusd-py``) with its own storage.

Files under ``<state>/mongodb``: ``secantusd.toml`` and the WiredTiger
directory ``data/``. The server writes its log to standard output, which the
launcher stores in ``<state>/logs/mongodb.log``.
"""

import logging
import shutil
import subprocess
import sys
import tomllib
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pymongo
import pymongo.errors

from deploy.local.errors import InstallError
from deploy.local.processes import LOOPBACK_HOST, ManagedProcess, ProbeError

logger = logging.getLogger(__name__)

SERVER_EXECUTABLE = "secantusd-py"
DISTRIBUTION = "secantusdb"
PYPROJECT_PATH = Path(__file__).resolve().parents[2] / "pyproject.toml"
PIP_TIMEOUT_SECONDS = 15 * 60.0
PROBE_TIMEOUT_MS = 2000
PROBE_DATABASE = "vitrine_launcher"
PROBE_COLLECTION = "readiness"


class MongoServer:
    """The local MongoDB-protocol server on one loopback port."""

    name = "mongodb"

    def __init__(self, state_dir: Path, port: int) -> None:
        self.port = port
        self.home = state_dir / "mongodb"
        self.data_dir = self.home / "data"
        self.config_path = self.home / "secantusd.toml"
        self.process = ManagedProcess(
            self.name,
            state_dir,
            probe=self.probe,
            probe_description="ping and an insert/find round trip",
            ports=(port,),
            cwd=self.home,
        )

    @property
    def url(self) -> str:
        return f"mongodb://{LOOPBACK_HOST}:{self.port}"

    def prepare(self) -> list[str]:
        """Install SecantusDB if missing and write the configuration.

        Return the command that runs the server.
        """
        executable = ensure_secantus_installed()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # An explicit --config turns off secantusd-py's search for
        # ./secantusd.toml, ~/.secantus/secantusd.toml and /etc/secantus, so a
        # developer's own file (for example one with auth = true) cannot change
        # this server.
        self.config_path.write_text(self.render_configuration())
        return [
            executable,
            "--config",
            str(self.config_path),
            "--host",
            LOOPBACK_HOST,
            "--port",
            str(self.port),
            "--storage-path",
            str(self.data_dir),
        ]

    def render_configuration(self) -> str:
        return (
            "[server]\n"
            f'host = "{LOOPBACK_HOST}"\n'
            f"port = {self.port}\n"
            f"storage_path = {toml_string(str(self.data_dir))}\n"
            'log_level = "INFO"\n'
        )

    def probe(self) -> None:
        """Send ping, then insert, find and delete one document."""
        client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
            self.url,
            serverSelectionTimeoutMS=PROBE_TIMEOUT_MS,
            connectTimeoutMS=PROBE_TIMEOUT_MS,
            socketTimeoutMS=PROBE_TIMEOUT_MS,
        )
        try:
            self.check_round_trip(client)
        except pymongo.errors.PyMongoError as error:
            raise ProbeError(f"{self.url}: {error}") from error
        finally:
            client.close()

    def check_round_trip(self, client: pymongo.MongoClient[dict[str, object]]) -> None:
        reply = client.admin.command("ping")
        if reply.get("ok") != 1:
            raise ProbeError(f"ping to {self.url} returned {reply!r}")

        collection = client[PROBE_DATABASE][PROBE_COLLECTION]
        document_id = uuid.uuid4().hex
        collection.insert_one({"_id": document_id, "checked_at": datetime.now(UTC)})
        found = collection.find_one({"_id": document_id})
        collection.delete_one({"_id": document_id})
        if found is None:
            raise ProbeError(
                f"{self.url} accepted an insert of _id {document_id} but find "
                f"returned nothing"
            )


def ensure_secantus_installed() -> str:
    """Return the path of secantusd-py, installing the pinned package if missing."""
    path = find_secantus_executable()
    if path is not None:
        return path

    requirement = pinned_requirement()
    logger.info("%s not found; installing %s with pip", SERVER_EXECUTABLE, requirement)
    command = [sys.executable, "-m", "pip", "install", "--quiet", requirement]
    try:
        result = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=PIP_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise InstallError(f"pip did not install {requirement} in time") from error
    if result.returncode != 0:
        raise InstallError(
            f"pip failed to install {requirement} with exit code "
            f"{result.returncode}: {result.stderr.strip()[-2000:]}"
        )

    path = find_secantus_executable()
    if path is None:
        raise InstallError(
            f"installed {requirement} but {SERVER_EXECUTABLE} is still missing "
            f"next to {sys.executable}"
        )
    return path


def find_secantus_executable() -> str | None:
    beside_python = Path(sys.executable).parent / SERVER_EXECUTABLE
    if beside_python.is_file():
        return str(beside_python)
    return shutil.which(SERVER_EXECUTABLE)


def pinned_requirement() -> str:
    """Return the secantusdb requirement pinned in pyproject.toml's ``local`` extra."""
    with PYPROJECT_PATH.open("rb") as pyproject:
        project = tomllib.load(pyproject).get("project", {})
    for requirement in project.get("optional-dependencies", {}).get("local", []):
        if requirement.lower().startswith(f"{DISTRIBUTION}=="):
            return str(requirement)
    raise InstallError(
        f"{PYPROJECT_PATH} pins no {DISTRIBUTION}==<version> in the `local` extra; "
        f"add it there"
    )


def toml_string(value: str) -> str:
    """Quote a value as a TOML basic string."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
