"""Double buffering: the next batch is built on a helper thread while the model runs this one.

On the numpy backend a round of draws alternates two kinds of work: writing a batch's masked rows
(numpy copies, which release the GIL) and calling the model on them (onnxruntime, torch and most
numeric libraries release it too). :func:`prefetched` overlaps them: while the engine's thread
calls the model on batch k, one helper thread writes batch k+1 into the other of two buffer sets
(*buffer slots* 0 and 1: ``host.py``'s regular buffers and the tile's, ``fill_numpy.py``). The
engine's thread then finds batch k+1 ready and calls the model on it at once.

The values are bit-identical to building each batch just before its call: the same batches, the
same rows in the same order, the same model calls from the same thread; only where the rows lie
in memory differs. A cancel still stops before the next model call (the batch built ahead is
dropped), and an error, a cancel or a generator closed early waits for the helper to finish its
batch, so no thread writes into the buffers after the round.

The helper thread is started by the engine's thread, once per round with more than one batch,
and inherits its scheduling priority (on Linux a new thread takes its creator's nice value), so
the widget's engine thread keeps its lowered priority for both (``widget.ENGINE_THREAD_NICENESS``).

When it pays: :data:`DOUBLE_BUFFER` (measurements: docs/BENCHMARKS.md, "Python value engine").
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["DOUBLE_BUFFER", "double_buffer_default", "prefetched", "usable_cpus"]

#: Whether the numpy backend builds the next batch while the model runs this one, for engines
#: made with ``double_buffer=None`` (the default): True, False, or None for "on where this process
#: may use more than two cores" (:func:`usable_cpus`). The overlap pays where a core is left for
#: the helper; on two cores the model's own threads already take both (docs/BENCHMARKS.md).
DOUBLE_BUFFER: bool | None = None
#: with ``DOUBLE_BUFFER = None``, double buffering is on above this many usable cores
DOUBLE_BUFFER_MIN_CPUS = 3

T = TypeVar("T")
R = TypeVar("R")


def usable_cpus() -> int:
    """The cores this process may run on (its CPU affinity where the platform says, else all)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def double_buffer_default() -> bool:
    """What ``double_buffer=None`` means now: :data:`DOUBLE_BUFFER`, or by the usable cores."""
    if DOUBLE_BUFFER is not None:
        return bool(DOUBLE_BUFFER)
    return usable_cpus() >= DOUBLE_BUFFER_MIN_CPUS


def prefetched(
    items: Iterable[T], prepare: Callable[[T, int], R], ahead: bool
) -> Iterator[tuple[T, R]]:
    """Yields ``(item, prepare(item, slot))`` for each item, in order.

    Args:
        items: the batches (any iterable; it is advanced on the caller's thread).
        prepare: builds one item into buffer slot ``slot`` (0 or 1) and returns what the caller
            needs to use it. With ``ahead`` it runs on a helper thread for every item but the
            first, and must touch nothing but that slot's buffers.
        ahead: False: each item is prepared just before it is yielded, always in slot 0. True:
            while the caller works on item k (slot s), item k+1 is prepared in slot 1 − s, so the
            caller must be done with an item before it asks for the next one.

    Yields:
        Each item with what ``prepare`` returned for it. An exception ``prepare`` raised comes
        out here, in the item's turn.

    Close the generator when stopping early (``contextlib.closing``): that waits for the helper.
    """
    iterator = iter(items)
    if not ahead:
        for item in iterator:
            yield item, prepare(item, 0)
        return
    item = next(iterator, _END)
    if item is _END:
        return
    ready = prepare(item, 0)  # nothing to overlap with yet
    following = next(iterator, _END)
    if following is _END:  # one batch: no helper thread
        yield item, ready
        return
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="intershap-fill")
    slot = 0
    try:
        while True:
            future = None if following is _END else pool.submit(prepare, following, 1 - slot)
            yield item, ready
            if future is None:
                return
            item, ready, slot = following, future.result(), 1 - slot
            following = next(iterator, _END)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_END: Any = object()
