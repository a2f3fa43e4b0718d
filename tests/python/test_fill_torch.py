"""The torch fill backend (``engine/fill_torch.py``) against the numpy one, on the CPU.

What runs here without a GPU: the device path with ``device="cpu"`` (the same code as on CUDA but
for the device), its values against the numpy backend's (1e-6) on HD-XOR and on a dict-input
model, cancel, errors with ``partial``, ``draws="auto"`` and every masking on both backends,
inputs in the model's dtype (bf16, float64), data copied to the device once whatever the number
of batches, and the device resolution for a model whose parameters are on another device (with a
stand-in adapter: a second real device is not at hand). Not tested here: an actual CUDA run,
``torch.cuda.mem_get_info`` batch sizes on a real card (``gpu_batch_rows`` is tested as a
function) and the out-of-memory split on a real card (tested with a model that raises
``torch.OutOfMemoryError``).
"""

from __future__ import annotations

import concurrent.futures as cf
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from engine_helpers import data, logits_fn

from intershap_widget.datasets import hd_xor, train_early_fusion_mlp, train_fusion_mlp
from intershap_widget.engine import ValueEngine, fill_torch
from intershap_widget.engine.fill_torch import GPU_MAX_BATCH_ROWS, gpu_batch_rows, resolve_fill
from intershap_widget.models import ModelError, ModelOutputError


@pytest.fixture(scope="module")
def xor() -> Any:
    d = hd_xor("synergy", n_modalities=2, seed=0, n_samples=2000)
    module = train_early_fusion_mlp(d.concat("train"), d.y_train, epochs=3, seed=0)
    explain = {n: d.explain[n][:24] for n in d.names}
    return d, module, explain


def _both(model: Any, x: dict, bg: Any, **kw: Any) -> tuple[Any, Any, ValueEngine]:
    ref = ValueEngine(model, x, bg, fill="numpy", **kw).compute_all()
    engine = ValueEngine(model, x, bg, device="cpu", **kw)
    assert engine.fill == "torch" and engine.device == torch.device("cpu")
    return ref, engine.compute_all(), engine


def _same(a: Any, b: Any) -> None:
    np.testing.assert_allclose(b.values, a.values, atol=1e-6, rtol=0)
    np.testing.assert_allclose(b.se, a.se, atol=1e-6, rtol=0)
    np.testing.assert_array_equal(b.draws, a.draws)
    assert b.model_rows == a.model_rows and b.complete and a.complete


@pytest.mark.parametrize(
    "options",
    [
        {"draws": 60},
        {"draws": "auto"},
        {"draws": 40, "common_draws": True, "target": "all"},
        {"masking": "mean"},
        {"masking": "baseline", "baseline": 0.0},
    ],
    ids=["fixed", "auto", "common-all", "mean", "baseline"],
)
def test_torch_backend_matches_numpy_on_hd_xor(xor: Any, options: dict) -> None:
    d, module, explain = xor
    bg = None if options.get("masking") == "baseline" else d.val
    ref, got, _ = _both(module, explain, bg, batch_rows=500, **options)
    _same(ref, got)


def test_torch_backend_matches_numpy_on_a_dict_model(xor: Any) -> None:
    d, _, explain = xor
    model = train_fusion_mlp(
        {n: d.train[n] for n in d.names}, d.y_train, "intermediate", epochs=2, seed=0
    )
    # a module on the CPU keeps the numpy backend unless asked (faster there); a GPU one not
    assert ValueEngine(model, explain, d.val, fusion="dict", draws=50).fill == "numpy"
    engine = ValueEngine(model, explain, d.val, fusion="dict", draws=50, device="cpu")
    assert engine.fill == "torch" and engine.fusion == "dict"
    got = engine.compute_all()
    ref = ValueEngine(model, explain, d.val, fusion="dict", draws=50, fill="numpy").compute_all()
    _same(ref, got)
    assert got.values.shape == (24, 4)


def test_callable_with_device_gets_tensors() -> None:
    x, bg = data(10, 30)
    seen: list[type] = []

    def model(batch: dict) -> Any:
        seen.append(type(batch["m0"]))
        return torch.as_tensor(logits_fn({k: v.numpy() for k, v in batch.items()}))

    got = ValueEngine(model, x, bg, device="cpu", draws=20).compute_all()
    ref = ValueEngine(logits_fn, x, bg, draws=20).compute_all()
    assert torch.Tensor in seen
    np.testing.assert_allclose(got.values, ref.values, atol=1e-12)


def test_data_is_copied_to_the_device_once_whatever_the_batches(
    xor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    d, module, explain = xor
    copies: list[tuple[int, ...]] = []
    real = fill_torch.to_device

    def counting(array: np.ndarray, device: Any, dtype: Any) -> Any:
        copies.append(np.shape(array))
        return real(array, device, dtype)

    monkeypatch.setattr(fill_torch, "to_device", counting)
    calls, data_copies = [], []
    for batch_rows in (100, 5000):
        copies.clear()
        engine = ValueEngine(module, explain, d.val, device="cpu", draws=40, batch_rows=batch_rows)
        engine.compute_all()
        calls.append(engine.model.calls)
        # the modalities and the background: one copy each; the rest are per-batch shifts
        data_copies.append([s for s in copies if len(s) == 2])
    assert calls[0] > 5 * calls[1]
    n_bg = len(d.val[d.names[0]])
    expected = [(24, 200), (24, 100), (n_bg, 200), (n_bg, 100)]
    assert data_copies[0] == data_copies[1] == expected


def test_inputs_come_in_the_models_dtype() -> None:
    x, bg = data(8, 30)

    class Recorder(torch.nn.Module):
        def __init__(self, dtype: torch.dtype) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.lin = torch.nn.Linear(5, 3).to(dtype)
            self.dtypes: set[torch.dtype] = set()

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            self.dtypes.add(z.dtype)
            return self.lin(z)

    for dtype, atol in ((torch.float64, 1e-12), (torch.bfloat16, 2e-2)):
        module = Recorder(dtype)
        got = ValueEngine(module, x, bg, device="cpu", draws=20).compute_all()
        assert module.dtypes == {dtype}
        ref = ValueEngine(module, x, bg, draws=20, fill="numpy").compute_all()
        np.testing.assert_allclose(got.values, ref.values, atol=atol)


class _Counting(torch.nn.Module):
    """Two-input model that cancels its engine, or raises, or returns NaN on call ``at``."""

    def __init__(self, what: str, at: int) -> None:
        super().__init__()
        torch.manual_seed(2)
        self.a, self.b = torch.nn.Linear(2, 4), torch.nn.Linear(3, 4)
        self.head = torch.nn.Linear(4, 3)
        self.what, self.at, self.calls = what, at, 0
        self.engine: ValueEngine | None = None

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        out = self.head(torch.tanh(self.a(a)) * torch.tanh(self.b(b)))
        if self.calls == self.at:
            if self.what == "cancel":
                assert self.engine is not None
                self.engine.cancel()
            elif self.what == "raise":
                raise RuntimeError("boom")
            else:
                out = out.clone()
                out[1, 2] = float("nan")
        return out


@pytest.mark.parametrize("fill", ["numpy", "torch"])
def test_cancel_and_errors_keep_the_finished_samples(fill: str) -> None:
    x, bg = data(40, 50)
    full = ValueEngine(_Counting("none", 0), x, bg, draws=30, batch_rows=200, fill=fill)
    reference = full.compute_all()
    at = full.model.calls - 6  # late in the run: some chunks are finished
    module = _Counting("cancel", at)
    engine = ValueEngine(module, x, bg, draws=30, batch_rows=200, fill=fill)
    module.engine = engine
    got = engine.compute_all(chunk_samples=8)
    assert not got.complete and 0 < got.n_samples < 40
    np.testing.assert_allclose(got.values, reference.values[: got.n_samples], atol=1e-12)
    for what, error, match in (
        ("raise", ModelError, "model raised RuntimeError: boom on a batch of"),
        ("nan", ModelOutputError, r"expected finite outputs, got nan at row 1, column 2"),
    ):
        engine = ValueEngine(_Counting(what, at), x, bg, draws=30, batch_rows=200, fill=fill)
        with pytest.raises(error, match=match) as info:
            engine.compute_all(chunk_samples=8)
        partial = info.value.partial
        assert not partial.complete and 0 < partial.n_samples < 40
        np.testing.assert_allclose(
            partial.values, reference.values[: partial.n_samples], atol=1e-12
        )


def test_probability_outputs_that_stop_summing_to_one_are_caught_on_the_device() -> None:
    x, bg = data(10, 30)

    class Probs(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(5, 3)
            self.calls = 0

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            self.calls += 1
            p = torch.softmax(self.lin(z), dim=1)
            return p * 1.5 if self.calls > 3 else p

    with pytest.raises(ModelOutputError, match="looked like probabilities"):
        ValueEngine(Probs(), x, bg, device="cpu", draws=20, batch_rows=64).compute_all()


def test_out_of_memory_batches_are_split_with_the_same_values() -> None:
    x, bg = data(12, 40)

    class Small(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(3)
            self.lin = torch.nn.Linear(5, 3)
            self.limit = 10**9

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            if z.shape[0] > self.limit:
                raise torch.OutOfMemoryError("fake: out of memory")
            return self.lin(z)

    module = Small()
    ref = ValueEngine(module, x, bg, device="cpu", draws=40, batch_rows=4000).compute_all()
    module.limit = 150
    engine = ValueEngine(module, x, bg, device="cpu", draws=40, batch_rows=4000)
    got = engine.compute_all()
    np.testing.assert_allclose(got.values, ref.values, atol=1e-6)
    assert engine.model.calls > ref.model_rows // 4000


def test_device_resolution() -> None:
    torch_like = SimpleNamespace(kind="torch", torch_device=torch.device("cuda", 0))
    cpu_module = SimpleNamespace(kind="torch", torch_device=torch.device("cpu"))
    assert resolve_fill("auto", None, cpu_module) == ("numpy", None)
    assert resolve_fill("auto", "cpu", cpu_module) == ("torch", torch.device("cpu"))
    with pytest.warns(UserWarning, match="moved once to 'cuda:0'"):
        assert resolve_fill("auto", "cpu", torch_like) == ("torch", torch.device("cuda", 0))
    assert resolve_fill("auto", None, torch_like) == ("torch", torch.device("cuda", 0))
    assert resolve_fill("numpy", None, torch_like) == ("numpy", None)
    onnx_like = SimpleNamespace(kind="onnx", torch_device=None)
    with pytest.raises(ValueError, match="fill: 'torch' builds torch tensors"):
        resolve_fill("torch", None, onnx_like)
    with pytest.raises(ValueError, match="device: only used with fill='torch'"):
        resolve_fill("numpy", "cpu", torch_like)
    with pytest.raises(ValueError, match="fill: expected one of"):
        resolve_fill("gpu", None, torch_like)
    with pytest.raises(ValueError, match="device: expected a torch device"):
        resolve_fill("auto", "nodevice", torch_like)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="torch sees no CUDA device"):
            resolve_fill("auto", "cuda", torch_like)
    assert gpu_batch_rows(80 * 2**30, 1200) == min(GPU_MAX_BATCH_ROWS, 80 * 2**30 // 16 // 1200)
    assert gpu_batch_rows(0, 1200) == 64
    assert gpu_batch_rows(2**50, 4) == GPU_MAX_BATCH_ROWS


def test_thread_pool_executor_with_the_torch_backend(xor: Any) -> None:
    d, module, explain = xor
    local = ValueEngine(module, explain, d.val, device="cpu", draws=30).compute_all(chunk_samples=8)
    with cf.ThreadPoolExecutor(2) as pool:
        engine = ValueEngine(module, explain, d.val, device="cpu", draws=30, executor=pool)
        remote = engine.compute_all(chunk_samples=8)
    np.testing.assert_array_equal(remote.values, local.values)
