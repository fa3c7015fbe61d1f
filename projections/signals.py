"""In-process signals: a wake-up for runners, and the positions views have reached."""

from __future__ import annotations

import asyncio
import contextlib
import threading


class Wakeup:
    """Wakes waiting runners when the log may have grown; `generation` counts the wake-ups."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.generation = 0

    def notify(self, _position: int | None = None) -> None:
        with self._cond:
            self.generation += 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self.generation != seen, timeout=timeout)


class Positions:
    """The log position each view has reached, for read-your-writes waits."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._reached: dict[str, int] = {}
        self._listeners: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    def moved(self, view: str, position: int) -> None:
        with self._cond:
            if position <= self._reached.get(view, 0):
                return
            self._reached[view] = position
            self._cond.notify_all()
            listeners = list(self._listeners)
        for loop, event in listeners:
            # a loop closed after the list was copied raises RuntimeError: none waits there
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

    def reached(self, view: str) -> int:
        with self._cond:
            return self._reached.get(view, 0)

    def wait_for(self, view: str, position: int, timeout: float) -> bool:
        """Blocks until `view` has processed the log up to `position`; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._reached.get(view, 0) >= position, timeout)

    async def wait_async(self, view: str, position: int, timeout: float) -> bool:
        """The same, for asyncio code: no thread blocks and nothing polls."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        entry = (loop, event)
        with self._cond:
            self._listeners.append(entry)
        try:
            async with asyncio.timeout(timeout):
                while self.reached(view) < position:
                    await event.wait()
                    event.clear()
            return True
        except TimeoutError:
            return self.reached(view) >= position
        finally:
            with self._cond:
                self._listeners.remove(entry)
