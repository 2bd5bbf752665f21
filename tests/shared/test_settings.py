import pytest
from pydantic import ValidationError

from shared.settings import DEVELOPMENT_JWT_SECRET, Environment, Settings


def test_development_accepts_placeholder_secret() -> None:
    settings = Settings(environment=Environment.DEVELOPMENT)

    assert settings.jwt_secret == DEVELOPMENT_JWT_SECRET


def test_production_rejects_placeholder_secret() -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(environment=Environment.PRODUCTION)


def test_production_rejects_short_secret() -> None:
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(environment=Environment.PRODUCTION, jwt_secret="short")


def test_production_rejects_dev_tokens() -> None:
    with pytest.raises(ValidationError, match="DEV_TOKENS"):
        Settings(
            environment=Environment.PRODUCTION,
            jwt_secret="p" * 48,
            dev_tokens_enabled=True,
        )


def test_settings_read_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VITRINE_KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    monkeypatch.setenv("VITRINE_DEV_TOKENS_ENABLED", "true")

    settings = Settings()

    assert settings.kafka_bootstrap_servers == "kafka:9092"
    assert settings.dev_tokens_enabled is True
