"""Two models of one widget on the same samples: ``w.compare(reference, other, samples)``.

Every difference is ``other − reference``, over the same samples, with paired bootstrap intervals:
each resample draws the same samples for both models, so the variation the models share (which
samples are easy, which are odd) cancels out of the difference instead of widening its interval.

Who computes: when a browser shows the widget, the kernel asks it (a ``compare`` request, the same
wait as ``w.export``) and the numbers come from the browser's worker, the ones the Compare tab
shows. With no browser (a script, nbclient), or when it does not answer in time, the numpy twin
(``decompose.paired_delta``, ``decompose.paired_bootstrap``) computes them. Both sides draw the
same resamples (mulberry32, seed 0, 1000 of them, level 0.95), so they agree up to the order of
float summation; ``Comparison.source`` says which one it was.

Models still computing are compared over the samples both have computed so far (with a warning),
not waited for: the live widget shows partial results as well, and ``w.wait()`` before
``w.compare()`` gives every sample.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import decompose as twin
from . import protocol
from .export import BrowserRequests

if TYPE_CHECKING:
    import threading

    import pandas as pd

    from .runs import ModelRun

COMPARE_REPS = 1000
COMPARE_SEED = 0
COMPARE_LEVEL = 0.95
#: A browser's compareFailed error that starts with one of these names a ``compare`` argument.
_ARGUMENT_ERRORS = ("reference:", "other:", "samples:")

CompareReply = protocol.BrowserComparison | protocol.CompareFailed


def compare_requests() -> BrowserRequests[CompareReply]:
    """The registry of a widget's compare requests and the browser's replies to them."""
    return BrowserRequests(
        lambda timeout: f"compare: the browser did not answer within {timeout:g} s"
    )


@dataclass(frozen=True, eq=False)
class Comparison:
    """Two models compared on the same samples; every difference is ``other − reference``.

    Attributes:
        reference: The reference model's label.
        other: The other model's label.
        names: The modality names (the same for both models).
        n: The number of samples compared (repeats included).
        samples: The compared sample indices, in order, as an int array.
        source: ``"browser"`` (the widget's worker computed the comparison) or ``"numpy"`` (the
            numpy twin, with no browser or none that answered).
        global_reference: The reference's global InterSHAP over these samples.
        global_other: The other model's.
        global_delta: ``global_other − global_reference``.
        global_delta_interval: (low, high), the paired 95% bootstrap interval of the difference.
        matrix_delta: (M, M) difference of the signed mean InterSHAP matrices.
        matrix_delta_interval: (M, M, 2): (low, high) of each entry's difference.
        contribution_delta: (M,) difference of the modality contributions.
        contribution_delta_interval: (M, 2): (low, high) of each.
        local_delta: (n,) difference of each compared sample's local score; NaN where either is
            undefined.
        undefined_reps: Resamples left out because either model's global score was undefined.
        local_reference: (n,) the reference's local scores of the compared samples.
        local_other: (n,) the other model's.
    """

    reference: str
    other: str
    names: list[str]
    n: int
    samples: np.ndarray
    source: str
    global_reference: float
    global_other: float
    global_delta: float
    global_delta_interval: tuple[float, float]
    matrix_delta: np.ndarray
    matrix_delta_interval: np.ndarray
    contribution_delta: np.ndarray
    contribution_delta_interval: np.ndarray
    local_delta: np.ndarray
    undefined_reps: int
    local_reference: np.ndarray
    local_other: np.ndarray

    def summary(self) -> dict[str, Any]:
        """The comparison's global numbers as plain Python values.

        Returns:
            Labels, n, source, both global scores, the difference with its interval, the
            resamples left out, and per modality the contribution's difference and interval.
        """
        out: dict[str, Any] = {
            "reference": self.reference,
            "other": self.other,
            "n": self.n,
            "source": self.source,
            "global_reference": self.global_reference,
            "global_other": self.global_other,
            "global_delta": self.global_delta,
            "global_delta_interval": self.global_delta_interval,
            "undefined_reps": self.undefined_reps,
        }
        for i, name in enumerate(self.names):
            out[f"contribution_delta[{name}]"] = float(self.contribution_delta[i])
            low, high = self.contribution_delta_interval[i]
            out[f"contribution_delta_interval[{name}]"] = (float(low), float(high))
        return out

    def to_dataframe(self) -> pd.DataFrame:
        """One row per compared sample, in order (a sample listed twice has two rows).

        Returns:
            A frame indexed by ``sample`` with columns ``local[<reference>]``,
            ``local[<other>]`` and ``local_delta``.
        """
        import pandas as pd

        frame = pd.DataFrame(
            {
                f"local[{self.reference}]": self.local_reference,
                f"local[{self.other}]": self.local_other,
                "local_delta": self.local_delta,
            },
            index=pd.Index(self.samples, name="sample"),
        )
        return frame

    def top_movers(self, k: int = 10) -> pd.DataFrame:
        """The samples whose local score moves most between the models.

        Args:
            k: How many samples at most.

        Returns:
            Rows of ``to_dataframe`` sorted by |local_delta|, largest first, each sample once;
            samples whose difference is undefined are left out; ties keep the samples' order.

        Raises:
            ValueError: ``k`` is not a whole number >= 0.
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise ValueError(f"k: expected a whole number >= 0, got {k!r}")
        frame = self.to_dataframe()
        # A repeated sample has the same difference each time; it is one mover, not several.
        frame = frame[~frame.index.duplicated()]
        frame = frame[frame["local_delta"].notna()]
        order = np.argsort(-frame["local_delta"].abs().to_numpy(), kind="stable")
        return frame.iloc[order[: int(k)]]


class ModelComparison:
    """``w.compare(...)``: two of the widget's models on the same samples (mixin of ``InterSHAP``)."""

    _runs: dict[str, ModelRun]
    _browser_ready: bool
    _comparisons: BrowserRequests[CompareReply]
    _send_lock: threading.RLock
    selection: list[int]

    def compare(
        self,
        reference: str | None = None,
        other: str | None = None,
        samples: Any = None,
        timeout: float = 60.0,
    ) -> Comparison:
        """Compares two models on the same samples: ``other − reference``, with paired intervals.

        The Compare tab of the widget shows the same numbers. With a browser showing the widget
        they come from it; otherwise (a script, nbclient, or no answer within ``timeout``, which
        warns) from the numpy twin. Both draw the same 1000 paired resamples (seed 0), so they
        agree up to float rounding. Models still computing are compared over the samples both
        have computed so far, with a warning; call ``w.wait()`` first for every sample.

        Args:
            reference: The reference model's label (default: the first model, or the first one
                other than ``other``).
            other: The model compared with it (default: the first model other than the
                reference, i.e. the second model against the first).
            samples: Which samples: None (every sample), ``"selection"`` (the widget's current
                ``w.selection``; every sample when nothing is selected), sample indices (a
                sample listed twice counts twice) or a boolean mask of one entry per sample.
            timeout: Seconds to wait for the browser's answer before the numpy twin takes over.

        Returns:
            The comparison.

        Raises:
            ValueError: The widget holds one model, a label is not a model's, both name the same
                model, the models have different modalities, ``samples`` is not one of the
                forms above or holds an index out of range, or ``timeout`` is not above 0.
                Everything is checked before anything is sent.
            RuntimeError: The two models have not both computed any sample yet (or none of
                those asked for).
        """
        ref_run, other_run = self._compare_pair(reference, other)
        n_total = ref_run.n_samples
        wanted = check_samples(samples, n_total, self.selection)
        if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not timeout > 0:
            raise ValueError(f"timeout: expected a number of seconds above 0, got {timeout!r}")
        # Chunks fill a run from the first sample on, so the samples both models have computed
        # are the first `available`; that prefix is written once and never changes.
        available = min(ref_run.filled, other_run.filled)
        if available == 0:
            raise RuntimeError(
                f"compare: {ref_run.label!r} and {other_run.label!r} have not both computed a"
                " sample yet; call w.wait() first"
            )
        subset = _computed_subset(wanted, available, n_total, ref_run.label, other_run.label)
        dec_ref = twin.decompose(ref_run.values[:available].copy())
        dec_other = twin.decompose(other_run.values[:available].copy())
        compared = np.arange(available) if subset is None else subset
        reply = None
        # A closed widget has no comm: no browser can answer it.
        if self._browser_ready and getattr(self, "comm", None) is not None:
            reply = self._ask_browser(ref_run, other_run, subset, len(compared), float(timeout))
        common = {
            "reference": ref_run.label,
            "other": other_run.label,
            "names": list(ref_run.names),
            "n": len(compared),
            "samples": compared,
            "local_reference": dec_ref.local[compared],
            "local_other": dec_other.local[compared],
        }
        if reply is not None:
            return Comparison(
                source="browser",
                global_reference=reply.global_reference,
                global_other=reply.global_other,
                global_delta=reply.global_delta,
                global_delta_interval=reply.global_delta_interval,
                matrix_delta=reply.matrix_delta,
                matrix_delta_interval=reply.matrix_delta_interval,
                contribution_delta=reply.contribution_delta,
                contribution_delta_interval=reply.contribution_delta_interval,
                local_delta=reply.local_delta,
                undefined_reps=reply.undefined_reps,
                **common,
            )
        delta = twin.paired_delta(dec_ref, dec_other, subset)
        interval = twin.paired_bootstrap(
            dec_ref, dec_other, subset, reps=COMPARE_REPS, seed=COMPARE_SEED, level=COMPARE_LEVEL
        )
        return Comparison(
            source="numpy",
            global_reference=float(delta.global_reference),
            global_other=float(delta.global_other),
            global_delta=float(delta.global_delta),
            global_delta_interval=interval.global_delta,
            matrix_delta=delta.matrix_delta,
            matrix_delta_interval=interval.matrix_delta,
            contribution_delta=delta.contribution_delta,
            contribution_delta_interval=interval.contribution_delta,
            local_delta=delta.local_delta,
            undefined_reps=interval.undefined_reps,
            **common,
        )

    def _compare_pair(self, reference: Any, other: Any) -> tuple[ModelRun, ModelRun]:
        """The runs of the reference and the other model, checked; raises ValueError."""
        runs = list(self._runs.values())
        labels = [run.label for run in runs]
        if len(runs) < 2:
            raise ValueError(
                "reference: the widget holds one model; add another with w.add_model(...) to"
                " compare"
            )
        for argument, label in (("reference", reference), ("other", other)):
            if label is not None and label not in labels:
                raise ValueError(f"{argument}: expected one of {labels}, got {label!r}")
        if reference is None:
            reference = next(label for label in labels if label != other)
        if other is None:
            other = next(label for label in labels if label != reference)
        if other == reference:
            raise ValueError(f"other: expected a model other than the reference {reference!r}")
        ref_run, other_run = runs[labels.index(reference)], runs[labels.index(other)]
        if list(ref_run.names) != list(other_run.names):
            raise ValueError(
                f"other: {reference!r} has M = {len(ref_run.names)} modalities"
                f" ({', '.join(ref_run.names)}) and {other!r} has M = {len(other_run.names)}"
                f" ({', '.join(other_run.names)}); models with different modalities cannot be"
                " compared"
            )
        return ref_run, other_run

    def _ask_browser(
        self,
        ref_run: ModelRun,
        other_run: ModelRun,
        subset: np.ndarray | None,
        n: int,
        timeout: float,
    ) -> protocol.BrowserComparison | None:
        """Asks the browser for the comparison; None (with a warning) where numpy must do it.

        Raises:
            ValueError: The browser refused an argument (its error names it).
        """

        def send(request_id: str) -> None:
            header, buffers = protocol.compare_message(
                request_id, ref_run.model_id, other_run.model_id, subset
            )
            # Under the lock the streaming thread sends chunks with, so every chunk of the
            # samples compared here reaches the browser before this request does.
            with self._send_lock:
                self.send(header, buffers)  # type: ignore[attr-defined]

        try:
            reply = self._comparisons.ask(send, timeout, getattr(self, "comm", None))
        except TimeoutError:
            warnings.warn(
                f"compare: the browser did not answer within {timeout:g} s; the numpy twin"
                " computed the comparison instead (source 'numpy')",
                stacklevel=3,
            )
            return None
        if isinstance(reply, protocol.CompareFailed):
            if reply.error.startswith(_ARGUMENT_ERRORS):
                raise ValueError(reply.error)
            warnings.warn(
                f"compare: the browser could not compare the models ({reply.error}); the numpy"
                " twin computed the comparison instead (source 'numpy')",
                stacklevel=3,
            )
            return None
        if reply.reference_id != ref_run.model_id or reply.n != n:
            warnings.warn(
                f"compare: the browser answered for {reply.n} samples of model"
                f" {reply.reference_id!r}, not the {n} samples of {ref_run.model_id!r} asked for;"
                " the numpy twin computed the comparison instead (source 'numpy')",
                stacklevel=3,
            )
            return None
        return reply


def check_samples(samples: Any, n: int, selection: list[int]) -> np.ndarray | None:
    """Checks ``compare``'s ``samples`` and turns it into sample indices.

    Args:
        samples: None, ``"selection"``, sample indices or a boolean mask of length ``n``.
        n: The number of samples.
        selection: The widget's current selection (empty: every sample).

    Returns:
        The sample indices in order (int64), or None for every sample.

    Raises:
        ValueError: Naming ``samples``, what was expected and what came.
    """
    forms = f'None, "selection", sample indices or a boolean mask of length {n}'
    if samples is None:
        return None
    if isinstance(samples, str):
        if samples != "selection":
            raise ValueError(f"samples: expected {forms}, got {samples!r}")
        if not selection:
            return None
        samples = np.asarray(selection, dtype=np.int64)
    array = np.asarray(getattr(samples, "to_numpy", lambda: samples)())
    if array.ndim != 1:
        raise ValueError(f"samples: expected {forms}, got an array of shape {array.shape}")
    if array.size == 0:
        # numpy makes float64 of an empty list: say what is wrong, not that the dtype is.
        raise ValueError("samples: expected at least one sample index, got none")
    if array.dtype == np.bool_:
        if array.shape[0] != n:
            raise ValueError(
                f"samples: expected a boolean mask of length N = {n}, got length {array.shape[0]}"
            )
        if not array.any():
            raise ValueError("samples: expected a boolean mask that selects a sample, got none")
        return np.flatnonzero(array).astype(np.int64)
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(
            f"samples: expected integer sample indices or a boolean mask, got dtype {array.dtype}"
        )
    bad = array[(array < 0) | (array >= n)]
    if bad.size:
        raise ValueError(
            f"samples: expected sample indices from 0 to {n - 1}, got {bad[:5].tolist()}"
            + (" ..." if bad.size > 5 else "")
        )
    return array.astype(np.int64)


def _computed_subset(
    wanted: np.ndarray | None, available: int, n: int, reference: str, other: str
) -> np.ndarray | None:
    """The wanted samples among the first ``available`` (computed) ones; warns if some are not.

    Returns:
        The indices to compare over, or None for every one of the ``n`` samples.
    """
    if available == n:
        return wanted
    if wanted is None:
        warnings.warn(
            f"compare: {reference!r} and {other!r} have both computed {available} of {n}"
            f" samples so far; compared over those {available} (call w.wait() first to compare"
            " every sample)",
            stacklevel=3,
        )
        return np.arange(available, dtype=np.int64)
    kept = wanted[wanted < available]
    if kept.size < wanted.size:
        if kept.size == 0:
            raise RuntimeError(
                f"compare: none of the samples asked for is computed yet by both {reference!r}"
                f" and {other!r} ({available} of {n} are); call w.wait() first"
            )
        warnings.warn(
            f"compare: {wanted.size - kept.size} of the {wanted.size} samples asked for are not"
            f" computed yet by both {reference!r} and {other!r} ({available} of {n} are); compared"
            f" over the other {kept.size} (call w.wait() first to compare every sample)",
            stacklevel=3,
        )
    return kept
