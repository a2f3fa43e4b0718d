"""``python -m intershap_widget.bench_results``: batch ``w.results`` at a million samples.

Times ``numpy_results`` (the decomposition, the aggregate and the 95% bootstrap interval, what
``w.results`` computes when no browser answered) on random value tables, and its peak memory
against the table's own size. The baseline, in the same run, is the sample-level bootstrap that
resamples every sample (what the interval cost before it resampled random groups above
``_BOOTSTRAP_SAMPLE_LIMIT`` samples). Each measurement runs in a fresh process, so that its peak
resident memory is its own.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import time

import numpy as np


def _tables(n: int, m: int) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, 2**m))


def _peak_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _time_results(n: int, m: int, sample_level: bool) -> tuple[float, float, float]:
    """Seconds, peak MiB over the process before the call, and the interval's width."""
    from . import decompose
    from .decompose import over_samples
    from .results import numpy_results

    if sample_level:
        over_samples._BOOTSTRAP_SAMPLE_LIMIT = n
    values = _tables(n, m)
    decompose.decompose(values[:10])  # imports and weights, outside the timing
    before = _peak_mb()
    start = time.perf_counter()
    result = numpy_results("bench", [f"m{i}" for i in range(m)], values)
    seconds = time.perf_counter() - start
    low, high = result.interval or (np.nan, np.nan)
    return seconds, _peak_mb() - before, high - low


def main(argv: list[str] | None = None) -> None:
    """Prints one benchmark line per measurement."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--modalities", type=int, default=4)
    parser.add_argument(
        "--skip-baseline", action="store_true", help="do not time the sample-level bootstrap"
    )
    args = parser.parse_args(argv)
    n, m = args.samples, args.modalities
    table_mb = n * 2**m * 8 / 2**20
    context = multiprocessing.get_context("spawn")
    runs = [("w.results", False)] + ([] if args.skip_baseline else [("sample-level", True)])
    measured = {}
    for name, sample_level in runs:
        with context.Pool(1) as pool:
            measured[name] = pool.apply(_time_results, (n, m, sample_level))
    seconds, peak, width = measured["w.results"]
    line = (
        f"benchmark: w.results for {n:,} samples at M = {m}: {seconds:.2f} s, peak memory "
        f"+{peak:.0f} MiB for a {table_mb:.0f} MiB table ({peak / table_mb:.1f}x)"
    )
    if "sample-level" in measured:
        base_s, base_peak, base_width = measured["sample-level"]
        line += (
            f"; sample-level bootstrap {base_s:.2f} s, +{base_peak:.0f} MiB ({base_s / seconds:.1f}x "
            f"slower); interval widths {width:.4f} (groups) and {base_width:.4f} (samples)"
        )
    print(line)


if __name__ == "__main__":
    main()
