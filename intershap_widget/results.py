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
