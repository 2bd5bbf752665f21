import base64
from datetime import UTC, datetime

import pytest

from services.feed.ranking import EXTRA_INTEREST_BONUS_SECONDS, timeline_score
from services.feed.timeline import decode_cursor, encode_cursor
from shared.errors import InvalidFieldError

NOON = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_newer_post_scores_higher() -> None:
    later = NOON.replace(minute=1)

    assert timeline_score(later, 1) > timeline_score(NOON, 1)


def test_extra_interest_adds_bonus() -> None:
    single = timeline_score(NOON, 1)
    triple = timeline_score(NOON, 3)

    assert triple - single == pytest.approx(2 * EXTRA_INTEREST_BONUS_SECONDS)


def test_cursor_round_trips() -> None:
    cursor = encode_cursor(1796398722.980132, "abc123")

    assert decode_cursor(cursor) == (1796398722.980132, "abc123")


def encoded(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


BAD_CURSORS = [
    "%%%",
    encoded(b"not json"),
    encoded(b"[1]"),
    encoded(b'{"a": 1}'),
    encoded(b'[NaN, "a"]'),
    encoded(b"[" * 1000),
    encoded(b"[1" + b"0" * 309 + b', "x"]'),
    encoded(b'[true, {"x": 1}]'),
]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_bad_cursor_names_field(cursor: str) -> None:
    with pytest.raises(InvalidFieldError) as raised:
        decode_cursor(cursor)

    assert raised.value.field == "cursor"
    assert raised.value.value == cursor
