"""Local launcher: real Kafka, Redis and MongoDB-protocol servers plus the
Vitrine service processes, each tracked by a pid file under a state directory.
"""

from deploy.local.container_engine import docker_available
from deploy.local.processes import ManagedProcess
from deploy.local.servers import Endpoints, LocalServers, ServerPorts
from deploy.local.services import SERVICE_PORTS, ServiceSet
from deploy.local.state import default_state_dir

__all__ = [
    "SERVICE_PORTS",
    "Endpoints",
    "LocalServers",
    "ManagedProcess",
    "ServerPorts",
    "ServiceSet",
    "default_state_dir",
    "docker_available",
]
