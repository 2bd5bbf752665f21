"""Structured logging and Prometheus metrics.

Nothing here runs on import: a service calls ``configure_logging`` once in its
entry point, so importing ``shared`` never changes the host's logging setup.
"""

import logging
import sys
import time
from collections.abc import Awaitable, Callable

from prometheus_client import Counter, Histogram
from pythonjsonlogger.json import JsonFormatter
from starlette.requests import Request
from starlette.responses import Response

HTTP_REQUESTS = Counter(
    "vitrine_http_requests_total",
    "HTTP requests served, by service, route template, method and status code.",
    ["service", "route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "vitrine_http_request_duration_seconds",
    "Time from request received to response sent, in seconds.",
    ["service", "route", "method"],
)
EVENTS_CONSUMED = Counter(
    "vitrine_events_consumed_total",
    "Kafka events handled successfully, by topic and consumer group.",
    ["topic", "group"],
)
EVENTS_DEAD_LETTERED = Counter(
    "vitrine_events_dead_lettered_total",
    "Kafka events sent to the dead-letter topic, by source topic and group.",
    ["topic", "group"],
)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send this process's logs to stderr as JSON lines tagged with ``service``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            static_fields={"service": service},
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiokafka logs every coordinator hop at INFO; warnings are what matter.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)


def http_metrics_middleware(
    service: str,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    """Build middleware that counts and times requests by route template."""

    async def record(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        # The template ("/posts/{post_id}") keeps the label set bounded.
        template = getattr(route, "path", "unmatched")
        elapsed = time.perf_counter() - started
        HTTP_LATENCY.labels(service, template, request.method).observe(elapsed)
        HTTP_REQUESTS.labels(
            service, template, request.method, str(response.status_code)
        ).inc()
        return response

    return record
