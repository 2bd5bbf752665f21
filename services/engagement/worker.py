"""Entry point of the engagement stream worker: ``python -m services.engagement.worker``."""

import logging
import sys

from prometheus_client import start_http_server

from services.engagement.stream import create_stream_app
from shared.observability import configure_logging
from shared.settings import get_settings

logger = logging.getLogger(__name__)


def main() -> None:
    settings = get_settings()
    configure_logging("engagement-worker", settings.log_level)
    start_http_server(settings.metrics_port, addr=settings.http_host)
    logger.info("engagement worker metrics on port %d", settings.metrics_port)
    app = create_stream_app(settings)
    # faust parses its own command line; "worker" runs the agents until SIGTERM.
    sys.argv = [sys.argv[0], "worker", "--loglevel", settings.log_level.lower()]
    app.main()


if __name__ == "__main__":
    main()
