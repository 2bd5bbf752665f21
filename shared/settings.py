"""Typed settings read from ``VITRINE_*`` environment variables."""

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Signing key used when none is configured. Accepted only in development and
# test, so a forgotten secret cannot reach production.
DEVELOPMENT_JWT_SECRET = "vitrine-development-secret-change-me-0123456789"
MIN_JWT_SECRET_LENGTH = 32


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Settings shared by every Vitrine process."""

    model_config = SettingsConfigDict(env_prefix="VITRINE_", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT

    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    kafka_topic_partitions: int = Field(default=3, ge=1)
    kafka_replication_factor: int = Field(default=1, ge=1)

    redis_url: str = "redis://127.0.0.1:16379/0"
    mongo_url: str = "mongodb://127.0.0.1:17017"

    jwt_secret: str = DEVELOPMENT_JWT_SECRET
    jwt_issuer: str = "vitrine"
    jwt_audience: str = "vitrine-api"
    jwt_ttl_seconds: int = Field(default=3600, ge=60)
    dev_tokens_enabled: bool = False

    http_host: str = "127.0.0.1"
    http_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_port: int = Field(default=8105, ge=1, le=65535)
    # Where the faust worker keeps its local table data and state.
    worker_data_dir: Path = Path(".vitrine/engagement-worker")
    # Seconds between the worker's offset commits; a crash replays at most
    # this much, and the worker skips what it had already applied.
    worker_commit_interval_seconds: float = Field(default=1.0, gt=0)

    ingest_url: str = "http://127.0.0.1:8101"
    commerce_url: str = "http://127.0.0.1:8104"
    # URL prefix under which ingest's media files are reachable by clients.
    public_media_url: str = "http://127.0.0.1:8101/media"
    media_dir: Path = Path(".vitrine/media")
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)

    log_level: str = "INFO"

    @model_validator(mode="after")
    def _reject_unsafe_outside_development(self) -> "Settings":
        if self.environment is not Environment.PRODUCTION:
            return self
        if self.jwt_secret == DEVELOPMENT_JWT_SECRET:
            raise ValueError(
                "VITRINE_JWT_SECRET is the development placeholder; set a random "
                "secret of at least 32 characters for production"
            )
        if len(self.jwt_secret) < MIN_JWT_SECRET_LENGTH:
            raise ValueError(
                f"VITRINE_JWT_SECRET has {len(self.jwt_secret)} characters; "
                f"production needs at least {MIN_JWT_SECRET_LENGTH}"
            )
        if self.dev_tokens_enabled:
            raise ValueError(
                "VITRINE_DEV_TOKENS_ENABLED=true issues tokens to anyone; "
                "it is rejected in production"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    """Load the settings once per process."""
    return Settings()
