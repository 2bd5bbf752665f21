"""One server or service process that the launcher starts, probes and stops.

Each process runs in its own session, so its pid is also its process group id.
The pid file stores the pid and, on Linux, the process start time from
/proc/<pid>/stat, so a pid that the kernel reused for an unrelated program is
never mistaken for ours. Standard output and standard error go to
``<state>/logs/<name>.log``.
"""

import contextlib
import logging
import os
import shlex
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from deploy.local.errors import (
    PortInUseError,
    StartupCancelledError,
    StartupError,
    StopError,
)

logger = logging.getLogger(__name__)

LOOPBACK_HOST = "127.0.0.1"
PROBE_INTERVAL_SECONDS = 0.5
DEFAULT_STOP_TIMEOUT_SECONDS = 30.0
KILL_TIMEOUT_SECONDS = 5.0
LOG_TAIL_LINES = 15
LOG_TAIL_BYTES = 16 * 1024

PROC_ROOT = Path("/proc")


class ProbeError(Exception):
    """Raised by a readiness probe when the process does not respond correctly yet."""


# A readiness probe sends one real request and raises ProbeError unless the
# response is correct.
Probe = Callable[[], None]


@dataclass(frozen=True)
class PidRecord:
    pid: int
    # Start time in clock ticks after boot (field 22 of /proc/<pid>/stat), or
    # None where /proc is not available.
    start_ticks: int | None


class ManagedProcess:
    """A process tracked by a pid file, with a log file and a readiness probe."""

    def __init__(
        self,
        name: str,
        state_dir: Path,
        *,
        probe: Probe,
        probe_description: str,
        ports: Sequence[int] = (),
        cwd: Path | None = None,
        environment: Mapping[str, str] | None = None,
        extra_log_paths: Sequence[Path] = (),
    ) -> None:
        self.name = name
        self.pid_path = state_dir / "run" / f"{name}.pid"
        self.log_path = state_dir / "logs" / f"{name}.log"
        self.probe = probe
        self.probe_description = probe_description
        self.ports = tuple(ports)
        self.cwd = cwd
        self.environment = environment
        self.log_paths = (self.log_path, *extra_log_paths)
        self._popen: subprocess.Popen[bytes] | None = None
        self._spawned_at: float | None = None

    def pid(self) -> int | None:
        """Return the pid from the pid file while that process is alive, else None."""
        record = self._read_pid_record()
        if record is None:
            return None
        if not self._is_alive(record.pid):
            return None
        reused = read_start_ticks(record.pid) != record.start_ticks
        if record.start_ticks is not None and reused:
            # The kernel gave the pid to another program after ours exited.
            return None
        return record.pid

    def is_running(self) -> bool:
        return self.pid() is not None

    def is_ready(self) -> bool:
        """Return whether the process is alive and its probe succeeds now."""
        if not self.is_running():
            return False
        try:
            self.probe()
        except ProbeError:
            return False
        return True

    def start(
        self,
        prepare: Callable[[], Sequence[str]],
        *,
        timeout: float,
        cancel: threading.Event | None = None,
    ) -> bool:
        """Launch the process unless it already runs, then wait until it is ready.

        Return True when this call started the process, False when it reused a
        live one recorded in the pid file. A process that this call started and
        that fails to become ready is stopped before the error is raised.
        """
        started = self.launch(prepare)
        try:
            self.wait_ready(timeout, cancel)
        except BaseException:
            if started:
                self.stop()
            raise
        return started

    def launch(self, prepare: Callable[[], Sequence[str]]) -> bool:
        """Spawn the command returned by ``prepare`` unless the process already runs.

        ``prepare`` writes configuration and installs software as needed, and
        runs only when a new process is spawned. Return True when spawned.
        """
        pid = self.pid()
        if pid is not None:
            logger.info("%s is already running (pid %d); reusing it", self.name, pid)
            self._spawned_at = None
            return False

        self.pid_path.unlink(missing_ok=True)
        ensure_ports_free(self.name, self.ports)
        command = prepare()
        self._spawn(command)
        return True

    def wait_ready(
        self, timeout: float, cancel: threading.Event | None = None
    ) -> float:
        """Probe until the process responds, and return the seconds it took.

        ``timeout`` and the result count from the spawn, or from this call for a
        reused process.

        Raise StartupError when the process exits or the timeout passes first,
        and StartupCancelledError when ``cancel`` is set.
        """
        waiting_since = time.monotonic()
        since = self._spawned_at if self._spawned_at is not None else waiting_since
        deadline = since + timeout
        last_failure = "no probe has run yet"
        while True:
            if cancel is not None and cancel.is_set():
                raise StartupCancelledError(
                    f"{self.name}: start cancelled because another process failed"
                )

            pid = self.pid()
            if pid is None:
                raise StartupError(self._describe_failure(self._exit_message()))

            try:
                self.probe()
            except ProbeError as error:
                last_failure = str(error)
            else:
                return self._report_ready(pid, since)

            if time.monotonic() >= deadline:
                message = (
                    f"{self.name} (pid {pid}) did not respond correctly to "
                    f"{self.probe_description} within {timeout:.0f} s; "
                    f"last probe error: {last_failure}"
                )
                raise StartupError(self._describe_failure(message))
            time.sleep(PROBE_INTERVAL_SECONDS)

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT_SECONDS) -> bool:
        """Stop the process and its process group, and return whether it was running.

        Send SIGTERM, wait up to ``timeout`` seconds, then send SIGKILL. Raise
        StopError if the process group survives SIGKILL.
        """
        pid = self.pid()
        if pid is None:
            self._forget()
            return False

        logger.info("stopping %s (pid %d)", self.name, pid)
        group = process_group(pid)
        send_signal(pid, group, signal.SIGTERM)
        if not self._wait_exit(pid, group, timeout):
            logger.warning(
                "%s (pid %d) is still running %.0f s after SIGTERM; sending SIGKILL",
                self.name,
                pid,
                timeout,
            )
            send_signal(pid, group, signal.SIGKILL)
            if not self._wait_exit(pid, group, KILL_TIMEOUT_SECONDS):
                raise StopError(
                    f"{self.name} (pid {pid}) is still running after SIGKILL; "
                    f"check it with `ps -g {group or pid}`"
                )

        self._forget()
        logger.info("stopped %s (pid %d)", self.name, pid)
        return True

    def _spawn(self, command: Sequence[str]) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.pid_path.parent.mkdir(parents=True, exist_ok=True)

        with self.log_path.open("ab") as log_file:
            timestamp = datetime.now().isoformat(timespec="seconds")
            header = f"--- {timestamp} starting: {shlex.join(command)}\n"
            log_file.write(header.encode())
            log_file.flush()
            try:
                self._popen = subprocess.Popen(
                    list(command),
                    cwd=self.cwd,
                    env=None if self.environment is None else dict(self.environment),
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as error:
                raise StartupError(
                    f"cannot run {command[0]} for {self.name}: {error}"
                ) from error
        self._spawned_at = time.monotonic()

        pid = self._popen.pid
        self._write_pid_record(PidRecord(pid, read_start_ticks(pid)))
        logger.info("started %s (pid %d, log %s)", self.name, pid, self.log_path)

    def _report_ready(self, pid: int, since: float) -> float:
        elapsed = time.monotonic() - since
        logger.info(
            "%s (pid %d) responded to %s after %.1f s",
            self.name,
            pid,
            self.probe_description,
            elapsed,
        )
        return elapsed

    def _exit_message(self) -> str:
        if self._popen is not None and self._popen.returncode is not None:
            return (
                f"{self.name} exited with code {self._popen.returncode} "
                f"before it responded to {self.probe_description}"
            )
        return (
            f"{self.name} is not running, so it cannot respond to "
            f"{self.probe_description}"
        )

    def _describe_failure(self, message: str) -> str:
        paths = ", ".join(str(path) for path in self.log_paths)
        parts = [f"{message}; see {paths}"]
        for path in self.log_paths:
            tail = read_log_tail(path)
            if tail:
                parts.append(f"last lines of {path}:\n{tail}")
        return "\n".join(parts)

    def _is_alive(self, pid: int) -> bool:
        if self._popen is not None and self._popen.pid == pid:
            return self._popen.poll() is None
        return is_alive(pid)

    def _wait_exit(self, pid: int, group: int | None, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            leader_gone = not self._is_alive(pid)
            if leader_gone and (group is None or not group_exists(group)):
                return True
            time.sleep(0.1)
        return False

    def _forget(self) -> None:
        self.pid_path.unlink(missing_ok=True)
        if self._popen is not None:
            # Reap the child so no zombie and no ResourceWarning is left behind.
            self._popen.poll()

    def _read_pid_record(self) -> PidRecord | None:
        try:
            lines = self.pid_path.read_text().split()
        except FileNotFoundError:
            return None
        try:
            pid = int(lines[0])
            start_ticks = int(lines[1]) if len(lines) > 1 else None
        except (IndexError, ValueError):
            logger.warning("ignoring invalid pid file %s: %r", self.pid_path, lines)
            return None
        return PidRecord(pid, start_ticks)

    def _write_pid_record(self, record: PidRecord) -> None:
        text = f"{record.pid}\n"
        if record.start_ticks is not None:
            text += f"{record.start_ticks}\n"
        temporary = self.pid_path.with_suffix(".pid.tmp")
        temporary.write_text(text)
        temporary.replace(self.pid_path)


def ensure_ports_free(name: str, ports: Sequence[int]) -> None:
    """Raise PortInUseError when another process listens on one of the ports."""
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe_socket:
            probe_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe_socket.bind((LOOPBACK_HOST, port))
            except OSError as error:
                raise PortInUseError(
                    f"cannot start {name}: port {port} on {LOOPBACK_HOST} is already "
                    f"in use ({error.strerror}); stop the process listening there "
                    f"or choose another port"
                ) from error


def read_stat_fields(pid: int) -> list[str] | None:
    """Return the fields of /proc/<pid>/stat after the command name, or None."""
    try:
        text = (PROC_ROOT / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name is in parentheses and may itself contain spaces or ")".
    return text[text.rindex(")") + 2 :].split()


def read_start_ticks(pid: int) -> int | None:
    fields = read_stat_fields(pid)
    if fields is None:
        return None
    # Field 22 of the stat line. fields[0] is field 3, the state.
    return int(fields[19])


def is_alive(pid: int) -> bool:
    """Return whether the pid belongs to a running process, not a zombie."""
    # Reap the process if it is an exited child of this Python process.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)

    fields = read_stat_fields(pid)
    if fields is not None:
        return fields[0] != "Z"
    if PROC_ROOT.joinpath("self").exists():
        return False

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_group(pid: int) -> int | None:
    """Return the pid as a group id when the process leads its own group, else None."""
    try:
        group = os.getpgid(pid)
    except ProcessLookupError:
        return None
    return group if group == pid else None


def group_exists(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def send_signal(pid: int, group: int | None, signal_number: signal.Signals) -> None:
    """Send a signal to the whole process group, or to the pid alone without one."""
    try:
        if group is not None:
            os.killpg(group, signal_number)
        else:
            os.kill(pid, signal_number)
    except ProcessLookupError:
        logger.debug("pid %d exited before %s", pid, signal_number.name)


def read_log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """Return the last lines of a log file, or an empty string if it does not exist."""
    try:
        with path.open("rb") as log_file:
            log_file.seek(0, os.SEEK_END)
            size = log_file.tell()
            log_file.seek(max(0, size - LOG_TAIL_BYTES))
            data = log_file.read()
    except FileNotFoundError:
        return ""
    text = data.decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])
