"""Fixtures shared by the Python tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_client.manager import start_new_kernel


@pytest.fixture(scope="module")
def kernel() -> Iterator[Any]:
    """A real IPython kernel's client (one kernel per test module), for tests that play the browser."""
    manager, client = start_new_kernel(kernel_name="python3")
    yield client
    client.stop_channels()
    manager.shutdown_kernel(now=True)
