"""Numbers back in Python: the decomposition of one model's value tables, as numpy and pandas."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import decompose as twin

if TYPE_CHECKING:
    import pandas as pd
    import shap
    import shapiq

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

    def to_dataframe(self, *, long: bool = False) -> pd.DataFrame:
        """The per-sample numbers as a pandas DataFrame.

        Args:
            long: False (default): one row per sample, indexed by ``sample``, with the local
                score, each modality's Shapley value (``shapley[name]``) and main effect
                (``main[name]``), the prediction and the label where known. True: the tidy long
                form for seaborn or plotly express, one row per sample and *ordered* pair of
                modalities (``N × M × M`` rows, both (i, j) and (j, i)), with columns
                ``sample``, ``modality_i``, ``modality_j`` (categoricals in modality order),
                ``kind`` (``"main"`` where i == j, else ``"interaction"``), ``phi`` (Φ_ij; so
                the ``phi`` of one sample add up to v(full) − v(∅), SPEC §2),
                ``local_intershap``, and ``prediction`` and ``label`` where known.

        Returns:
            The DataFrame.
        """
        if long:
            from .interop import long_dataframe

            return long_dataframe(self)
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

    def to_shapiq(
        self, sample: int | None = None, *, index: str = "SII", max_order: int = 2
    ) -> shapiq.InteractionValues:
        """The exact Shapley interactions over the modalities as ``shapiq.InteractionValues``.

        The players are the modalities (player m = ``names[m]``). With ``sample=None`` the game
        is the **mean game** over the samples, v̄(S) = (1/N) Σ_a v_a(S): every index is linear
        in the value table, so its SII (and k-SII, Shapley values) are the means of the
        per-sample ones, and its 2-SII reproduce the mean InterSHAP matrix (Φ̄_ij = SII({i,j})/2
        off the diagonal, Φ̄_ii = 2-SII({i})). With an int, the game is that sample's value
        table. The values are exact (``estimated=False``), equal to shapiq's ``ExactComputer``
        on the same game: with ``index="SII"`` the empty set holds SII(∅) = Σ_T m(T)/(|T|+1)
        and ``baseline_value`` is v(∅), as shapiq does; with ``"k-SII"`` the empty set holds
        v(∅) and the values add up to v(full). Plot with shapiq, passing the names:
        ``iv.plot_network(feature_names=r.names, show=False)``, ``iv.plot_upset(...)``,
        ``iv.plot_force(...)``.

        Args:
            sample: None for the mean game, or one sample's index (0 … n − 1).
            index: ``"SII"`` (Grabisch–Roubens, SPEC §2) or ``"k-SII"``.
            max_order: The highest order of interaction, 1 … M (1 gives Shapley values).

        Returns:
            The interaction values of every coalition of at most ``max_order`` modalities.

        Raises:
            ImportError: shapiq is not installed (``pip install "intershap_widget[shapiq]"``).
            TypeError: ``max_order`` is not an integer.
            ValueError: An argument is out of range, or the results hold no value tables.
        """
        from .interop import to_interaction_values

        return to_interaction_values(self, sample, index=index, max_order=max_order)

    def to_explanation(self, data: Any = None) -> shap.Explanation:
        """The per-modality Shapley values as a ``shap.Explanation``, for ``shap.plots``.

        ``values`` is φ, ``(n, M)``; ``base_values`` each sample's v(∅); ``feature_names`` the
        modality names. By efficiency each row of ``values`` adds up to v(full) − v(∅), the
        explained output less v(∅). ``shap.plots.bar(e)``, ``shap.plots.beeswarm(e)`` and
        ``shap.plots.waterfall(e[i])`` draw it. (The pair values of SHAP's own exact explainer,
        ``interactions=2``, are the Shapley–Taylor index: they equal Φ for M = 2, not for M ≥ 3;
        ``to_shapiq`` gives the SII behind Φ.)

        Args:
            data: What shap shows as each "feature value" (the beeswarm's colour): None
                (default; a modality has no single value), ``"prediction"`` (each sample's
                prediction where known, else v(full), in every column), or an ``(n, M)`` array.

        Returns:
            The explanation.

        Raises:
            ImportError: shap is not installed (``pip install "intershap_widget[shap]"``).
            ValueError: The results hold no value tables, or ``data`` has the wrong shape.
        """
        from .interop import to_explanation

        return to_explanation(self, data)


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
