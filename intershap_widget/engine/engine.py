"""Coalition value tables: masking strategies and batched evaluation (SPEC §1).

For each sample and each coalition ``S`` of modalities (bitmask ``b``: bit m set = modality m
present) :class:`ValueEngine` computes ``v(S)`` and its Monte-Carlo standard error:

- ``masking="random"`` (the paper's default): for ``0 < |S| < M``,
  ``v(S) = (1/R) Σ_r f(x_S, z^(r)_S̄)``. Each ``z^(r)`` is ONE background row, and all absent
  modalities come jointly from that same row. ``v(∅)`` is the mean of ``f`` over the background
  rows (at most ``max_background`` = 3000, a seeded subset when there are more), computed once
  for all samples; ``v(full) = f(x)``.
- ``masking="mean"``: absent modalities are replaced by the background's per-feature mean.
- ``masking="baseline"``: absent modalities are replaced by ``baseline`` (a scalar or a dict
  name -> array of the per-sample shape). Mean and baseline masking are deterministic (SE 0,
  ``draws`` is ignored).

Standard errors: for ``0 < |S| < M``, the std over draws (ddof=1) / sqrt(R) times the
finite-population correction of the draw windows (``draws.py``: the draws of one sample are
distinct background rows while R ≤ n, so the SE shrinks as R nears n, and is 0 when R is a
multiple of n: the value is then the exact background mean); for ``v(∅)`` the std over the
background rows / sqrt(n_bg); 0 for ``v(full)``. With a single draw from more than one background
row the SE is unknown and reported as NaN; a set of one row gives SE 0.

Draws (``draws.py``): the R draws of a sample and coalition are a window of consecutive rows of
a seeded order of the background, stratified by how each row moves the model (``targets.py``;
``stratify=False``: random). So the values depend only on the seed, never on chunk size, batch
size, thread timing or which other samples are still drawing, and the same seed gives identical
values run to run. By default the coalitions of a sample get windows ``max draws`` rows apart,
disjoint while (2**M − 2)·R ≤ n, so their errors are independent and an error bar on any linear
combination of values (a Shapley value, a Φ entry) can be formed from them (with more coalitions
than that, windows overlap and such error bars are approximate). ``common_draws=True`` gives every
coalition of a sample the same window (common random numbers): every value and its SE is still
valid, and for M ≥ 3 this usually reduces the variance of differences between nested coalitions,
but the values of one sample become correlated, so their SEs no longer add in quadrature.

Adaptive draws (``draws="auto"``): a separate pilot of 32 draws per coalition sets each sample's
number of draws, the first of 32, 48, 72, 108, ... ``max_draws`` (2000; each step adds half) at
which the SE predicted from the pilot's variance is at most ``tolerance`` for every coalition
value (every class for ``target="all"``). The values then come from that many fresh draws: the
pilot only decides (reusing it biases the values, see ``chunks.py``). The default tolerance
(``DEFAULT_TOLERANCE``) is 0.04 of a probability for classifiers, and 0.04 × the standard
deviation of the model's output over the background rows for ``target="output"``: looser than
R = 1000 per value on purpose, since aggregates over many samples average these errors out. For
precise single-sample (local) values pass a smaller ``tolerance``, or a fixed number of draws.
What this costs and gains is measured in docs/BENCHMARKS.md ("Python value engine").

The engine is one class made of parts, one module each in this package, in the order of the
pipeline (``engine/__init__.py`` draws it):

- this module: the constructor (input layout, draw schedule; the argument checks are
  ``inputs.py``'s), the public API (chunks, cancel) and the loop over chunks;
- ``plan.py`` (:class:`~intershap_widget.engine.plan.PlanMixin`): which masked rows go into which
  model call, and the tile;
- ``fill_numpy.py`` (:class:`~intershap_widget.engine.fill_numpy.NumpyFillMixin`,
  ``NumpyFill``) and ``fill_torch.py`` (``TorchFill``): the two fill backends, which build each
  batch and sum its explained values; ``host.py`` (:class:`~intershap_widget.engine.host.HostMixin`):
  the host buffers and model calls; ``pipeline.py``: the next batch built while the model runs
  this one;
- ``targets.py`` (:class:`~intershap_widget.engine.targets.TargetsMixin`): the probe, ``v(∅)``,
  probabilities vs logits, the explained target, the strata of the background;
- ``chunks.py`` (:class:`~intershap_widget.engine.chunks.ChunksMixin`): one chunk: full outputs,
  the adaptive pilot, rounds of draws, the assembled :class:`ValueChunk`;
- ``draws.py``: the draw windows; ``value_tables.py`` (outside the package): the result types
  :class:`ValueChunk` and :class:`ValueResult`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..inputs import (
    Modalities,
    cap_draws,
    check_batch_rows,
    check_bool,
    check_chunk_samples,
    check_double_buffer,
    check_draws,
    check_masking,
    check_memory_mb,
    check_output,
    check_positive_int,
    check_progress,
    check_replacements,
    check_sample_range,
    check_seed,
    check_target,
    check_tolerance_for,
    normalize_modalities,
)
from ..models import ModelAdapter, adapt_model
from ..value_tables import ValueChunk, ValueResult
from .chunks import ChunksMixin, _Cancelled
from .draws import FIRST_ROUND, BackgroundWindows, auto_rounds
from .fill_numpy import NumpyFill, NumpyFillMixin
from .fill_torch import TorchFill, gpu_batch_rows, resolve_fill, torch_dtypes
from .host import HostMixin
from .pipeline import double_buffer_default
from .plan import PlanMixin
from .targets import TargetsMixin

__all__ = ["DEFAULT_CHUNK_SAMPLES", "DEFAULT_DRAWS", "ValueEngine", "compute_values"]

#: Samples per chunk (and per streamed message): big enough that per-message overhead is
#: negligible, small enough that the views fill in while the model is still running. 240 is a
#: multiple of the usual slot counts (4, 8, 12, 16, 20, 24, ...: see ``draws.py``), so chunks hold
#: whole blocks of samples and all of them go through the tile.
DEFAULT_CHUNK_SAMPLES = 240
#: R, the draws per coalition when ``draws`` is not given (the paper's; SPEC §1)
DEFAULT_DRAWS = 1000
_NUMPY_FILL = NumpyFill()


class ValueEngine(ChunksMixin, TargetsMixin, NumpyFillMixin, HostMixin, PlanMixin):
    """Evaluates the 2**M coalition values of every sample, in large batches, chunk by chunk.

    The constructor validates everything, then probes the model on a few rows to learn its
    number of outputs (and checks ``target`` against it). The heavy work happens in
    :meth:`iter_chunks` / :meth:`compute_all`, which may run on another thread; :meth:`cancel`
    (thread-safe) stops it within one batch, keeping every finished sample.

    Args:
        model: a callable, torch ``nn.Module``, scikit-learn estimator or ONNX model (see
            ``models``).
        modalities: dict name -> array ``(N, ...)``, or a list with ``names=``.
        background: rows to draw absent modalities from (dict or list like ``modalities``);
            required for ``masking="random"`` and ``"mean"``.
        names: modality names when ``modalities`` is a list (default ``m0, m1, ...``).
        masking: ``"random"``, ``"mean"`` or ``"baseline"``.
        draws: R draws per coalition (int, default 1000), or ``"auto"`` (adaptive, see
            ``tolerance``). With ``masking="random"`` R is capped at the number n of background
            rows: R = n draws average every row once, which is already the exact background mean
            (SPEC §1). A ``draws`` above n given explicitly is capped with a ``UserWarning`` that
            says so (``draws=10**12`` on 30 rows computes 30 draws, exact values, SE 0); the
            default 1000 is capped silently, and so is ``max_draws`` for ``draws="auto"``.
        target: ``"predicted"``, class index, ``"all"`` or ``"output"``.
        seed: seeds the draws (and the background subset); same seed -> identical values.
        batch_rows: model rows per call (default: about ``memory_mb`` MiB of input).
        baseline: replacement for ``masking="baseline"`` (scalar or dict name -> per-sample
            array).
        tolerance: target SE for ``draws="auto"`` (default: 0.04 of a probability; see the
            module text).
        fusion: how the model receives a batch (``"auto"``, ``"dict"``, ``"list"``, ``"args"``,
            ``"early"``).
        output: ``"auto"``, ``"probabilities"`` or ``"logits"`` for classifier outputs.
        common_draws: share the R background rows across the coalitions of a sample.
        max_background: at most this many background rows are averaged for ``v(∅)`` (a seeded
            subset when there are more; draws and ``masking='mean'`` use every row).
        max_draws: cap on draws per coalition for ``draws="auto"``.
        memory_mb: input bytes per model call used to choose ``batch_rows`` (default 4 MiB).
        stratify: order the background so that each window of draws is stratified by how its
            rows move the model (``masking="random"``; see ``_stratify_background``). False: a
            plain seeded random order.
        executor: where the chunks are computed: None (this process), a
            ``dask.distributed.Client`` or a ``concurrent.futures.Executor`` (``distributed.py``:
            the engine is prepared here and shipped once per worker; the values are identical).
        device: a torch device (``"cpu"``, ``"cuda"``, ``"cuda:1"``, a ``torch.device``) to build
            the batches on (``fill="torch"``, ``engine/fill_torch.py``). For a torch module the
            default is the device of its parameters; if they are elsewhere the data goes there
            (once, with a warning). A callable given ``device=`` is called with tensors there.
        fill: how the masked batches are built: ``"auto"`` (``"torch"`` for a torch module on
            a non-CPU device or when ``device`` is given, else ``"numpy"``), ``"numpy"`` (on the host, any model) or
            ``"torch"`` (on the device, only sums come back). Same draws, same values (up to the
            float32 rounding of batches of another size).
        double_buffer: numpy backend: build the next batch on a helper thread while the model
            runs this one (``engine/pipeline.py``; the values are bit-identical either way).
            None (default): ``pipeline.DOUBLE_BUFFER``, which is on where the process may use
            more than two cores.

    Raises:
        ValueError: an argument is out of range or does not fit the model (named in the message).
        TypeError: an argument has the wrong type.
    """

    def __init__(
        self,
        model: Any,
        modalities: Any,
        background: Any = None,
        *,
        names: Any = None,
        masking: str = "random",
        draws: int | str | None = None,
        target: str | int = "predicted",
        seed: int | None = 0,
        batch_rows: int | None = None,
        baseline: Any = None,
        tolerance: float | None = None,
        fusion: str = "auto",
        output: str = "auto",
        common_draws: bool = False,
        max_background: int = 3000,
        max_draws: int = 2000,
        memory_mb: float = 4.0,
        stratify: bool = True,
        executor: Any = None,
        device: Any = None,
        fill: str = "auto",
        double_buffer: bool | None = None,
    ) -> None:
        from ..distributed import check_executor, check_picklable

        #: where the chunks are computed (None: here); checked before anything else is done
        self.executor = executor
        self._backend = check_executor(executor)
        check_picklable(model, self._backend, executor)
        self._model_source = model
        #: model rows the executor's workers evaluated (``model_rows`` adds them)
        self._remote_rows = 0
        self._modalities = normalize_modalities(modalities, names)
        self.masking = check_masking(masking)
        #: an explicit draws above the background rows is capped with a warning, the default silently
        self._draws_given = draws is not None
        self.draws = check_draws(DEFAULT_DRAWS if draws is None else draws)
        self.target = check_target(target)
        self.seed = seed = check_seed(seed)
        self.output = check_output(output)
        #: SE target of draws="auto"; when not given, set from the model's outputs by _prepare
        self.tolerance: float | None = check_tolerance_for(tolerance, self.draws)
        self.max_background = check_positive_int(max_background, "max_background", "3000")
        self.max_draws = check_positive_int(max_draws, "max_draws", "2000")
        if batch_rows is not None:
            batch_rows = check_positive_int(batch_rows, "batch_rows", "8192")
        memory_mb = check_memory_mb(memory_mb)
        self.common_draws = check_bool(common_draws, "common_draws")
        self.stratify = check_bool(stratify, "stratify")
        double_buffer = check_double_buffer(double_buffer)
        #: whether the numpy backend builds the next batch while the model runs this one
        self.double_buffer = double_buffer_default() if double_buffer is None else double_buffer
        mods = self._modalities

        # Background / replacement rows.
        self._background: Modalities | None
        self._background, baseline_rows = check_replacements(
            self.masking, background, baseline, mods
        )
        if baseline_rows is not None:
            self._baseline_rows = baseline_rows

        self._adapter: ModelAdapter = adapt_model(model, mods.names, mods.shapes, fusion)
        self.fusion = self._adapter.fusion
        #: the fill backend, "numpy" or "torch", and the torch device of the latter (else None)
        self.fill, self.device = resolve_fill(fill, device, self._adapter)
        #: the torch backend's device tensors (``engine/fill_torch.TorchFill``), made when used
        self._filler: Any = None
        self._early = self._adapter.fusion == "early"

        # Input layout and dtypes.
        names_ = mods.names
        dims = mods.dims
        if self._early:
            dtype = self._adapter.dtype or np.result_type(*[mods.arrays[n].dtype for n in names_])
            self._dtypes = [np.dtype(dtype)] * mods.M
        else:
            self._dtypes = [np.dtype(self._adapter.dtype or mods.arrays[n].dtype) for n in names_]
        offsets = np.concatenate([[0], np.cumsum([dims[n] for n in names_])]).astype(int)
        self._cols = [slice(int(offsets[i]), int(offsets[i + 1])) for i in range(mods.M)]
        self._dims = [dims[n] for n in names_]
        self._D = int(offsets[-1])
        self._x = [
            mods.flat(n).astype(dt, copy=False) for n, dt in zip(names_, self._dtypes, strict=True)
        ]
        if self.masking == "random":
            assert self._background is not None
            self._rows = [
                self._background.flat(n).astype(dt, copy=False)
                for n, dt in zip(names_, self._dtypes, strict=True)
            ]
            n_bg = self._rows[0].shape[0]
            if n_bg > self.max_background:
                pick = np.sort(
                    np.random.default_rng(seed).choice(n_bg, self.max_background, replace=False)
                )
            else:
                pick = np.arange(n_bg)
            self._empty_rows = pick
        elif self.masking == "mean":
            assert self._background is not None
            self._rows = [
                self._background.flat(n).astype(np.float64).mean(axis=0, keepdims=True).astype(dt)
                for n, dt in zip(names_, self._dtypes, strict=True)
            ]
            self._empty_rows = np.zeros(1, dtype=np.intp)
        else:
            self._rows = [
                self._baseline_rows[n].reshape(1, -1).astype(dt)
                for n, dt in zip(names_, self._dtypes, strict=True)
            ]
            self._empty_rows = np.zeros(1, dtype=np.intp)
        self._n_rows = int(self._rows[0].shape[0])
        if self.masking == "random":  # R >= n rows is the exact background mean already
            self.draws, self.max_draws = cap_draws(
                self.draws, self.max_draws, self._n_rows, warn=self._draws_given
            )

        row_bytes = sum(d * dt.itemsize for d, dt in zip(self._dims, self._dtypes, strict=True))
        if batch_rows is not None:
            batch_rows = check_batch_rows(batch_rows, row_bytes)
        host_rows = int(np.clip(int(memory_mb * 2**20) // max(row_bytes, 1), 64, 65536))
        self._torch_dtypes: list[Any] | None = None
        if self.fill == "torch":
            self._torch_dtypes = torch_dtypes(self._adapter, self._dtypes)
            if batch_rows is None and self.device.type == "cuda":
                import torch

                device_row_bytes = sum(
                    d * torch.empty((), dtype=dt).element_size()
                    for d, dt in zip(self._dims, self._torch_dtypes, strict=True)
                )
                free = torch.cuda.mem_get_info(self.device)[0]
                batch_rows = gpu_batch_rows(free, device_row_bytes)
        if batch_rows is None:
            batch_rows = host_rows
        self.batch_rows = int(batch_rows)
        #: rows per call of the host path (probe, v(∅), strata, full samples, numpy batches)
        self._host_rows = (
            min(self.batch_rows, host_rows) if self.fill == "torch" else self.batch_rows
        )
        self._buffers: list[np.ndarray] | None = None

        # Coalitions other than ∅ and full, and the draw schedule.
        self.M = mods.M
        self._full = (1 << self.M) - 1
        self._cells = np.arange(1, self._full, dtype=np.int64)
        if self.masking != "random":
            self._rounds = [1]
        elif self.draws == "auto":
            self._rounds = auto_rounds(self.max_draws)
        else:
            self._rounds = [int(self.draws)]  # type: ignore[arg-type]
        self._key = np.random.SeedSequence(seed).generate_state(1, np.uint64)
        self._windows = (
            BackgroundWindows(
                self._rows,
                self._key,
                self._rounds[-1] + (FIRST_ROUND if self.draws == "auto" else 0),
                self._cols if self._early else None,
                fixed_draws=None if self.draws == "auto" else self._rounds[-1],
            )
            if self.masking == "random"
            else None
        )

        self._tile = self._tile_layout(row_bytes)
        #: (buffers, first row, rows) of the largest coalition batch so far (benchmarks)
        self._largest: tuple[list[np.ndarray], int, int] | None = None

        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._prepared = False
        self._softmax = False
        self._check_probabilities = False
        self.empty_value: np.ndarray | None = None
        self.empty_se: np.ndarray | None = None
        self._probe()

    # ------------------------------------------------------------------------------------------
    # Public properties

    @property
    def names(self) -> tuple[str, ...]:
        """Modality names, in modality (bit) order."""
        return self._modalities.names

    @property
    def n_background(self) -> int:
        """Rows that absent modalities are drawn from (1 for mean and baseline masking)."""
        return self._n_rows

    @property
    def n_samples(self) -> int:
        """Number of samples to explain."""
        return self._modalities.n_samples

    @property
    def n_classes(self) -> int:
        """K, the model's number of outputs per row (1 for a single-output model)."""
        return int(self._adapter.n_outputs or 0)

    @property
    def model_rows(self) -> int:
        """Model rows evaluated so far (probe, background, full samples and coalitions)."""
        return self._adapter.rows + self._remote_rows

    @property
    def model(self) -> ModelAdapter:
        """The adapter that calls the model."""
        return self._adapter

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called (and not reset since)."""
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Stops the running (or next) computation within one batch; finished samples are kept.

        Sticky: later calls to iter_chunks/compute_all return at once until :meth:`reset_cancel`.
        """
        self._cancel.set()

    def reset_cancel(self) -> None:
        """Clears a :meth:`cancel`, so that the next computation runs."""
        self._cancel.clear()

    def _fill_backend(self) -> Any:
        """The fill backend (``engine/``): numpy's, or this engine's device tensors (made once)."""
        if self.fill == "numpy":
            return _NUMPY_FILL
        if self._filler is None:
            self._filler = TorchFill(self, self.device, self._torch_dtypes or [])
        return self._filler

    def iter_chunks(
        self, chunk_samples: int = DEFAULT_CHUNK_SAMPLES, start: int = 0, stop: int | None = None
    ) -> Iterator[ValueChunk]:
        """Yields :class:`ValueChunk` s of ``chunk_samples`` samples, in order, from ``start`` to ``stop``.

        On :meth:`cancel`, stops within one batch; the finished leading samples of the current
        chunk are yielded as a last, shorter chunk. A model error propagates; chunks already
        yielded stay valid.

        With an ``executor``, chunks come in the order they finish; a cancel stops within one
        chunk per worker; chunks that fail are raised together at the end as
        ``distributed.ChunksFailed`` (naming their samples), after every other chunk.
        """
        chunk_samples = check_chunk_samples(chunk_samples, str(DEFAULT_CHUNK_SAMPLES))
        start, stop = check_sample_range(start, stop, self.n_samples)
        if self._cancel.is_set():
            return
        self._prepare()
        if self._backend is not None:  # chunks as they come back, in any order (distributed.py)
            from ..distributed import ChunkFailure, ChunksFailed, chunk_ranges, iter_outcomes

            failures = []
            for item in iter_outcomes(self, chunk_ranges(start, stop, chunk_samples)):
                if isinstance(item, ChunkFailure):
                    failures.append(item)
                else:
                    yield item
            if failures:
                raise ChunksFailed(failures)
            return
        for a in range(start, stop, chunk_samples):
            b = min(a + chunk_samples, stop)
            try:
                chunk = self._compute_chunk(a, b)
            except _Cancelled as cancelled:
                if cancelled.chunk is not None:
                    yield cancelled.chunk
                return
            yield chunk

    def compute_all(
        self,
        progress: Callable[[int, int, int], Any] | None = None,
        chunk_samples: int = DEFAULT_CHUNK_SAMPLES,
    ) -> ValueResult:
        """Computes every sample's value table.

        Args:
            progress: called as ``progress(done_samples, total_samples, model_rows)`` after each
                chunk.
            chunk_samples: samples per chunk.

        Returns:
            The :class:`ValueResult` of every sample (``complete`` False after :meth:`cancel`).

        Raises:
            Exception: whatever the model raised; the exception gets a ``partial`` attribute
                holding the :class:`ValueResult` of the samples finished before it.
        """
        t0 = time.perf_counter()
        chunks: list[ValueChunk] = []
        done = 0
        try:
            for chunk in self.iter_chunks(chunk_samples=chunk_samples):
                chunks.append(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, self.n_samples, self.model_rows)
        except Exception as error:
            error.partial = self._result(chunks, time.perf_counter() - t0)  # type: ignore[attr-defined]
            raise
        return self._result(chunks, time.perf_counter() - t0)

    def _result(self, chunks: list[ValueChunk], seconds: float) -> ValueResult:
        # an executor's chunks come in any order: the leading samples without a gap are kept
        chunks = sorted(chunks, key=lambda c: c.start)
        for i, chunk in enumerate(chunks):
            if chunk.start != (chunks[i - 1].stop if i else 0):
                chunks = chunks[:i]
                break
        size = 1 << self.M
        k = self.n_classes
        shape: tuple[int, ...] = (0, k, size) if self.target == "all" else (0, size)
        if chunks:
            values = np.concatenate([c.values for c in chunks])
            se = np.concatenate([c.se for c in chunks])
            prediction = np.concatenate([c.prediction for c in chunks])
            draws = np.concatenate([c.draws for c in chunks])
            classes = (
                None
                if chunks[0].predicted_class is None
                else np.concatenate([c.predicted_class for c in chunks])
            )  # type: ignore[misc]
        else:
            values, se = np.zeros(shape), np.zeros(shape)
            prediction, draws = np.zeros(0), np.zeros(0, dtype=np.int64)
            classes = None if self.target == "output" else np.zeros(0, dtype=np.int64)
        empty = np.asarray(self.empty_value if self.empty_value is not None else np.nan)
        empty_se = np.asarray(self.empty_se if self.empty_se is not None else np.nan)
        return ValueResult(
            names=self.names,
            values=values,
            se=se,
            predicted_class=classes,
            prediction=prediction,
            draws=draws,
            model_rows=self.model_rows,
            n_classes=k,
            target=self.target,
            masking=self.masking,
            empty_value=empty,
            empty_se=empty_se,
            complete=values.shape[0] == self.n_samples,
            seconds=seconds,
            n_total=self.n_samples,
        )

    def __repr__(self) -> str:
        return (
            f"ValueEngine(names={list(self.names)}, n_samples={self.n_samples}, masking={self.masking!r},"
            f" draws={self.draws!r}, target={self.target!r}, model={self._adapter.kind}/{self.fusion},"
            f" batch_rows={self.batch_rows}, fill={self.fill!r}, double_buffer={self.double_buffer})"
        )


def compute_values(
    model: Any, modalities: Any, background: Any = None, **options: Any
) -> ValueResult:
    """One call: ``ValueEngine(model, modalities, background, **options).compute_all()``."""
    progress = check_progress(options.pop("progress", None))
    chunk_samples = check_chunk_samples(
        options.pop("chunk_samples", DEFAULT_CHUNK_SAMPLES), str(DEFAULT_CHUNK_SAMPLES)
    )
    return ValueEngine(model, modalities, background, **options).compute_all(
        progress, chunk_samples
    )
