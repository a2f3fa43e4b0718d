"""The widget's synced ``selection`` state: a binary buffer of little-endian int32 sample indices.

Part of the wire schema (``protocol.py``, ``src/protocol/messages.ts``): the browser's serializer
writes the same bytes, and ``tests/fixtures/protocol/messages.json`` holds the examples both sides
are tested against. Python reads and writes ``w.selection`` as a list of ints.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from traitlets import Int, List

from .wire_checks import INT32_MAX, INT32_MIN, ProtocolError, describe

_INT32_FORMATS = ("i", "<i", "=i")
_RAW_FORMATS = ("B", "b", "c")
_FORMAT_NAMES = {"d": "float64", "f": "float32", "q": "int64", "l": "int64", "h": "int16"}


def selection_buffer(indices: Sequence[int]) -> memoryview:
    """Encodes sample indices as the selection state travels: little-endian int32 bytes.

    Args:
        indices: Sample indices, in any order, as the user set them.

    Returns:
        A flat byte memoryview of 4 bytes per index.

    Raises:
        ProtocolError: An index does not fit an int32.
    """
    array = int_array(indices)
    in_range = array is not None and (
        array.size == 0 or (int(array.min()) >= INT32_MIN and int(array.max()) <= INT32_MAX)
    )
    bad = [] if in_range else [i for i in indices if not INT32_MIN <= int(i) <= INT32_MAX]
    if bad:
        raise ProtocolError(f"selection: expected int32 sample indices, got {bad[:5]}")
    data = array.astype("<i4") if array is not None else np.asarray(indices, dtype="<i4")
    return memoryview(data.reshape(-1)).cast("B")


def decode_selection(state: Any, n_samples: int | None = None) -> list[int]:
    """Decodes the selection state (a buffer of int32 sample indices) into a list of ints.

    Args:
        state: What came for the state: bytes, or a memoryview of bytes or of int32s.
        n_samples: When given, every index must lie in [0, n_samples).

    Returns:
        The indices in the order they came (no sorting, no de-duplication).

    Raises:
        ProtocolError: The state is not a buffer, not int32s, or an index is out of range.
    """
    if not isinstance(state, (bytes, bytearray, memoryview)):
        raise ProtocolError(
            f"selection: expected a binary buffer of int32 sample indices, got {describe(state)}"
        )
    view = memoryview(state)
    if view.format not in _INT32_FORMATS + _RAW_FORMATS:
        dtype = _FORMAT_NAMES.get(view.format.lstrip("<>=@!"), f"format '{view.format}'")
        raise ProtocolError(
            f"selection: expected a binary buffer of int32 sample indices, got a {dtype} buffer"
        )
    if view.nbytes % 4 != 0:
        raise ProtocolError(
            "selection: expected a binary buffer of int32 sample indices (4 bytes each), "
            f"got {view.nbytes} bytes"
        )
    indices = np.frombuffer(view.cast("B") if view.ndim != 1 or view.format != "B" else view, "<i4")
    if n_samples is not None:
        check_selection(indices, n_samples)
    # tolist() gives Python ints, as int(i) would, without a Python loop over a brush's 500,000.
    return indices.tolist()


def int_array(indices: Any) -> np.ndarray | None:
    """The indices as a one-dimensional integer array, or None when they are not all ints.

    What the checks below use to test a large selection at numpy speed; None (bools only, floats,
    an int past int64, an empty list, anything else) sends them to their plain Python loop, which
    gives the exact messages.
    """
    try:
        array = np.asarray(indices)
    except (OverflowError, ValueError, TypeError):
        return None
    if array.ndim != 1 or array.dtype.kind not in "iu":
        return None
    return array


def check_selection(indices: Sequence[int], n_samples: int) -> None:
    """Checks that sample indices lie in [0, n_samples).

    Args:
        indices: The sample indices.
        n_samples: The number of samples.

    Raises:
        ProtocolError: Naming the first few indices out of range.
    """
    array = int_array(indices)
    if array is not None and (
        array.size == 0 or (int(array.min()) >= 0 and int(array.max()) < n_samples)
    ):
        return
    bad = [int(i) for i in indices if not 0 <= int(i) < n_samples]
    if bad:
        raise ProtocolError(
            f"selection: expected sample indices from 0 to {n_samples - 1}, got {bad[:5]}"
            + (" ..." if len(bad) > 5 else "")
        )


def duplicates(indices: Sequence[int]) -> list[int]:
    """The indices listed more than once, each once, in the order of their second appearance."""
    array = int_array(indices)
    # A brush's indices are increasing: then none repeats, and a large list is not walked in Python.
    if array is not None and (
        bool(np.all(array[1:] > array[:-1])) or np.unique(array).size == array.size
    ):
        return []
    seen: set[int] = set()
    repeated: dict[int, None] = {}
    for i in indices:
        if i in seen:
            repeated[int(i)] = None
        seen.add(int(i))
    return list(repeated)


def warn_duplicates(indices: Sequence[int]) -> None:
    """Warns (``UserWarning``) when a selection set from Python lists a sample more than once.

    ``w.selection`` keeps the list as given; the browser selects the distinct samples, so a
    repeat there counts once (``w.compare(samples=...)`` is where a repeat counts again).
    """
    repeated = duplicates(indices)
    if not repeated:
        return
    shown = ", ".join(str(i) for i in repeated[:10]) + (" ..." if len(repeated) > 10 else "")
    warnings.warn(
        f"selection: sample{'s' if len(repeated) > 1 else ''} {shown} listed more than once;"
        " w.selection keeps the list as given, the widget selects each sample once"
        f" ({len(set(indices))} distinct of {len(indices)})",
        UserWarning,
        stacklevel=_caller_level(),
    )


def _caller_level() -> int:
    """The warnings stack level of the first frame outside traitlets and this package."""
    frame, level = sys._getframe(2), 2  # 1: warn_duplicates's caller; 2: its caller
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not module.startswith(("traitlets", "intershap_widget", "ipywidgets")):
            return level
        frame, level = frame.f_back, level + 1
    return 2


class SelectionList(List):
    """``List(Int())`` for the selection: a list of Python ints, checked at numpy speed when large.

    traitlets checks a ``List(Int())`` element by element, twice per assignment (once on set,
    once more when ``hold_trait_notifications`` re-sets the cross-validated value, as ipywidgets'
    ``set_state`` does); for a brush of 500,000 samples that was 0.45 s of the kernel's time per
    brush, on the same cores as the page. Here a list whose elements are all of type ``int`` or
    ``bool`` (what ``Int()`` accepts of them) is copied as ``List`` copies it, without a trait
    call per element; anything else takes ``List(Int())``'s own check, and its error.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(Int(), **kwargs)

    def validate_elements(self, obj: Any, value: Any) -> Any:
        """The list, copied; checked element by element unless every element is an int."""
        if isinstance(value, list) and set(map(type, value)) <= {int, bool}:
            return list(value)
        return super().validate_elements(obj, value)


def selection_to_json(indices: Sequence[int], _widget: Any = None) -> memoryview:
    """The ipywidgets serializer of the ``selection`` trait: a list of ints to its buffer.

    Args:
        indices: The trait's value.
        _widget: The widget (ipywidgets passes it; unused).

    Returns:
        The int32 buffer that ipywidgets sends as a binary part of the state.
    """
    return selection_buffer(indices)


def selection_from_json(state: Any, _widget: Any = None) -> list[int]:
    """The ipywidgets deserializer of the ``selection`` trait: the browser's buffer to a list.

    Args:
        state: The buffer the browser sent (a memoryview).
        _widget: The widget (ipywidgets passes it; unused: the trait's validator checks ranges).

    Returns:
        The sample indices.

    Raises:
        ProtocolError: The state is not a buffer of int32 values.
    """
    return decode_selection(state)
