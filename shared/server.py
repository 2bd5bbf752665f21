"""Entry point that runs one service's FastAPI app under uvicorn."""

import logging
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from shared.observability import configure_logging
from shared.settings import Settings, get_settings

logger = logging.getLogger(__name__)


def serve(
    service: str, build_app: Callable[[Settings], FastAPI], default_port: int
) -> None:
    """Configure logging, build the app and serve it until SIGTERM or SIGINT."""
    settings = get_settings()
    configure_logging(service, settings.log_level)
    port = settings.http_port or default_port
    logger.info("starting %s on %s:%d", service, settings.http_host, port)
    uvicorn.run(
        build_app(settings),
        host=settings.http_host,
        port=port,
        log_config=None,
        access_log=False,
    )
    logger.info("%s stopped", service)
