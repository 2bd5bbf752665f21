import time

import jwt
import pytest

from shared.auth import (
    JWT_ALGORITHM,
    Principal,
    Role,
    issue_token,
    require_role,
    verify_token,
)
from shared.errors import AuthenticationError, PermissionDeniedError
from shared.settings import Settings

SETTINGS = Settings(
    jwt_secret="s" * 40, jwt_issuer="vitrine", jwt_audience="vitrine-api"
)


def signed(claims: dict[str, object], secret: str = "s" * 40) -> str:
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


def valid_claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": "alice",
        "role": "creator",
        "iss": "vitrine",
        "aud": "vitrine-api",
        "iat": now,
        "exp": now + 60,
    }
    claims.update(overrides)
    return claims


def test_issued_token_verifies_to_same_principal() -> None:
    token = issue_token(SETTINGS, "alice", Role.CREATOR)

    assert verify_token(SETTINGS, token) == Principal("alice", Role.CREATOR)


@pytest.mark.parametrize(
    ("case", "token"),
    [
        ("expired", signed(valid_claims(exp=int(time.time()) - 10))),
        ("wrong audience", signed(valid_claims(aud="other-api"))),
        ("wrong issuer", signed(valid_claims(iss="someone-else"))),
        ("wrong secret", signed(valid_claims(), secret="x" * 40)),
        ("unknown role", signed(valid_claims(role="superuser"))),
        (
            "missing subject",
            signed({k: v for k, v in valid_claims().items() if k != "sub"}),
        ),
        ("not a jwt", "not-a-token"),
    ],
)
def test_verify_rejects_bad_token(case: str, token: str) -> None:
    with pytest.raises(AuthenticationError):
        verify_token(SETTINGS, token)


def test_verify_rejects_unsigned_token() -> None:
    unsigned = jwt.encode(valid_claims(), key=None, algorithm="none")

    with pytest.raises(AuthenticationError):
        verify_token(SETTINGS, unsigned)


def test_require_role_allows_listed_role_and_admin() -> None:
    require_role(Principal("ana", Role.CREATOR), Role.CREATOR)
    require_role(Principal("root", Role.ADMIN), Role.CREATOR)


def test_require_role_names_rejected_role() -> None:
    with pytest.raises(PermissionDeniedError) as raised:
        require_role(Principal("sam", Role.SHOPPER), Role.CREATOR, Role.BRAND)

    assert raised.value.field == "role"
    assert raised.value.value == "shopper"
