"""``python -m intershap_widget.bench`` runs end to end at a tiny size and prints its tables.

Speed is never asserted here (tests check behaviour, not time): only that the benchmark measures
what it says, the engine's model rows match the bare forward's, and the draws='auto' table holds
one row per seed and setting.
"""

from __future__ import annotations

import re

import pytest

from intershap_widget import bench


def test_bench_prints_ratio_and_auto_tables(capsys: pytest.CaptureFixture[str]) -> None:
    bench.main(
        ["--samples", "12", "--draws", "40", "--epochs", "1", "--repeat", "1", "--seeds", "2"]
        + ["--skip-torch", "--setting", "synergy"]
    )
    out = capsys.readouterr().out
    # 12 samples x 2 coalitions x 40 draws + 12 full samples + the background for v(∅); the
    # constructor's 4-row probe is not timed, so not counted
    row = re.search(
        r"^\s+onnx\s+([\d,]+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", out, re.MULTILINE
    )
    assert row is not None, out
    rows, ratio = int(row[1].replace(",", "")), float(row[5])
    assert rows == 12 * 2 * 40 + 12 + 3000
    assert 0 < ratio < 100  # printed to 2 decimals, the seconds of so small a run can read 0.00
    seeds = re.findall(r"^\s+(\d)\s+(R=40|auto, SE≤[\d.]+)\s", out, re.MULTILINE)
    assert sorted(set(seeds)) == sorted(
        {(s, name) for s in "01" for name in ("R=40", "auto, SE≤0.04", "auto, SE≤0.02")}
    )
    assert re.search(
        r"worst \|Δ\| of auto, SE≤0.04 from the same seed's fixed draws: [\d.]+ pts", out
    )
    # the engine single- and double-buffered in the same runs, each against the bare forward
    assert re.search(r"double buffering .*; default here: (on|off) \(\d+ usable cores\)", out)
    double = re.search(
        r"^\s+onnx\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(yes|NO)$",
        out,
        re.MULTILINE,
    )
    assert double is not None, out
    assert double[6] == "yes"


def test_bench_device_cpu_prints_both_batch_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    bench.main(
        ["--samples", "12", "--draws", "40", "--epochs", "1", "--repeat", "1", "--device", "cpu"]
    )
    out = capsys.readouterr().out
    rows = re.findall(
        r"^\s+(torch|numpy)\s+([\d,]+)\s+([\d,]+)\s+[\d.]+\s+[\d.]+\s+[\d.]+", out, re.MULTILINE
    )
    assert [r[0] for r in rows] == ["torch", "numpy"], out
    assert rows[0][1] == rows[1][1] == f"{12 * 2 * 40 + 12 + 3000:,}"
    assert re.search(r"bare forward at the largest batch that fits \([\d,]+ rows\)", out)
    assert re.search(
        r"^benchmark: device cpu: .* ratio [\d.]+; .* ratio [\d.]+$", out, re.MULTILINE
    )


def test_bench_device_cuda_without_a_gpu_says_so_and_fails(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(SystemExit) as info:
        bench.main(["--device", "cuda", "--epochs", "1"])
    assert info.value.code != 0
    assert "sees no such device" in capsys.readouterr().err
