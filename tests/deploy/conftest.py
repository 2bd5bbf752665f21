"""Fixtures shared by the checks of the container deployment files."""

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.settings import Settings

COMPOSE_FILE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


@pytest.fixture
def compose() -> dict[str, Any]:
    """The parsed docker-compose.yml, with YAML anchors and merge keys resolved."""
    with COMPOSE_FILE.open(encoding="utf-8") as stream:
        document = yaml.safe_load(stream)
    assert isinstance(document, dict), f"{COMPOSE_FILE} is not a YAML mapping"
    return document


@pytest.fixture
def vitrine_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The compose services built from the repository's Dockerfile."""
    return {
        name: service
        for name, service in compose["services"].items()
        if "build" in service
    }


@pytest.fixture
def load_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[Mapping[str, str]], Settings]:
    """Build ``Settings`` from exactly the given ``VITRINE_*`` variables.

    Variables already set in the test environment are removed first, so the
    result depends only on the deployment file under test.
    """

    def load(environment: Mapping[str, str]) -> Settings:
        for name in list(Settings.model_fields):
            monkeypatch.delenv(f"VITRINE_{name.upper()}", raising=False)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        return Settings()

    return load
