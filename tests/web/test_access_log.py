"""Private-link keys never reach the log: a real uvicorn, configured as `suz serve` configures
it, writes the access line of `/r/{id}?key=...` and the handshake line of `/live?...&key=...`
with the key redacted, and every other part of the line as it was."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from websockets.sync.client import connect

from web.log_redaction import log_config, redact

KEY = "UgneHGVt9e6UCb_JrCurc99ubIJ54LsF"
TICKET = "9912d2cf-b2fb-4cf9-bc3b-d3e55c9f4084"


async def app(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
    """A stand-in for the service: answers any page, accepts any websocket."""
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]
    elif scope["type"] == "websocket":
        await receive()  # type: ignore[operator]
        await send({"type": "websocket.accept"})  # type: ignore[operator]
        await send({"type": "websocket.close", "code": 1000})  # type: ignore[operator]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    address: str
    log: io.StringIO  # what its handlers wrote


@pytest.fixture
def server() -> Iterator[Server]:
    """A real uvicorn, logging as `suz serve` does, its handlers writing into a buffer."""
    port, log = free_port(), io.StringIO()
    logging_config = log_config()
    for handler in logging_config["handlers"].values():
        handler["stream"] = log
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=logging_config,
                            log_level="info", lifespan="off")  # fmt: skip
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    for _ in range(200):
        if running.started:
            break
        time.sleep(0.02)
    yield Server(f"127.0.0.1:{port}", log)
    running.should_exit = True
    thread.join(10)


def test_the_access_and_websocket_lines_carry_no_key(server: Server) -> None:
    address = server.address
    page = httpx.get(f"http://{address}/r/{TICKET}?key={KEY}&after=7")
    assert page.status_code == 200
    encoded = httpx.get(f"http://{address}/api/v1/tickets/{TICKET}?k%65y={KEY}")
    assert encoded.status_code == 200
    with connect(f"ws://{address}/live?ticket={TICKET}&key={KEY}") as ws:
        ws.close()
    time.sleep(0.2)  # the server thread writes its last line
    written = server.log.getvalue()
    assert KEY not in written
    assert f'"GET /r/{TICKET}?key=[redacted]&after=7 HTTP/1.1" 200' in written
    assert f'"GET /api/v1/tickets/{TICKET}?k%65y=[redacted] HTTP/1.1" 200' in written
    assert f'"WebSocket /live?ticket={TICKET}&key=[redacted]" [accepted]' in written


def test_only_secret_parameters_are_redacted() -> None:
    assert redact("/r/x?after=3&key=abc&q=key") == "/r/x?after=3&key=[redacted]&q=key"
    assert redact("/search?monkey=1&KEY=s") == "/search?monkey=1&KEY=[redacted]"
    assert redact("/health") == "/health"
