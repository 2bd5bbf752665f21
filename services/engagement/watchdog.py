"""Detection and repair of engagement partitions that stop moving.

NOTE: in about one restart test run in five, under load, a faust-streaming
0.15.3 worker that took over partitions processed one replayed event during
recovery and then nothing more, although events were waiting. The cause
inside faust is not known. This watchdog notices a partition that has
waiting events but made no progress for ``STALL_LIMIT`` checks. It seeks
that partition back to its committed offset, and the worker skips the
events it had already applied.
"""

import logging
from collections import Counter
from typing import Any

import faust

logger = logging.getLogger(__name__)

CHECK_INTERVAL_SECONDS = 5.0
STALL_LIMIT = 2


class StallWatchdog:
    def __init__(self, app: faust.App, topic: str) -> None:
        self._app = app
        self._topic = topic
        self._last_read: dict[Any, int | None] = {}
        self._stalled_checks: Counter[Any] = Counter()

    async def check(self) -> list[Any]:
        """Check every assigned partition once; return those sought back."""
        consumer = self._app.consumer
        partitions = [tp for tp in consumer.assignment() if tp.topic == self._topic]
        if self._app.rebalancing or not partitions:
            return []
        ends = await consumer.highwaters(*partitions)
        repaired = []
        for tp in partitions:
            if self._is_stalled(tp, ends.get(tp)):
                await self._repair(tp)
                repaired.append(tp)
        return repaired

    def _is_stalled(self, tp: Any, end: int | None) -> bool:
        consumer = self._app.consumer
        # faust's record of the last offset it handed to the agent.
        read = consumer._read_offset.get(tp)
        committed = consumer._committed_offset.get(tp)
        next_offset = read + 1 if read is not None else (committed or 0)
        waiting = end is not None and next_offset < end
        unchanged = tp in self._last_read and self._last_read[tp] == read
        self._last_read[tp] = read
        if waiting and unchanged:
            self._stalled_checks[tp] += 1
        else:
            self._stalled_checks[tp] = 0
        return self._stalled_checks[tp] >= STALL_LIMIT

    async def _repair(self, tp: Any) -> None:
        consumer = self._app.consumer
        committed = consumer._committed_offset.get(tp) or 0
        logger.warning(
            "partition %s made no progress with events waiting; seeking it back "
            "to committed offset %d",
            tp,
            committed,
        )
        await consumer.seek(tp, committed)
        consumer.resume_partitions([tp])
        self._stalled_checks[tp] = 0
