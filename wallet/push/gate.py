"""At most one "your share was viewed" notice per share per window, across every worker and node.

A share passed round a queue of clerks, or reloaded by a verifier, may be looked at many times a minute: its
maker wants to know that it is being viewed, not a buzz per look (the activity page lists every one), and the
QR look, the hottest path, must not hand the workers a job per look. The first counted look of a window tells;
the others of that window don't.

Two layers: a memo of this process (a share looked at hundreds of times a second costs one dict lookup per
look), then the shared store (the rate-limit storage: Redis in production, so every worker and node agree;
one atomic INCR with expiry). If the store cannot be reached the notice goes out: a duplicate beats a miss.
The key is the share id (chosen by whoever holds the link): the only effect of looking at a share often is
fewer notices in that window, never a hidden view (each is logged).
"""
from __future__ import annotations

import threading
import time

from limits.errors import StorageError
from limits.storage import Storage

WINDOW_SECONDS = 300
MEMO_MAX = 10_000  # shares remembered by one process before the expired ones are dropped


class NoticeGate:
    def __init__(self, storage: Storage, seconds: int = WINDOW_SECONDS, clock: object = time.monotonic) -> None:
        self.storage = storage
        self.seconds = seconds
        self._clock = clock
        self._memo: dict[str, float] = {}  # key -> until when this process knows the window is taken
        self._lock = threading.Lock()

    def first(self, key: str) -> bool:
        """True for the first call of ``key`` in its window (tell), False for the others (a notice went out)."""
        now = self._clock()  # type: ignore[operator]
        with self._lock:
            if self._memo.get(key, 0.0) > now:
                return False
            if len(self._memo) >= MEMO_MAX:
                self._memo = {k: until for k, until in self._memo.items() if until > now}
                if len(self._memo) >= MEMO_MAX:
                    self._memo.clear()
            self._memo[key] = now + self.seconds
        try:
            return int(self.storage.incr(f"notice/{key}", self.seconds)) == 1
        except StorageError:
            return True

    def forget(self) -> None:
        """This process's memo dropped (tests; the shared store keeps its windows)."""
        with self._lock:
            self._memo.clear()
