"""What the widget keeps per model, and the checks of what users hand it directly.

``ModelRun`` holds one model's value tables as the engine streams them in, with its progress;
the checks validate ready-made value tables and per-sample columns before anything is sent.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import decompose as twin
from . import protocol
from .results import Results


def check_value_tables(
    values: Any, names: Sequence[str] | None, argument: str = "values"
) -> tuple[np.ndarray, list[str]]:
    """Validates user-given value tables (N, 2**M) and modality names before anything is sent.

    Args:
        values: The value tables, one row of 2**M coalition values per sample, in bitmask order.
        names: The M modality names, or None for "modality 0", "modality 1", ...
        argument: The argument's name, for error messages.

    Returns:
        The tables as a float64 array and the names as a list of strings.

    Raises:
        ValueError: The tables are not (N, 2**M) finite numbers, or the names are not M distinct
            names.
    """
    array, m = twin.validate_values(values, argument)
    if names is None:
        names = [f"modality {i}" for i in range(m)]
    names = [str(name) for name in names]
    if len(names) != m:
        raise ValueError(
            f"names: expected {m} names (M = log2({1 << m})), got {len(names)}: {names!r}"
        )
    if len(set(names)) != m:
        raise ValueError(f"names: expected {m} distinct names, got {names!r}")
    return array, names


def check_cohort_column(column: Any, n: int, argument: str) -> tuple[list[str], np.ndarray]:
    """Turns a per-sample label column into the form the browser takes.

    Args:
        column: One label per sample (array, list or pandas Series).
        n: The number of samples.
        argument: The argument's name, for error messages.

    Returns:
        The sorted category names, and each sample's category index as a float64 code.

    Raises:
        ValueError: The column does not hold one label per sample.
    """
    values = np.asarray(getattr(column, "to_numpy", lambda: column)())
    if values.ndim != 1 or values.shape[0] != n:
        raise ValueError(
            f"{argument}: expected one label per sample ({n}), got shape {values.shape}"
        )
    categories, codes = np.unique(values.astype(str), return_inverse=True)
    return [str(c) for c in categories], codes.astype(np.float64)


def optional_per_sample(array: Any, n: int, argument: str) -> np.ndarray | None:
    """Checks an optional per-sample array (labels, predictions).

    Args:
        array: The array, or None.
        n: The number of samples.
        argument: The argument's name, for error messages.

    Returns:
        The array as flat float64, or None when none was given.

    Raises:
        ValueError: The array does not hold one entry per sample.
    """
    if array is None:
        return None
    out = np.asarray(array, dtype=np.float64).reshape(-1)
    if out.shape[0] != n:
        raise ValueError(f"{argument}: expected {n} entries (one per sample), got {out.shape[0]}")
    return out


def lower_this_threads_priority(niceness: int) -> None:
    """Raises the calling thread's nice value.

    Linux only: there a thread has its own nice value; elsewhere setpriority would lower the whole
    kernel, so nothing is done. A sandbox that forbids it is ignored.

    Args:
        niceness: How much to add to the thread's nice value (capped at 19).
    """
    if not sys.platform.startswith("linux"):
        return
    thread_id = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, thread_id)
        os.setpriority(os.PRIO_PROCESS, thread_id, min(19, current + niceness))
    except OSError:  # a sandbox may forbid it; the work runs the same, only less politely
        pass


@dataclass
class ModelRun:
    """One model's value tables, filled in as the engine streams them.

    ``filled`` is the number of leading samples computed (every sample before it is); ``done``
    marks each computed sample, since an executor's chunks arrive in any order (``n_done``
    counts them). ``failures`` holds the chunks an executor reported failed, and ``retry``
    computes every sample not yet computed again (``InterSHAP.retry``).
    """

    model_id: str
    label: str
    names: list[str]
    values: np.ndarray
    target: str = "output"
    se: np.ndarray | None = None
    prediction: np.ndarray | None = None
    labels: np.ndarray | None = None
    predicted_class: np.ndarray | None = None
    filled: int = 0
    state: str = "done"
    message: str = ""
    error: BaseException | None = None
    model_rows: int = 0
    started: float = field(default_factory=time.perf_counter)
    finished: threading.Event = field(default_factory=threading.Event)
    browser: protocol.BrowserResults | None = None
    cancel: Callable[[], None] | None = None
    done: np.ndarray | None = None
    completed: int = 0
    failures: list[Any] = field(default_factory=list)
    retry: Callable[[Any], bool] | None = None
    #: for a model the browser evaluates (browser_eval.BrowserEvaluation), else None
    evaluation: Any = None
    _done_at_start: int = 0
    _results: Results | None = None

    @property
    def n_done(self) -> int:
        """Samples computed so far, wherever they lie (``filled`` when no mask is kept)."""
        return self.completed if self.done is not None else self.filled

    def mark_done(self, start: int, stop: int) -> None:
        """Records samples [start, stop) as computed; ``filled`` moves past every leading one.

        Args:
            start: The first sample.
            stop: One past the last sample.
        """
        if self.done is None:
            self.done = np.zeros(self.n_samples, dtype=bool)
            self.done[: self.filled] = True
            self.completed = self.filled
        self.completed += int(stop - start - np.count_nonzero(self.done[start:stop]))
        self.done[start:stop] = True
        if start <= self.filled:
            missing = np.flatnonzero(~self.done[self.filled :])
            self.filled += int(missing[0]) if len(missing) else self.n_samples - self.filled

    def done_ranges(self) -> list[tuple[int, int]]:
        """The computed samples as half-open ranges ``(start, stop)``, in order.

        Returns:
            One range per run of consecutive computed samples.
        """
        if self.done is None:
            return [(0, self.filled)] if self.filled else []
        edges = np.flatnonzero(np.diff(np.concatenate([[0], self.done.view(np.int8), [0]])))
        return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]

    def restart_clock(self) -> None:
        """Starts the rate and time left afresh (a retry), from the samples computed now."""
        self.started = time.perf_counter()
        self._done_at_start = self.n_done

    @property
    def n_samples(self) -> int:
        """The number of samples."""
        return int(self.values.shape[0])

    def progress(self) -> dict[str, Any]:
        """Reports how far the run is.

        Returns:
            The model's label, samples done and total, samples/s so far, seconds left (None
            until known), model rows and state.
        """
        elapsed = time.perf_counter() - self.started
        done = self.n_done
        new = done - self._done_at_start
        rate = new / elapsed if elapsed > 0 and self.state == "running" else 0.0
        left = (self.n_samples - done) / rate if rate > 0 else None
        return {
            "model": self.label,
            "done": done,
            "total": self.n_samples,
            "samples_per_s": rate,
            "seconds_left": left,
            "model_rows": self.model_rows,
            "state": self.state,
        }

    def progress_line(self) -> str:
        """Returns the progress as one line of text, as ``wait()`` prints it."""
        p = self.progress()
        line = f"{self.label}: {p['done']}/{p['total']} samples ({100 * p['done'] / max(p['total'], 1):.0f}%)"
        if self.state == "running":
            if p["samples_per_s"] > 0:
                line += f", {p['samples_per_s']:,.0f} samples/s"
            if p["seconds_left"] is not None:
                line += f", {p['seconds_left']:.0f} s left"
        else:
            line += f", {self.state}"
        return line + (f", {self.model_rows:,} model rows" if self.model_rows else "")

    def chunk_arrays(self, start: int, stop: int) -> dict[str, np.ndarray | None]:
        """Returns the arrays of samples [start, stop) as ``protocol.chunk_message`` takes them.

        Args:
            start: The first sample.
            stop: One past the last sample.

        Returns:
            'values' and the optional per-sample arrays (None where the run has none).
        """

        def part(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[start:stop]

        return {
            "values": self.values[start:stop],
            "se": part(self.se),
            "prediction": part(self.prediction),
            "label": part(self.labels),
            "predictedClass": part(self.predicted_class),
        }
