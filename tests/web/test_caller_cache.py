"""web/caller_cache.py on its own: bounded, expiring, and a lookup that raced a revocation is
not stored."""

from __future__ import annotations

from uuid import UUID

from domain.access import Actor
from domain.people import Role
from tests.web.support import FakeClock
from web.caller_cache import CallerCache

ALICE = Actor(id=UUID(int=1), roles=frozenset({Role.AGENT}))
BOB = Actor(id=UUID(int=2), roles=frozenset({Role.AGENT}))


def test_entries_expire_after_the_ttl() -> None:
    clock = FakeClock()
    cache: CallerCache[str] = CallerCache(2.0, 10, clock)
    cache.put("s:a", ALICE, "session", 3, cache.generation)
    entry = cache.get("s:a")
    assert entry is not None and (entry.actor, entry.session, entry.account_version) == (
        ALICE, "session", 3)  # fmt: skip
    clock.advance(1.9)
    assert cache.get("s:a") is not None
    clock.advance(0.2)
    assert cache.get("s:a") is None


def test_it_holds_at_most_its_size_dropping_the_least_recently_used() -> None:
    cache: CallerCache[str] = CallerCache(60.0, 2, FakeClock())
    cache.put("s:a", ALICE, None, None, cache.generation)
    cache.put("s:b", BOB, None, None, cache.generation)
    assert cache.get("s:a") is not None  # a is used: b is now the oldest
    cache.put("s:c", BOB, None, None, cache.generation)
    assert len(cache) == 2
    assert cache.get("s:b") is None and cache.get("s:a") is not None


def test_a_lookup_that_began_before_a_revocation_is_not_stored() -> None:
    cache: CallerCache[str] = CallerCache(60.0, 10, FakeClock())
    before = cache.generation  # a lookup starts, reads the row...
    cache.forget_account(UUID(int=1))  # ...the account's sessions are revoked meanwhile...
    cache.put("s:a", ALICE, None, None, before)  # ...and what it read must not be kept
    assert cache.get("s:a") is None
    cache.put("s:a", ALICE, None, None, cache.generation)
    assert cache.get("s:a") is not None


def test_forgetting_an_account_drops_its_every_session_token_and_name() -> None:
    cache: CallerCache[str] = CallerCache(60.0, 10, FakeClock())
    for key, actor in (("s:a1", ALICE), ("t:a2", ALICE), ("s:b", BOB)):
        cache.put(key, actor, None, None, cache.generation)
    cache.remember_name(UUID(int=1), "Алиса", cache.generation)
    cache.forget_account(str(ALICE.id))  # as a NOTIFY's payload carries it
    assert cache.get("s:a1") is None and cache.get("t:a2") is None
    assert cache.display_name(UUID(int=1)) is None
    assert cache.get("s:b") is not None


def test_a_ttl_of_zero_remembers_nothing() -> None:
    cache: CallerCache[str] = CallerCache(0.0, 10, FakeClock())
    cache.put("s:a", ALICE, None, None, cache.generation)
    assert not cache.enabled and cache.get("s:a") is None
