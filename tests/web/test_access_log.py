"""The access line and the logging set-up, through a real uvicorn configured as `suz serve`
configures it (suz/logs.py), around a stand-in app behind the real access middleware: one line
per request with its route template (never the raw path or its query, where a private link's key
travels), status, duration and request id; the id echoed in X-Request-Id; JSON lines in
production, text in the demo; private-link keys redacted from uvicorn's websocket handshake line;
suz.* INFO lines written. The real server, signed in, is tests/e2e/test_observe_logs.py."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from websockets.sync.client import connect

from domain.settings import Settings
from suz.logs import config
from web.access import Access
from web.log_redaction import redact

KEY = "UgneHGVt9e6UCb_JrCurc99ubIJ54LsF"
TICKET = "9912d2cf-b2fb-4cf9-bc3b-d3e55c9f4084"


async def page(request: Request) -> PlainTextResponse:
    logging.getLogger("suz.test").info("answering a page")  # an INFO line of suz's own
    return PlainTextResponse("ok")


async def socket_(ws: WebSocket) -> None:
    await ws.accept()
    await ws.close()


def stand_in() -> Starlette:
    """A stand-in for the service: its routes' shapes, the real access middleware."""
    return Starlette(routes=[Route("/r/{ticket_id}", page), Route("/api/v1/tickets/{ticket_id}",
                                                                  page),
                             WebSocketRoute("/live", socket_)],
                     middleware=[Middleware(Access)])  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    address: str
    log: io.StringIO  # what the handler wrote

    def lines(self) -> list[str]:
        time.sleep(0.2)  # the server thread writes its last line
        return self.log.getvalue().splitlines()

    def access(self) -> list[dict[str, Any]]:
        found = [json.loads(line) for line in self.lines()]
        return [r for r in found if r["logger"] == "suz.access"]


def running(log_format: str) -> Iterator[Server]:
    """A real uvicorn, logging as `suz serve` does (`log_format`), its handler writing into a
    buffer."""
    port, log = free_port(), io.StringIO()
    settings = Settings(data_dir=Path("unused"), database_url=None, log_format=log_format)
    logging_config = config(settings)
    logging_config["handlers"]["stderr"]["stream"] = log
    server = uvicorn.Server(uvicorn.Config(stand_in(), host="127.0.0.1", port=port,
                                           log_config=logging_config, log_level="info",
                                           access_log=False, lifespan="off"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.02)
    try:
        yield Server(f"127.0.0.1:{port}", log)
    finally:
        server.should_exit = True
        thread.join(10)
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False,
                                   "root": {"handlers": [], "level": "WARNING"},
                                   "loggers": {"suz": {"level": "NOTSET"}}})  # fmt: skip


@pytest.fixture
def json_server() -> Iterator[Server]:
    yield from running("json")


@pytest.fixture
def text_server() -> Iterator[Server]:
    yield from running("text")


def test_one_json_line_per_request_with_the_route_template_and_no_key(json_server: Server) -> None:
    address = json_server.address
    first = httpx.get(f"http://{address}/r/{TICKET}?key={KEY}&after=7",
                      headers={"X-Request-Id": "req-42.a:b"})  # fmt: skip
    assert first.status_code == 200 and first.headers["x-request-id"] == "req-42.a:b"
    odd = httpx.get(f"http://{address}/api/v1/tickets/{TICKET}?k%65y={KEY}",
                    headers={"X-Request-Id": "x" * 65})  # fmt: skip
    made = odd.headers["x-request-id"]  # not a sane token: replaced by a fresh id
    assert len(made) == 32 and made != "x" * 65
    missing = httpx.get(f"http://{address}/nowhere/{KEY}")
    assert missing.status_code == 404
    with connect(f"ws://{address}/live?ticket={TICKET}&key={KEY}") as ws:
        ws.close()
    written = "\n".join(json_server.lines())
    assert KEY not in written
    assert f"/live?ticket={TICKET}&key=[redacted]" in written  # uvicorn's handshake line
    lines = json_server.access()
    assert [(r["method"], r["route"], r["status"]) for r in lines] == [
        ("GET", "/r/{ticket_id}", 200), ("GET", "/api/v1/tickets/{ticket_id}", 200),
        ("GET", "unmatched", 404), ("WS", "/live", 101)]  # fmt: skip
    assert [r["request_id"] for r in lines[:2]] == ["req-42.a:b", made]
    assert all(r["actor"] == "-" and r["duration_ms"] >= 0 and r["level"] == "INFO"
               and isinstance(r["pid"], int) for r in lines)  # fmt: skip
    told = [json.loads(line) for line in json_server.lines()]
    own = [r for r in told if r["logger"] == "suz.test"]
    assert len(own) == 2 and own[0]["message"] == "answering a page"  # suz's INFO: kept
    assert own[0]["request_id"] == "req-42.a:b"  # a line written while answering carries the id


def test_the_demo_writes_readable_text(text_server: Server) -> None:
    r = httpx.get(f"http://{text_server.address}/r/{TICKET}?key={KEY}",
                  headers={"X-Request-Id": "abc"})  # fmt: skip
    assert r.status_code == 200
    lines = text_server.lines()
    access = [line for line in lines if " suz.access: " in line]
    assert len(access) == 1, lines
    assert " INFO suz.access: GET /r/{ticket_id} 200 " in access[0]
    assert access[0].endswith("ms actor=- id=abc")
    assert any(" INFO suz.test: answering a page" in line for line in lines)
    assert KEY not in "\n".join(lines)


def test_only_secret_parameters_are_redacted() -> None:
    assert redact("/r/x?after=3&key=abc&q=key") == "/r/x?after=3&key=[redacted]&q=key"
    assert redact("/search?monkey=1&KEY=s") == "/search?monkey=1&KEY=[redacted]"
    assert redact("/health") == "/health"
