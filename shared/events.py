"""The event envelope and the payload schema of every event on Kafka.

Every message value is a JSON envelope. ``event_id`` is unique per event and
is the key for any consumer that must not apply an event twice; ``type``
selects the payload schema.
"""

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

ENVELOPE_VERSION = 1


def utc_now() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1)
    type: str = Field(min_length=1, max_length=64)
    version: int = ENVELOPE_VERSION
    occurred_at: datetime = Field(default_factory=utc_now)
    producer: str = Field(min_length=1, max_length=64)
    trace_id: str | None = None
    payload: dict[str, Any]


class MediaInfo(BaseModel):
    kind: Literal["photo", "video"]
    url: str
    content_type: str
    width: int
    height: int
    duration_seconds: float | None = None
    sha256: str


class PostCreated(BaseModel):
    """A post that passed ingest's checks and was stored."""

    TYPE: ClassVar[str] = "post.created"

    post_id: str
    creator_id: str
    caption: str
    interests: list[str]
    product_ids: list[str]
    media: MediaInfo
    created_at: datetime


class EngagementAction(BaseModel):
    """A like, unlike or view of a post by one user."""

    LIKE: ClassVar[str] = "engagement.like"
    UNLIKE: ClassVar[str] = "engagement.unlike"
    VIEW: ClassVar[str] = "engagement.view"

    post_id: str
    user_id: str
    watch_ms: int = Field(default=0, ge=0)


class PostStats(BaseModel):
    """Counters of one post after the engagement stream processed an event."""

    TYPE: ClassVar[str] = "post.stats"

    post_id: str
    likes: int = Field(ge=0)
    views: int = Field(ge=0)
    watch_ms: int = Field(ge=0)


class OrderPlaced(BaseModel):
    """An order stored by commerce, with the post and creator it came from."""

    TYPE: ClassVar[str] = "order.placed"

    order_id: str
    buyer_id: str
    product_id: str
    quantity: int = Field(gt=0)
    unit_price_cents: int = Field(ge=0)
    total_cents: int = Field(ge=0)
    currency: str
    post_id: str | None = None
    creator_id: str | None = None
    placed_at: datetime
