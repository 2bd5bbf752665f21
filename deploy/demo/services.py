"""HTTP calls to the Vitrine services, with short retries and clear errors."""

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_before_delay,
    wait_exponential,
)

logger = logging.getLogger(__name__)

# Service name -> (environment variable, default base URL).
SERVICE_URL_SETTINGS = {
    "ingest": ("VITRINE_INGEST_URL", "http://127.0.0.1:8101"),
    "feed": ("VITRINE_FEED_URL", "http://127.0.0.1:8102"),
    "engagement": ("VITRINE_ENGAGEMENT_URL", "http://127.0.0.1:8103"),
    "commerce": ("VITRINE_COMMERCE_URL", "http://127.0.0.1:8104"),
}
# Only failures to open a connection are retried: the request never reached
# the service, so repeating it cannot create a product or a post twice.
CONNECT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout)
DEFAULT_CONNECT_RETRY_SECONDS = 15.0
# Demo uploads are under 200 KB, but ingest decodes each video to check it.
REQUEST_TIMEOUT_SECONDS = 30.0
MAX_BODY_IN_ERROR = 500


class DemoLoadError(Exception):
    """Failure of a demo load step, with a message naming the service and cause."""


@dataclass(frozen=True)
class ServiceUrls:
    """Base URLs of the four HTTP services, without a trailing slash."""

    ingest: str
    feed: str
    engagement: str
    commerce: str

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None
    ) -> "ServiceUrls":
        """Read the URLs from ``VITRINE_*_URL`` variables, with the local defaults."""
        if environ is None:
            environ = os.environ
        urls = {
            service: environ.get(variable, default).rstrip("/")
            for service, (variable, default) in SERVICE_URL_SETTINGS.items()
        }
        return cls(**urls)

    def of(self, service: str) -> str:
        url: str = getattr(self, service)
        return url


def _describe_response(response: httpx.Response) -> str:
    """Return the status and the error of a response in one line."""
    status = f"{response.status_code} {response.reason_phrase}".strip()
    try:
        body = response.json()
    except ValueError:
        text = response.text[:MAX_BODY_IN_ERROR] or "(empty body)"
        return f"{status}: {text}"

    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return f"{status}: {json.dumps(body)[:MAX_BODY_IN_ERROR]}"
    detail = f"{status}: {error.get('code')}: {error.get('message')}"
    if "field" in error:
        detail += f" (field {error['field']!r}, value {error.get('value')!r})"
    return detail


def json_object(response: httpx.Response, service: str) -> dict[str, Any]:
    """Return the JSON object in ``response``, or raise DemoLoadError."""
    request = response.request
    try:
        body = response.json()
    except ValueError as exc:
        raise DemoLoadError(
            f"{request.method} {request.url} on the {service} service returned "
            f"a body that is not JSON: {response.text[:MAX_BODY_IN_ERROR]!r}"
        ) from exc
    if not isinstance(body, dict):
        raise DemoLoadError(
            f"{request.method} {request.url} on the {service} service returned "
            f"{type(body).__name__} where a JSON object was expected"
        )
    return body


class ServiceClient:
    """Client of one service's HTTP API that retries connections while it starts."""

    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        connect_retry_seconds: float = DEFAULT_CONNECT_RETRY_SECONDS,
    ) -> None:
        self.service = service
        self.base_url = base_url
        self.connect_retry_seconds = connect_retry_seconds
        self._client = httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_SECONDS)

    def close(self) -> None:
        self._client.close()

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        logger.warning(
            "Connecting to the %s service at %s failed (attempt %d): %s; retrying",
            self.service,
            self.base_url,
            state.attempt_number,
            error,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        expected: Sequence[int],
        token: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send a request and return the response if its status is ``expected``.

        ``kwargs`` go to ``httpx.Client.request`` (``json``, ``data``, ``files``,
        ``headers``). Raises DemoLoadError for any other status or a failed call.
        """
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        url = f"{self.base_url}{path}"

        retrying = Retrying(
            retry=retry_if_exception_type(CONNECT_ERRORS),
            stop=stop_before_delay(self.connect_retry_seconds),
            wait=wait_exponential(multiplier=0.25, max=2.0),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            response = retrying(
                self._client.request, method, path, headers=headers, **kwargs
            )
        except CONNECT_ERRORS as exc:
            setting = SERVICE_URL_SETTINGS.get(self.service)
            url_hint = f", or set {setting[0]} to where it listens" if setting else ""
            raise DemoLoadError(
                f"could not connect to the {self.service} service at {self.base_url} "
                f"within {self.connect_retry_seconds:g} s ({exc}); start the services "
                f"with `make run`{url_hint}"
            ) from exc
        except httpx.HTTPError as exc:
            raise DemoLoadError(
                f"{method} {url} on the {self.service} service failed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

        if response.status_code not in expected:
            raise DemoLoadError(
                f"{method} {url} on the {self.service} service returned "
                f"{_describe_response(response)}"
            )
        return response
