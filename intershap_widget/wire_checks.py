"""The grammar the wire schema is checked with: field checks, value descriptions, buffers.

The same checks and the same words as src/protocol/messages.ts, so an error reads alike on both
sides: the message kind, the field, what was expected and what came.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


class ProtocolError(ValueError):
    """A message or a synced state that does not follow the schema.

    The message names the message kind and the field, what was expected, and what came.
    """


# ------------------------------------------------------------------------------------------------
# Checking fields: the same checks and words as src/protocol/messages.ts

MISSING = object()


def number_text(value: float) -> str:
    """Writes a number as JavaScript's String(value) does, so that both sides say the same."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 1e21:
        try:  # as JavaScript would hold it: a float64, or Infinity beyond
            value = float(value)
        except OverflowError:
            return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
    return str(value)


def describe(value: Any) -> str:
    """Describes a received value in an error message, in the words the TypeScript side uses.

    Args:
        value: A decoded JSON value, or ``MISSING`` for an absent field.

    Returns:
        A short description such as ``number -1`` or ``an array of length 2``.
    """
    if value is MISSING:
        return "nothing"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return f"an array of length {len(value)}"
    if isinstance(value, str):
        return f"the string {json.dumps(value[:40], ensure_ascii=False)}"
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, (int, float)):
        return f"number {number_text(value)[:40]}"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"a binary buffer of {memoryview(value).nbytes} bytes"
    return f"a {type(value).__name__}"


def field(msg: Mapping[str, Any], name: str, check: Callable[[Any], bool], expected: str) -> Any:
    """The field ``name`` of ``msg`` if ``check`` accepts it; else a ProtocolError naming it."""
    value = msg.get(name, MISSING)
    if value is MISSING or not check(value):
        raise ProtocolError(
            f"{msg.get('kind')} message: field '{name}' expected {expected}, got {describe(value)}"
        )
    return value


def is_number(v: Any) -> bool:
    """An int or float (not a bool)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def is_string(v: Any) -> bool:
    """A str."""
    return isinstance(v, str)


def is_count(v: Any) -> bool:
    """A non-negative whole number."""
    return is_finite(v) and (isinstance(v, int) or float(v).is_integer()) and v >= 0


def is_finite(v: Any) -> bool:
    """A finite number: one a JavaScript number can hold (an int beyond float64 is not)."""
    if not is_number(v):
        return False
    try:
        return math.isfinite(float(v))
    except OverflowError:
        return False


def is_nullable_number(v: Any) -> bool:
    """None or a finite number."""
    return v is None or is_finite(v)


def is_string_list(v: Any) -> bool:
    """A list of str."""
    return isinstance(v, list) and all(isinstance(item, str) for item in v)


def is_interval(v: Any) -> bool:
    """None or two finite numbers."""
    return v is None or (isinstance(v, list) and len(v) == 2 and all(is_finite(x) for x in v))


def json_text(value: Any) -> str:
    """A JSON value written as JavaScript's JSON.stringify writes it (a missing one as 'nothing')."""
    if value is MISSING:
        return "nothing"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def kind_error(kinds: Sequence[str], value: Any) -> ProtocolError:
    """The error for a message whose kind is none of ``kinds``."""
    listed = ", ".join(f"'{kind}'" for kind in kinds)
    return ProtocolError(f"message: field 'kind' expected one of {listed}, got {describe(value)}")


def check_object(raw: Any) -> Mapping[str, Any]:
    """``raw`` if it is a JSON object; else a ProtocolError."""
    if not isinstance(raw, dict):
        raise ProtocolError(f"message: expected an object, got {describe(raw)}")
    return raw


# ------------------------------------------------------------------------------------------------
# Buffers


def buffer_bytes(buffer: Any, kind: str, name: str) -> memoryview:
    """The bytes of a received buffer (bytes, bytearray or memoryview), as a flat memoryview."""
    if not isinstance(buffer, (bytes, bytearray, memoryview)):
        raise ProtocolError(
            f"{kind} message: buffer '{name}' expected a binary buffer, got {describe(buffer)}"
        )
    view = memoryview(buffer)
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")
