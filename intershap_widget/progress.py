"""Progress in plain Python: what ``w.wait()`` shows while the models compute.

With tqdm installed, one bar per model (samples as the unit, with tqdm's rate and time left;
``tqdm.auto``, so a widget bar in Jupyter and a text bar on stderr elsewhere). The bar goes away
when its model is finished and one plain line stays on stdout: the model's final state and model
rows, as ``ModelRun.progress_line`` writes it. Without tqdm, that same line is rewritten in place
while waiting.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runs import ModelRun

#: Seconds between two looks at a run while a bar is shown (tqdm throttles its own redraws).
BAR_POLL_S = 0.1
#: Seconds between two plain progress lines.
LINE_POLL_S = 1.0


def tqdm_class() -> Any:
    """The tqdm bar to use (``tqdm.auto.tqdm``), or None when tqdm is not installed.

    Returns:
        The class, or None.
    """
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


def wait_for_runs(
    runs: Iterable[ModelRun],
    timeout: float | None = None,
    verbose: bool = True,
    *,
    bar: Any = None,
    file: IO[str] | None = None,
) -> None:
    """Blocks until every run is finished, showing progress; what ``InterSHAP.wait`` does.

    Args:
        runs: The runs, waited for one after the other.
        timeout: Seconds to wait at most (for all runs together), or None.
        verbose: Show progress (a bar per model, or the plain line) and each model's final line.
        bar: The tqdm class to draw bars with; None picks ``tqdm.auto`` when tqdm is installed,
            False always prints the plain line.
        file: Where bars are drawn (tqdm's default, stderr, when None).

    Raises:
        TimeoutError: A run was not finished within ``timeout``.
        Exception: The error a run raised, re-raised.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    bar_class = None
    if verbose and bar is not False:
        bar_class = tqdm_class() if bar is None else bar
    for run in runs:
        if bar_class is not None and not run.finished.is_set():
            _wait_with_bar(run, bar_class, deadline, timeout, file)
        else:
            _wait_with_line(run, verbose, deadline, timeout)
        if verbose:
            # padded so that a shorter final line overwrites a running plain line
            print(f"\r{run.progress_line():<90}", flush=True)
        if run.error is not None:
            raise run.error


def _check_deadline(run: ModelRun, deadline: float | None, timeout: float | None) -> None:
    """Raises TimeoutError once ``deadline`` has passed."""
    if deadline is not None and time.monotonic() > deadline:
        raise TimeoutError(f"timeout: {run.label!r} not finished after {timeout} s")


def _wait_with_line(
    run: ModelRun, verbose: bool, deadline: float | None, timeout: float | None
) -> None:
    """Waits for one run, rewriting its plain progress line in place when ``verbose``."""
    while not run.finished.wait(LINE_POLL_S if verbose else 0.1):
        if verbose:
            print(f"\r{run.progress_line()}", end="", flush=True)
        _check_deadline(run, deadline, timeout)


def _wait_with_bar(
    run: ModelRun,
    bar_class: Any,
    deadline: float | None,
    timeout: float | None,
    file: IO[str] | None,
) -> None:
    """Waits for one run with a tqdm bar of its samples; the bar is removed when it ends."""
    options: dict[str, Any] = {
        "total": run.n_samples,
        "initial": run.n_done,
        "desc": run.label,
        "unit": " samples",
        "leave": False,
        "dynamic_ncols": True,
    }
    if file is not None:
        options["file"] = file
    progress = bar_class(**options)
    try:
        while True:
            finished = run.finished.wait(BAR_POLL_S)
            done = run.n_done
            if done > progress.n:
                if run.model_rows:
                    progress.set_postfix_str(f"{run.model_rows:,} model rows", refresh=False)
                progress.update(done - progress.n)
            if finished:
                return
            _check_deadline(run, deadline, timeout)
    finally:
        progress.close()
