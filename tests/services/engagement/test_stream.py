from typing import Any

import pytest

from services.engagement.counters import empty_counters
from services.engagement.stream import apply_action, parse_engagement
from shared.events import EngagementAction, Envelope

LIKE = EngagementAction.LIKE
UNLIKE = EngagementAction.UNLIKE
VIEW = EngagementAction.VIEW


def envelope_bytes(event_type: str, **payload: object) -> bytes:
    envelope = Envelope(type=event_type, producer="test", payload=payload)
    return envelope.model_dump_json().encode()


class _Table(dict[str, Any]):
    """A faust table's read behaviour: a missing key reads as its default."""

    def __missing__(self, key: str) -> dict[str, Any]:
        return {}


def by(user: str, watch_ms: int = 0) -> EngagementAction:
    return EngagementAction(post_id="p1", user_id=user, watch_ms=watch_ms)


def test_duplicate_like_counts_once() -> None:
    likes = _Table()
    counters = empty_counters()

    apply_action(likes, counters, LIKE, by("sam"), offset=0)
    apply_action(likes, counters, LIKE, by("sam"), offset=1)

    assert counters["likes"] == 1


def test_unlike_without_like_changes_nothing() -> None:
    counters = empty_counters()

    apply_action(_Table(), counters, UNLIKE, by("sam"), offset=0)

    assert counters["likes"] == 0


def test_like_unlike_like_counts_once() -> None:
    likes = _Table()
    counters = empty_counters()

    for offset, event_type in enumerate((LIKE, UNLIKE, LIKE)):
        apply_action(likes, counters, event_type, by("sam"), offset)

    assert counters["likes"] == 1


def test_likes_of_two_users_count_twice() -> None:
    likes = _Table()
    counters = empty_counters()

    apply_action(likes, counters, LIKE, by("sam"), offset=0)
    apply_action(likes, counters, LIKE, by("kim"), offset=1)

    assert counters["likes"] == 2


@pytest.mark.parametrize(("before", "event_type"), [((), LIKE), ((LIKE,), UNLIKE)])
def test_replay_after_crash_counts_once(
    before: tuple[str, ...], event_type: str
) -> None:
    likes = _Table()
    stored = empty_counters()
    for offset, earlier in enumerate(before):
        apply_action(likes, stored, earlier, by("sam"), offset)
        stored["last_offset"] = offset
    offset = len(before)

    # The like table stored the event, then a crash lost the counters.
    lost = stored.copy()
    apply_action(likes, lost, event_type, by("sam"), offset)
    replayed = stored.copy()
    apply_action(likes, replayed, event_type, by("sam"), offset)

    assert replayed["likes"] == lost["likes"]
    assert replayed["likes"] != stored["likes"]


def test_views_add_watch_time() -> None:
    counters = empty_counters()
    apply_action(_Table(), counters, VIEW, by("sam", 1000), offset=0)
    apply_action(_Table(), counters, VIEW, by("sam", 2500), offset=1)

    assert counters["views"] == 2
    assert counters["watch_ms"] == 3500


@pytest.mark.parametrize(
    ("case", "value"),
    [
        ("not json", b"{nope"),
        ("empty", b""),
        ("unknown type", envelope_bytes("engagement.poke", post_id="p", user_id="u")),
        ("missing user", envelope_bytes(LIKE, post_id="p")),
        (
            "negative watch",
            envelope_bytes(VIEW, post_id="p", user_id="u", watch_ms=-5),
        ),
    ],
)
def test_parse_rejects_poison_message(case: str, value: bytes) -> None:
    with pytest.raises(ValueError):
        parse_engagement(value)
