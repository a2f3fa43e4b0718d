"""Benchmark of the kernel-side value engine: ``python -m intershap_widget.bench``.

HD-XOR synergy with M = 2 (SPEC §6): trains the paper's early-fusion MLP, exports it to ONNX and
explains ``--samples`` test samples with ``--draws`` random-masking draws per coalition
(2000 × 2 × 1000 = 4M masked rows, plus the background for v(∅) and the full samples).

It prints, for the ONNX model (onnxruntime) and for the torch module:

- the wall time of the whole coalition evaluation (``ValueEngine.compute_all``: v(∅), full
  samples, masked rows, reductions; the 4-row probe in the constructor is not included);
- the model's bare forward time over the same number of rows, in the same process, with the
  same batch size, on pre-built masked inputs (no masking, no conversion, no checks). The calls
  cycle through distinct copies of the engine's largest batch, rows shuffled, at least
  ``BARE_FORWARD_BYTES`` in all (twice this machine's L3 cache): like the engine's rows, and
  like any forward pass over 4M rows, each call's input then comes from memory, not the cache;
- their ratio (the engine's overhead; the target is ≤ 1.2), the same against one cached batch
  fed to every call (the fastest the model can go, so the stricter ratio; how much faster:
  docs/BENCHMARKS.md), and the in-run ratio: engine wall time / time spent inside the model's calls
  during that same run, which is less sensitive to other load on the machine because both are
  measured over the same seconds;
- the engine single- and double-buffered (``double_buffer=False`` / ``True``: the next batch
  built on a helper thread while the model runs this one, ``engine/pipeline.py``), each against
  the bare forward, their ratio, and whether their values are identical. Both run in every
  repeat; the table above shows this machine's default mode.

Engine and bare forward are timed alternately ``--repeat`` times and the best of each is used.
Then ``draws="auto"`` is compared with the fixed draws for ``--seeds`` seeds: global InterSHAP
of both (via ``decompose.aggregate``), their difference in points, the ratio of model rows, and
the distance of each from the exact value (R = number of background rows: every row once, no
Monte-Carlo error; see ``draws.py``).

``--executor dask`` (or ``processes``) prints instead the local engine against a Dask
``LocalCluster`` of ``--workers`` worker processes (or a process pool) on the same job, timed
alternately in one run: both times, the speedup, whether the values are identical, what was
shipped to the workers, and the overhead per task (``distributed.ExecutorStats``).
"""

from __future__ import annotations

import argparse
import io
import itertools
import logging
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .engine import ValueEngine, ValueResult
from .engine.pipeline import double_buffer_default, usable_cpus


def _export_onnx(module: Any, n_features: int) -> bytes:
    import torch

    buffer = io.BytesIO()
    example = torch.zeros(1, n_features, dtype=torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kwargs: dict[str, Any] = {
            "input_names": ["x"],
            "output_names": ["logits"],
            "dynamic_axes": {"x": {0: "n"}, "logits": {0: "n"}},
            "opset_version": 17,
        }
        try:
            torch.onnx.export(module, (example,), buffer, dynamo=False, **kwargs)
        except TypeError:  # older torch without the dynamo argument
            torch.onnx.export(module, (example,), buffer, **kwargs)
    return buffer.getvalue()


#: The bare forward cycles through distinct input batches of at least this many bytes in all.
BARE_FORWARD_BYTES = 64 * 2**20


def _bare_forward(
    engine: ValueEngine, module: Any, kind: str, distinct: bool
) -> tuple[Callable[[], Any], int]:
    """A bare forward call on pre-built masked batches of the engine's batch size.

    Each call takes the next of distinct row-shuffled copies of the engine's largest batch, or
    (``distinct`` False) that batch every time.
    """
    x = engine.largest_batch_input()
    rows = x.shape[0]
    copies = -(-BARE_FORWARD_BYTES // x.nbytes) if distinct else 1
    rng = np.random.default_rng(0)
    batches = [x] + [x[rng.permutation(rows)] for _ in range(copies - 1)]
    turn = itertools.cycle(range(copies))
    if kind == "onnx":
        session = engine.model.session  # type: ignore[attr-defined]
        name = session.get_inputs()[0].name
        return (lambda: session.run(None, {name: batches[next(turn)]})), rows
    import torch

    tensors = [torch.from_numpy(b) for b in batches]

    def forward() -> Any:
        with torch.inference_mode():
            return module(tensors[next(turn)])

    return forward, rows


def _time_bare(
    engine: ValueEngine, module: Any, kind: str, rows: int, distinct: bool
) -> tuple[float, int]:
    """Seconds of bare forward calls over ``rows`` rows (scaled from whole calls), and rows per call."""
    forward, batch = _bare_forward(engine, module, kind, distinct)
    forward()  # warm
    calls = -(-rows // batch)
    t0 = time.perf_counter()
    for _ in range(calls):
        forward()
    return (time.perf_counter() - t0) * rows / (calls * batch), batch


def _time_pair(
    make_engine: Callable[..., ValueEngine], module: Any, kind: str, repeat: int
) -> dict[str, Any]:
    """Alternates ``repeat`` engine runs and bare-forward runs over the same number of rows.

    Each repeat runs the engine twice, single- and double-buffered (``engine/pipeline.py``, in
    turn first), then the bare forward; the table's engine figures are those of this machine's
    default mode.
    """
    runs: list[dict[str, float]] = []
    info: dict[str, Any] = {"identical": True}
    for i in range(repeat):
        timed: dict[bool, tuple[float, float, ValueResult, ValueEngine, int]] = {}
        for double in (False, True) if i % 2 == 0 else (True, False):  # neither always first
            engine = make_engine(double_buffer=double)
            rows_before, model_s_before = engine.model_rows, engine.model.seconds
            t0 = time.perf_counter()
            result = engine.compute_all()
            engine_s = time.perf_counter() - t0
            timed[double] = (
                engine_s,
                engine.model.seconds - model_s_before,
                result,
                engine,
                engine.model_rows - rows_before,
            )
        off, on = timed[False][2], timed[True][2]
        info["identical"] &= all(
            np.array_equal(getattr(off, f), getattr(on, f))
            for f in ("values", "se", "prediction", "draws")
        )
        default = double_buffer_default()
        engine_s, in_model_s, result, engine, rows = timed[default]
        bare_s, batch = _time_bare(engine, module, kind, rows, distinct=True)
        cached_s, _ = _time_bare(engine, module, kind, rows, distinct=False)
        runs.append(
            {
                "engine_s": engine_s,
                "bare_s": bare_s,
                "cached_s": cached_s,
                "in_model_s": in_model_s,
                "single_s": timed[False][0],
                "double_s": timed[True][0],
            }
        )
        info.update(rows=rows, batch=batch, result=result, engine=engine, default=default)
    best = min(runs, key=lambda r: r["engine_s"])
    info.update(
        engine_s=best["engine_s"],
        in_model_s=best["in_model_s"],
        bare_s=min(r["bare_s"] for r in runs),
        cached_s=min(r["cached_s"] for r in runs),
        single_s=min(r["single_s"] for r in runs),
        double_s=min(r["double_s"] for r in runs),
        runs=runs,
    )
    return info


def _global(result: ValueResult) -> float:
    from .decompose import aggregate, decompose

    return float(aggregate(decompose(result.values)).global_intershap)


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m intershap_widget.bench``; prints the tables described above."""
    parser = argparse.ArgumentParser(
        prog="python -m intershap_widget.bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--samples", type=int, default=2000, help="test samples to explain (default 2000)"
    )
    parser.add_argument(
        "--draws", type=int, default=1000, help="draws per coalition R (default 1000)"
    )
    parser.add_argument(
        "--epochs", type=int, default=200, help="MLP training epochs (default 200, SPEC §6)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="train for 20 epochs instead (faster, weaker model)"
    )
    parser.add_argument("--setting", default="synergy", help="HD-XOR setting (default synergy)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--batch-rows", type=int, default=None, help="engine batch size (default: memory budget)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="alternate engine/bare timings this many times"
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=None,
        help="SE tolerance for draws='auto' (default: the engine's)",
    )
    parser.add_argument("--skip-torch", action="store_true", help="do not time the torch module")
    parser.add_argument(
        "--seeds", type=int, default=5, help="seeds for the draws='auto' comparison (default 5)"
    )
    parser.add_argument(
        "--executor",
        choices=("dask", "processes"),
        default=None,
        help="instead of the tables above: the local engine against a Dask LocalCluster (or a"
        " process pool) of --workers worker processes on the same job (needs [distributed])",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="worker processes for --executor (default 2)"
    )
    parser.add_argument(
        "--chunk-samples", type=int, default=240, help="samples per task for --executor"
    )
    parser.add_argument(
        "--device",
        default=None,
        help="instead of the tables above: the torch module with its batches built on this torch"
        " device (cpu, cuda, cuda:1; fill='torch'), against its bare forward over the same rows at"
        " the engine's batch size and at the largest batch that fits",
    )
    args = parser.parse_args(argv)
    epochs = 20 if args.quick else args.epochs

    import onnxruntime
    import torch

    if args.device is not None and not _device_available(args.device):
        print(
            f"intershap_widget.bench: --device {args.device}: torch {torch.__version__} sees no"
            f" such device on this machine (torch.cuda.is_available() is"
            f" {torch.cuda.is_available()}); nothing was measured. Run it on a machine with a GPU,"
            " or use --device cpu.",
            file=sys.stderr,
        )
        raise SystemExit(2)

    from .datasets import hd_xor, train_early_fusion_mlp

    t0 = time.perf_counter()
    data = hd_xor(args.setting, n_modalities=2, seed=args.seed)
    module = train_early_fusion_mlp(
        data.concat("train"), data.y_train, epochs=epochs, seed=args.seed
    )
    train_s = time.perf_counter() - t0
    with torch.inference_mode():
        logits = module(
            torch.from_numpy(np.ascontiguousarray(data.concat("test"), dtype=np.float32))
        )
    accuracy = float((logits.argmax(1).numpy() == data.y_test).mean())
    onnx_bytes = _export_onnx(module, data.concat("train").shape[1])

    explain = {name: data.explain[name][: args.samples] for name in data.names}
    n = explain[data.names[0]].shape[0]
    background = data.val

    def engine_for(
        model: Any, draws: Any = args.draws, seed: int = args.seed, **extra: Any
    ) -> Callable[..., ValueEngine]:
        return lambda **more: ValueEngine(
            model,
            explain,
            background,
            draws=draws,
            seed=seed,
            batch_rows=args.batch_rows,
            **extra,
            **more,
        )

    print("intershap_widget.bench: kernel value engine")
    print(
        f"  machine: {platform.machine()}, {os.cpu_count()} CPUs, numpy {np.__version__},"
        f" torch {torch.__version__} ({torch.get_num_threads()} threads), onnxruntime {onnxruntime.__version__}"
    )
    print(
        f"  data: HD-XOR {args.setting}, M=2 ({', '.join(f'{k}: {data.dims[k]}' for k in data.names)}),"
        f" background {background[data.names[0]].shape[0]} rows, {n} samples explained"
    )
    print(
        f"  model: early-fusion MLP, {epochs} epochs{' (--quick)' if args.quick else ''},"
        f" test accuracy {accuracy:.3f}, trained in {train_s:.1f} s"
    )
    print(f"  masking: random, R={args.draws}, target=predicted, timings: best of {args.repeat}")
    print()
    if args.executor is not None:
        _compare_executor(engine_for, onnx_bytes, args)
        return
    if args.device is not None:
        _compare_device(engine_for, module, args)
        return

    runs: list[tuple[str, Any]] = [("onnx", onnx_bytes)]
    if not args.skip_torch:
        runs.append(("torch", module))
    results: dict[str, dict[str, Any]] = {}
    for kind, model in runs:
        results[kind] = _time_pair(engine_for(model), module, kind, args.repeat)
    header = (
        f"  {'model':<8}{'model rows':>12}{'batch':>7}{'engine s':>10}{'bare fwd s':>12}"
        f"{'ratio':>8}{'cached s':>10}{'ratio':>8}{'in-model s':>12}{'in-run ratio':>14}"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    for kind, info in results.items():
        print(
            f"  {kind:<8}{info['rows']:>12,}{info['batch']:>7}{info['engine_s']:>10.2f}"
            f"{info['bare_s']:>12.2f}{info['engine_s'] / info['bare_s']:>8.3f}"
            f"{info['cached_s']:>10.2f}{info['engine_s'] / info['cached_s']:>8.3f}"
            f"{info['in_model_s']:>12.2f}{info['engine_s'] / info['in_model_s']:>14.3f}"
        )
    print(
        "  ratio = engine / bare forward (best of each) over distinct rows, then over one cached"
        " batch;\n  in-run ratio = engine / time inside the model's calls in that same run"
    )
    for kind, info in results.items():
        runs_text = "; ".join(
            f"{r['engine_s']:.2f}/{r['bare_s']:.2f}/{r['cached_s']:.2f}/{r['in_model_s']:.2f}"
            for r in info["runs"]
        )
        print(f"  ({kind}, every run engine/bare/cached/in-model s: {runs_text})")
    print()
    _print_double_buffering(results)

    _compare_auto(engine_for, onnx_bytes, results["onnx"], args)


def _print_double_buffering(results: dict[str, dict[str, Any]]) -> None:
    """The engine single- and double-buffered (``engine/pipeline.py``), timed in the same runs."""
    default = next(iter(results.values()))["default"]
    print(
        "  double buffering (the next batch built on a helper thread while the model runs this"
        f" one); default here: {'on' if default else 'off'} ({usable_cpus()} usable cores)"
    )
    header = (
        f"  {'model':<8}{'off s':>8}{'ratio':>8}{'on s':>8}{'ratio':>8}{'on/off':>8}"
        f"{'identical':>11}"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    for kind, info in results.items():
        single, double, bare = info["single_s"], info["double_s"], info["bare_s"]
        print(
            f"  {kind:<8}{single:>8.2f}{single / bare:>8.3f}{double:>8.2f}{double / bare:>8.3f}"
            f"{double / single:>8.3f}{'yes' if info['identical'] else 'NO':>11}"
        )
        runs_text = "; ".join(f"{r['single_s']:.2f}/{r['double_s']:.2f}" for r in info["runs"])
        print(f"  ({kind}, every run off/on s: {runs_text})")
    print(
        "  ratio = engine / bare forward over distinct rows (best of each); identical: values, SEs,"
        " predictions and draws np.array_equal off and on"
    )
    print()


def _device_available(name: str) -> bool:
    """Whether torch can use the device ``name`` here (``cpu`` always)."""
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        return False
    if device.type == "cpu":
        return True
    if device.type == "cuda":
        return torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count()
    return False


def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time_device_bare(module: Any, x: Any, rows: int, batch: int) -> float:
    """Seconds of bare forward calls of ``batch`` rows over ``rows`` rows (scaled), on ``x``'s device.

    ``x`` holds at least ``batch`` pre-built masked rows there; the calls cycle through
    row-shuffled windows of it (like the engine's rows, not one cached batch).
    """
    import torch

    starts = (
        [0] if x.shape[0] == batch else list(range(0, x.shape[0] - batch + 1, max(1, batch // 3)))
    )
    turn = itertools.cycle(starts)
    calls = -(-rows // batch)
    with torch.inference_mode():
        module(x[:batch])  # warm
        _sync(x.device)
        t0 = time.perf_counter()
        for _ in range(calls):
            start = next(turn)
            module(x[start : start + batch])
        _sync(x.device)
    return (time.perf_counter() - t0) * rows / (calls * batch)


def _largest_batch(module: Any, x: Any, most: int) -> tuple[Any, int]:
    """The largest batch (doubling from ``x``'s rows, at most ``most``) whose forward fits.

    Returns the pre-built rows (``x``'s rows repeated in a shuffled order) and the batch. On a
    CUDA device the input may take half the free memory; on the CPU 1 GiB.
    """
    import torch

    device = x.device
    row_bytes = x[0].numel() * x.element_size()
    if device.type == "cuda":
        budget = torch.cuda.mem_get_info(device)[0] // 2
    else:
        budget = 2**30
    best, best_x = x.shape[0], x
    size = x.shape[0]
    generator = torch.Generator().manual_seed(0)
    while size < most:
        size = min(2 * size, most)
        if size * row_bytes > budget:
            break
        try:
            pick = torch.randint(x.shape[0], (size,), generator=generator).to(device)
            big = x.index_select(0, pick)
            with torch.inference_mode():
                module(big)
            _sync(device)
        except torch.OutOfMemoryError:
            break
        best, best_x = size, big
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return best_x, best


def _compare_device(
    engine_for: Callable[..., Callable[[], ValueEngine]], module: Any, args: Any
) -> None:
    """The torch module on the torch fill backend on ``--device``, against its bare forward.

    Engine (fill='torch') and bare forward over the same rows are timed alternately
    ``--repeat`` times, best of each; the bare forward both at the engine's batch size and at
    the largest batch that fits (``_largest_batch``). On the CPU the numpy backend on the same
    module is timed too (the same runs alternate).
    """
    import torch

    device = torch.device(args.device)
    module = module.to(device)
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"{torch.get_num_threads()} torch threads"
    )
    fills = ["torch", "numpy"] if device.type == "cpu" else ["torch"]
    runs: dict[str, list[float]] = {f: [] for f in fills}
    bare: list[float] = []
    largest: list[float] = []
    info: dict[str, Any] = {}
    for _ in range(args.repeat):
        for fill in fills:
            extra = {"device": args.device} if fill == "torch" else {"fill": "numpy"}
            engine = engine_for(module, **extra)()
            rows_before = engine.model_rows
            _sync(device)
            t0 = time.perf_counter()
            result = engine.compute_all()
            _sync(device)
            runs[fill].append(time.perf_counter() - t0)
            if fill == "torch":
                info.update(engine=engine, rows=engine.model_rows - rows_before, result=result)
            else:
                info["numpy_result"] = result
        engine = info["engine"]
        x = engine.largest_batch_input()
        batch = x.shape[0]
        dtype = engine.model.torch_dtype
        xt = torch.from_numpy(x).to(device=device, dtype=dtype)
        copies = max(1, -(-BARE_FORWARD_BYTES // max(xt.numel() * xt.element_size(), 1)))
        if copies > 1:
            g = torch.Generator().manual_seed(0)
            xt = torch.cat(
                [xt]
                + [xt[torch.randperm(batch, generator=g).to(device)] for _ in range(copies - 1)]
            )
        bare.append(_time_device_bare(module, xt, info["rows"], batch))
        if "big" not in info:
            info["big"] = _largest_batch(module, xt[:batch], info["rows"])
        big_x, big = info["big"]
        largest.append(_time_device_bare(module, big_x, info["rows"], big))
        info["batch"] = batch
    engine_s, bare_s, largest_s = min(runs["torch"]), min(bare), min(largest)
    big = info["big"][1]
    print(f"  device: {device} ({name}), model dtype {engine.model.torch_dtype}")
    header = (
        f"  {'fill':<8}{'model rows':>12}{'batch':>9}{'engine s':>10}{'bare fwd s':>12}{'ratio':>8}"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    for fill in fills:
        print(
            f"  {fill:<8}{info['rows']:>12,}{info['batch']:>9,}{min(runs[fill]):>10.2f}"
            f"{bare_s:>12.2f}{min(runs[fill]) / bare_s:>8.3f}"
        )
    print(
        f"  bare forward at the largest batch that fits ({big:,} rows): {largest_s:.2f} s;"
        f" torch engine / that: {engine_s / largest_s:.3f}"
    )
    for fill in fills:
        print(f"  ({fill}, every run engine s: {'; '.join(f'{t:.2f}' for t in runs[fill])})")
    print(
        f"  (bare forward, every run, at {info['batch']:,} / {big:,} rows: "
        + "; ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(bare, largest, strict=True))
        + ")"
    )
    if "numpy_result" in info:
        diff = float(np.abs(info["result"].values - info["numpy_result"].values).max())
        print(f"  largest |values torch − values numpy|: {diff:.2e}")
    print(
        f"benchmark: device {device}: engine (fill='torch') {engine_s:.2f} s, bare forward"
        f" {bare_s:.2f} s at the engine's batch ({info['batch']:,} rows), ratio"
        f" {engine_s / bare_s:.3f}; {largest_s:.2f} s at the largest batch that fits"
        f" ({big:,} rows), ratio {engine_s / largest_s:.3f}"
    )


def _compare_executor(
    engine_for: Callable[..., Callable[[], ValueEngine]], onnx_bytes: bytes, args: Any
) -> None:
    """The local engine against ``--workers`` worker processes on the same job, in one run.

    Both runs include what the kernel does once per job (v(∅), the strata); neither includes
    the constructor's probe, nor starting the cluster (printed apart). The overhead per task is
    each task's time from its submission to its result in the kernel, less the time it computed
    on its worker: serialisation, scheduling and transfer.
    """
    import concurrent.futures as cf
    import multiprocessing

    from . import distributed as dist

    dist.MEASURE_PAYLOAD = True
    t0 = time.perf_counter()
    if args.executor == "dask":
        from distributed import Client, LocalCluster

        cluster: Any = LocalCluster(
            n_workers=args.workers,
            processes=True,
            threads_per_worker=1,
            dashboard_address=None,
            silence_logs=logging.CRITICAL,
        )
        executor: Any = Client(cluster)
        name = f"Dask LocalCluster, {args.workers} worker processes x 1 thread"
    else:
        cluster = None
        executor = cf.ProcessPoolExecutor(
            args.workers, mp_context=multiprocessing.get_context("spawn")
        )
        name = f"ProcessPoolExecutor, {args.workers} processes"
    start_s = time.perf_counter() - t0
    try:
        local_runs, remote_runs = [], []
        for _ in range(args.repeat):  # alternated, best of each
            engine = engine_for(onnx_bytes)()
            t0 = time.perf_counter()
            local = engine.compute_all(chunk_samples=args.chunk_samples)
            local_runs.append(time.perf_counter() - t0)
            engine = engine_for(onnx_bytes, executor=executor)()
            t0 = time.perf_counter()
            remote = engine.compute_all(chunk_samples=args.chunk_samples)
            remote_runs.append((time.perf_counter() - t0, engine.executor_stats))
    finally:
        if cluster is not None:
            executor.close()
            cluster.close()
        else:
            executor.shutdown()
    same = all(
        np.array_equal(getattr(local, f), getattr(remote, f))
        for f in ("values", "se", "prediction", "draws")
    )
    local_s = min(local_runs)
    remote_s, stats = min(remote_runs, key=lambda r: r[0])
    print(f"  executor: {name} (started in {start_s:.1f} s, not timed below)")
    print(
        f"  job: {local.n_samples} samples in {stats.tasks} tasks of {args.chunk_samples},"
        f" {local.model_rows:,} model rows, onnxruntime on every worker"
    )
    print(
        f"  shipped once per worker: the prepared engine and the model, {stats.payload_bytes / 2**20:.1f} MiB"
        f" pickled, in {stats.ship_s * 1000:.0f} ms"
    )
    print(f"  values identical to the local run (np.array_equal): {'yes' if same else 'NO'}")
    print(
        f"  every run, local/{args.executor} s: "
        + "; ".join(f"{a:.2f}/{b[0]:.2f}" for a, b in zip(local_runs, remote_runs, strict=True))
    )
    print(
        f"benchmark: local engine {local_s:.2f} s, {args.executor} ({args.workers} workers)"
        f" {remote_s:.2f} s, speedup {local_s / remote_s:.2f}x; overhead per task"
        f" {stats.overhead_per_task_s * 1000:.1f} ms (serialisation, scheduling, transfer;"
        f" {stats.task_s / stats.tasks:.2f} s computing per task)"
    )


def _compare_auto(
    engine_for: Callable[..., Callable[[], ValueEngine]],
    onnx_bytes: bytes,
    onnx_info: dict[str, Any],
    args: argparse.Namespace,
) -> None:
    """draws='auto' against the fixed draws, over several seeds, and both against the exact value.

    The global score's own Monte-Carlo noise is the yardstick here: on HD-XOR synergy the main
    effects are tiny, so a few tenths of a point of noise in them move the score visibly. The exact
    value uses R = n draws, a window over every background row once (no Monte-Carlo error).
    """
    n_background = onnx_info["engine"].n_background
    exact = engine_for(onnx_bytes, draws=n_background)().compute_all()
    g_exact = _global(exact)
    tolerances = [args.tolerance] if args.tolerance is not None else [None, 0.02]
    print(
        f"  draws='auto' vs R={args.draws}, ONNX, seeds 0..{args.seeds - 1};"
        f" exact = R = {n_background} (every background row once): global InterSHAP {100 * g_exact:.2f}%"
    )
    header = (
        f"  {'seed':>4}  {'draws':<16}{'model rows':>12}{'rows ratio':>12}{'seconds':>9}"
        f"{'global InterSHAP':>18}{'|Δ fixed| pts':>15}{'|Δ exact| pts':>15}{'median R':>10}"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    worst: dict[str, float] = {}
    for seed in range(args.seeds):
        if seed == args.seed:
            fixed, fixed_s = onnx_info["result"], onnx_info["engine_s"]
        else:
            t0 = time.perf_counter()
            fixed = engine_for(onnx_bytes, seed=seed)().compute_all()
            fixed_s = time.perf_counter() - t0
        g_fixed = _global(fixed)
        runs = [(f"R={args.draws}", fixed, fixed_s)]
        for tolerance in tolerances:
            engine = engine_for(onnx_bytes, draws="auto", tolerance=tolerance, seed=seed)()
            t0 = time.perf_counter()
            result = engine.compute_all()
            runs.append((f"auto, SE≤{engine.tolerance:g}", result, time.perf_counter() - t0))
        for name, res, seconds in runs:
            g = _global(res)
            d_fixed, d_exact = 100 * abs(g - g_fixed), 100 * abs(g - g_exact)
            worst[name] = max(worst.get(name, 0.0), d_fixed if name.startswith("auto") else d_exact)
            print(
                f"  {seed:>4}  {name:<16}{res.model_rows:>12,}{res.model_rows / fixed.model_rows:>12.3f}"
                f"{seconds:>9.2f}{100 * g:>17.2f}%{d_fixed:>15.2f}{d_exact:>15.2f}"
                f"{int(np.median(res.draws)):>10}"
            )
    print(
        "  (|Δ fixed|, |Δ exact|: absolute difference from the same seed's R="
        f"{args.draws} run and from the exact value, in percentage points)"
    )
    for name, value in worst.items():
        against = "the same seed's fixed draws" if name.startswith("auto") else "the exact value"
        print(f"  worst |Δ| of {name} from {against}: {value:.2f} pts")


if __name__ == "__main__":
    main()
