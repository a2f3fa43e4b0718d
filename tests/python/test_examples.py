"""Executes every example notebook with nbclient and checks what it printed.

Each notebook runs top to bottom in a fresh ``python3`` kernel (the interpreter running pytest), with
``examples/`` as the working directory. After the notebook's own cells, the test appends one cell
that saves the value tables the notebook computed into a temporary directory. The test then
recomputes every printed number with the numpy twin (``intershap_widget.decompose``) from those
same tables and requires the printed number to be that value to 4 decimals. For the HD-XOR benchmark
it also checks the qualitative result the method must give (SPEC §6; the paper's Table for M = 2
early fusion: synergy 98.0%, redundancy 38.6%, uniqueness 0.2% and 3.1%).

The notebooks are marked ``examples`` (the benchmark takes several minutes on 2 cores); they run by
default. ``pytest -m "not examples"`` leaves them out.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from intershap_widget.decompose import (
    aggregate,
    bootstrap_global,
    decompose,
    paired_bootstrap,
    paired_delta,
)

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOTEBOOKS = sorted(path.name for path in EXAMPLES.glob("*.ipynb"))
CHECKED = {
    "quickstart.ipynb",
    "hdxor_benchmark.ipynb",
    "clinical_tabular.ipynb",
    "digits_halves.ipynb",
}
CELL_TIMEOUT = 1800  # seconds; the benchmark's training cell takes minutes on a busy 2-core box
NUMBER = r"-?\d+\.\d+"
SIGNED = r"[+-]?\d+\.\d+"  # a difference, printed with its sign


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def run_notebook(name: str, tmp_path: Path, export: str | None = None) -> tuple[str, Path]:
    """Executes examples/<name> (plus an optional export cell).

    Returns its stdout and the export directory. ``OUT`` in the export code is the directory's
    path (a string).
    """
    nb = nbformat.read(EXAMPLES / name, as_version=4)
    out = tmp_path / "export"
    out.mkdir(parents=True)
    if export is not None:
        nb.cells.append(nbformat.v4.new_code_cell(f"OUT = {str(out)!r}\n" + export))
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(EXAMPLES)}},
    )
    client.execute()  # raises CellExecutionError (with the traceback) if any cell fails
    stdout = "".join(
        output.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream" and output.get("name") == "stdout"
    )
    return stdout, out


def assert_printed(printed: str | float, value: float, what: str) -> None:
    """``printed`` (a number printed with 4 decimals) is ``value`` rounded to 4 decimals."""
    assert np.isfinite(value), f"{what}: the twin gives {value}"
    assert abs(float(printed) - value) <= 0.5e-4 + 1e-12, (
        f"{what}: printed {printed}, the numpy twin gives {value:.6f}"
    )


def find(pattern: str, text: str) -> re.Match[str]:
    match = re.search(pattern, text, flags=re.MULTILINE)
    assert match, f"expected a line matching {pattern!r} in the notebook's output:\n{text}"
    return match


def paired(reference: np.ndarray, other: np.ndarray) -> tuple[Any, Any]:
    """``w.compare``'s numbers from the twin: the differences and their paired interval."""
    dec_ref, dec_other = decompose(reference), decompose(other)
    return (
        paired_delta(dec_ref, dec_other),
        paired_bootstrap(dec_ref, dec_other, reps=1000, seed=0, level=0.95),
    )


def table_rows(text: str, header: list[str]) -> list[dict[str, str]]:
    """The rows of a table printed by ``DataFrame.to_string(index=False)``.

    The table's header line is ``header`` (whitespace-separated); a row is a line with as many
    tokens as the header.
    """
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.split() == header:
            rows = []
            for row in lines[i + 1 :]:
                tokens = row.split()
                if len(tokens) != len(header):
                    break
                rows.append(dict(zip(header, tokens)))
            assert rows, f"the table {header} has no rows"
            return rows
    raise AssertionError(f"expected a table with the header {header} in:\n{text}")


EXPORT_WIDGET = """
import numpy as _np
_np.save(OUT + "/values.npy", w.results.values)
"""


# ---------------------------------------------------------------------------------------------
# Notebooks are saved clean
# ---------------------------------------------------------------------------------------------


def test_notebooks_are_saved_without_outputs() -> None:
    assert NOTEBOOKS, "no notebook in examples/"
    for name in NOTEBOOKS:
        nb = nbformat.read(EXAMPLES / name, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata["kernelspec"]["name"] == "python3", name
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, (
                    f"{name}: saved with outputs; clear them before committing"
                )


# ---------------------------------------------------------------------------------------------
# quickstart
# ---------------------------------------------------------------------------------------------


@pytest.mark.examples
def test_quickstart(tmp_path: Path) -> None:
    stdout, out = run_notebook("quickstart.ipynb", tmp_path, EXPORT_WIDGET)
    agg = aggregate(decompose(np.load(out / "values.npy")))
    printed = find(rf"Global InterSHAP \(python\): ({NUMBER})", stdout).group(1)
    assert_printed(printed, agg.global_intershap, "quickstart global InterSHAP")
    assert_printed(
        find(rf"Mean local InterSHAP: ({NUMBER})", stdout).group(1),
        agg.local_mean,
        "quickstart mean local",
    )
    # HD-XOR synergy, M = 2, the paper's early-fusion MLP: the paper reports 98.0%.
    assert float(printed) > 0.8


# ---------------------------------------------------------------------------------------------
# HD-XOR benchmark
# ---------------------------------------------------------------------------------------------

EXPORT_HDXOR = """
import json as _json
import numpy as _np
_keys = list(value_tables)
_np.savez(OUT + "/values.npz", *[value_tables[k] for k in _keys])
with open(OUT + "/keys.json", "w") as _f:
    _json.dump([list(k) for k in _keys], _f)
"""

HDXOR_COLUMNS = [
    "setting",
    "M",
    "fusion",
    "samples",
    "draws",
    "global_intershap",
    "ci_low",
    "ci_high",
    "local_mean",
    "f1",
]
MASS_COLUMNS = [
    "setting",
    "M",
    "global_intershap",
    "mass_1",
    "mass_2",
    "mass_3",
    "mass_4",
    "top_order_share",
]


@pytest.mark.examples
def test_hdxor_benchmark(tmp_path: Path) -> None:
    stdout, out = run_notebook("hdxor_benchmark.ipynb", tmp_path, EXPORT_HDXOR)
    keys = [tuple(k) for k in json.loads((out / "keys.json").read_text())]
    with np.load(out / "values.npz") as saved:
        tables = {key: saved[f"arr_{i}"] for i, key in enumerate(keys)}

    rows = table_rows(stdout, HDXOR_COLUMNS)
    printed = {(r["setting"], int(r["M"]), r["fusion"]): r for r in rows}
    assert set(printed) == set(tables), "the table has one row per trained model"
    # Every M and fusion the notebook promises is there.
    assert {(m, f) for _, m, f in printed} == {
        (2, "early"),
        (3, "early"),
        (4, "early"),
        (2, "intermediate"),
        (2, "late"),
    }
    for key, values in tables.items():
        row = printed[key]
        dec = decompose(values)
        agg = aggregate(dec)
        low, high = bootstrap_global(dec, reps=1000, seed=0)
        assert int(row["samples"]) == values.shape[0] == dec.n
        assert values.shape[1] == 2 ** key[1]
        assert_printed(row["global_intershap"], agg.global_intershap, f"{key} global")
        assert_printed(row["local_mean"], agg.local_mean, f"{key} local mean")
        assert_printed(row["ci_low"], low, f"{key} ci_low")
        assert_printed(row["ci_high"], high, f"{key} ci_high")
        assert 0.0 <= float(row["f1"]) <= 1.0

    masses = table_rows(stdout, MASS_COLUMNS)
    assert {(r["setting"], int(r["M"])) for r in masses} == {(s, m) for s, m, f in tables if m >= 3}
    for r in masses:
        key = (r["setting"], int(r["M"]), "early")
        mass = aggregate(decompose(tables[key])).order_mass
        for k in range(1, 5):
            if k <= key[1]:
                assert_printed(r[f"mass_{k}"], mass[k - 1], f"{key} mass_{k}")
            else:
                assert r[f"mass_{k}"] == "-"
        assert_printed(r["top_order_share"], abs(mass[-1]) / np.abs(mass).sum(), f"{key} share")

    # The paper's qualitative result for M = 2, early fusion (its Table: synergy 98.0%,
    # redundancy 38.6%, uniqueness 0.2% / 3.1%). The model must first have learned the task.
    score = {
        s: float(printed[(s, 2, "early")]["global_intershap"])
        for s in ("synergy", "redundancy", "uniqueness0", "uniqueness1")
    }
    assert float(printed[("synergy", 2, "early")]["f1"]) > 0.8
    assert score["synergy"] > 0.8
    assert score["synergy"] > 2 * score["redundancy"]
    assert score["redundancy"] > max(score["uniqueness0"], score["uniqueness1"]) + 0.05
    assert score["uniqueness0"] < 0.1 and score["uniqueness1"] < 0.1
    # Information in one modality only: no interaction for M = 3 and 4 either.
    for m in (3, 4):
        assert float(printed[("uniqueness0", m, "early")]["global_intershap"]) < 0.1

    # w.compare of the synergy models (no browser: the numpy twin, paired bootstrap).
    for fusion in ("intermediate", "late"):
        delta, interval = paired(tables[("synergy", 2, "early")], tables[("synergy", 2, fusion)])
        match = find(
            rf"^\[{fusion} fusion vs early fusion\] Δ global InterSHAP ({SIGNED}) "
            rf"\(paired 95% CI ({SIGNED}) to ({SIGNED})\) over (\d+) samples$",
            stdout,
        )
        assert_printed(match.group(1), delta.global_delta, f"{fusion} Δ global")
        assert_printed(match.group(2), interval.global_delta[0], f"{fusion} Δ ci low")
        assert_printed(match.group(3), interval.global_delta[1], f"{fusion} Δ ci high")
        assert int(match.group(4)) == delta.n
        contributions = re.findall(
            rf"^\[{fusion} fusion vs early fusion\]   Δ contribution .+: ({SIGNED})$",
            stdout,
            flags=re.MULTILINE,
        )
        assert len(contributions) == 2
        for text, value in zip(contributions, delta.contribution_delta):
            assert_printed(text, value, f"{fusion} Δ contribution")
        if fusion == "late":
            # The paper's point: late fusion cannot use the XOR interaction that early fusion
            # uses, so its score is clearly lower, and the paired interval says so.
            assert float(match.group(1)) < -0.5
            assert float(match.group(3)) < 0


# ---------------------------------------------------------------------------------------------
# Clinical tabular (breast cancer, three feature groups, two models, cohorts)
# ---------------------------------------------------------------------------------------------

EXPORT_CLINICAL = """
import numpy as _np
_np.savez(OUT + "/values.npz", **{label: value_tables[label].values for label in labels})
_np.save(OUT + "/diagnosis.npy", _np.asarray(diagnosis, dtype=str))
"""

CLINICAL_MODELS = ["logistic regression", "gradient boosting"]
CLINICAL_GROUPS = ["mean", "standard error", "worst"]


@pytest.mark.examples
def test_clinical_tabular(tmp_path: Path) -> None:
    stdout, out = run_notebook("clinical_tabular.ipynb", tmp_path, EXPORT_CLINICAL)
    diagnosis = np.load(out / "diagnosis.npy")
    with np.load(out / "values.npz") as saved:
        tables = {label: saved[label] for label in CLINICAL_MODELS}
    for label, values in tables.items():
        assert values.shape == (len(diagnosis), 8)
        dec = decompose(values)
        agg = aggregate(dec)
        match = find(
            rf"^\[{label}\] global InterSHAP ({NUMBER}) \(95% CI ({NUMBER})-({NUMBER})\), "
            rf"mean local ({NUMBER})$",
            stdout,
        )
        # The widget's results (numpy twin in a kernel without a browser) on the same tables.
        assert_printed(match.group(1), agg.global_intershap, f"{label} global")
        assert_printed(match.group(4), agg.local_mean, f"{label} local mean")
        low, high = bootstrap_global(dec, reps=1000, seed=0)
        assert_printed(match.group(2), low, f"{label} ci low")
        assert_printed(match.group(3), high, f"{label} ci high")
        contributions = [
            find(rf"^\[{label}\]   contribution {name}: ({NUMBER})$", stdout).group(1)
            for name in CLINICAL_GROUPS
        ]
        for name, text, value in zip(CLINICAL_GROUPS, contributions, agg.modality_contributions):
            assert_printed(text, value, f"{label} contribution {name}")
        total = float(match.group(1)) + sum(float(c) for c in contributions)
        assert total == pytest.approx(1.0, abs=3e-4)

        # The per-cohort table: model, cohort, then numbers.
        for cohort in ("all", "malignant", "benign"):
            row = find(rf"^\s*{label}\s+{cohort}\s+(\d+)((?:\s+{NUMBER})+)\s*$", stdout)
            numbers = row.group(2).split()
            mask = np.ones(len(diagnosis), bool) if cohort == "all" else diagnosis == cohort
            sub = aggregate(dec, subset=mask)
            lo, hi = bootstrap_global(dec, subset=mask, reps=1000, seed=0)
            assert int(row.group(1)) == sub.n == mask.sum()
            expected = [
                sub.global_intershap,
                lo,
                hi,
                sub.local_mean,
                sub.mean_matrix.sum() - np.trace(sub.mean_matrix),
                *sub.modality_contributions,
            ]
            assert len(numbers) == len(expected)
            for text, value in zip(numbers, expected):
                assert_printed(text, value, f"{label} / {cohort}")

    # w.compare(): gradient boosting against logistic regression, paired (the numpy twin here).
    delta, interval = paired(*(tables[label] for label in CLINICAL_MODELS))
    pair = r"\[gradient boosting vs logistic regression\]"
    match = find(
        rf"^{pair} Δ global InterSHAP ({SIGNED}) \(paired 95% CI ({SIGNED}) to ({SIGNED})\), "
        rf"(\d+) tumours, computed by numpy$",
        stdout,
    )
    assert_printed(match.group(1), delta.global_delta, "Δ global")
    assert_printed(match.group(2), interval.global_delta[0], "Δ ci low")
    assert_printed(match.group(3), interval.global_delta[1], "Δ ci high")
    assert int(match.group(4)) == len(diagnosis)
    for i, name in enumerate(CLINICAL_GROUPS):
        row = find(
            rf"^{pair}   Δ contribution {name}: ({SIGNED}) "
            rf"\(paired 95% CI ({SIGNED}) to ({SIGNED})\)$",
            stdout,
        )
        assert_printed(row.group(1), delta.contribution_delta[i], f"Δ contribution {name}")
        assert_printed(row.group(2), interval.contribution_delta[i, 0], f"Δ {name} ci low")
        assert_printed(row.group(3), interval.contribution_delta[i, 1], f"Δ {name} ci high")
    # The top movers: the five tumours with the largest |Δ local|, largest first.
    movers_text = stdout.split("Tumours whose local score moves most:", 1)[1]
    movers = re.findall(
        rf"^\s*(\d+)\s+({SIGNED})\s+({SIGNED})\s+({SIGNED})$", movers_text, flags=re.MULTILINE
    )
    assert len(movers) == 5
    size = np.where(np.isnan(delta.local_delta), -1.0, np.abs(delta.local_delta))
    assert [int(sample) for sample, *_ in movers] == list(np.argsort(-size, kind="stable")[:5])
    for sample, _, _, text in movers:
        assert_printed(text, delta.local_delta[int(sample)], f"Δ local of tumour {sample}")

    # Logistic regression is additive in its log-odds: exactly no interaction with mean masking.
    logodds = find(
        rf"log-odds, mean masking\] global InterSHAP ({NUMBER}), mean local ({NUMBER})", stdout
    )
    assert float(logodds.group(1)) == 0.0 and float(logodds.group(2)) == 0.0
    probability = find(rf"probability, mean masking\] global InterSHAP ({NUMBER})", stdout)
    assert float(probability.group(1)) > 0.0


# ---------------------------------------------------------------------------------------------
# Digits, top and bottom halves
# ---------------------------------------------------------------------------------------------

EXPORT_DIGITS = (
    EXPORT_WIDGET
    + """
_np.save(OUT + "/digits.npy", y_test)
"""
)


@pytest.mark.examples
def test_digits_halves(tmp_path: Path) -> None:
    stdout, out = run_notebook("digits_halves.ipynb", tmp_path, EXPORT_DIGITS)
    values, digits = np.load(out / "values.npy"), np.load(out / "digits.npy")
    assert values.shape == (len(digits), 4)
    dec = decompose(values)
    agg = aggregate(dec)
    match = find(rf"^Global InterSHAP ({NUMBER}) \(95% CI ({NUMBER})-({NUMBER})\)$", stdout)
    assert_printed(match.group(1), agg.global_intershap, "digits global")
    low, high = bootstrap_global(dec, reps=1000, seed=0)
    assert_printed(match.group(2), low, "digits ci low")
    assert_printed(match.group(3), high, "digits ci high")
    assert_printed(
        find(rf"^Mean local InterSHAP ({NUMBER})", stdout).group(1),
        agg.local_mean,
        "digits mean local",
    )
    for name, value in zip(["top", "bottom"], agg.modality_contributions):
        assert_printed(
            find(rf"^Contribution {name}: ({NUMBER})$", stdout).group(1),
            value,
            f"digits contribution {name}",
        )

    # The per-digit table, sorted by the mean local score.
    per_digit = re.findall(
        rf"^(\d)\s+(\d+)\s+({NUMBER})\s+({NUMBER})\s+({NUMBER})\s+({NUMBER})$",
        stdout,
        flags=re.MULTILINE,
    )
    assert sorted(int(d) for d, *_ in per_digit) == list(range(10))
    printed_local = [float(local) for _, _, local, *_ in per_digit]
    assert printed_local == sorted(printed_local, reverse=True)
    for digit, n, local, shapley_top, shapley_bottom, _accuracy in per_digit:
        mask = digits == int(digit)
        assert int(n) == mask.sum()
        assert_printed(local, float(np.nanmean(dec.local[mask])), f"digit {digit} local mean")
        assert_printed(shapley_top, dec.shapley[mask, 0].mean(), f"digit {digit} shapley top")
        assert_printed(shapley_bottom, dec.shapley[mask, 1].mean(), f"digit {digit} shapley bottom")
    # Neither half decides the digit alone: the classifier relies on their interaction.
    assert 0.1 < float(match.group(1)) < 0.9


# ---------------------------------------------------------------------------------------------
# Any other notebook: it runs top to bottom
# ---------------------------------------------------------------------------------------------


@pytest.mark.examples
def test_other_notebooks_run(tmp_path: Path) -> None:
    # A notebook added to examples/ without its own test above still has to run top to bottom.
    for i, name in enumerate(n for n in NOTEBOOKS if n not in CHECKED):
        run_notebook(name, tmp_path / str(i))
    assert CHECKED <= set(NOTEBOOKS), f"missing notebooks: {sorted(CHECKED - set(NOTEBOOKS))}"
