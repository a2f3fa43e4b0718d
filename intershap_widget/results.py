"""Numbers back in Python: the decomposition of one model's value tables, as numpy and pandas."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import decompose as twin

if TYPE_CHECKING:
    import pandas as pd

    from .protocol import BrowserResults

BOOTSTRAP_REPS = 1000
BOOTSTRAP_LEVEL = 0.95


@dataclass(frozen=True)
class Results:
    """InterSHAP results for one model.

    ``source`` says who computed the aggregates: ``"browser"`` (the widget's worker, for the whole
    data set) or ``"numpy"`` (the numpy twin, when no browser has answered yet, e.g. in a script).
    Per-sample matrices and Shapley values always come from the numpy twin on the same tables.
    """

    source: str
    label: str
    names: list[str]
    n: int
    global_intershap: float
    local_mean: float
    n_undefined: int
    interval: tuple[float, float] | None
    mean_matrix: np.ndarray
    modality_contributions: np.ndarray
    order_mass: np.ndarray
    local: np.ndarray
    shapley: np.ndarray
    matrices: np.ndarray
    prediction: np.ndarray | None = None
    labels: np.ndarray | None = None
    #: The value tables behind these numbers, (n, 2**M) in bitmask order.
    values: np.ndarray | None = None

    @property
    def interaction_share(self) -> float:
        """Share of interactions in the mean matrix: equal to ``global_intershap`` (SPEC §3)."""
        return self.global_intershap

    def summary(self) -> dict[str, Any]:
        """The global numbers as plain Python values."""
        return {
            "model": self.label,
            "n": self.n,
            "global_intershap": self.global_intershap,
            "interval": self.interval,
            "local_mean": self.local_mean,
            "n_undefined": self.n_undefined,
            **{
                f"contribution[{n}]": float(c)
                for n, c in zip(self.names, self.modality_contributions)
            },
        }

    def table_rows(self, by: Any = None) -> list[dict[str, Any]]:
        """The global table: one row for all samples, and with ``by`` one per cohort.

        Args:
            by: One cohort label per sample (array, list or pandas Series), or None.

        Returns:
            Rows of plain values: model, cohort, n, global InterSHAP with its 95% bootstrap
            interval (cohorts: the numpy twin's, seeded), mean local score, and each modality's
            share alone.

        Raises:
            ValueError: ``by`` does not hold one label per computed sample.
        """
        rows = [
            self._row(
                "all",
                self.global_intershap,
                self.interval,
                self.local_mean,
                self.modality_contributions,
                self.n,
            )
        ]
        if by is None:
            return rows
        groups = np.asarray(getattr(by, "to_numpy", lambda: by)())
        if groups.ndim != 1 or groups.shape[0] != self.n:
            raise ValueError(
                f"by: expected one label per sample ({self.n}), got shape {groups.shape}"
            )
        dec = twin.decompose(self.values) if self.values is not None else None
        if dec is None:
            raise ValueError("by: these results hold no value tables to split into cohorts")
        names = groups.astype(str)
        for group in np.unique(names):
            members = np.flatnonzero(names == group)
            agg = twin.aggregate(dec, subset=members)
            low, high = twin.bootstrap_global(
                dec, reps=BOOTSTRAP_REPS, seed=0, level=BOOTSTRAP_LEVEL, subset=members
            )
            rows.append(
                self._row(
                    str(group),
                    float(agg.global_intershap),
                    (float(low), float(high)),
                    float(agg.local_mean),
                    agg.modality_contributions,
                    agg.n,
                )
            )
        return rows

    def _row(
        self,
        cohort: str,
        score: float,
        interval: tuple[float, float] | None,
        local_mean: float,
        contributions: np.ndarray,
        n: int,
    ) -> dict[str, Any]:
        row: dict[str, Any] = {
            "model": self.label,
            "cohort": cohort,
            "n": int(n),
            "global_intershap": score,
            "interval_low": interval[0] if interval else float("nan"),
            "interval_high": interval[1] if interval else float("nan"),
            "local_mean": local_mean,
        }
        for name, share in zip(self.names, contributions):
            row[f"alone[{name}]"] = float(share)
        return row

    def to_csv(self, path: Any = None, by: Any = None) -> str:
        """The global table (and cohorts, with ``by``) as CSV; written to ``path`` when given.

        Returns:
            The CSV text.
        """
        import csv
        import io

        rows = self.table_rows(by)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        text = out.getvalue()
        if path is not None:
            with open(path, "w", encoding="utf-8", newline="") as file:
                file.write(text)
        return text

    def to_latex(self, by: Any = None, decimals: int = 3) -> str:
        """The global table (and cohorts, with ``by``) as a booktabs LaTeX tabular.

        Scores are written as value ± half the width of their 95% bootstrap interval; names
        are escaped, so they appear as written.

        Returns:
            The LaTeX source (it needs the booktabs package).
        """
        rows = self.table_rows(by)
        shares = [key for key in rows[0] if key.startswith("alone[")]
        head = ["Model", "Cohort", "$n$", "Global InterSHAP", "Mean local"] + [
            f"{_latex(key[6:-1])} alone" for key in shares
        ]
        lines = [
            "\\begin{tabular}{ll" + "r" * (len(head) - 2) + "}",
            "\\toprule",
            " & ".join(head) + " \\\\",
            "\\midrule",
        ]
        for row in rows:
            half = (row["interval_high"] - row["interval_low"]) / 2
            score = f"{row['global_intershap']:.{decimals}f}"
            if np.isfinite(half):
                score += f" $\\pm$ {half:.{decimals}f}"
            cells = [
                _latex(row["model"]),
                _latex(row["cohort"]),
                str(row["n"]),
                score,
                f"{row['local_mean']:.{decimals}f}",
            ] + [f"{row[k]:.{decimals}f}" for k in shares]
            lines.append(" & ".join(cells) + " \\\\")
        lines += ["\\bottomrule", "\\end{tabular}"]
        return "\n".join(lines) + "\n"

    def to_dataframe(self) -> pd.DataFrame:
        """One row per sample: local score, Shapley value per modality, prediction and label."""
        import pandas as pd

        frame = pd.DataFrame({"local_intershap": self.local})
        for i, name in enumerate(self.names):
            frame[f"shapley[{name}]"] = self.shapley[:, i]
        for i, name in enumerate(self.names):
            frame[f"main[{name}]"] = self.matrices[:, i, i]
        if self.prediction is not None:
            frame["prediction"] = self.prediction
        if self.labels is not None:
            frame["label"] = self.labels
        frame.index.name = "sample"
        return frame


_LATEX_SPECIALS = {
    "\\": "\\textbackslash{}",
    "&": "\\&",
    "%": "\\%",
    "$": "\\$",
    "#": "\\#",
    "_": "\\_",
    "{": "\\{",
    "}": "\\}",
    "~": "\\textasciitilde{}",
    "^": "\\textasciicircum{}",
    "<": "\\textless{}",
    ">": "\\textgreater{}",
}


def _latex(text: str) -> str:
    """Text as LaTeX shows it literally."""
    return "".join(_LATEX_SPECIALS.get(ch, ch) for ch in str(text))


def numpy_results(
    label: str,
    names: list[str],
    values: np.ndarray,
    prediction: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    browser: BrowserResults | None = None,
) -> Results:
    """Results from the numpy twin; aggregates are taken from the browser when it sent them."""
    dec = twin.decompose(values)
    if browser is not None:
        return Results(
            source="browser",
            label=label,
            names=list(names),
            n=browser.n,
            global_intershap=browser.global_intershap,
            local_mean=browser.local_mean,
            n_undefined=browser.n_undefined,
            interval=browser.interval,
            mean_matrix=browser.mean_matrix,
            modality_contributions=browser.modality_contributions,
            order_mass=browser.order_mass,
            local=browser.local,
            shapley=dec.shapley,
            matrices=dec.matrices,
            prediction=prediction,
            labels=labels,
            values=values,
        )
    agg = twin.aggregate(dec)
    interval = twin.bootstrap_global(dec, reps=BOOTSTRAP_REPS, seed=0, level=BOOTSTRAP_LEVEL)
    return Results(
        source="numpy",
        label=label,
        names=list(names),
        n=agg.n,
        global_intershap=float(agg.global_intershap),
        local_mean=float(agg.local_mean),
        n_undefined=int(agg.n_undefined),
        interval=(float(interval[0]), float(interval[1])),
        mean_matrix=agg.mean_matrix,
        modality_contributions=agg.modality_contributions,
        order_mass=agg.order_mass,
        local=dec.local,
        shapley=dec.shapley,
        matrices=dec.matrices,
        prediction=prediction,
        labels=labels,
        values=values,
    )
