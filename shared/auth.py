"""Bearer JWT identity: issuing development tokens and verifying requests.

The user id and role of a request come from the verified token only, never
from the request body.
"""

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.errors import AuthenticationError, PermissionDeniedError
from shared.settings import Settings, get_settings

# HS256 is the only algorithm accepted; pinning it stops algorithm-confusion
# attacks such as a token signed with "none".
JWT_ALGORITHM = "HS256"
MAX_USER_ID_LENGTH = 64
# Authentication errors name the header, with a null value: tokens are
# secrets and are never echoed back or logged.
AUTH_FIELD = "Authorization"


class Role(StrEnum):
    SHOPPER = "shopper"
    CREATOR = "creator"
    BRAND = "brand"
    MODERATOR = "moderator"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request."""

    user_id: str
    role: Role


def issue_token(
    settings: Settings, user_id: str, role: Role, ttl_seconds: int | None = None
) -> str:
    """Sign a token for ``user_id`` with ``role`` that expires after the TTL."""
    now = int(time.time())
    ttl = ttl_seconds if ttl_seconds is not None else settings.jwt_ttl_seconds
    claims = {
        "sub": user_id,
        "role": role.value,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm=JWT_ALGORITHM)


def verify_token(settings: Settings, token: str) -> Principal:
    """Check signature, expiry, issuer and audience, and return the caller."""
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[JWT_ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise AuthenticationError(
            "bearer token has expired; request a new one", field=AUTH_FIELD
        ) from exc
    except jwt.InvalidTokenError as exc:
        raise AuthenticationError(
            f"bearer token is invalid: {exc}", field=AUTH_FIELD
        ) from exc

    user_id = claims["sub"]
    if not isinstance(user_id, str) or not 0 < len(user_id) <= MAX_USER_ID_LENGTH:
        raise AuthenticationError(
            "bearer token has an invalid subject claim", field=AUTH_FIELD
        )
    try:
        role = Role(str(claims.get("role")))
    except ValueError as exc:
        raise AuthenticationError(
            f"bearer token has unknown role {claims.get('role')!r}", field=AUTH_FIELD
        ) from exc
    return Principal(user_id=user_id, role=role)


# Documents the bearer scheme in OpenAPI; the checks below produce the errors.
bearer_scheme = HTTPBearer(auto_error=False, description="JWT from POST /dev/tokens")


def current_principal(
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)] = None,
) -> Principal:
    """FastAPI dependency: the caller named by the ``Authorization`` header."""
    header = request.headers.get("authorization")
    if header is None:
        raise AuthenticationError(
            "missing Authorization header; send 'Bearer <token>'", field=AUTH_FIELD
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError(
            "Authorization header must be 'Bearer <token>'", field=AUTH_FIELD
        )
    return verify_token(settings, token.strip())


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(principal: Principal, *roles: Role) -> None:
    """Raise 403 unless the caller has one of ``roles``; admins always pass."""
    if principal.role is Role.ADMIN or principal.role in roles:
        return
    allowed = ", ".join(role.value for role in roles)
    raise PermissionDeniedError(
        f"role {principal.role.value!r} may not do this; allowed roles: {allowed}",
        field="role",
        value=principal.role.value,
    )
