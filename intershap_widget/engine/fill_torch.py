"""The torch fill backend: masked batches built on the model's device, sums sent back.

With ``fill="torch"`` (the default for a torch ``nn.Module`` on a GPU or any other non-CPU
device, and whenever ``device=`` is given; a module on the CPU keeps the numpy backend unless
asked, since its tile and block copies were faster there: docs/BENCHMARKS.md)
the modalities and the background are copied once to the model's device as tensors, in the
model's dtype (bf16 and fp16 included), when the first coalition batch is built. Each batch is
then built there: the rows of the background windows are gathered by index (the same seeded
windows and strata as the numpy backend: ``draws.py``; only the window starts, a few integers per
sample, go to the device per batch), the present modalities are broadcast from the samples, and
the batch is fed straight to the model. The explained values are formed from the outputs in
float64 on the device and summed over the draws of each region (sample, coalition); only those
sums, and five numbers that check the outputs (non-finite entries; for probabilities their range
and row sums), come back to the host. So the values are the numpy backend's for the same seed, up
to the float32 rounding of batches of a different size.

A model whose parameters are on another device than the one ``device=`` names gets the data on
its own device (moved once, with a warning), never the model moved. Batch size: on a CUDA device,
``GPU_INPUT_SHARE`` of the free device memory (``torch.cuda.mem_get_info``) for the input rows
(the rest is left to the model's activations), and a batch that still runs out of memory is split
(``ModelAdapter.run_tensors``); on the CPU, the engine's usual memory budget.

What is not on the device: the probe, v(∅), the strata and the full samples (a few rows per
sample and per background row) go through the host path of ``host.py``, as with numpy.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

#: the fill backends ``ValueEngine(fill=...)`` takes
FILLS = ("auto", "numpy", "torch")
#: share of the free device memory a CUDA batch's input rows may take (the model's activations,
#: its outputs and the reductions take the rest; a batch that does not fit is split)
GPU_INPUT_SHARE = 1 / 16
#: the largest CUDA batch the engine chooses by itself (rows)
GPU_MAX_BATCH_ROWS = 1 << 22


def gpu_batch_rows(free_bytes: int, row_bytes: int) -> int:
    """Rows per batch on a CUDA device: ``GPU_INPUT_SHARE`` of ``free_bytes`` of input rows.

    Args:
        free_bytes: free device memory (``torch.cuda.mem_get_info()[0]``).
        row_bytes: bytes of one input row on the device.

    Returns:
        A row count from 64 to ``GPU_MAX_BATCH_ROWS``.
    """
    rows = int(free_bytes * GPU_INPUT_SHARE) // max(int(row_bytes), 1)
    return int(np.clip(rows, 64, GPU_MAX_BATCH_ROWS))


def _same_device(a: Any, b: Any) -> bool:
    return a.type == b.type and (a.index is None or b.index is None or a.index == b.index)


def resolve_fill(fill: Any, device: Any, adapter: Any) -> tuple[str, Any]:
    """Which fill backend the engine uses, and on which torch device.

    Args:
        fill: ``"auto"`` (torch for a torch module whose parameters are not on the CPU, or
            when ``device`` is given; else numpy), ``"numpy"`` or ``"torch"``.
        device: None, or a torch device (or its name: ``"cpu"``, ``"cuda"``, ``"cuda:1"``).
        adapter: the engine's ``ModelAdapter``; a callable gets its tensor calling convention
            set here (it is then called with tensors on ``device``).

    Returns:
        ``("numpy", None)`` or ``("torch", torch.device)``.

    Raises:
        ValueError: an unknown ``fill``, a ``device`` torch cannot use, or a model the torch
            backend cannot call.
    """
    if not isinstance(fill, str) or fill not in FILLS:
        raise ValueError(f"fill: expected one of {', '.join(map(repr, FILLS))}, got {fill!r}")
    if fill == "auto":  # a module on the CPU: numpy's tile and block copies are faster there
        on_device = adapter.kind == "torch" and adapter.torch_device.type != "cpu"
        fill = "torch" if on_device or device is not None else "numpy"
    if fill == "numpy":
        if device is not None:
            raise ValueError(
                f"device: only used with fill='torch' (batches built on a torch device), got"
                f" device={device!r} with fill='numpy'"
            )
        return "numpy", None
    if adapter.kind not in ("torch", "callable"):
        raise ValueError(
            "fill: 'torch' builds torch tensors for a torch nn.Module or a callable that takes"
            f" tensors, got a {adapter.kind} model; leave device= and fill= out for it"
        )
    try:
        import torch
    except ImportError as error:  # pragma: no cover - torch is there whenever a module is
        raise ValueError(f"fill: 'torch' needs torch, which failed to import: {error}") from None
    try:
        wanted = None if device is None else torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(
            f"device: expected a torch device such as 'cpu' or 'cuda', got {device!r} ({error})"
        ) from None
    if wanted is not None and wanted.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: {device!r}, but torch sees no CUDA device on this machine")
    if adapter.kind == "torch":
        own = adapter.torch_device
        if wanted is not None and not _same_device(wanted, own):
            warnings.warn(
                f"device: {str(wanted)!r} was given, but the model's parameters are on"
                f" {str(own)!r}: the modalities and the background are moved once to"
                f" {str(own)!r} and the batches built there (the model is not moved)",
                UserWarning,
                stacklevel=3,
            )
        return "torch", own
    target = wanted if wanted is not None else torch.device("cpu")
    call = adapter._run  # the callable's convention passes tensors through as well
    adapter.tensor_call = call
    # the host path (probe, v(∅), strata, full samples) hands it tensors on the device too
    adapter._run = lambda arrays: call(
        [torch.from_numpy(np.ascontiguousarray(a)).to(target) for a in arrays]
    )
    return "torch", target


def torch_dtypes(adapter: Any, dtypes: list[np.dtype]) -> list[Any]:
    """The torch dtype of each modality on the device: a module's own, else the modality's."""
    import torch

    if adapter.torch_dtype is not None:
        return [adapter.torch_dtype] * len(dtypes)
    return [torch.from_numpy(np.empty(0, dtype=dt)).dtype for dt in dtypes]


def to_device(array: np.ndarray, device: Any, dtype: Any) -> Any:
    """One host array as a tensor on ``device`` in ``dtype`` (every copy of data goes here)."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(array)).to(device=device, dtype=dtype)


class TorchFill:
    """Device-resident modalities and background, and the batches built from them.

    Made by the engine on its first coalition batch (after v(∅) and the strata have fixed the
    order of the background).
    """

    name = "torch"
    #: the batch is built on the device, in :meth:`sums`, in order with the model's calls there
    builds_ahead = False

    def __init__(self, engine: Any, device: Any, dtypes: list[Any]) -> None:
        import torch

        self.device = device
        self.dtypes = dtypes
        self.x = [to_device(x, device, dt) for x, dt in zip(engine._x, dtypes, strict=True)]
        windows = engine._windows
        self.order: Any = None
        if windows is None:  # mean / baseline: one replacement row
            self.pool = [
                to_device(r[:1], device, dt) for r, dt in zip(engine._rows, dtypes, strict=True)
            ]
        else:
            self.pool = [
                to_device(p, device, dt) for p, dt in zip(windows.pool, dtypes, strict=True)
            ]
            if not windows.reordered:
                self.order = torch.from_numpy(windows.order.astype(np.int64)).to(device)
        self.buffers: list[Any] | None = None
        #: rows of the largest batch built so far (benchmarks)
        self.largest = 0

    def _views(self, engine: Any, rows: int) -> tuple[list[Any], list[Any]]:
        """Per-modality ``(rows, d_m)`` views to write, and the model's inputs behind them."""
        import torch

        if self.buffers is None or self.buffers[0].shape[0] < rows:
            capacity = max(rows, engine.batch_rows)
            if engine._early:
                shapes = [(capacity, engine._D)]
            else:
                shapes = [(capacity, d) for d in engine._dims]
            self.buffers = [
                torch.empty(s, dtype=dt, device=self.device)
                for s, dt in zip(shapes, self.dtypes, strict=False)
            ]
        if engine._early:
            whole = self.buffers[0][:rows]
            return [whole[:, c] for c in engine._cols], [whole]
        views = [b[:rows] for b in self.buffers]
        shapes_ = engine._modalities.shapes
        inputs = [v.reshape((rows, *shapes_[n])) for v, n in zip(views, engine.names, strict=True)]
        return views, inputs

    def largest_input(self) -> np.ndarray:
        """The input rows of the largest batch built so far, on the host (benchmarks)."""
        assert self.buffers is not None
        return self.buffers[0][: self.largest].float().cpu().numpy().copy()

    def _window_rows(self, windows: Any, samples: np.ndarray, coalition: int, steps: Any) -> Any:
        """Device indices into ``pool`` of the draws ``steps`` of each sample, ``(n_s * k,)``."""
        import torch

        starts = torch.from_numpy(windows.starts(samples, coalition)).to(self.device)
        positions = ((starts[:, None] + steps) % windows.n).reshape(-1)
        return positions if self.order is None else self.order[positions]

    def build(
        self, engine: Any, samples: np.ndarray, cells: np.ndarray, first: int, k: int
    ) -> tuple[list[Any], int]:
        """Writes the masked rows of ``cells × samples × draws[first:first+k]`` on the device.

        Layout ``(coalition, sample, draw)`` like the numpy backend. Returns the model's inputs
        and the number of rows.
        """
        import torch

        n_s = len(samples)
        per_cell = n_s * k
        rows = len(cells) * per_cell
        views, inputs = self._views(engine, rows)
        index = torch.from_numpy(np.asarray(samples, dtype=np.int64)).to(self.device)
        xs = [x.index_select(0, index) for x in self.x]
        windows = engine._windows
        steps = None if windows is None else torch.arange(first, first + k, device=self.device)
        for j, cell in enumerate(cells.tolist()):
            part = slice(j * per_cell, (j + 1) * per_cell)
            idx = None
            for m, view in enumerate(views):
                v = view[part]
                if (cell >> m) & 1:
                    v.unflatten(0, (n_s, k)).copy_(xs[m][:, None, :])
                elif windows is None:
                    v.copy_(self.pool[m][0])
                else:
                    if idx is None:
                        coalition = 0 if engine.common_draws else cell - 1
                        idx = self._window_rows(windows, samples, coalition, steps)
                    if v.is_contiguous():
                        torch.index_select(self.pool[m], 0, idx, out=v)
                    else:
                        v.copy_(self.pool[m].index_select(0, idx))
        self.largest = max(self.largest, rows)
        return inputs, rows

    def prepare(self, engine: Any, state: Any, batch: Any, first: int, k: int, slot: int) -> None:
        """Nothing: the batch is built on the device by :meth:`sums` (``NumpyFill.prepare``'s place)."""
        return

    def sums(
        self,
        engine: Any,
        state: Any,
        batch: Any,
        ready: Any,
        first: int,
        k: int,
        classes: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Sums over the draws of each region of ``batch`` of ``y`` and ``y²``, y = value − shift.

        The same contract as ``NumpyFill.sums``; the batch is built and reduced on the device
        and only the sums (and the checks of the outputs) come back.

        Args:
            engine: the value engine.
            state: the chunk's ``_ChunkState``.
            batch: the ``_Batch`` to evaluate (a regular one: the tile is numpy's).
            ready: what :meth:`prepare` returned (None).
            first: window position of the batch's first draw.
            k: draws per region.
            classes: each region's predicted class (``target="predicted"``), else None.

        Returns:
            Two arrays ``(regions,)`` (``(regions, K)`` for ``target="all"``).

        Raises:
            ModelOutputError: non-finite outputs, or outputs that stopped looking like
                probabilities (the numpy backend's messages).
        """
        import torch

        assert batch.cells is not None, "internal: the tile is built by the numpy backend"
        samples = state.samples[batch.samples]
        inputs, rows = self.build(engine, samples, batch.cells, first, k)
        raw = engine._adapter.run_tensors(inputs, rows)
        out = raw.to(torch.float64)
        regions = len(batch.local)
        y = self._targets(engine, out, classes, regions, k)
        shift = to_device(state.shift[batch.local], self.device, torch.float64)
        y = y - shift[:, None]
        checks = [(~torch.isfinite(out)).sum().to(torch.float64)]
        probabilities = (
            engine.target != "output" and not engine._softmax and engine._check_probabilities
        )
        if probabilities:
            totals = out.sum(dim=1)
            checks += [out.min(), out.max(), totals.min(), totals.max()]
        packed = (
            torch.cat(
                [y.sum(dim=1).reshape(-1), (y * y).sum(dim=1).reshape(-1), torch.stack(checks)]
            )
            .cpu()
            .numpy()
        )
        size = regions * (int(y.shape[2]) if y.ndim == 3 else 1)
        s1, s2, stats = packed[:size], packed[size : 2 * size], packed[2 * size :]
        if stats[0] > 0:
            engine._adapter._check_output(raw.float().cpu().numpy(), rows)  # raises with the place
        if probabilities:
            from ..models import PROBABILITY_TOLERANCE as tol

            low, high, least, most = stats[1:]
            if (
                out.shape[1] < 2
                or low < -tol
                or high > 1 + tol
                or abs(least - 1) > tol
                or abs(most - 1) > tol
            ):
                engine._to_probabilities(out.cpu().numpy(), "coalition rows")  # raises
        shape = (regions, -1) if engine.target == "all" else (regions,)
        return s1.reshape(shape), s2.reshape(shape)

    def _targets(
        self, engine: Any, out: Any, classes: np.ndarray | None, regions: int, k: int
    ) -> Any:
        """``TargetsMixin._targets`` on the device: outputs ``(rows, K)`` -> ``(regions, k[, K])``."""
        import torch

        shape = (regions, k)
        target = engine.target
        if target == "output":
            return out[:, 0].reshape(shape)
        if target == "all":
            probs = torch.softmax(out, dim=1) if engine._softmax else out
            return probs.reshape((*shape, out.shape[1]))
        if target == "predicted":
            assert classes is not None
            cls = torch.from_numpy(np.repeat(classes.astype(np.int64), k)).to(self.device)
            chosen = out.gather(1, cls[:, None])[:, 0]
        else:
            chosen = out[:, int(target)]
        if not engine._softmax:
            return chosen.reshape(shape)
        return (1.0 / torch.exp(out - chosen[:, None]).sum(dim=1)).reshape(shape)
