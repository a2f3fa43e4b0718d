"""Decompositions as JSON, and the command line ``python -m intershap_widget.decompose``."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

import numpy as np

from .over_samples import aggregate
from .per_sample import decompose
from .result_types import Aggregate, Decomposition


def _jsonify(x: Any) -> Any:
    """Turns numpy arrays and floats into plain JSON values with NaN and ±Inf as ``None``."""
    if isinstance(x, np.ndarray):
        return _jsonify(x.tolist())
    if isinstance(x, (list, tuple)):
        return [_jsonify(e) for e in x]
    if isinstance(x, (np.floating, float)):
        f = float(x)
        return f if math.isfinite(f) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def to_jsonable(dec: Decomposition, agg: Aggregate | None = None) -> dict[str, Any]:
    """A JSON-serialisable dict of a decomposition and its aggregate (undefined → ``None``).

    Keys: ``M``, ``matrices`` (N×M×M), ``shapley`` (N×M), ``local`` (N), ``order_mass`` (N×M),
    ``global_intershap``, ``modality_contributions`` (M), ``local_mean``, ``n_undefined``.
    ``agg`` defaults to the aggregate over all samples.
    """
    if agg is None:
        agg = aggregate(dec)
    return {
        "M": dec.M,
        "matrices": _jsonify(dec.matrices),
        "shapley": _jsonify(dec.shapley),
        "local": _jsonify(dec.local),
        "global_intershap": _jsonify(agg.global_intershap),
        "modality_contributions": _jsonify(agg.modality_contributions),
        "order_mass": _jsonify(dec.order_mass),
        "local_mean": _jsonify(agg.local_mean),
        "n_undefined": agg.n_undefined,
    }


def _decompose_file(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except OSError as exc:
        raise ValueError(f"FILE: cannot read {path!r}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"FILE: {path!r} is not valid JSON: {exc}") from None
    games = doc.get("games") if isinstance(doc, dict) else None
    if not isinstance(games, list):
        raise TypeError(
            f'FILE: expected a JSON object with a "games" list, got {type(doc).__name__}'
            + (f" with keys {sorted(doc)}" if isinstance(doc, dict) else "")
        )
    out = []
    for g, game in enumerate(games):
        if not isinstance(game, dict) or "values" not in game:
            raise ValueError(f'games[{g}]: expected an object with a "values" table')
        try:
            dec = decompose(game["values"])
        except ValueError as exc:
            raise ValueError(f"games[{g}].{exc}") from None
        declared = game.get("M")
        if declared is not None and declared != dec.M:
            raise ValueError(
                f"games[{g}].M: expected M to match the values table width 2**{dec.M}, "
                f"got M = {declared!r}"
            )
        out.append(to_jsonable(dec))
    return {"games": out}


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m intershap_widget.decompose FILE.json``."""
    parser = argparse.ArgumentParser(
        prog="python -m intershap_widget.decompose",
        description=(
            "Decompose coalition value tables with InterSHAP. FILE holds "
            '{"games": [{"M": M, "values": [[v(b) for b in 0..2**M-1], ...]}, ...]}; '
            "the result is printed as JSON, undefined numbers as null."
        ),
    )
    parser.add_argument("file", metavar="FILE.json", help="JSON file with a games list")
    parser.add_argument("--indent", type=int, default=None, help="indent the JSON output")
    args = parser.parse_args(argv)
    try:
        result = _decompose_file(args.file)
    except (TypeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout, indent=args.indent, allow_nan=False)
    sys.stdout.write("\n")
    return 0
