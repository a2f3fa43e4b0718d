"""Accepting and validating what users pass: modalities, background, masking, target, draws.

Everything here runs before the first model call, so that a mistake surfaces as one readable
``ValueError``/``TypeError`` that names the argument, what was expected and what was given.

Modalities may be a dict ``name -> array`` or a list/tuple with ``names=``. Each array may be a
numpy array, a pandas DataFrame or Series, a torch tensor or a nested list, with the samples on
the first axis and any shape after it. Arrays are normalised to numpy floating arrays: float32
stays float32 (float16/bfloat16 become float32), everything else becomes float64.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .limits import MAX_ENGINE_MODALITIES, MIN_MODALITIES

__all__ = [
    "MASKINGS",
    "MAX_BATCH_BYTES",
    "MAX_ENGINE_MODALITIES",
    "MIN_MODALITIES",
    "OUTPUTS",
    "TARGETS",
    "Modalities",
    "cap_draws",
    "check_background",
    "check_baseline",
    "check_batch_rows",
    "check_bool",
    "check_chunk_samples",
    "check_double_buffer",
    "check_draws",
    "check_masking",
    "check_memory_mb",
    "check_output",
    "check_progress",
    "check_replacements",
    "check_sample_range",
    "check_seed",
    "check_target",
    "check_tolerance",
    "check_tolerance_for",
    "describe",
    "normalize_modalities",
    "to_float_array",
]

MASKINGS = ("random", "mean", "baseline")
TARGETS = ("predicted", "all", "output")
#: ``output=``: how a classifier's outputs are read (the same tuple as ``models.OUTPUTS``)
OUTPUTS = ("auto", "probabilities", "logits")
#: ``batch_rows`` is refused when one model call's input would need more bytes than this
MAX_BATCH_BYTES = 2 * 2**30


@dataclass(frozen=True, eq=False)
class Modalities:
    """Validated modalities: same names, order and sample count for every array.

    ``arrays[name]`` has shape ``(n_samples, *shapes[name])`` and a float dtype.
    """

    names: tuple[str, ...]
    arrays: dict[str, np.ndarray]

    @property
    def n_samples(self) -> int:
        """Number of samples (the first axis of every array)."""
        return int(self.arrays[self.names[0]].shape[0])

    @property
    def M(self) -> int:
        """Number of modalities."""
        return len(self.names)

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Per-sample shape of each modality (the array shape without the sample axis)."""
        return {name: tuple(int(d) for d in self.arrays[name].shape[1:]) for name in self.names}

    @property
    def dims(self) -> dict[str, int]:
        """Number of features of each modality once flattened."""
        return {name: int(np.prod(shape, dtype=np.int64)) for name, shape in self.shapes.items()}

    def flat(self, name: str) -> np.ndarray:
        """The modality as a 2-D ``(n_samples, dims[name])`` array (a view when possible)."""
        array = self.arrays[name]
        return array.reshape(array.shape[0], -1)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def __len__(self) -> int:
        return self.n_samples


def describe(x: Any) -> str:
    """A short description of a value for error messages."""
    shape = getattr(x, "shape", None)
    if shape is not None:
        dtype = getattr(x, "dtype", None)
        kind = type(x).__module__.split(".")[0] + "." + type(x).__name__
        return f"{kind} of shape {tuple(shape)}" + (
            f" and dtype {dtype}" if dtype is not None else ""
        )
    if isinstance(x, (str, bytes)):
        text = repr(x)
        return text if len(text) <= 60 else text[:57] + "..."
    if isinstance(x, (list, tuple)):
        return f"{type(x).__name__} of length {len(x)}"
    if isinstance(x, Mapping):
        return f"{type(x).__name__} with keys {list(x)[:8]}"
    text = repr(x)
    return f"{type(x).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _is_torch_tensor(x: Any) -> bool:
    module = type(x).__module__
    return module.startswith("torch") and hasattr(x, "detach") and hasattr(x, "cpu")


def to_float_array(x: Any, argument: str) -> np.ndarray:
    """Converts one modality (numpy / pandas / torch / nested list / scalar) to a float numpy array."""
    if _is_torch_tensor(x):
        tensor = x.detach().cpu()
        if str(tensor.dtype) in ("torch.bfloat16", "torch.float16"):
            tensor = tensor.float()
        array = tensor.numpy()
    elif type(x).__module__.startswith("pandas") and hasattr(x, "to_numpy"):
        # pandas DataFrame / Series
        if hasattr(x, "columns"):
            bad = [
                str(c) for c, dt in zip(x.columns, x.dtypes, strict=True) if not _numeric_dtype(dt)
            ]
            if bad:
                raise TypeError(
                    f"{argument}: expected numeric columns, got non-numeric column(s) {bad[:5]}"
                    f" in a DataFrame of shape {tuple(x.shape)}"
                )
        elif not _numeric_dtype(x.dtype):
            raise TypeError(f"{argument}: expected a numeric Series, got dtype {x.dtype}")
        array = x.to_numpy()
    elif isinstance(x, np.ndarray):
        array = x
    elif isinstance(x, (str, bytes, Mapping)) or x is None:
        raise TypeError(
            f"{argument}: expected an array (numpy, pandas, torch or nested list), got {describe(x)}"
        )
    else:
        try:
            array = np.asarray(x)
        except ValueError as error:  # ragged nested lists
            raise ValueError(
                f"{argument}: expected a rectangular array (every sample the same shape), got a ragged"
                f" {type(x).__name__} ({error})"
            ) from None
    if array.dtype == object:
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"{argument}: expected numbers, got an array of Python objects of shape {array.shape}"
            ) from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{argument}: expected a numeric array, got dtype {array.dtype}")
    if array.dtype == np.float32 or array.dtype == np.float64:
        return array
    if array.dtype.kind == "f" and array.dtype.itemsize < 4:
        return array.astype(np.float32)
    return array.astype(np.float64)


def _numeric_dtype(dtype: Any) -> bool:
    try:
        return np.dtype(dtype).kind in "biuf"
    except TypeError:  # pandas extension dtypes
        return str(dtype).lower().startswith(("int", "uint", "float", "bool"))


def _check_names(names: Sequence[Any], argument: str) -> tuple[str, ...]:
    checked: list[str] = []
    for i, name in enumerate(names):
        if not isinstance(name, str):
            raise TypeError(
                f"{argument}: expected modality names as strings, got {describe(name)} at position {i}"
            )
        if not name.strip():
            raise ValueError(
                f"{argument}: expected non-empty modality names, got {name!r} at position {i}"
            )
        if name in checked:
            raise ValueError(f"{argument}: expected unique modality names, got {name!r} twice")
        checked.append(name)
    return tuple(checked)


def _first_bad(array: np.ndarray) -> tuple[int, ...] | None:
    if array.dtype.kind != "f":
        return None
    finite = np.isfinite(array)
    if finite.all():
        return None
    return tuple(int(i) for i in np.unravel_index(int(np.argmin(finite.ravel())), array.shape))


def normalize_modalities(
    modalities: Any, names: Sequence[str] | None = None, argument: str = "modalities"
) -> Modalities:
    """Validates and normalises the modalities to explain.

    ``modalities`` is a dict ``name -> array`` (``names`` may reorder it) or a list/tuple of arrays
    with ``names`` (default names ``m0, m1, ...``). Raises ``ValueError``/``TypeError`` naming the
    argument for: fewer than 2 or more than 12 modalities, bad names, non-numeric or ragged data,
    0 samples, mismatched sample counts, NaN or infinite values.
    """
    if isinstance(modalities, Modalities):
        if names is not None and tuple(names) != modalities.names:
            raise ValueError(
                f"names: expected {list(modalities.names)} like the modalities, got {list(names)}"
            )
        return modalities
    if isinstance(modalities, Mapping):
        keys = _check_names(list(modalities.keys()), argument)
        if names is not None:
            order = _check_names(list(names), "names")
            if set(order) != set(keys):
                raise ValueError(
                    f"names: expected an ordering of the modality keys {list(keys)}, got {list(order)}"
                )
            keys = order
        raw = [modalities[k] for k in keys]
    elif isinstance(modalities, (list, tuple)):
        raw = list(modalities)
        if names is None:
            keys = tuple(f"m{i}" for i in range(len(raw)))
        else:
            keys = _check_names(list(names), "names")
            if len(keys) != len(raw):
                raise ValueError(
                    f"names: expected {len(raw)} names (one per modality), got {len(keys)}"
                )
    else:
        raise TypeError(
            f"{argument}: expected a dict name -> array, or a list of arrays with names=, got {describe(modalities)}"
        )
    if not MIN_MODALITIES <= len(raw) <= MAX_ENGINE_MODALITIES:
        raise ValueError(
            f"{argument}: expected {MIN_MODALITIES} to {MAX_ENGINE_MODALITIES} modalities (InterSHAP measures"
            f" interactions between modalities), got {len(raw)}"
        )
    arrays: dict[str, np.ndarray] = {}
    first: str | None = None
    for key, value in zip(keys, raw, strict=True):
        label = f"{argument}[{key!r}]"
        array = to_float_array(value, label)
        if array.ndim == 0:
            raise ValueError(
                f"{label}: expected an array with samples on the first axis, got a scalar"
            )
        if array.shape[0] == 0:
            raise ValueError(f"{label}: expected at least 1 sample, got 0")
        if first is None:
            first = key
        elif array.shape[0] != arrays[first].shape[0]:
            raise ValueError(
                f"{label}: expected {arrays[first].shape[0]} samples (like {first!r}), got {array.shape[0]}"
            )
        bad = _first_bad(array)
        if bad is not None:
            what = "NaN" if np.isnan(array[bad]) else "an infinite value"
            raise ValueError(
                f"{label}: expected finite numbers, got {what} at sample {bad[0]} (index {bad})"
            )
        arrays[key] = array
    return Modalities(names=tuple(keys), arrays=arrays)


def check_background(
    background: Any, modalities: Modalities, argument: str = "background"
) -> Modalities:
    """Validates the background set against the modalities: same names, same per-sample shapes.

    Accepts a dict with the same keys, or a list in modality order. The arrays are cast to the
    dtype of the matching modality.
    """
    if isinstance(background, Modalities):
        background = dict(background.arrays)
    if isinstance(background, Mapping):
        keys = list(background.keys())
        missing = [n for n in modalities.names if n not in background]
        extra = [k for k in keys if k not in modalities.names]
        if missing or extra:
            raise ValueError(
                f"{argument}: expected the modalities {list(modalities.names)}, got keys {keys}"
                + (f" (missing {missing})" if missing else "")
                + (f" (unknown {extra})" if extra else "")
            )
        raw = [background[n] for n in modalities.names]
    elif isinstance(background, (list, tuple)):
        if len(background) != modalities.M:
            raise ValueError(
                f"{argument}: expected {modalities.M} arrays in the order {list(modalities.names)}, got {len(background)}"
            )
        raw = list(background)
    else:
        raise TypeError(
            f"{argument}: expected a dict name -> array like the modalities, got {describe(background)}"
        )
    arrays: dict[str, np.ndarray] = {}
    n_rows: int | None = None
    for name, value in zip(modalities.names, raw, strict=True):
        label = f"{argument}[{name!r}]"
        array = to_float_array(value, label)
        expected = modalities.shapes[name]
        if array.ndim == 0 or tuple(array.shape[1:]) != expected:
            given = "a scalar" if array.ndim == 0 else f"per-sample shape {tuple(array.shape[1:])}"
            raise ValueError(
                f"{label}: expected per-sample shape {expected} like modalities[{name!r}], got {given}"
            )
        if array.shape[0] == 0:
            raise ValueError(
                f"{label}: expected at least 1 background row, got 0 (empty background)"
            )
        if n_rows is None:
            n_rows = int(array.shape[0])
        elif array.shape[0] != n_rows:
            first = modalities.names[0]
            raise ValueError(
                f"{label}: expected {n_rows} rows (like {first!r}), got {array.shape[0]}"
            )
        bad = _first_bad(array)
        if bad is not None:
            raise ValueError(
                f"{label}: expected finite numbers, got NaN or Inf at row {bad[0]} (index {bad})"
            )
        arrays[name] = array.astype(modalities.arrays[name].dtype, copy=False)
    return Modalities(names=modalities.names, arrays=arrays)


def check_masking(masking: Any) -> str:
    """Returns ``masking`` if it is one of ``MASKINGS``, else raises ValueError."""
    if not isinstance(masking, str) or masking not in MASKINGS:
        options = ", ".join(repr(m) for m in MASKINGS)
        raise ValueError(f"masking: expected one of {options}, got {masking!r}")
    return masking


def check_baseline(baseline: Any, modalities: Modalities) -> dict[str, np.ndarray]:
    """The replacement values for ``masking='baseline'``, one row per modality.

    ``baseline`` is a scalar (e.g. 0) for every modality, or a dict ``name -> scalar or array of
    the per-sample shape``.
    """
    if baseline is None:
        raise ValueError(
            "baseline: expected a scalar (e.g. 0) or a dict name -> array of the per-sample shape"
            " when masking='baseline', got None"
        )
    if isinstance(baseline, Mapping):
        keys = list(baseline.keys())
        if set(keys) != set(modalities.names):
            raise ValueError(f"baseline: expected keys {list(modalities.names)}, got {keys}")
        items = {name: baseline[name] for name in modalities.names}
    elif isinstance(baseline, numbers.Real) and not isinstance(baseline, bool):
        items = {name: baseline for name in modalities.names}
    else:
        raise TypeError(
            "baseline: expected a scalar (e.g. 0) or a dict name -> array of the per-sample shape,"
            f" got {describe(baseline)}"
        )
    rows: dict[str, np.ndarray] = {}
    for name, value in items.items():
        label = f"baseline[{name!r}]"
        shape = modalities.shapes[name]
        dtype = modalities.arrays[name].dtype
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            row = np.full(shape, float(value), dtype=dtype)
        else:
            array = to_float_array(value, label)
            if tuple(array.shape) == shape:
                row = array.astype(dtype)
            elif (
                array.ndim == len(shape) + 1
                and array.shape[0] == 1
                and tuple(array.shape[1:]) == shape
            ):
                row = array[0].astype(dtype)
            else:
                raise ValueError(
                    f"{label}: expected a scalar or an array of the per-sample shape {shape}, got shape {tuple(array.shape)}"
                )
        if not np.all(np.isfinite(row)):
            raise ValueError(f"{label}: expected finite numbers, got NaN or Inf")
        rows[name] = row[None, ...]
    return rows


def check_target(target: Any) -> str | int:
    """``'predicted'``, ``'all'``, ``'output'`` or a class index (range checked once the model is probed)."""
    if isinstance(target, str):
        if target in TARGETS:
            return target
    elif isinstance(target, numbers.Integral) and not isinstance(target, (bool, np.bool_)):
        if int(target) < 0:
            raise ValueError(f"target: expected a class index >= 0, got {int(target)}")
        return int(target)
    options = ", ".join(repr(t) for t in TARGETS)
    raise ValueError(f"target: expected one of {options} or a class index (int), got {target!r}")


def check_draws(draws: Any) -> int | str:
    """Returns ``draws``: a positive int or ``"auto"``; raises ValueError otherwise."""
    if isinstance(draws, str):
        if draws == "auto":
            return "auto"
    elif (
        isinstance(draws, numbers.Integral)
        and not isinstance(draws, (bool, np.bool_))
        and int(draws) > 0
    ):
        return int(draws)
    raise ValueError(f"draws: expected a positive int (e.g. 1000) or 'auto', got {draws!r}")


def check_tolerance(tolerance: Any) -> float:
    """Returns ``tolerance`` as a positive finite float; raises ValueError otherwise."""
    if (
        isinstance(tolerance, numbers.Real)
        and not isinstance(tolerance, bool)
        and np.isfinite(float(tolerance))
        and float(tolerance) > 0
    ):
        return float(tolerance)
    raise ValueError(
        f"tolerance: expected a positive number (a standard error, e.g. 0.01), got {tolerance!r}"
    )


def check_positive_int(value: Any, argument: str, example: str) -> int:
    if (
        isinstance(value, numbers.Integral)
        and not isinstance(value, (bool, np.bool_))
        and int(value) > 0
    ):
        return int(value)
    raise ValueError(f"{argument}: expected a positive int (e.g. {example}), got {value!r}")


def _is_int(value: Any) -> bool:
    """An int (Python or numpy), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def check_seed(seed: Any) -> int | None:
    """Returns ``seed``: a non-negative int or None (a float, NaN or bool is refused)."""
    if seed is None:
        return None
    if _is_int(seed) and int(seed) >= 0:
        return int(seed)
    raise ValueError(f"seed: expected a non-negative int or None, got {seed!r}")


def check_output(output: Any) -> str:
    """Returns ``output`` if it is one of ``OUTPUTS``, else raises ValueError."""
    if not isinstance(output, str) or output not in OUTPUTS:
        options = ", ".join(repr(o) for o in OUTPUTS)
        raise ValueError(f"output: expected one of {options}, got {output!r}")
    return output


def check_bool(value: Any, argument: str) -> bool:
    """Returns ``value`` as a bool; only True/False (Python or numpy) are accepted, not 0/1 or strings."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{argument}: expected True or False, got {value!r}")


def check_memory_mb(memory_mb: Any) -> float:
    """Returns ``memory_mb`` as a positive finite float (MiB of input per model call)."""
    if (
        isinstance(memory_mb, numbers.Real)
        and not isinstance(memory_mb, (bool, np.bool_))
        and np.isfinite(float(memory_mb))
        and float(memory_mb) > 0
    ):
        return float(memory_mb)
    raise ValueError(
        f"memory_mb: expected a positive finite number of MiB (e.g. 4), got {memory_mb!r}"
    )


def check_batch_rows(batch_rows: Any, row_bytes: int) -> int:
    """Returns ``batch_rows`` (a positive int) if one call's input fits ``MAX_BATCH_BYTES``."""
    rows = check_positive_int(batch_rows, "batch_rows", "8192")
    most = max(1, MAX_BATCH_BYTES // max(int(row_bytes), 1))
    if rows > most:
        raise ValueError(
            f"batch_rows: expected at most {most} rows ({MAX_BATCH_BYTES // 2**30} GiB of input per"
            f" model call at {row_bytes} bytes per row), got {rows}"
        )
    return rows


def check_chunk_samples(chunk_samples: Any, example: str = "240") -> int:
    """Returns ``chunk_samples``: a positive int (samples per streamed chunk)."""
    return check_positive_int(chunk_samples, "chunk_samples", example)


def check_tolerance_for(tolerance: Any, draws: int | str) -> float | None:
    """Returns ``tolerance`` checked (None stays None); it is only taken with ``draws="auto"``."""
    if tolerance is None:
        return None
    if draws != "auto":
        raise ValueError(f"tolerance: only used with draws='auto', got draws={draws!r}")
    return check_tolerance(tolerance)


def check_replacements(
    masking: str, background: Any, baseline: Any, modalities: Modalities
) -> tuple[Modalities | None, dict[str, np.ndarray] | None]:
    """What absent modalities are replaced with: ``(background, None)`` or ``(None, baseline rows)``.

    ``masking="random"`` and ``"mean"`` need a background and take no baseline; ``"baseline"``
    takes a baseline (a background given with it is still validated, then unused).
    """
    if masking in ("random", "mean"):
        if background is None:
            raise ValueError(
                f"background: expected rows to draw absent modalities from (a dict like the modalities,"
                f" e.g. a validation split) for masking={masking!r}, got None; or use"
                " masking='baseline' with baseline=0"
            )
        checked = check_background(background, modalities)
        if baseline is not None:
            raise ValueError(
                f"baseline: only used with masking='baseline', got masking={masking!r}"
            )
        return checked, None
    if background is not None:
        check_background(background, modalities)  # still validate what was given
    return None, check_baseline(baseline, modalities)


def check_double_buffer(value: Any) -> bool | None:
    """Returns ``double_buffer``: None (the engine's default, ``engine/pipeline.py``), True or False."""
    return None if value is None else check_bool(value, "double_buffer")


def check_sample_range(start: Any, stop: Any, n_samples: int) -> tuple[int, int]:
    """Returns ``(start, stop)`` as ints: sample indices with ``0 <= start <= stop <= n_samples``.

    ``stop`` None means ``n_samples``.
    """
    stop = n_samples if stop is None else stop
    if not (isinstance(start, (int, np.integer)) and 0 <= start <= n_samples):
        raise ValueError(f"start: expected a sample index in 0..{n_samples}, got {start!r}")
    if not (isinstance(stop, (int, np.integer)) and start <= stop <= n_samples):
        raise ValueError(f"stop: expected a sample index in {start}..{n_samples}, got {stop!r}")
    return int(start), int(stop)


def check_progress(progress: Any) -> Any:
    """Returns ``progress`` if it is None or callable."""
    if progress is None or callable(progress):
        return progress
    raise TypeError(
        f"progress: expected a callable progress(done, total, model_rows) or None, got {describe(progress)}"
    )


def cap_draws(
    draws: int | str, max_draws: int, n_background: int, warn: bool = True
) -> tuple[int | str, int]:
    """Caps the draws of ``masking="random"`` at the number of background rows.

    R = n draws already average every background row once, which is the exact background mean
    (SPEC §1); more draws would repeat rows and add nothing (or, for R not a multiple of n, weigh
    some rows twice). So a fixed ``draws`` above n becomes n, with a ``UserWarning`` that says
    why (when ``warn``: the user asked for that many), and the adaptive maximum ``max_draws`` of ``draws="auto"`` becomes n without a warning
    (it is a ceiling, not a request).

    Returns:
        ``(draws, max_draws)``, capped.
    """
    n = int(n_background)
    if isinstance(draws, int) and draws > n:
        if warn:
            warnings.warn(
                f"draws: {draws} is more than the {n} background rows; capped at {n}, which"
                " already gives the exact background mean (every row once)",
                UserWarning,
                stacklevel=4,
            )
        draws = n
    return draws, min(int(max_draws), n)
