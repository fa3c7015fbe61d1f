"""A browser that goes away mid-request is no error of ours: against a real `suz serve`, clients
that close the connection while sending a JSON body or a form with a file leave no traceback (an
INFO line of suz.web), count as 499 in the metrics, and the server answers the next caller."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx

from domain.settings import Settings
from tests.e2e.server import Server, serve, server_env
from tests.web.desk_site import migrate

TOKEN = "disconnects-metrics-token"


def send_half_and_close(server: Server, head: str, body: bytes, declared: int) -> None:
    """Sends the headers and part of a body declared longer, then closes the connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(head.format(length=declared).encode() + b"\r\n" + body)
        time.sleep(0.3)  # the server is reading the body when the client leaves


def test_clients_that_leave_mid_body_leave_no_traceback(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=None)
    migrate(settings)
    env = {**server_env(settings), "SUZ_MODE": "demo", "SUZ_METRICS_TOKEN": TOKEN}
    with serve(env, tmp_path) as server:
        send_half_and_close(
            server,
            "POST /api/v1/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nContent-Length: {length}\r\n",
            b'{"subject": "half a reque', 100_000,
        )  # fmt: skip
        boundary = "suzboundary"
        send_half_and_close(
            server,
            "POST /new HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://127.0.0.1:8000\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            "Content-Length: {length}\r\n",
            (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.pdf\""
             "\r\nContent-Type: application/pdf\r\n\r\n").encode() + b"%PDF-1.7 " * 1000,
            1_000_000,
        )  # fmt: skip
        time.sleep(1.0)  # what the server logs about them is written

        assert httpx.get(f"{server.url}/health", timeout=5).json()["status"] == "ok"
        metrics = httpx.get(f"{server.url}/metrics", timeout=5,
                            headers={"Authorization": f"Bearer {TOKEN}"}).text  # fmt: skip
        log = server.output()
    assert "Traceback" not in log, log
    assert "ClientDisconnect" not in log, log
    for route in ("/api/v1/tickets", "/new"):  # counted as closed by the client (499), not 500
        counted = f'suz_http_requests_total{{method="POST",route="{route}",status="499"}} 1.0'
        assert counted in metrics
