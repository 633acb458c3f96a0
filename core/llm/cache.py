"""On-disk response cache: sqlite in WAL mode, keyed by sha256 of (backend, model, prompt, generation parameters).

    python -c "from core.llm.cache import ResponseCache; c = ResponseCache('/tmp/kgllm-cache'); print(len(c))"

Safe for several threads and several processes sharing one folder (WAL + busy timeout; every write is one
autocommitted statement). A row holds the key hash, the model id, the completions as JSON and the time: never the
prompt, never an API key (only what `identity()` returns goes into the hash, and no backend puts a key there).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from core.errors import UserError

FILENAME = "responses.sqlite3"
_SCHEMA = "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, model TEXT, completions TEXT, created REAL)"


class ResponseCache:
    def __init__(self, folder: str | os.PathLike, busy_timeout: float = 60.0):
        self.path = Path(folder) / FILENAME
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
            self._db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            self._setup(busy_timeout)
        except (OSError, sqlite3.Error) as exc:
            raise UserError(f"cannot open the LLM cache {self.path}: {exc} (use --cache_dir or --no_cache)") from None
        self._lock = threading.Lock()

    def _setup(self, busy_timeout: float) -> None:
        """WAL mode and the table. Switching the journal mode can answer "database is locked" at once, without the
        busy handler, while another process opens the same file: retry that until the timeout."""
        deadline = time.monotonic() + busy_timeout
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.execute(_SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @staticmethod
    def key(identity: dict, prompt: Any, params: dict) -> str:
        blob = json.dumps({"id": identity, "prompt": prompt, "params": params}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def get(self, key: str) -> list[dict] | None:
        with self._lock:
            row = self._db.execute("SELECT completions FROM responses WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, completions: list[dict], model: str = "") -> None:
        blob = json.dumps(completions, ensure_ascii=False)
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)", (key, model, blob, time.time()))

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
