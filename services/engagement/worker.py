"""Entry point of the engagement stream worker.

Run it as ``python -m services.engagement.worker``.
"""

import asyncio
import logging
import sys

from services.engagement.offsets import (
    commit_missing_start_offsets,
    include_offset_zero_in_seek_to_committed,
)
from services.engagement.stream import APP_ID, create_stream_app
from shared import topics
from shared.kafka import ensure_topics
from shared.observability import configure_logging
from shared.settings import Settings, get_settings

logger = logging.getLogger(__name__)


def main() -> None:
    settings = get_settings()
    configure_logging("engagement-worker", settings.log_level)
    logger.info(
        "engagement worker health and metrics on %s:%d",
        settings.http_host,
        settings.metrics_port,
    )
    asyncio.run(prepare_topics(settings))
    include_offset_zero_in_seek_to_committed()
    app = create_stream_app(settings)
    # faust parses its own command line; "worker" runs the agents until SIGTERM.
    # The command line's web options win over the app's, so they are repeated.
    sys.argv = [
        sys.argv[0],
        "worker",
        "--web-bind",
        settings.http_host,
        "--web-port",
        str(settings.metrics_port),
        "--loglevel",
        settings.log_level.lower(),
    ]
    app.main()


async def prepare_topics(settings: Settings) -> None:
    await ensure_topics(settings)
    await commit_missing_start_offsets(settings, APP_ID, topics.ENGAGEMENT)


if __name__ == "__main__":
    main()
