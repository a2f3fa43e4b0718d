"""The value engine: a model evaluated on masked inputs, into per-sample coalition value tables.

One module per step of the pipeline, in order:

- ``engine.py``: :class:`ValueEngine` (the public class: constructor, chunks, cancel) and
  :func:`compute_values`; the argument checks it calls are ``intershap_widget/inputs.py``'s;
- ``draws.py``: which background rows fill the absent modalities of each draw (seeded windows of a
  stratified order; the adaptive draw schedule);
- ``targets.py``: the probe, v(∅), probabilities vs logits, the explained target, the strata;
- ``chunks.py``: one chunk of samples: full outputs, the ``draws="auto"`` pilot, rounds of
  draws, the assembled chunk;
- ``plan.py``: which masked rows go into which model call (batches, and the tile);
- ``pipeline.py``: the next batch built on a helper thread while the model runs this one
  (``double_buffer``);
- ``fill_numpy.py`` and ``fill_torch.py``: the two fill backends behind one interface,
  ``prepare`` (build a batch's input) and ``sums`` (call the model, sum the explained values over
  each region's draws): on the host in reused numpy buffers (``host.py``: the buffers and model
  calls every backend's host path uses), or on the model's torch device with only sums coming
  back;
- ``intershap_widget/value_tables.py``: what comes out (:class:`ValueChunk`, :class:`ValueResult`).

The former module paths (``intershap_widget.values``, ``.draws``, ``.targets``, ``.chunks``,
``.batching``) re-export these names.
"""

from __future__ import annotations

from ..value_tables import ValueChunk, ValueResult
from .engine import DEFAULT_CHUNK_SAMPLES, DEFAULT_DRAWS, ValueEngine, compute_values
from .fill_numpy import NumpyFill
from .fill_torch import FILLS, TorchFill, gpu_batch_rows, resolve_fill

__all__ = [
    "DEFAULT_CHUNK_SAMPLES",
    "DEFAULT_DRAWS",
    "FILLS",
    "NumpyFill",
    "TorchFill",
    "ValueChunk",
    "ValueEngine",
    "ValueResult",
    "compute_values",
    "gpu_batch_rows",
    "resolve_fill",
]
