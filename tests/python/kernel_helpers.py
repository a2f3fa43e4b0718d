"""Reading a real kernel's messages, for tests that play the browser over jupyter_client.

The kernel itself is the ``kernel`` fixture of conftest.py.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from typing import Any


def iopub_until(
    client: Any, predicate: Callable[[dict], bool], timeout: float = 60.0
) -> tuple[dict, list[dict]]:
    """The first iopub message for which ``predicate`` holds, and every message seen until it."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            msg = client.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        seen.append(msg)
        if predicate(msg):
            return msg, seen
    seen_kinds = [(m["msg_type"], m["content"]) for m in seen]
    raise AssertionError(f"no such iopub message within {timeout} s; saw {seen_kinds}")
