"""Model adapters: one calling convention for every kind of model the engine explains.

``adapt_model(model, names, ...)`` returns a :class:`ModelAdapter`, a callable
``f(batch: dict[name, np.ndarray]) -> np.ndarray`` of shape ``(n,)`` or ``(n, K)`` (float64).

Supported models and how they receive a batch (``fusion``):

- **a plain callable** (default ``fusion="dict"``): ``model({name: array})``;
  ``fusion="list"``: ``model([arrays in modality order])``; ``fusion="args"``: ``model(*arrays)``;
  ``fusion="early"``: ``model(x)`` with ``x`` the flattened modalities concatenated, shape ``(n, D)``.
- **a torch ``nn.Module``**: switched to eval mode and called under ``torch.inference_mode()`` with
  tensors of the dtype and device of its parameters. ``fusion="early"``: ``module(x)`` on the
  concatenated ``(n, D)`` tensor; ``"args"``: ``module(*tensors)``; ``"list"``: ``module([tensors])``;
  ``"dict"``: ``module({name: tensor})``. ``fusion="auto"`` picks ``"args"`` when ``forward`` takes one
  positional argument per modality and ``"early"`` when it takes exactly one.
- **a scikit-learn style estimator** (``fit`` + ``predict``): ``predict_proba`` when it exists, else
  ``predict``, on the concatenated features (``fusion="early"`` only).
- **an ONNX model** (a path to a ``.onnx`` file, its bytes, an ``onnx.ModelProto`` or an
  ``onnxruntime.InferenceSession``), run with onnxruntime on the CPU. A graph with one input gets the
  concatenated features; a graph with one input per modality gets them in modality order. The first
  floating-point output is used.

Every output is checked: the number of rows must match the batch, values must be finite and the
number of columns must not change between calls; otherwise a :class:`ModelOutputError`
(a ``ValueError``) names ``model`` with what was expected and what was given. An exception raised
by the model is wrapped in a :class:`ModelError` (a ``RuntimeError``) that says
``model raised <Type>: <message> on a batch of N rows``, with the original exception chained.

The arrays handed to the model are reused buffers: a model that keeps them must copy them.
"""

from __future__ import annotations

import inspect
import os
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .inputs import describe

__all__ = [
    "FUSIONS",
    "OUTPUTS",
    "ModelAdapter",
    "ModelError",
    "ModelOutputError",
    "adapt_model",
    "looks_like_probabilities",
    "row_reduce",
    "softmax",
]

FUSIONS = ("auto", "dict", "list", "args", "early")
OUTPUTS = ("auto", "probabilities", "logits")
PROBABILITY_TOLERANCE = 1e-4

_ONNX_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
}


class ModelError(RuntimeError):
    """The model raised while evaluating a batch (the original exception is ``__cause__``)."""


class ModelOutputError(ValueError):
    """The model returned something the engine cannot use (wrong rows, NaN/Inf, changing K...)."""


def row_reduce(a: np.ndarray, ufunc: np.ufunc) -> np.ndarray:
    """``ufunc.reduce(a, axis=1)`` for a 2-D array.

    A column loop when K is small, which is much faster than numpy's reduction over a short last
    axis.
    """
    if a.shape[1] > 32:
        return ufunc.reduce(a, axis=1)
    acc = a[:, 0].copy()
    for j in range(1, a.shape[1]):
        ufunc(acc, a[:, j], out=acc)
    return acc


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of an ``(n, K)`` array in float64, numerically stable."""
    z = np.array(logits, dtype=np.float64)
    z -= row_reduce(z, np.maximum)[:, None]
    np.exp(z, out=z)
    z /= row_reduce(z, np.add)[:, None]
    return z


def looks_like_probabilities(outputs: np.ndarray, tolerance: float = PROBABILITY_TOLERANCE) -> bool:
    """True when every value of an ``(n, K)`` output is in [0, 1] and every row sums to 1 (± tolerance)."""
    if outputs.ndim != 2 or outputs.shape[1] < 2 or outputs.size == 0:
        return False
    if outputs.min() < -tolerance or outputs.max() > 1.0 + tolerance:
        return False
    return bool(np.all(np.abs(row_reduce(outputs, np.add) - 1.0) <= tolerance))


def _is_torch_module(model: Any) -> bool:
    torch = sys.modules.get("torch")  # a torch module implies torch is imported
    return torch is not None and isinstance(model, torch.nn.Module)


def _is_onnx(model: Any) -> bool:
    if isinstance(model, (bytes, bytearray, memoryview, str, os.PathLike)):
        return True
    module = type(model).__module__
    return (module.startswith("onnx") and type(model).__name__ == "ModelProto") or (
        module.startswith("onnxruntime") and type(model).__name__ == "InferenceSession"
    )


def _is_sklearn_like(model: Any) -> bool:
    return hasattr(model, "fit") and (hasattr(model, "predict") or hasattr(model, "predict_proba"))


def _to_numpy(out: Any) -> np.ndarray:
    if isinstance(out, np.ndarray):
        return out
    if type(out).__module__.startswith("torch") and hasattr(out, "detach"):
        return (
            out.detach().cpu().float().numpy()
            if str(out.dtype) == "torch.bfloat16"
            else out.detach().cpu().numpy()
        )
    if type(out).__module__.startswith("pandas") and hasattr(out, "to_numpy"):
        return out.to_numpy()
    if isinstance(out, (tuple, list)) and out and all(hasattr(o, "shape") for o in out):
        raise TypeError(
            f"a {type(out).__name__} of {len(out)} arrays (return only the output to explain)"
        )
    return np.asarray(out)


class ModelAdapter:
    """A model behind one calling convention; see the module docstring.

    Attributes: ``kind`` ('callable', 'torch', 'sklearn', 'onnx'), ``fusion`` (resolved: 'dict',
    'list', 'args' or 'early'), ``dtype`` (the float dtype the model wants, or None for the
    modalities' own), ``names``, ``n_outputs`` (K; 1 for an ``(n,)`` output; None before the first
    call), and the counters ``calls``, ``rows`` and ``seconds`` (time inside the model).
    """

    def __init__(
        self,
        kind: str,
        fusion: str,
        names: Sequence[str],
        run: Callable[[list[np.ndarray]], Any],
        dtype: np.dtype | None = None,
    ) -> None:
        self.kind = kind
        self.fusion = fusion
        self.names = tuple(names)
        self.dtype = dtype
        self.n_outputs: int | None = None
        self.output_ndim: int | None = None
        self.calls = 0
        #: wall time spent inside the model itself (seconds), for benchmarks
        self.seconds = 0.0
        self.rows = 0
        self._run = run
        #: ``f(tensors) -> output`` on the device path (``engine/fill_torch.py``), or None
        self.tensor_call: Callable[[list[Any]], Any] | None = None
        #: the torch device and dtype of a torch module's first parameter (None otherwise)
        self.torch_device: Any = None
        self.torch_dtype: Any = None

    def __repr__(self) -> str:
        return f"ModelAdapter(kind={self.kind!r}, fusion={self.fusion!r}, names={list(self.names)})"

    # -- public calling convention -------------------------------------------------------------
    def __call__(self, batch: Mapping[str, np.ndarray]) -> np.ndarray:
        """Evaluates the model on ``batch`` (dict name -> array ``(n, ...)``); returns ``(n,)`` or ``(n, K)``."""
        missing = [name for name in self.names if name not in batch]
        if missing:
            raise ValueError(
                f"batch: expected the modalities {list(self.names)}, missing {missing}"
            )
        arrays = [np.asarray(batch[name]) for name in self.names]
        n = int(arrays[0].shape[0])
        if self.fusion == "early":
            out = self.run_early(np.concatenate([a.reshape(n, -1) for a in arrays], axis=1))
        else:
            out = self.run_modalities(arrays)
        return out[:, 0] if self.output_ndim == 1 else out

    def run_early(self, x: np.ndarray) -> np.ndarray:
        """Runs an early-fusion model on the concatenated ``(n, D)`` features; returns ``(n, K)``."""
        return self._evaluate([x], int(x.shape[0]))

    def run_modalities(self, arrays: list[np.ndarray]) -> np.ndarray:
        """Runs the model on per-modality arrays in modality order; returns ``(n, K)``."""
        return self._evaluate(arrays, int(arrays[0].shape[0]))

    def _note_width(self, k: int, shape: tuple[int, ...]) -> None:
        """Notes the outputs per row on the first batch; a later batch must have as many."""
        if self.n_outputs is None:
            self.n_outputs, self.output_ndim = k, len(shape)
        elif k != self.n_outputs:
            raise ModelOutputError(
                f"model: expected {self.n_outputs} outputs per row like on earlier batches, got {k}"
                f" (output shape {shape})"
            )

    def run_tensors(self, tensors: list[Any], n: int) -> Any:
        """Runs the model on torch tensors already on its device; returns an ``(n, K)`` tensor there.

        The device path of the engine (``engine/fill_torch.py``): nothing is copied to or from
        the host. The rows, the number of dimensions and K are checked like :meth:`_check_output`
        does; finiteness is checked by the caller on the device. A batch that runs out of device
        memory is split in halves (and those again), with the same outputs.
        """
        import torch

        assert self.tensor_call is not None, "internal: no tensor calling convention"
        try:
            t0 = time.perf_counter()
            raw = self.tensor_call(tensors)
            self.seconds += time.perf_counter() - t0
        except torch.OutOfMemoryError:
            if n < 2:
                raise
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            half = n // 2
            return torch.cat(
                [
                    self.run_tensors([t[:half] for t in tensors], half),
                    self.run_tensors([t[half:] for t in tensors], n - half),
                ]
            )
        except Exception as error:
            raise ModelError(
                f"model raised {type(error).__name__}: {error} on a batch of {n} rows. The model"
                f" received {self._tensors_description(tensors)}; pass fusion='dict', 'list',"
                " 'args' or 'early' to change how a batch is passed."
            ) from error
        self.calls += 1
        self.rows += n
        if not isinstance(raw, torch.Tensor):
            try:
                raw = torch.as_tensor(_to_numpy(raw), device=tensors[0].device)
            except (TypeError, ValueError) as error:
                raise ModelOutputError(
                    f"model: expected an array of shape ({n},) or ({n}, K), got {error}"
                ) from None
        if raw.is_complex() or raw.dtype == torch.bool:
            raise ModelOutputError(f"model: expected numeric outputs, got a {raw.dtype} tensor")
        if raw.ndim == 0 or raw.ndim > 2 or raw.shape[0] != n:
            raise ModelOutputError(
                f"model: expected an output of shape ({n},) or ({n}, K), got shape {tuple(raw.shape)}"
            )
        out = raw.detach().reshape(n, -1)
        k = int(out.shape[1])
        self._note_width(k, tuple(raw.shape))
        return out

    def _tensors_description(self, tensors: list[Any]) -> str:
        if self.fusion == "early":
            t = tensors[0]
            return f"one {t.dtype} tensor of shape {tuple(t.shape)} on {t.device} (the concatenated modalities)"
        how = {"dict": "a dict", "list": "a list", "args": "positional arguments"}[self.fusion]
        shapes = ", ".join(
            f"{n}: {tuple(t.shape)}" for n, t in zip(self.names, tensors, strict=True)
        )
        return f"{how} of tensors on {tensors[0].device} ({shapes})"

    # -- internals -----------------------------------------------------------------------------
    def _inputs_description(self, arrays: list[np.ndarray]) -> str:
        if self.fusion == "early":
            return f"one {arrays[0].dtype} array of shape {arrays[0].shape} (the concatenated modalities)"
        how = {"dict": "a dict", "list": "a list", "args": "positional arguments"}[self.fusion]
        shapes = ", ".join(
            f"{n}: {tuple(a.shape)}" for n, a in zip(self.names, arrays, strict=True)
        )
        return f"{how} of {self.kind == 'torch' and 'tensors' or 'arrays'} ({shapes})"

    def _evaluate(self, arrays: list[np.ndarray], n: int) -> np.ndarray:
        try:
            t0 = time.perf_counter()
            raw = self._run(arrays)
            self.seconds += time.perf_counter() - t0
        except Exception as error:
            hint = ""
            if self.kind in ("callable", "torch"):
                hint = (
                    f" The model received {self._inputs_description(arrays)}; pass fusion='dict',"
                    " 'list', 'args' or 'early' to change how a batch is passed."
                )
            raise ModelError(
                f"model raised {type(error).__name__}: {error} on a batch of {n} rows.{hint}"
            ) from error
        self.calls += 1
        self.rows += n
        return self._check_output(raw, n)

    def _check_output(self, raw: Any, n: int) -> np.ndarray:
        try:
            out = _to_numpy(raw)
        except (TypeError, ValueError) as error:
            raise ModelOutputError(
                f"model: expected an array of shape ({n},) or ({n}, K), got {error}"
            ) from None
        if out.dtype.kind not in "biuf":
            raise ModelOutputError(f"model: expected numeric outputs, got {describe(out)}")
        if out.ndim == 0 or out.ndim > 2:
            raise ModelOutputError(
                f"model: expected an output of shape ({n},) or ({n}, K), got shape {tuple(out.shape)}"
            )
        if out.shape[0] != n:
            raise ModelOutputError(
                f"model: expected {n} rows of output (one per input row), got {out.shape[0]}"
                f" (output shape {tuple(out.shape)})"
            )
        out2 = out.reshape(n, -1).astype(np.float64, copy=False)
        k = int(out2.shape[1])
        self._note_width(k, tuple(out.shape))
        if not np.isfinite(out2).all():
            bad = np.argwhere(~np.isfinite(out2))[0]
            value = out2[bad[0], bad[1]]
            raise ModelOutputError(
                f"model: expected finite outputs, got {value} at row {int(bad[0])}, column {int(bad[1])}"
                f" of a batch of {n} rows"
            )
        return out2


def adapt_model(
    model: Any,
    names: Sequence[str],
    shapes: Mapping[str, tuple[int, ...]] | None = None,
    fusion: str = "auto",
) -> ModelAdapter:
    """Wraps ``model`` (callable, torch module, scikit-learn estimator or ONNX model) for the engine.

    Returns a :class:`ModelAdapter`. ``shapes`` (per-sample shapes by name) lets ONNX inputs be
    checked before the first call.
    """
    if isinstance(model, ModelAdapter):
        return model
    if not isinstance(fusion, str) or fusion not in FUSIONS:
        options = ", ".join(repr(f) for f in FUSIONS)
        raise ValueError(f"fusion: expected one of {options}, got {fusion!r}")
    names = tuple(names)
    if model is None:
        raise TypeError(
            "model: expected a callable, a torch module, a scikit-learn estimator or an ONNX model, got None"
        )
    if _is_torch_module(model):
        return _torch_adapter(model, names, fusion)
    if _is_onnx(model):
        return _onnx_adapter(model, names, shapes, fusion)
    if _is_sklearn_like(model) and not callable(model):
        return _sklearn_adapter(model, names, fusion)
    if callable(model):
        resolved = "dict" if fusion == "auto" else fusion
        return ModelAdapter("callable", resolved, names, _call_with(model, resolved, names))
    raise TypeError(
        "model: expected a callable, a torch nn.Module, a scikit-learn estimator (predict/predict_proba)"
        f" or an ONNX model (path, bytes, ModelProto or InferenceSession), got {describe(model)}"
    )


def _call_with(
    function: Callable[..., Any], fusion: str, names: tuple[str, ...]
) -> Callable[[list[Any]], Any]:
    if fusion == "early":
        return lambda arrays: function(arrays[0])
    if fusion == "args":
        return lambda arrays: function(*arrays)
    if fusion == "list":
        return lambda arrays: function(list(arrays))
    return lambda arrays: function(dict(zip(names, arrays, strict=True)))


def _positional_count(function: Callable[..., Any]) -> int | None:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    count = 0
    for parameter in signature.parameters.values():
        if parameter.kind == parameter.VAR_POSITIONAL:
            return None
        if (
            parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
            and parameter.default is parameter.empty
        ):
            count += 1
    return count


def _torch_adapter(module: Any, names: tuple[str, ...], fusion: str) -> ModelAdapter:
    import torch

    if fusion == "auto":
        # forward(x) -> early fusion on the concatenated features; forward(a, b, ...) or
        # forward(*xs) -> one tensor per modality as positional arguments.
        count = _positional_count(module.forward)
        fusion = "early" if count == 1 else "args"
    parameter = next(iter(module.parameters()), None)
    if parameter is None:
        parameter = next(iter(module.buffers()), None)
    torch_dtype = (
        parameter.dtype
        if parameter is not None and parameter.dtype.is_floating_point
        else torch.float32
    )
    device = parameter.device if parameter is not None else torch.device("cpu")
    np_dtype = (
        np.dtype(torch.empty((), dtype=torch_dtype).numpy().dtype)
        if torch_dtype != torch.bfloat16
        else None
    )
    module.eval()
    call = _call_with(module, fusion, names)

    def run(arrays: list[np.ndarray]) -> Any:
        with torch.inference_mode():
            tensors = [
                torch.from_numpy(np.ascontiguousarray(a)).to(device=device, dtype=torch_dtype)
                for a in arrays
            ]
            out = call(tensors)
            if isinstance(out, torch.Tensor):
                out = out.detach().to(
                    "cpu", dtype=torch.float64 if out.dtype == torch.bfloat16 else out.dtype
                )
            return out

    adapter = ModelAdapter("torch", fusion, names, run, dtype=np_dtype)
    adapter.module = module  # type: ignore[attr-defined]
    adapter.torch_device, adapter.torch_dtype = device, torch_dtype

    def call_tensors(tensors: list[Any]) -> Any:
        with torch.inference_mode():
            return call(tensors)

    adapter.tensor_call = call_tensors
    return adapter


def _sklearn_adapter(model: Any, names: tuple[str, ...], fusion: str) -> ModelAdapter:
    if fusion not in ("auto", "early"):
        raise ValueError(
            f"fusion: a scikit-learn estimator gets the concatenated features (fusion='early'), got {fusion!r}"
        )
    method = model.predict_proba if hasattr(model, "predict_proba") else model.predict

    def run(arrays: list[np.ndarray]) -> Any:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*feature names.*")
            return method(arrays[0])

    return ModelAdapter("sklearn", "early", names, run)


def _onnx_adapter(
    model: Any, names: tuple[str, ...], shapes: Mapping[str, tuple[int, ...]] | None, fusion: str
) -> ModelAdapter:
    import onnxruntime as ort

    if isinstance(model, ort.InferenceSession):
        session = model
    else:
        source: Any = model
        if isinstance(model, (str, os.PathLike)):
            if not os.path.isfile(model):
                raise ValueError(
                    f"model: expected a path to an ONNX file, got {str(model)!r} which does not exist"
                )
            source = os.fspath(model)
        elif isinstance(model, (bytearray, memoryview)):
            source = bytes(model)
        elif not isinstance(model, bytes):  # onnx.ModelProto
            source = model.SerializeToString()
        try:
            session = ort.InferenceSession(
                source, _onnx_session_options(ort), providers=["CPUExecutionProvider"]
            )
        except Exception as error:
            raise ValueError(
                f"model: expected a valid ONNX model, onnxruntime said {type(error).__name__}: {error}"
            ) from error
    inputs = session.get_inputs()
    outputs = [o for o in session.get_outputs() if o.type in _ONNX_DTYPES]
    if not outputs:
        raise ValueError(
            f"model: expected an ONNX graph with a floating-point tensor output, got outputs"
            f" {[(o.name, o.type) for o in session.get_outputs()]}"
        )
    for i in inputs:
        if i.type not in _ONNX_DTYPES:
            raise ValueError(
                f"model: expected floating-point ONNX inputs, got {i.name!r} of type {i.type}"
            )
    if len(inputs) == 1:
        resolved = "early"
    elif len(inputs) == len(names):
        resolved = "list"
    else:
        raise ValueError(
            f"model: expected an ONNX graph with 1 input (concatenated modalities) or {len(names)} inputs"
            f" (one per modality), got {len(inputs)}: {[i.name for i in inputs]}"
        )
    allowed = ("auto", "early") if resolved == "early" else ("auto", "list", "args")
    if fusion not in allowed:
        raise ValueError(
            f"fusion: this ONNX graph has {len(inputs)} input(s), so it gets fusion={resolved!r}, got {fusion!r}"
        )
    if shapes is not None:
        _check_onnx_shapes(inputs, names, shapes, resolved)
    dtypes = [np.dtype(_ONNX_DTYPES[i.type]) for i in inputs]
    input_names = [i.name for i in inputs]
    output_name = [outputs[0].name]

    def run(arrays: list[np.ndarray]) -> Any:
        feed = {
            name: np.ascontiguousarray(a, dtype=dt)
            for name, a, dt in zip(input_names, arrays, dtypes, strict=True)
        }
        return session.run(output_name, feed)[0]

    dtype = dtypes[0] if len(set(dtypes)) == 1 else None
    adapter = ModelAdapter("onnx", resolved, names, run, dtype=dtype)
    adapter.session = session  # type: ignore[attr-defined]
    return adapter


def _onnx_session_options(ort: Any) -> Any:
    """Session options: onnxruntime's threads follow ``OMP_NUM_THREADS`` where it is set.

    onnxruntime's own thread pool ignores that variable and takes every core. A Dask worker
    sets it (to 1 by default, one per worker thread), and with several worker processes on one
    machine each then spinning threads on every core, the model ran three times slower here.
    """
    options = ort.SessionOptions()
    threads = os.environ.get("OMP_NUM_THREADS", "")
    if threads.isdigit() and int(threads) > 0:
        options.intra_op_num_threads = int(threads)
    return options


def _check_onnx_shapes(
    inputs: Any, names: tuple[str, ...], shapes: Mapping[str, tuple[int, ...]], fusion: str
) -> None:
    if fusion == "early":
        total = sum(int(np.prod(shapes[n], dtype=np.int64)) for n in names)
        declared = inputs[0].shape
        if len(declared) == 2 and isinstance(declared[1], int) and declared[1] != total:
            raise ValueError(
                f"model: the ONNX input {inputs[0].name!r} expects {declared[1]} features per row,"
                f" the modalities {list(names)} have {total} in total"
            )
        return
    for spec, name in zip(inputs, names, strict=True):
        declared = spec.shape[1:]
        expected = shapes[name]
        if all(isinstance(d, int) for d in declared) and tuple(declared) != tuple(expected):
            raise ValueError(
                f"model: the ONNX input {spec.name!r} expects per-sample shape {tuple(declared)},"
                f" modalities[{name!r}] has {tuple(expected)}"
            )
