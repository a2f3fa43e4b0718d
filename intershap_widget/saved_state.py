"""What the widget keeps in its synced state: a notebook saved with it shows the results again.

With no kernel, too. When a run finishes, the widget's ``_saved_state`` trait is set to every finished model's value
tables (and standard errors, predictions, labels, predicted classes), the cohorts and the models'
labels, modality names and targets. ipywidgets sends its binary parts as buffers of the state, and
JupyterLab's "Save Widget State Automatically" (or nbclient) writes them into the notebook. The
browser replays them into its session as the kernel's messages would be (``src/widget.ts``,
``src/protocol/savedState.ts``) when the widget is created from saved state rather than a kernel.

Above a cap (``SAVE_STATE_MB``, or ``InterSHAP(..., save_state_mb=...)``) only a summary is kept:
each model's label, n, state and global score; the widget then says the tables were too large.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from . import decompose as twin
from .protocol import CHUNK_BUFFERS, float64_buffer, to_float64
from .wire_checks import ProtocolError

if TYPE_CHECKING:
    from .runs import ModelRun

#: The default cap on the value tables kept in the widget's saved state, in megabytes (10**6 bytes).
#: Above it only a summary is saved. ``InterSHAP(..., save_state_mb=...)`` sets it per widget;
#: 0 keeps only the summary.
SAVE_STATE_MB = 20.0
#: The version of the saved state's layout (``src/protocol/savedState.ts`` reads the same).
SAVED_STATE_VERSION = 1
#: Up to this many samples the summary carries the numpy twin's bootstrap interval (it costs about
#: 0.35 s at 20,000 samples); above it, only the browser's interval once it has sent one.
SUMMARY_INTERVAL_MAX_SAMPLES = 20_000

_FINISHED = ("done", "cancelled", "error")


def run_summary(run: ModelRun, bootstrap: bool = True, decompose: bool = True) -> dict[str, Any]:
    """The global numbers of one run over the samples it has, as the text line and the summary.

    The browser's numbers are taken once it has sent them for these samples; else the numpy
    twin's global score, with its bootstrap interval up to ``SUMMARY_INTERVAL_MAX_SAMPLES``.
    Cached on the run until it has more samples or another state.

    Args:
        run: The model's run.
        bootstrap: Compute the numpy twin's interval when no summary with one is cached. The
            text/plain line passes False: it is made while the widget's cell runs, and a slow
            cell there delays the browser's hello past the next cell's start (Run All).
        decompose: Compute the numpy twin's score at all when the browser has not sent its
            numbers. The saved state passes False above ``SUMMARY_INTERVAL_MAX_SAMPLES``: it is
            built while the browser decomposes the same tables, and a million-sample decomposition
            in the kernel then takes the cores from the page; the browser's results follow.

    Returns:
        label, n (samples computed), nSamples, state, globalIntershap (None when undefined or
        nothing is computed yet) and interval ([low, high] or None).
    """
    filled = int(run.filled)
    browser = run.browser if run.browser is not None and run.browser.n == filled else None
    decomposes = decompose or filled <= SUMMARY_INTERVAL_MAX_SAMPLES
    key = (filled, run.state, browser is not None, decomposes)
    cached = getattr(run, "_summary", None)
    if cached is not None and cached[0] in ((key,) if bootstrap else (key, (*key, False))):
        return cached[1]
    score: float | None = None
    interval: list[float] | None = None
    if browser is not None:
        score = browser.global_intershap
        interval = None if browser.interval is None else list(browser.interval)
    elif filled > 0 and decomposes:
        dec = twin.decompose(run.values[:filled])
        score = float(twin.aggregate(dec).global_intershap)
        if bootstrap and filled <= SUMMARY_INTERVAL_MAX_SAMPLES:
            interval = list(twin.bootstrap_global(dec, reps=1000, seed=0, level=0.95))
    summary = {
        "label": run.label,
        "n": filled,
        "nSamples": int(run.n_samples),
        "state": run.state,
        "globalIntershap": _finite_or_none(score),
        "interval": None
        if interval is None or not all(math.isfinite(x) for x in interval)
        else [float(x) for x in interval],
    }
    run._summary = (key if bootstrap else (*key, False), summary)  # type: ignore[attr-defined]
    return summary


def summary_line(summary: Mapping[str, Any]) -> str:
    """One model's line of the widget's text/plain form.

    Args:
        summary: From ``run_summary``.

    Returns:
        E.g. ``early fusion: global InterSHAP 0.9656 [0.961, 0.970] over 2,000 samples (done)``.
    """
    n, total, state = summary["n"], summary["nSamples"], summary["state"]
    over = f"{n:,} samples" if n == total else f"{n:,} of {total:,} samples"
    if n == 0:
        return f"{summary['label']}: no sample computed yet, 0 of {total:,} samples ({state})"
    score = summary["globalIntershap"]
    text = "undefined" if score is None else f"{score:.4f}"
    interval = summary["interval"]
    if interval is not None:
        text += f" [{interval[0]:.3f}, {interval[1]:.3f}]"
    return f"{summary['label']}: global InterSHAP {text} over {over} ({state})"


def build_saved_state(
    runs: Iterable[ModelRun],
    cohorts: Mapping[str, tuple[list[str], np.ndarray]],
    cap_mb: float,
) -> dict[str, Any] | None:
    """The widget's saved state: every finished run's tables, or only summaries above the cap.

    Args:
        runs: The widget's runs; those still running are left out (they are saved when they end).
        cohorts: The widget's groupings, name -> (categories, one float64 code per sample).
        cap_mb: The cap on the tables' bytes, in megabytes (10**6 bytes).

    Returns:
        The state as the trait holds it (JSON with float64 memoryviews at 'data' and 'codes'), or
        None when no run has finished.
    """
    finished = [run for run in runs if run.state in _FINISHED]
    if not finished:
        return None
    cap_bytes = int(max(0.0, float(cap_mb)) * 1_000_000)
    tables: list[tuple[list[str], list[np.ndarray]]] = []
    for run in finished:
        arrays = run.chunk_arrays(0, run.filled)
        names = [name for name in CHUNK_BUFFERS if arrays.get(name) is not None]
        tables.append((names, [np.asarray(arrays[name]) for name in names]))
    table_bytes = sum(8 * a.size for _, arrays in tables for a in arrays)
    table_bytes += sum(8 * np.asarray(codes).size for _, codes in cohorts.values())
    saved = table_bytes <= cap_bytes
    models = []
    for run, (names, arrays) in zip(finished, tables):
        model: dict[str, Any] = {
            "modelId": run.model_id,
            "label": run.label,
            "names": list(run.names),
            "nSamples": int(run.n_samples),
            "target": run.target,
            "state": run.state,
            "message": run.message,
            "count": int(run.filled),
            "summary": run_summary(run, decompose=False),
        }
        if saved:
            model["buffers"] = names
            model["data"] = [float64_buffer(a) for a in arrays]
        models.append(model)
    return {
        "version": SAVED_STATE_VERSION,
        "tablesSaved": saved,
        "tableBytes": int(table_bytes),
        "capBytes": cap_bytes,
        "models": models,
        "cohorts": [
            {"name": name, "categories": list(categories), "codes": float64_buffer(codes)}
            for name, (categories, codes) in cohorts.items()
        ]
        if saved
        else [],
    }


def saved_state_to_json(state: Any, _widget: Any = None) -> Any:
    """The ipywidgets serializer of ``_saved_state``: it already holds JSON and memoryviews."""
    return state


def saved_state_from_json(state: Any, _widget: Any = None) -> Any:
    """The ipywidgets deserializer of ``_saved_state`` (the browser never sends it back)."""
    return state


def decode_saved_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """Decodes a saved state (as the trait holds it, or as it comes back from its buffers).

    Args:
        state: The state: JSON with binary buffers (memoryviews, bytes) at 'data' and 'codes'.

    Returns:
        The JSON fields, with each model's arrays under 'arrays' (name -> float64 array; the
        tables reshaped to (count, 2**M)) and each cohort's 'codes' as a float64 array.

    Raises:
        ProtocolError: The layout is not the one this version writes.
    """
    if not isinstance(state, Mapping) or state.get("version") != SAVED_STATE_VERSION:
        raise ProtocolError(
            f"saved state: expected version {SAVED_STATE_VERSION}, got "
            f"{state.get('version') if isinstance(state, Mapping) else type(state).__name__}"
        )
    out = {key: value for key, value in state.items() if key not in ("models", "cohorts")}
    out["models"] = []
    for model in state["models"]:
        decoded = {key: value for key, value in model.items() if key != "data"}
        arrays: dict[str, np.ndarray] = {}
        for name, buffer in zip(model.get("buffers", []), model.get("data", [])):
            array = to_float64(buffer, name, "saved state")
            per_sample = 2 ** len(model["names"]) if name in ("values", "se") else 1
            arrays[name] = array.reshape(int(model["count"]), per_sample).squeeze(
                axis=1 if per_sample == 1 else ()
            )
        decoded["arrays"] = arrays
        out["models"].append(decoded)
    out["cohorts"] = [
        {**c, "codes": to_float64(c["codes"], "codes", "saved state")} for c in state["cohorts"]
    ]
    return out


def state_bytes(state: Mapping[str, Any] | None) -> int:
    """The bytes of the binary buffers in a saved state (what the notebook holds, before base64)."""
    if state is None:
        return 0
    return sum(memoryview(b).nbytes for m in state["models"] for b in m.get("data", [])) + sum(
        memoryview(c["codes"]).nbytes for c in state["cohorts"]
    )


def _finite_or_none(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def check_save_state_mb(value: Any) -> float | None:
    """Checks ``InterSHAP(..., save_state_mb=...)``.

    Args:
        value: Megabytes, or None for ``SAVE_STATE_MB`` at the time of saving.

    Returns:
        The cap as a float, or None.

    Raises:
        ValueError: It is not a finite number >= 0.
    """
    if value is None:
        return None
    is_number = isinstance(value, (int, float, np.integer, np.floating))
    if isinstance(value, bool) or not is_number or not math.isfinite(value) or value < 0:
        raise ValueError(f"save_state_mb: expected a number of megabytes >= 0, got {value!r}")
    return float(value)
