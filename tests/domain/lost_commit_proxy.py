"""A TCP proxy in front of PostgreSQL that can lose the server's answer to one COMMIT.

Armed, the server's next CommandComplete for COMMIT (the event store's connections autocommit,
so only a write's transaction ends with one) is not forwarded, and both sides of that connection
are closed. The
server has committed; the client sees its connection die. This is the real fault, not a mock: the
library's own retry then runs against the real database.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType

COMMIT_DONE = b"C\x00\x00\x00\x0bCOMMIT\x00"  # CommandComplete, length 11, tag "COMMIT"


class LostCommitProxy:
    def __init__(self, upstream: tuple[str, int] = ("127.0.0.1", 5432)) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.armed = threading.Event()
        self.dropped = 0  # connections dropped after the server's COMMIT
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, database: str = "test") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def lose_next_commit(self) -> None:
        self.armed.set()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._up, args=(client, server), daemon=True).start()
            threading.Thread(target=self._down, args=(server, client), daemon=True).start()

    def _up(self, client: socket.socket, server: socket.socket) -> None:
        while data := _recv(client):
            if not _send(server, data):
                break
        _close(client, server)

    def _down(self, server: socket.socket, client: socket.socket) -> None:
        while data := _recv(server):
            if COMMIT_DONE in data and self.armed.is_set():
                with self._lock:
                    if self.armed.is_set():
                        self.armed.clear()
                        self.dropped += 1
                        break  # the server committed; the client never hears of it
            if not _send(client, data):
                break
        _close(client, server)

    def close(self) -> None:
        self.listener.close()

    def __enter__(self) -> LostCommitProxy:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _send(sock: socket.socket, data: bytes) -> bool:
    try:
        sock.sendall(data)
    except OSError:
        return False
    return True


def _close(*socks: socket.socket) -> None:
    for sock in socks:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
