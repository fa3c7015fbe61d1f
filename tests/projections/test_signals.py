"""The positions views reached, told to waiters on other threads' event loops."""

from __future__ import annotations

import asyncio

from projections.signals import Positions


def test_a_waiter_whose_loop_closed_meanwhile_is_passed_over() -> None:
    positions = Positions()
    loop = asyncio.new_event_loop()
    waiting = loop.create_task(positions.wait_async("tickets", 5, timeout=10))
    loop.run_until_complete(asyncio.sleep(0))  # the waiter is listed
    waiting.cancel()  # its request ends as a test client's does: the loop closed, the waiter
    loop.close()  # still listed (it leaves the list in its own loop, which no longer runs)

    positions.moved("tickets", 5)  # from the listener's thread: no RuntimeError

    assert positions.reached("tickets") == 5


def test_a_waiter_is_woken_when_its_view_reaches_the_position() -> None:
    positions = Positions()

    async def wait_then_move() -> bool:
        waiter = asyncio.create_task(positions.wait_async("tickets", 3, timeout=5))
        await asyncio.sleep(0)
        positions.moved("tickets", 2)
        assert not waiter.done()
        positions.moved("tickets", 3)
        return await waiter

    assert asyncio.run(wait_then_move())
