"""Tables for papers: w.results.to_latex() and to_csv(), checked against the numpy twin."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from intershap_widget import InterSHAP, decompose


@pytest.fixture
def widget():
    values = np.random.default_rng(3).normal(size=(120, 4))
    return InterSHAP(values=values, names=["image_1", "<b>&t%"], label="fusion"), values


def test_csv_rows_hold_the_twins_numbers_for_all_samples_and_each_cohort(widget, tmp_path):
    w, values = widget
    groups = np.where(np.arange(120) < 50, "young", "old")
    path = tmp_path / "table.csv"
    text = w.results.to_csv(path, by=groups)
    assert path.read_text(encoding="utf-8") == text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["cohort"] for row in rows] == ["all", "old", "young"]
    dec = decompose.decompose(values)
    for row in rows:
        subset = None if row["cohort"] == "all" else np.flatnonzero(groups == row["cohort"])
        agg = decompose.aggregate(dec, subset=subset)
        assert int(row["n"]) == agg.n
        assert float(row["global_intershap"]) == pytest.approx(agg.global_intershap, abs=1e-12)
        assert float(row["alone[<b>&t%]"]) == pytest.approx(agg.modality_contributions[1])
        low, high = float(row["interval_low"]), float(row["interval_high"])
        assert low <= float(row["global_intershap"]) <= high


def test_latex_is_booktabs_with_plus_minus_and_escaped_names(widget):
    w, _ = widget
    text = w.results.to_latex(decimals=2)
    lines = text.strip().splitlines()
    assert lines[0] == "\\begin{tabular}{llrrrrr}"
    assert lines[1] == "\\toprule" and lines[3] == "\\midrule" and lines[-2] == "\\bottomrule"
    assert "image\\_1 alone" in lines[2]
    assert "\\textless{}b\\textgreater{}\\&t\\% alone" in lines[2]
    r = w.results
    half = (r.interval[1] - r.interval[0]) / 2
    assert f"{r.global_intershap:.2f} $\\pm$ {half:.2f}" in lines[4]


def test_a_cohort_column_of_the_wrong_length_is_refused_by_name(widget):
    w, _ = widget
    with pytest.raises(ValueError, match=r"by: expected one label per sample \(120\), got shape \(3,\)"):
        w.results.to_latex(by=[1, 2, 3])
