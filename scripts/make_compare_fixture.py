"""Writes tests/fixtures/compare/paired.json: small two-model games and the numpy twin's answers.

``tests/python/test_compare_math.py`` checks that numpy still gives these answers, and
``tests/ts/core/compare.test.ts`` that ``src/core/compare.ts`` gives them too (to 1e-12): the two
implementations of the paired bootstrap draw the same resamples for the same seed.

Run from the repository root (``-m`` puts this checkout, not an installed copy, on the path):
``.venv/bin/python -m scripts.make_compare_fixture``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from intershap_widget.decompose import (
    decompose,
    mulberry32_uniform,
    paired_bootstrap,
    paired_delta,
)

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "compare" / "paired.json"
N = 30


def _tables(m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two models' value tables that share most of their per-sample variation."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=(N, 1 << m))
    reference = shared + 0.3 * rng.normal(size=shared.shape)
    other = shared + 0.3 * rng.normal(size=shared.shape)
    other[:, -1] += 0.5  # the other model leans more on the full coalition
    # Four decimals keep the file small; the numbers are exact in JSON either way.
    return np.round(reference, 4), np.round(other, 4)


def _zero_rows(reference: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Samples 0 and 1 ignored by both models (undefined everywhere), sample 2 by one only."""
    reference, other = reference.copy(), other.copy()
    reference[[0, 1, 2]] = 0.0
    other[[0, 1]] = 0.0
    return reference, other


def _case(
    name: str, m: int, tables: tuple[np.ndarray, np.ndarray], subset: Any, seed: int, level: float
) -> dict[str, Any]:
    reference, other = tables
    return {"name": name, "M": m, "reference": reference, "other": other, "subset": subset,
            "seed": seed, "level": level}  # fmt: skip


def _cases() -> list[dict[str, Any]]:
    repeats = [3, 3, 7, 0, 29, 12, 12, 12, 5, 18, 21, 4, 4, 9, 26, 15, 1, 22, 8, 8]
    return [
        _case("M=2, all samples", 2, _tables(2, 1), None, 0, 0.95),
        _case("M=3, subset with repeats", 3, _tables(3, 2), repeats, 12345, 0.9),
        _case(
            "M=4, subset with repeats, largest seed",
            4,
            _tables(4, 3),
            repeats[::-1] + [17, 17],
            4294967295,
            0.8,
        ),
        _case(
            "M=3, undefined samples and resamples",
            3,
            _zero_rows(*_tables(3, 4)),
            [0, 1, 0, 2, 1, 6],
            7,
            0.95,
        ),
    ]


def _json(x: Any) -> Any:
    """Nested lists with NaN as null (JSON has no NaN)."""
    if isinstance(x, np.ndarray):
        return _json(x.tolist())
    if isinstance(x, (list, tuple)):
        return [_json(v) for v in x]
    if isinstance(x, float) and math.isnan(x):
        return None
    return x


def case_record(case: dict[str, Any], reps: int = 200) -> dict[str, Any]:
    """One fixture entry: the inputs and numpy's paired delta and paired bootstrap."""
    reference, other = decompose(case["reference"]), decompose(case["other"])
    subset = case["subset"]
    delta = paired_delta(reference, other, subset)
    bounds = paired_bootstrap(reference, other, subset, reps, case["seed"], case["level"])
    return {
        "name": case["name"],
        "M": case["M"],
        "reference": _json(case["reference"]),
        "other": _json(case["other"]),
        "subset": subset,
        "reps": reps,
        "seed": case["seed"],
        "level": case["level"],
        "delta": {
            "n": delta.n,
            "global_reference": _json(delta.global_reference),
            "global_other": _json(delta.global_other),
            "global_delta": _json(delta.global_delta),
            "matrix_delta": _json(delta.matrix_delta),
            "contribution_delta": _json(delta.contribution_delta),
            "local_delta": _json(delta.local_delta),
        },
        "bootstrap": {
            "global_delta": _json(bounds.global_delta),
            "contribution_delta": _json(bounds.contribution_delta),
            "matrix_delta": _json(bounds.matrix_delta),
            "undefined_reps": bounds.undefined_reps,
        },
    }


def main() -> None:
    """Write the fixture."""
    streams = [(0, 0, 8), (1, 0, 8), (2024, 1000, 8), (4294967295, 1234567, 8)]
    fixture = {
        "about": "Made by scripts/make_compare_fixture.py (numpy twin); src/core must agree.",
        "mulberry32": [
            {"seed": s, "start": a, "values": mulberry32_uniform(s, a, c).tolist()}
            for s, a, c in streams
        ],
        "cases": [case_record(case) for case in _cases()],
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
