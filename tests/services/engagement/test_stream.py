import pytest

from services.engagement.counters import empty_counters
from services.engagement.stream import apply_action, parse_engagement
from shared.events import EngagementAction, Envelope


def envelope_bytes(event_type: str, **payload: object) -> bytes:
    envelope = Envelope(type=event_type, producer="test", payload=payload)
    return envelope.model_dump_json().encode()


def test_duplicate_like_counts_once() -> None:
    likes = _Table()
    counters = empty_counters()
    action = EngagementAction(post_id="p1", user_id="sam")

    apply_action(likes, counters, EngagementAction.LIKE, action)
    apply_action(likes, counters, EngagementAction.LIKE, action)

    assert counters["likes"] == 1


def test_unlike_without_like_changes_nothing() -> None:
    counters = empty_counters()
    action = EngagementAction(post_id="p1", user_id="sam")

    apply_action(_Table(), counters, EngagementAction.UNLIKE, action)

    assert counters["likes"] == 0


def test_like_unlike_like_counts_once() -> None:
    likes = _Table()
    counters = empty_counters()
    action = EngagementAction(post_id="p1", user_id="sam")

    for event_type in (
        EngagementAction.LIKE,
        EngagementAction.UNLIKE,
        EngagementAction.LIKE,
    ):
        apply_action(likes, counters, event_type, action)

    assert counters["likes"] == 1


def test_views_add_watch_time() -> None:
    counters = empty_counters()
    for watch_ms in (1000, 2500):
        action = EngagementAction(post_id="p1", user_id="sam", watch_ms=watch_ms)
        apply_action(_Table(), counters, EngagementAction.VIEW, action)

    assert counters["views"] == 2
    assert counters["watch_ms"] == 3500


@pytest.mark.parametrize(
    ("case", "value"),
    [
        ("not json", b"{nope"),
        ("empty", b""),
        ("unknown type", envelope_bytes("engagement.poke", post_id="p", user_id="u")),
        ("missing user", envelope_bytes(EngagementAction.LIKE, post_id="p")),
        (
            "negative watch",
            envelope_bytes(
                EngagementAction.VIEW, post_id="p", user_id="u", watch_ms=-5
            ),
        ),
    ],
)
def test_parse_rejects_poison_message(case: str, value: bytes) -> None:
    with pytest.raises(ValueError):
        parse_engagement(value)


class _Table(dict[str, bool]):
    """A faust table's read behaviour: a missing key reads as its default."""

    def __missing__(self, key: str) -> bool:
        return False
