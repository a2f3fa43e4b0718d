"""Parts of the value engine (:class:`intershap_widget.values.ValueEngine`), one module each.

- ``fill_numpy.py``: the numpy fill backend: masked batches built on the host, in reused numpy
  buffers (``batching.py``), handed to any kind of model;
- ``fill_torch.py``: the torch fill backend: the modalities and the background live on the
  model's device as tensors, the batches are built there and the per-region sums come back.

Both backends offer :meth:`sums`: the sums of the explained values and of their squares over the
draws of each region (sample, coalition) of one batch, which is all the chunk loop
(``chunks.py``) needs. The rest of the engine still lives in ``values.py``, ``targets.py``,
``chunks.py``, ``batching.py`` and ``draws.py`` (their import paths are unchanged).
"""

from __future__ import annotations

from .fill_numpy import NumpyFill
from .fill_torch import FILLS, TorchFill, gpu_batch_rows, resolve_fill

__all__ = ["FILLS", "NumpyFill", "TorchFill", "gpu_batch_rows", "resolve_fill"]
