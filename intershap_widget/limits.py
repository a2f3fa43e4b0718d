"""How many modalities each part of the package accepts: the one place these limits live.

Two limits, because two costs grow with the number of modalities M:

- The decomposition of a value table (``decompose``, and ``src/core`` in the browser) costs
  about ``2**M`` × (M² + 2M) flops per sample. ``MAX_MODALITIES`` (16) is where it stops; it
  equals ``MAX_MODALITIES`` in ``src/core/validate.ts``, so a table either side accepts the
  other side accepts too.
- The value engine (``values.ValueEngine``, and so ``InterSHAP(...)``) calls the model on
  ``(2**M − 2) × R`` masked rows per sample. ``MAX_ENGINE_MODALITIES`` (12: 4094 coalitions, about
  4 million model rows per sample at R = 1000) is where that stops being something to wait for in a
  notebook. Value tables made elsewhere can still be decomposed up to ``MAX_MODALITIES``.
"""

from __future__ import annotations

__all__ = ["MAX_ENGINE_MODALITIES", "MAX_MODALITIES", "MIN_MODALITIES"]

#: Fewest modalities anything accepts: InterSHAP measures interactions between modalities.
MIN_MODALITIES = 2
#: Most modalities a value table may have for the decomposition (= ``src/core/validate.ts``).
MAX_MODALITIES = 16
#: Most modalities the value engine (and the widget) evaluates a model on.
MAX_ENGINE_MODALITIES = 12
