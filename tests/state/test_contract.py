"""The StateStore contract, run unchanged against the in-memory store and real Redis."""

from __future__ import annotations

import asyncio

import pytest

from core.state.contract import Exchange, Get, HitWindow, Incr, SetIfAbsent, StateStore
from tests.state.stores import OpenStore

SHORT = 0.3  # seconds: long enough to read back, short enough to wait out
CROWD = 100


async def test_implements_the_protocol(store):
    """Both implementations satisfy the StateStore protocol."""
    assert isinstance(store, StateStore)
    assert await store.ping() is True


async def test_get_set_and_missing(store):
    """A written value reads back; an absent key reads None."""
    assert await store.get("k") is None
    await store.set("k", b"v1")
    await store.set("k", b"v2")
    assert await store.get("k") == b"v2"


async def test_get_many_keeps_order_and_marks_missing(store):
    """get_many answers in the order asked, with None for absent keys."""
    await store.set("a", b"1")
    await store.set("c", b"3")
    assert await store.get_many(["c", "b", "a"]) == [b"3", None, b"1"]
    assert await store.get_many([]) == []


async def test_set_with_ttl_expires(store):
    """A value written with a TTL reads back, then disappears after the TTL."""
    await store.set("k", b"v", ttl=SHORT)
    assert await store.get("k") == b"v"
    remaining = await store.ttl("k")
    assert remaining is not None and 0 < remaining <= SHORT
    await asyncio.sleep(SHORT + 0.15)
    assert await store.get("k") is None
    assert await store.ttl("k") is None
    assert await store.consume("k") is None
    assert await store.compare_and_set("k", b"v", b"w") is False


async def test_ttl_none_for_persistent_and_absent(store):
    """ttl() is None for a key without expiry and for an absent key."""
    await store.set("k", b"v")
    assert await store.ttl("k") is None
    assert await store.ttl("absent") is None


async def test_set_if_absent(store):
    """set_if_absent writes once; after the value expires it may write again."""
    assert await store.set_if_absent("k", b"first", ttl=SHORT) is True
    assert await store.set_if_absent("k", b"second", ttl=SHORT) is False
    assert await store.get("k") == b"first"
    await asyncio.sleep(SHORT + 0.15)
    assert await store.set_if_absent("k", b"third") is True
    assert await store.get("k") == b"third"


async def test_exchange_returns_previous(store):
    """exchange writes and returns what was there (None the first time), applying the new TTL."""
    assert await store.exchange("k", b"1") is None
    assert await store.exchange("k", b"2", ttl=10) == b"1"
    assert await store.get("k") == b"2"
    remaining = await store.ttl("k")
    assert remaining is not None and 9 < remaining <= 10
    assert await store.exchange("k", b"3") == b"2"
    assert await store.ttl("k") is None  # no ttl given: written without expiry, like set


async def test_compare_and_set_only_on_match(store):
    """compare_and_set replaces only the expected value and never creates a key."""
    assert await store.compare_and_set("k", b"x", b"y") is False
    assert await store.get("k") is None
    await store.set("k", b"pending")
    assert await store.compare_and_set("k", b"approved", b"denied") is False
    assert await store.get("k") == b"pending"
    assert await store.compare_and_set("k", b"pending", b"approved") is True
    assert await store.get("k") == b"approved"


async def test_compare_and_set_keeps_remaining_ttl(store):
    """Without ttl or min_ttl the remaining expiry is kept (and a persistent key stays persistent)."""
    await store.set("k", b"a", ttl=10)
    await asyncio.sleep(0.2)
    assert await store.compare_and_set("k", b"a", b"b") is True
    remaining = await store.ttl("k")
    assert remaining is not None and 9 < remaining < 9.9
    await store.set("p", b"a")
    assert await store.compare_and_set("p", b"a", b"b") is True
    assert await store.ttl("p") is None


async def test_compare_and_set_ttl_replaces_expiry(store):
    """ttl= sets a new expiry, shorter or longer than the remaining one."""
    await store.set("k", b"a", ttl=100)
    assert await store.compare_and_set("k", b"a", b"b", ttl=5) is True
    remaining = await store.ttl("k")
    assert remaining is not None and 4 < remaining <= 5
    await store.set("p", b"a")
    assert await store.compare_and_set("p", b"a", b"b", ttl=5) is True
    assert await store.ttl("p") is not None


async def test_compare_and_set_min_ttl_raises_floor_only(store):
    """min_ttl lifts a shorter remaining expiry to the floor and leaves a longer one alone."""
    await store.set("short", b"a", ttl=2)
    assert await store.compare_and_set("short", b"a", b"b", min_ttl=60) is True
    remaining = await store.ttl("short")
    assert remaining is not None and 59 < remaining <= 60
    await store.set("long", b"a", ttl=900)
    assert await store.compare_and_set("long", b"a", b"b", min_ttl=60) is True
    remaining = await store.ttl("long")
    assert remaining is not None and 899 < remaining <= 900


async def test_compare_and_set_min_ttl_keeps_persistent_key_persistent(store):
    """min_ttl on a key without expiry keeps it without expiry (it already outlives any floor)."""
    await store.set("k", b"a")
    assert await store.compare_and_set("k", b"a", b"b", min_ttl=1) is True
    assert await store.ttl("k") is None
    await asyncio.sleep(1.1)
    assert await store.get("k") == b"b"


async def test_compare_and_delete_is_owner_checked(store):
    """compare_and_delete removes the key only for the owner's value."""
    await store.set("lock", b"owner-1", ttl=60)
    assert await store.compare_and_delete("lock", b"owner-2") is False
    assert await store.get("lock") == b"owner-1"
    assert await store.compare_and_delete("lock", b"owner-1") is True
    assert await store.get("lock") is None
    assert await store.compare_and_delete("lock", b"owner-1") is False


async def test_consume_reads_once(store):
    """consume returns the value once and removes it."""
    await store.set("k", b"v", ttl=60)
    assert await store.consume("k") == b"v"
    assert await store.consume("k") is None
    assert await store.get("k") is None


async def test_delete_counts_existing_keys(store):
    """delete removes the keys and answers how many existed."""
    await store.set("a", b"1")
    await store.set("b", b"2")
    assert await store.delete("a", "b", "c") == 2
    assert await store.get_many(["a", "b"]) == [None, None]
    assert await store.delete() == 0


async def test_incr_sets_ttl_on_creation_only(store):
    """incr counts from 1; the TTL is set when the counter is created and not extended later."""
    assert await store.incr("n", ttl=SHORT) == 1
    first = await store.ttl("n")
    await asyncio.sleep(0.1)
    assert await store.incr("n", ttl=SHORT) == 2
    later = await store.ttl("n")
    assert first is not None and later is not None and later < first
    assert await store.get("n") == b"2"
    await asyncio.sleep(SHORT)
    assert await store.get("n") is None
    assert await store.incr("n", ttl=SHORT) == 1


async def test_incr_without_ttl_is_persistent(store):
    """incr without a TTL makes a counter without expiry."""
    assert await store.incr("n") == 1
    assert await store.incr("n") == 2
    assert await store.ttl("n") is None


async def test_hit_window_admits_limit_then_reports_retry(store):
    """The sliding window admits `limit` hits, refuses the next with a retry time within the window."""
    verdicts = [await store.hit_window("w", 3, 1.0) for _ in range(3)]
    assert [v.allowed for v in verdicts] == [True, True, True]
    assert [v.count for v in verdicts] == [1, 2, 3]
    assert all(v.retry_after == 0 for v in verdicts)
    refused = await store.hit_window("w", 3, 1.0)
    assert refused.allowed is False and refused.count == 3
    assert 0 < refused.retry_after <= 1.0
    await asyncio.sleep(refused.retry_after + 0.05)
    again = await store.hit_window("w", 3, 1.0)
    assert again.allowed is True


async def test_hit_window_slides(store):
    """Old hits leave the window one by one: a slot frees when the oldest hit ages out."""
    await store.hit_window("w", 2, 0.8)
    await asyncio.sleep(0.4)
    await store.hit_window("w", 2, 0.8)
    refused = await store.hit_window("w", 2, 0.8)
    assert refused.allowed is False
    assert 0 < refused.retry_after <= 0.45  # the first hit ages out first, not the whole window
    await asyncio.sleep(refused.retry_after + 0.05)
    assert (await store.hit_window("w", 2, 0.8)).allowed is True
    assert (await store.hit_window("w", 2, 0.8)).allowed is False  # the second hit is still inside


async def test_hit_window_keys_are_independent(store):
    """Two window keys keep separate counts."""
    assert (await store.hit_window("w1", 1, 10)).allowed is True
    assert (await store.hit_window("w1", 1, 10)).allowed is False
    assert (await store.hit_window("w2", 1, 10)).allowed is True


async def test_hit_window_limit_zero_refuses(store):
    """A window with limit 0 refuses every hit, with a retry time of the window."""
    verdict = await store.hit_window("w", 0, 2.0)
    assert verdict.allowed is False and verdict.count == 0
    assert 0 < verdict.retry_after <= 2.0


async def test_delete_clears_a_window(store):
    """Deleting a window key resets its count."""
    assert (await store.hit_window("w", 1, 10)).allowed is True
    await store.delete("w")
    assert (await store.hit_window("w", 1, 10)).allowed is True


async def test_batch_runs_operations_in_order_with_their_own_results(store):
    """A batch returns what each operation returns on its own, in order: a window verdict, whether a
    set-if-absent wrote, and a read that sees the write made earlier in the same batch."""
    await store.set("seen", b"old", ttl=60)
    verdict, wrote, again, value, missing, first, previous = await store.batch(
        [
            HitWindow("w", 2, 10),
            SetIfAbsent("marker", b"1", ttl=SHORT),
            SetIfAbsent("marker", b"2", ttl=SHORT),
            Get("marker"),
            Get("absent"),
            Exchange("slot", b"a", ttl=60),
            Exchange("slot", b"b", ttl=60),
        ]
    )
    counts = await store.batch([Incr("n", ttl=SHORT), Incr("n", ttl=60)])
    assert counts == [1, 2] and 0 < await store.ttl("n") <= SHORT  # the expiry is set on creation only
    assert verdict.allowed is True and verdict.count == 1
    assert (wrote, again, value, missing) == (True, False, b"1", None)
    assert (first, previous) == (None, b"a")
    assert await store.get("slot") == b"b"
    assert (await store.batch([Get("seen")])) == [b"old"]
    assert 0 < await store.ttl("marker") <= SHORT
    refused = (await store.batch([HitWindow("w", 1, 10)]))[0]
    assert refused.allowed is False and refused.retry_after > 0


async def test_empty_batch_is_empty(store):
    assert await store.batch([]) == []


# Concurrency: on Redis each call goes through one of several separate clients, so they race for real.


async def _crowd(opened: OpenStore, call) -> list:
    return await asyncio.gather(*(call(opened.handle(i), i) for i in range(CROWD)))


async def test_concurrent_consume_has_one_winner(opened: OpenStore):
    """Of 100 concurrent consumers of one key exactly one gets the value."""
    await opened.store.set("code", b"secret", ttl=60)
    results = await _crowd(opened, lambda s, _: s.consume("code"))
    assert results.count(b"secret") == 1
    assert results.count(None) == CROWD - 1


async def test_concurrent_set_if_absent_has_one_winner(opened: OpenStore):
    """Of 100 concurrent set_if_absent calls exactly one writes, and its value stays."""
    results = await _crowd(opened, lambda s, i: s.set_if_absent("lock", str(i).encode(), ttl=60))
    assert results.count(True) == 1
    winner = results.index(True)
    assert await opened.store.get("lock") == str(winner).encode()


async def test_concurrent_compare_and_set_has_one_winner(opened: OpenStore):
    """Of 100 concurrent transitions from the same expected value exactly one succeeds."""
    await opened.store.set("state", b"pending", ttl=60)
    results = await _crowd(
        opened, lambda s, i: s.compare_and_set("state", b"pending", f"approved-{i}".encode(), min_ttl=60)
    )
    assert results.count(True) == 1
    assert await opened.store.get("state") == f"approved-{results.index(True)}".encode()


async def test_concurrent_compare_and_delete_has_one_winner(opened: OpenStore):
    """Of 100 concurrent owner-checked releases exactly one deletes."""
    await opened.store.set("lock", b"owner", ttl=60)
    results = await _crowd(opened, lambda s, _: s.compare_and_delete("lock", b"owner"))
    assert results.count(True) == 1


async def test_concurrent_exchange_forms_one_chain(opened: OpenStore):
    """100 concurrent exchanges each see a distinct previous value: no write is lost."""
    results = await _crowd(opened, lambda s, i: s.exchange("slot", str(i).encode(), ttl=60))
    assert results.count(None) == 1
    seen = [value for value in results if value is not None]
    assert len(set(seen)) == CROWD - 1
    last = await opened.store.get("slot")
    assert last is not None and last not in seen


async def test_concurrent_incr_counts_every_hit(opened: OpenStore):
    """100 concurrent increments end at 100 with every intermediate count handed out once."""
    results = await _crowd(opened, lambda s, _: s.incr("n", ttl=60))
    assert sorted(results) == list(range(1, CROWD + 1))
    assert await opened.store.get("n") == str(CROWD).encode()


@pytest.mark.parametrize("limit", [1, 7, 40])
async def test_concurrent_hits_admit_exactly_limit(opened: OpenStore, limit: int):
    """N concurrent hits on a window of limit L admit exactly L."""
    verdicts = await _crowd(opened, lambda s, _: s.hit_window("w", limit, 30))
    admitted = [v for v in verdicts if v.allowed]
    assert len(admitted) == limit
    assert sorted(v.count for v in admitted) == list(range(1, limit + 1))
    assert all(v.retry_after > 0 for v in verdicts if not v.allowed)


async def test_concurrent_batched_hits_admit_exactly_limit(opened: OpenStore):
    """Window hits inside concurrent batches count exactly like lone hits."""
    results = await _crowd(opened, lambda s, i: s.batch([HitWindow("bw", 7, 30), Get("bw-other")]))
    assert sum(1 for verdict, _ in results if verdict.allowed) == 7
