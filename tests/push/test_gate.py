"""wallet.push.gate: one notice per key per window, shared by every process through the rate-limit storage."""
from __future__ import annotations

import uuid
from typing import Any

from limits.errors import StorageError
from limits.storage import MemoryStorage

from tests.conftest import TEST_REDIS
from wallet.push.gate import MEMO_MAX, NoticeGate
from wallet.throttle import shared_storage


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_first_of_a_window_only_then_again_after_it() -> None:
    clock = Clock()
    gate = NoticeGate(MemoryStorage(), seconds=60, clock=clock)
    assert [gate.first("s1"), gate.first("s1"), gate.first("s2"), gate.first("s1")] == [True, False, True, False]
    clock.now += 61
    gate.storage.clear("notice/s1")  # the memory storage's own expiry runs on the wall clock
    assert gate.first("s1") is True
    assert gate.first("s1") is False


def test_two_processes_on_one_redis_tell_once() -> None:
    """Two workers (each its own gate and memo) on the shared Redis: the first look tells, the other doesn't."""
    prefix = f"wallet-test-{uuid.uuid4().hex}"
    one, two = (NoticeGate(shared_storage(TEST_REDIS, prefix), seconds=60) for _ in range(2))
    key = uuid.uuid4().hex
    assert one.first(key) is True
    assert two.first(key) is False
    assert one.first(key) is False
    other = uuid.uuid4().hex
    assert two.first(other) is True and one.first(other) is False


class Broken(MemoryStorage):
    def incr(self, *args: Any, **kwargs: Any) -> int:
        raise StorageError(ConnectionError("redis is down"))


def test_a_store_that_cannot_be_reached_lets_the_notice_out_once_per_process_window() -> None:
    gate = NoticeGate(Broken(), seconds=60)
    assert gate.first("s1") is True  # a duplicate beats a miss
    assert gate.first("s1") is False  # this process told a moment ago


def test_the_memo_is_bounded() -> None:
    """Full of live windows: dropped whole (the shared store still knows them); full with expired ones: those go."""
    clock = Clock()
    gate = NoticeGate(MemoryStorage(), seconds=60, clock=clock)
    for i in range(MEMO_MAX + 5):
        gate.first(f"k{i}")
    assert len(gate._memo) == 5
    for i in range(MEMO_MAX - 5):
        gate.first(f"j{i}")
    clock.now += 61
    gate.first("fresh")
    assert list(gate._memo) == ["fresh"]


def test_retry_after_headers_with_unicode_digits_are_ignored_not_a_crash() -> None:
    """A push service's or an agency receiver's Retry-After is hostile: "²" is str.isdigit() but not a number."""
    from wallet.push.delivery import _retry_after
    from wallet.webhooks.sender import retry_after

    assert _retry_after({"Retry-After": "²"}) is None and _retry_after({"Retry-After": "7"}) == 7.0
    assert retry_after("²", now=0.0) is None and retry_after("7", now=0.0) == 7.0
