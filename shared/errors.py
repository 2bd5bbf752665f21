"""Errors shared by all services, and the one JSON shape every API error has.

    VitrineError                 base of every error a service raises on purpose
    +-- InvalidFieldError        422: a field of the request has a bad value
    +-- NotFoundError            404: the named resource does not exist
    +-- ConflictError            409: the request conflicts with stored state
    +-- AuthenticationError      401: missing, expired or invalid bearer token
    +-- PermissionDeniedError    403: the token's role may not do this
    +-- PayloadTooLargeError     413: an upload exceeds the size limit
    +-- DependencyError          503: a store, broker or service is unavailable

``retriable`` says whether repeating the same operation later can succeed;
Kafka consumers read it to choose between retry and the dead-letter topic.
"""

from http import HTTPStatus
from typing import Any


class VitrineError(Exception):
    status: HTTPStatus = HTTPStatus.INTERNAL_SERVER_ERROR
    code = "internal_error"
    retriable = False

    def __init__(
        self, message: str, *, field: str | None = None, value: Any = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value

    def to_body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
            error["value"] = self.value
        return {"error": error}


class InvalidFieldError(VitrineError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "invalid_field"


class NotFoundError(VitrineError):
    status = HTTPStatus.NOT_FOUND
    code = "not_found"


class ConflictError(VitrineError):
    status = HTTPStatus.CONFLICT
    code = "conflict"


class AuthenticationError(VitrineError):
    status = HTTPStatus.UNAUTHORIZED
    code = "unauthenticated"


class PermissionDeniedError(VitrineError):
    status = HTTPStatus.FORBIDDEN
    code = "forbidden"


class PayloadTooLargeError(VitrineError):
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    code = "payload_too_large"


class DependencyError(VitrineError):
    status = HTTPStatus.SERVICE_UNAVAILABLE
    code = "dependency_unavailable"
    retriable = True
