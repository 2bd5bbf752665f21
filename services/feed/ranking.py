"""Timeline scores. A higher score is shown first.

The score is the post's creation time in seconds since the epoch, plus a
bonus for each interest of the user the post matches beyond the first, so a
post matching two interests ranks like one 30 minutes newer.
"""

from datetime import datetime

EXTRA_INTEREST_BONUS_SECONDS = 1800.0


def timeline_score(created_at: datetime, matching_interests: int) -> float:
    bonus = EXTRA_INTEREST_BONUS_SECONDS * max(matching_interests - 1, 0)
    return created_at.timestamp() + bonus
