"""From model outputs to explained values: the probe, v(∅), probabilities, targets and strata.

Target (which output is explained, SPEC §1): ``"predicted"`` (the probability of the class
predicted on the full sample, for every coalition of that sample), a class index, ``"all"`` (one
value table per class) or ``"output"`` (the raw scalar output of a regressor or a single logit).
Classifier outputs are turned into probabilities: with ``output="auto"`` an ``(n, K)`` output
whose values are all in [0, 1] with rows summing to 1 (± ``PROBABILITY_TOLERANCE``) is taken as
probabilities, anything else as logits, to which a softmax is applied. The decision is made on
the probe rows and the background rows before any coalition is evaluated; if a later batch
contradicts it, a ``ModelOutputError`` says so. ``output="probabilities"`` / ``"logits"`` forces
it.

:class:`TargetsMixin` is one part of :class:`intershap_widget.engine.ValueEngine`.
"""

from __future__ import annotations

import numpy as np

from ..models import PROBABILITY_TOLERANCE, ModelOutputError, looks_like_probabilities, softmax
from .draws import FIRST_ROUND

#: Default SE target of ``draws="auto"``: 0.04 of a probability (times the output's spread over
#: the background for ``target="output"``). Looser than R = 1000 on purpose: aggregates over many
#: samples average these errors out (docs/BENCHMARKS.md).
DEFAULT_TOLERANCE = 0.04
_PROBE_ROWS = 4
#: The background is stratified (``_stratify_background``) only when its M·n extra model rows are
#: at most this share of the coalition rows the job will evaluate at least.
STRATA_ROW_SHARE = 0.05


class TargetsMixin:
    """Model outputs → explained values, for the value engine (see the module text)."""

    def _probe(self) -> None:
        n = min(_PROBE_ROWS, self.n_samples, self._host_rows)
        out = self._run_rows(lambda buf, m, rows: np.copyto(buf, self._x[m][:rows]), n)
        k = out.shape[1]
        self._probe_out = out
        if self.target == "output":
            if k != 1:
                raise ValueError(
                    f"target: 'output' explains one raw output per row, but the model returns {k} per row;"
                    f" pass target=<class index> (0..{k - 1}), 'predicted' or 'all'"
                )
        else:
            if k < 2:
                raise ValueError(
                    f"target: {self.target!r} needs one output per class (shape (n, K), K >= 2), but the model"
                    " returns a single output per row; pass target='output' to explain a regressor's or a"
                    " single logit's raw output"
                )
            if isinstance(self.target, int) and self.target >= k:
                raise ValueError(
                    f"target: expected a class index in 0..{k - 1} for a model with {k} outputs, got {self.target}"
                )
            if self.output == "probabilities":  # checked like detected ones, before any coalition
                self._check_probabilities = True
                self._to_probabilities(out, "first rows")

    def _prepare(self) -> None:
        """Evaluates v(∅) once (background rows, or the replacement row) and fixes logits vs probabilities."""
        with self._lock:
            if self._prepared:
                return
            empty = self._empty_rows
            out = self._outputs_in_batches(
                len(empty),
                lambda view, m, rows: np.take(self._rows[m], empty[rows], axis=0, out=view),
            )
            if self.target != "output":
                if self.output == "auto":
                    probs = looks_like_probabilities(self._probe_out) and looks_like_probabilities(
                        out
                    )
                    self._softmax = not probs
                    self._check_probabilities = probs
                else:
                    self._softmax = self.output == "logits"
                    self._check_probabilities = not self._softmax
                out = self._to_probabilities(out, "background")
            else:
                out = out[:, :1]
            n = out.shape[0]
            self.empty_value = out.mean(axis=0)
            self.empty_se = (
                out.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(out.shape[1])
            )
            if self.target == "output":
                self.empty_value, self.empty_se = self.empty_value[0], self.empty_se[0]
            if self.tolerance is None and self.draws == "auto":
                spread = float(out.std(ddof=1)) if self.target == "output" and n > 1 else 1.0
                self.tolerance = DEFAULT_TOLERANCE * spread
            self._stratify_background()
            self._prepared = True

    def _stratify_background(self) -> None:
        """Orders the background so that every window of draws is stratified (``draws.py``).

        Stratum of a background row z: one bit per modality m, whether the explained output of a
        seeded reference background row with its modality m replaced by z's is above the median
        over z. Rows that move the model the same way through one modality then fill every window
        in proportion, which leaves only the variance within strata in each value's Monte-Carlo
        error (``draws.py``; what that gained on HD-XOR: docs/BENCHMARKS.md), for M·n model rows.
        Skipped when those rows would exceed ``STRATA_ROW_SHARE`` of the job's.
        """
        windows = self._windows
        if windows is None or not self.stratify or windows.n < 4:
            return
        per_sample = FIRST_ROUND + self._rounds[0] if self.draws == "auto" else self._rounds[-1]
        least_rows = self.n_samples * len(self._cells) * per_sample
        if self.M * windows.n > STRATA_ROW_SHARE * least_rows:
            return
        reference = int(np.random.default_rng(self._key).integers(windows.n))
        strata = np.zeros(windows.n, dtype=np.int64)
        column: int | None = None
        for m in range(self.M):
            out = self._swapped_outputs(reference, m)
            if column is None:  # the class the reference row itself is predicted
                column = 0 if self.target == "output" else int(out[reference].argmax())
            strata |= _upper_half(out[:, column]).astype(np.int64) << m
        windows.stratify(strata)

    def _swapped_outputs(self, reference: int, swapped: int) -> np.ndarray:
        """Outputs ``(n, K)`` of background row ``reference`` with one modality swapped in turn.

        Modality ``swapped`` is taken from each background row in turn; classifier outputs are
        probabilities.
        """

        def fill(view: np.ndarray, m: int, rows: np.ndarray) -> None:
            if m == swapped:
                np.take(self._rows[m], rows, axis=0, out=view)
            else:
                view[:] = self._rows[m][reference]

        out = self._outputs_in_batches(self._n_rows, fill)
        return out if self.target == "output" else self._to_probabilities(out, "background")

    def _to_probabilities(self, out: np.ndarray, where: str) -> np.ndarray:
        if self._softmax:
            return softmax(out)
        if self._check_probabilities and not looks_like_probabilities(out):
            sums = out.sum(axis=1)
            got = (
                f"entries from {out.min():.4g} to {out.max():.4g}, rows summing to"
                f" {sums.min():.4g} to {sums.max():.4g} ({where})"
            )
            if self.output == "probabilities":
                raise ModelOutputError(
                    "output: expected the model to return probabilities with output='probabilities'"
                    f" (entries in [0, 1], rows summing to 1 within {PROBABILITY_TOLERANCE:g}), got"
                    f" {got}; pass output='logits' for scores a softmax should turn into probabilities"
                )
            raise ModelOutputError(
                "model: the outputs looked like probabilities (in [0, 1], rows summing to 1) on the"
                f" first rows, but not on a later batch: {got}; pass output='logits' or"
                " output='probabilities'"
            )
        return out

    def _targets(
        self, out: np.ndarray, classes: np.ndarray | None, regions: int, draws: int
    ) -> np.ndarray:
        """Model outputs ``(rows, K)`` -> explained values ``(regions, draws)`` (+ ``(K,)`` for 'all').

        ``classes``: the predicted class of each region's sample (target='predicted'). For logits
        and a single class c the probability is computed directly as ``1 / Σ_j exp(z_j - z_c)``.
        """
        shape = (regions, draws)
        if self.target == "output":
            return out[:, 0].reshape(shape)
        k = out.shape[1]
        if self.target == "all":
            return self._to_probabilities(out, "coalition rows").reshape((*shape, k))
        if self.target == "predicted":
            assert classes is not None
            flat = np.repeat(classes, draws) + np.arange(0, out.shape[0] * k, k)
            chosen = np.take(out, flat)
        else:
            chosen = out[:, int(self.target)]  # type: ignore[arg-type]
        if not self._softmax:
            self._to_probabilities(out, "coalition rows")  # checks only
            return chosen.reshape(shape)
        total = np.zeros(out.shape[0])
        with np.errstate(over="ignore"):
            for j in range(k):
                total += np.exp(out[:, j] - chosen)
        return (1.0 / total).reshape(shape)


def _upper_half(values: np.ndarray) -> np.ndarray:
    """Which values lie above the median.

    For outputs with ties at the median (a model with few distinct outputs), those ties go to the
    side that makes the two halves closest in size.
    """
    median = np.median(values)
    above, at_least = values > median, values >= median
    half = len(values) / 2
    return above if abs(above.sum() - half) <= abs(at_least.sum() - half) else at_least
