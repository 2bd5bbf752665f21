"""The FastAPI application every service builds on.

It adds the one JSON error shape, request metrics, ``/healthz``, ``/metrics``
and, when ``VITRINE_DEV_TOKENS_ENABLED`` is set, ``POST /dev/tokens``.
"""

import logging
import math
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.auth import Role, issue_token
from shared.errors import VitrineError
from shared.kafka import is_retriable
from shared.observability import http_metrics_middleware
from shared.settings import Settings, get_settings

logger = logging.getLogger(__name__)

HealthCheck = Callable[[], Awaitable[object]]
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_app(service: str, settings: Settings, lifespan: Lifespan) -> FastAPI:
    error_statuses = (400, 401, 403, 404, 409, 413, 422, 503)
    app = FastAPI(
        title=f"Vitrine {service}",
        lifespan=lifespan,
        responses={status: {"model": ErrorBody} for status in error_statuses},
    )
    # Token checks read the settings the app was built with, not a second
    # copy loaded from the environment.
    app.dependency_overrides[get_settings] = lambda: settings
    app.state.health_checks = {}
    app.middleware("http")(http_metrics_middleware(service))
    app.add_exception_handler(VitrineError, vitrine_error_response)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
    app.add_api_route("/healthz", _health, methods=["GET"], include_in_schema=False)
    app.add_api_route("/metrics", _metrics, methods=["GET"], include_in_schema=False)
    if settings.dev_tokens_enabled:
        _add_dev_tokens(app, settings)
        logger.warning("development token endpoint POST /dev/tokens is enabled")
    return app


def error_response(
    status: HTTPStatus,
    code: str,
    message: str,
    field: str | None = None,
    value: Any = None,
) -> JSONResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
        error["value"] = value
    return JSONResponse({"error": error}, status_code=status)


async def vitrine_error_response(request: Request, exc: Exception) -> JSONResponse:
    """Render a ``VitrineError`` in the one error shape, with its status."""
    assert isinstance(exc, VitrineError)
    if exc.status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        logger.error("%s %s failed: %s", request.method, request.url.path, exc.message)
    headers = None
    if exc.status == HTTPStatus.UNAUTHORIZED:
        headers = {"WWW-Authenticate": "Bearer"}
    return JSONResponse(exc.to_body(), status_code=exc.status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0]
    # loc is ("body" | "query" | "path" | "header" | "form", name, index...).
    location = [str(part) for part in first.get("loc", ())]
    field = ".".join(location[1:]) or ".".join(location)
    value = first.get("input")
    if first.get("type") == "missing":
        value = None
    message = f"field {field!r}: {first.get('msg', 'is invalid')}"
    if first.get("type") == "json_invalid":
        # The second part of loc is then a character position, not a field.
        field, value = "body", None
        message = f"request body is not valid JSON at position {location[-1]}"
    return error_response(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "invalid_field",
        message,
        field,
        _jsonable(value),
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    if is_retriable(exc):
        logger.warning(
            "%s %s failed: a store is unavailable: %r",
            request.method,
            request.url.path,
            exc,
        )
        return error_response(
            HTTPStatus.SERVICE_UNAVAILABLE,
            "dependency_unavailable",
            "a store or broker is unavailable; try again later",
        )
    # Starlette re-raises the exception after this response, and the server
    # logs it with its traceback, so it is not logged here.
    return error_response(
        HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "internal server error"
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = HTTPStatus(exc.status_code)
    code = status.phrase.lower().replace(" ", "_")
    if status == HTTPStatus.NOT_FOUND:
        message = f"no route matches {request.url.path}; see /docs for the API"
        return error_response(status, code, message, "path", request.url.path)
    if status == HTTPStatus.METHOD_NOT_ALLOWED:
        message = f"{request.method} is not allowed on {request.url.path}"
        return error_response(status, code, message, "method", request.method)
    return error_response(status, code, str(exc.detail))


async def _health(request: Request) -> JSONResponse:
    checks: dict[str, HealthCheck] = request.app.state.health_checks
    failures: dict[str, str] = {}
    for name, check in checks.items():
        try:
            await check()
        except Exception as exc:  # noqa: BLE001 - any failure makes the service unhealthy
            failures[name] = f"{type(exc).__name__}: {exc}"
    if not checks:
        failures["startup"] = "the service has not finished starting"
    if failures:
        logger.warning("health check failed: %s", failures)
        return JSONResponse(
            {"status": "unavailable", "failures": failures},
            status_code=HTTPStatus.SERVICE_UNAVAILABLE,
        )
    return JSONResponse({"status": "ok"})


async def _metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


# Error bodies echo the rejected value, cut to this many characters or
# items so a huge request does not come back as a huge response.
MAX_ECHO_LENGTH = 200


def _jsonable(value: Any) -> Any:
    """Turn a rejected input into a short value that JSON can carry."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        # NaN and infinities are not JSON; their names are.
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        return value[:MAX_ECHO_LENGTH]
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value[:MAX_ECHO_LENGTH]]
    if isinstance(value, dict):
        items = list(value.items())[:MAX_ECHO_LENGTH]
        return {str(key)[:MAX_ECHO_LENGTH]: _jsonable(item) for key, item in items}
    return repr(value)[:MAX_ECHO_LENGTH]


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None
    value: Any = None


class ErrorBody(BaseModel):
    """The shape of every error response."""

    error: ErrorDetail


class DevTokenRequest(BaseModel):
    user_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    role: Role


def _add_dev_tokens(app: FastAPI, settings: Settings) -> None:
    async def create_dev_token(body: DevTokenRequest) -> dict[str, str | int]:
        token = issue_token(settings, body.user_id, body.role)
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": settings.jwt_ttl_seconds,
        }

    app.add_api_route(
        "/dev/tokens",
        create_dev_token,
        methods=["POST"],
        summary="Issue a token for a demo user (development only)",
    )
