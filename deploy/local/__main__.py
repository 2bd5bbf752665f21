"""Command line of the local launcher.

    python -m deploy.local servers start|stop|status
    python -m deploy.local up | down | status

Exit codes: 0 on success, 1 when a start, stop or install failed, 3 when
``status`` finds a process that is stopped or not responding, 130 on Ctrl-C.
"""

import argparse
import importlib.util
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from deploy.local.errors import DemoLoadError, LauncherError
from deploy.local.processes import ManagedProcess
from deploy.local.servers import Endpoints, LocalServers
from deploy.local.services import ServiceSet
from deploy.local.state import REPO_ROOT, STATE_DIR_VARIABLE, default_state_dir

logger = logging.getLogger("deploy.local")

EXIT_OK = 0
EXIT_FAILED = 1
# The LSB init-script status code for "program is not running".
EXIT_NOT_RUNNING = 3
EXIT_INTERRUPTED = 130

DEMO_MODULE = "deploy.demo"
DEMO_TIMEOUT_SECONDS = 30 * 60.0

# Settings for `up` that a variable in the caller's environment overrides.
DEVELOPMENT_DEFAULTS = {
    "VITRINE_ENVIRONMENT": "development",
    "VITRINE_DEV_TOKENS_ENABLED": "true",
}

Command = Callable[[Path], int]


def start_servers(state_dir: Path) -> int:
    endpoints = LocalServers(state_dir).start()
    print_servers(endpoints)
    return EXIT_OK


def stop_servers(state_dir: Path) -> int:
    LocalServers(state_dir).stop()
    return EXIT_OK


def show_server_status(state_dir: Path) -> int:
    servers = LocalServers(state_dir)
    addresses = server_addresses(servers.endpoints)
    rows = [(server.process, addresses[server.name]) for server in servers.servers]
    return print_status(rows)


def up(state_dir: Path) -> int:
    """Start the servers and services, then load the demo content."""
    endpoints = LocalServers(state_dir).start()
    services = ServiceSet(state_dir, service_environment(endpoints))
    try:
        services.start()
    except LauncherError:
        logger.warning(
            "the servers are still running; stop them with %s", stop_command(state_dir)
        )
        raise

    demo_summary = run_demo(state_dir, services.environment)
    print_stack(state_dir, endpoints, services)
    if demo_summary:
        print()
        print(demo_summary, end="")
    return EXIT_OK


def down(state_dir: Path) -> int:
    """Stop the services first, then the servers they depend on."""
    ServiceSet(state_dir, {}).stop()
    LocalServers(state_dir).stop()
    return EXIT_OK


def show_status(state_dir: Path) -> int:
    servers = LocalServers(state_dir)
    services = ServiceSet(state_dir, {})
    addresses = server_addresses(servers.endpoints)
    rows = [(server.process, addresses[server.name]) for server in servers.servers]
    rows += [
        (process, services.address(name))
        for name, process in services.processes.items()
    ]
    return print_status(rows)


def service_environment(endpoints: Endpoints) -> dict[str, str]:
    """Return the settings for `up`: development defaults, then the server addresses."""
    environment = {
        name: value
        for name, value in DEVELOPMENT_DEFAULTS.items()
        if name not in os.environ
    }
    environment.update(endpoints.as_environment())
    return environment


def run_demo(state_dir: Path, environment: dict[str, str]) -> str:
    """Run ``python -m deploy.demo`` with the services' settings, if it exists.

    Returns what the loader printed for the user: the URLs and curl commands
    to try. Its log goes to ``logs/demo.log``.
    """
    if not demo_available():
        logger.info("%s not found; skipping the demo content", DEMO_MODULE)
        return ""

    log_path = state_dir / "logs" / "demo.log"
    logger.info("loading demo content with %s (log %s)", DEMO_MODULE, log_path)
    with log_path.open("ab") as log_file:
        try:
            result = subprocess.run(
                [sys.executable, "-m", DEMO_MODULE],
                cwd=REPO_ROOT,
                env={**os.environ, **environment},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log_file,
                timeout=DEMO_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise DemoLoadError(
                f"{DEMO_MODULE} did not finish within {DEMO_TIMEOUT_SECONDS:.0f} s; "
                f"see {log_path}"
            ) from error
    if result.returncode != 0:
        raise DemoLoadError(
            f"{DEMO_MODULE} failed with exit code {result.returncode}; see {log_path}"
        )
    logger.info("demo content loaded")
    return result.stdout.decode(errors="replace")


def demo_available() -> bool:
    """Return whether ``python -m deploy.demo`` can run.

    It can when deploy.demo is a module, or a package with a __main__ module.
    """
    spec = importlib.util.find_spec(DEMO_MODULE)
    if spec is None:
        return False
    if spec.submodule_search_locations is None:
        return True
    return any(
        Path(location, "__main__.py").is_file()
        for location in spec.submodule_search_locations
    )


def server_addresses(endpoints: Endpoints) -> dict[str, str]:
    return {
        "kafka": endpoints.kafka_bootstrap_servers,
        "redis": endpoints.redis_url,
        "mongodb": endpoints.mongo_url,
    }


def print_status(rows: Iterable[tuple[ManagedProcess, str]]) -> int:
    """Print one line per process, and return 0 if every process passes its probe."""
    exit_code = EXIT_OK
    for process, address in rows:
        pid = process.pid()
        if pid is None:
            state, pid_text = "stopped", "-"
        elif process.is_ready():
            state, pid_text = "ready", str(pid)
        else:
            state, pid_text = "not responding", str(pid)
        if state != "ready":
            exit_code = EXIT_NOT_RUNNING
        print(f"{process.name:<18} {state:<14} pid {pid_text:<8} {address}")
    return exit_code


def print_servers(endpoints: Endpoints) -> None:
    print("Servers are ready:")
    for name, address in server_addresses(endpoints).items():
        print(f"  {name:<18} {address}")


def print_stack(state_dir: Path, endpoints: Endpoints, services: ServiceSet) -> None:
    print("Vitrine is running:")
    for name in services.processes:
        print(f"  {name:<18} {services.address(name)}")
    for name, address in server_addresses(endpoints).items():
        print(f"  {name:<18} {address}")
    print(f"Logs are in {state_dir / 'logs'}.")
    print(f"Stop everything with {stop_command(state_dir)}.")


def stop_command(state_dir: Path) -> str:
    """Return the command, in backquotes, that stops everything in the state dir."""
    if state_dir == default_state_dir():
        return "`make stop` or `python -m deploy.local down`"
    return f"`python -m deploy.local down --state-dir {state_dir}`"


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--state-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help=(
            "folder for the servers' data, logs and pid files "
            f"(default: ${STATE_DIR_VARIABLE} or <repo>/.vitrine)"
        ),
    )
    common.add_argument(
        "--log-level",
        default=argparse.SUPPRESS,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="minimum level of the launcher's log messages (default: INFO)",
    )

    parser = argparse.ArgumentParser(
        prog="python -m deploy.local",
        description="Start and stop Vitrine's local servers and services.",
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add_command(
        commands, common, "up", up, "start servers and services, load demo content"
    )
    add_command(commands, common, "down", down, "stop services, then servers")
    add_command(commands, common, "status", show_status, "show servers and services")

    servers = commands.add_parser("servers", help="manage only the servers")
    actions = servers.add_subparsers(dest="action", required=True)
    add_command(actions, common, "start", start_servers, "start Kafka, Redis, MongoDB")
    add_command(actions, common, "stop", stop_servers, "stop the servers")
    add_command(actions, common, "status", show_server_status, "show the servers")
    return parser


def add_command(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
    common: argparse.ArgumentParser,
    name: str,
    handler: Command,
    help_text: str,
) -> None:
    command = commands.add_parser(name, help=help_text, parents=[common])
    command.set_defaults(handler=handler)


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(arguments, "log_level", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every readiness probe request at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    state_dir = getattr(arguments, "state_dir", None) or default_state_dir()
    handler: Command = arguments.handler
    try:
        return handler(state_dir.resolve())
    except LauncherError as error:
        logger.error("%s", error)
        return EXIT_FAILED
    except KeyboardInterrupt:
        logger.warning("interrupted")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
