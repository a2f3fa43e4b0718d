"""How one chunk of samples is computed: full outputs, the adaptive pilot, rounds of draws.

A chunk first evaluates its samples unmasked (which class each explains, and ``v(full)``), then
runs rounds of draws; each round adds the sums of the explained values and of their squares into
the chunk's :class:`~intershap_widget.value_tables._ChunkState`, and :meth:`ChunksMixin._assemble`
turns those sums into a :class:`~intershap_widget.value_tables.ValueChunk` (means and standard
errors). With ``draws="auto"`` a separate pilot first decides each sample's number of draws.

Each round goes batch by batch through the plan (``plan.py``): the fill backend
(``fill_numpy.py``, ``fill_torch.py``) builds the batch, calls the model and sums the explained
values over each region's draws; on the numpy backend the next batch is built while the model runs
this one (``pipeline.py``, ``double_buffer``). A cancel is checked before each model call.

:class:`ChunksMixin` is one part of :class:`intershap_widget.engine.ValueEngine`.
"""

from __future__ import annotations

from contextlib import closing
from typing import Any

import numpy as np

from ..value_tables import ValueChunk, _ChunkState
from .draws import FIRST_ROUND, sample_variance
from .pipeline import prefetched


class _Cancelled(Exception):
    """Internal: raised between batches when cancel() was called; carries the finished prefix."""

    def __init__(self, chunk: ValueChunk | None) -> None:
        super().__init__("cancelled")
        self.chunk = chunk


class ChunksMixin:
    """The chunk loop of the value engine (see the module text)."""

    def _compute_chunk(self, start: int, stop: int) -> ValueChunk:
        state = self._start_chunk(start, stop)
        n = len(state.samples)
        offset = 0
        if self.draws == "auto" and self._windows is not None:
            state.target_draws = self._pilot(state)
            offset = FIRST_ROUND
        active = np.arange(n)
        r_done = 0
        for total in self._rounds:
            self._draw_round(state, active, r_done, total - r_done, offset, state.s1, state.s2)
            state.drawn[active] = total
            r_done = total
            active = active[state.target_draws[active] > total]
            if len(active) == 0:
                break
        return self._assemble(state, n)

    def _start_chunk(self, start: int, stop: int) -> _ChunkState:
        """Full-sample outputs (the class each sample explains, v(full)) and empty sums."""
        rows_before = self._adapter.rows
        n = stop - start
        samples = np.arange(start, stop)
        full = self._full_outputs(samples)
        classes = None
        if self.target == "output":
            prediction = full[:, 0].copy()
            shift = prediction
        else:
            probs = self._to_probabilities(full, "full samples")
            classes = probs.argmax(axis=1)
            prediction = probs[np.arange(n), classes]
            if self.target == "predicted":
                shift = prediction
            elif self.target == "all":
                shift = probs
            else:
                shift = probs[:, int(self.target)]  # type: ignore[arg-type]
                prediction = shift
        extra = (shift.shape[1],) if self.target == "all" else ()
        shape = (n, len(self._cells), *extra)
        return _ChunkState(
            start=start,
            samples=samples,
            shift=shift,
            prediction=prediction,
            classes=classes,
            s1=np.zeros(shape),
            s2=np.zeros(shape),
            drawn=np.zeros(n, dtype=np.int64),
            target_draws=np.full(n, self._rounds[-1], dtype=np.int64),
            rows_before=rows_before,
        )

    def _pilot(self, state: _ChunkState) -> np.ndarray:
        """draws="auto": each sample's number of draws, from a separate pilot of FIRST_ROUND draws.

        The smallest round total at which the SE predicted from the pilot's variance is at most
        ``tolerance`` for every coalition value. The pilot's draws are then left out of the values:
        the choice depends on them, so keeping them biases the values. Deciding on the draws
        themselves stops samples whose first draws happen to agree (say all 32 near 1 while the
        true value is 0.9) at once, with that extreme value
        (``test_adaptive_draws_are_unbiased_when_first_draws_agree_by_chance`` is built on that
        case; the bias it showed, and the accuracy on HD-XOR: docs/BENCHMARKS.md).
        """
        p1, p2 = np.zeros_like(state.s1), np.zeros_like(state.s2)
        self._draw_round(state, np.arange(len(state.samples)), 0, FIRST_ROUND, 0, p1, p2)
        assert self._windows is not None and self.tolerance is not None
        variance = sample_variance(p1, p2, np.float64(FIRST_ROUND))
        n = len(state.samples)
        target = np.full(n, self._rounds[-1], dtype=np.int64)
        undecided = np.ones(n, dtype=bool)
        for total in self._rounds[:-1]:
            se = self._windows.standard_error_of(variance, np.float64(total))
            enough = undecided & (se.reshape(n, -1).max(axis=1) <= self.tolerance)
            target[enough] = total
            undecided &= ~enough
        return target

    def _draw_round(
        self,
        state: _ChunkState,
        active: np.ndarray,
        r0: int,
        k: int,
        offset: int,
        s1: np.ndarray,
        s2: np.ndarray,
    ) -> None:
        """Draws ``r0 .. r0+k-1`` (window positions ``offset + r``) for the ``active`` samples.

        Adds the sums of the explained values and of their squares into ``s1``/``s2``.
        """
        done_in_round = 0
        fill = self._fill_backend()

        def prepare(batch: Any, slot: int) -> Any:
            return fill.prepare(
                self, state, batch, offset + r0 + batch.d0, batch.d1 - batch.d0, slot
            )

        # the fill backend (fill_numpy.py or fill_torch.py) builds each batch (numpy: the next
        # one on a helper thread while the model runs this one), calls the model and sums the
        # explained values over each region's draws
        ahead = self.double_buffer and fill.builds_ahead
        plan = self._batches(state, active, r0, k)
        with closing(prefetched(plan, prepare, ahead)) as batches:
            for batch, ready in batches:
                if self._cancel.is_set():
                    self._stop_cancelled(state, active, done_in_round, r0 + k, s1 is state.s1)
                kk = batch.d1 - batch.d0
                classes = None if state.classes is None else state.classes[batch.local]
                first = offset + r0 + batch.d0
                y1, y2 = fill.sums(self, state, batch, ready, first, kk, classes)
                # each (sample, coalition) occurs once per batch, so the indexed += adds every region
                s1[batch.local, batch.positions] += y1
                s2[batch.local, batch.positions] += y2
                done_in_round = batch.done

    def _stop_cancelled(
        self, state: _ChunkState, active: np.ndarray, done: int, total: int, counting: bool
    ) -> None:
        """Raises ``_Cancelled`` with the chunk's complete leading samples (none in a pilot round).

        Samples that left ``active`` earlier are complete; so are the first ``done`` active ones
        if ``total`` is their number of draws.
        """
        finished = np.zeros(len(state.samples), dtype=bool)
        if counting:
            state.drawn[active[:done]] = total
            finished = state.drawn == state.target_draws
        bad = np.flatnonzero(~finished)
        prefix = int(bad[0]) if len(bad) else len(finished)
        raise _Cancelled(self._assemble(state, prefix) if prefix else None)

    def _assemble(self, state: _ChunkState, n: int) -> ValueChunk:
        """The value chunk of the first ``n`` samples of ``state``."""
        shift, prediction, classes = state.shift, state.prediction, state.classes
        s1, s2, drawn = state.s1, state.s2, state.drawn
        model_rows = self._adapter.rows - state.rows_before
        start = state.start
        all_classes = self.target == "all"
        r = drawn[:n].astype(np.float64).reshape((n, 1, *((1,) if all_classes else ())))
        mean = shift[:n, None] + s1[:n] / r
        if self._windows is None:
            se = np.zeros_like(mean)
        else:
            se = self._windows.standard_error(s1[:n], s2[:n], r)
        size = 1 << self.M
        if all_classes:
            k = shift.shape[1]
            values = np.empty((n, k, size))
            ses = np.zeros((n, k, size))
            values[:, :, 1 : self._full] = np.moveaxis(mean, 1, 2)
            ses[:, :, 1 : self._full] = np.moveaxis(se, 1, 2)
            values[:, :, 0] = self.empty_value
            ses[:, :, 0] = self.empty_se
            values[:, :, self._full] = shift[:n]
        else:
            values = np.empty((n, size))
            ses = np.zeros((n, size))
            values[:, 1 : self._full] = mean
            ses[:, 1 : self._full] = se
            assert self.empty_value is not None and self.empty_se is not None
            if self.target == "predicted":
                assert classes is not None
                values[:, 0] = self.empty_value[classes[:n]]
                ses[:, 0] = self.empty_se[classes[:n]]
            elif self.target == "output":
                values[:, 0] = self.empty_value
                ses[:, 0] = self.empty_se
            else:
                values[:, 0] = self.empty_value[int(self.target)]  # type: ignore[arg-type]
                ses[:, 0] = self.empty_se[int(self.target)]  # type: ignore[arg-type]
            values[:, self._full] = shift[:n]
        return ValueChunk(
            start=start,
            values=values,
            se=ses,
            predicted_class=None if classes is None else classes[:n].astype(np.int64),
            prediction=np.asarray(prediction[:n], dtype=np.float64),
            draws=drawn[:n].copy(),
            model_rows=int(model_rows),
        )
