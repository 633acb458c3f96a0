"""An ASGI app (core.serve's) served by uvicorn in a thread on a free loopback port, for tests.

    python -c "from core.testing.app_server import AppServer; print(AppServer.__doc__)"
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any


class AppServer:
    """uvicorn in a daemon thread on a free loopback port; `base_url` once it has started (30 s at most).
    `stop()` (or leaving the `with` block) asks it to exit and waits up to 10 s."""

    def __init__(self, app: Any):
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="error"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def __enter__(self) -> AppServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
