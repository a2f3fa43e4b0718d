"""The widget's saved state (saved_state.py), its cap, and the text/plain line.

The tables kept in the synced state round-trip through ipywidgets' buffers; above the cap only a
summary stays; plain viewers (nbconvert to markdown, GitHub) show the text/plain line.
"""

from __future__ import annotations

import numpy as np
import pytest
from ipywidgets.widgets.widget import _put_buffers, _remove_buffers

from intershap_widget import InterSHAP, saved_state
from intershap_widget.decompose import aggregate, decompose

NAMES = ["image", "text"]


def _tables(n: int, interaction: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    image, text = 0.3 + 0.2 * x[:, 0], 0.2 + 0.2 * x[:, 1]
    both = image + text + interaction * (1 + 0.5 * x[:, 0] * x[:, 1])
    return np.stack([np.zeros(n), image, text, both], axis=1) + 0.5


def _shown(w: InterSHAP) -> InterSHAP:
    """The widget once a browser said hello: only then is the state set (see widget._save_state)."""
    w._on_browser_message(w, {"kind": "hello", "protocol": 1}, [])
    return w


def test_no_state_is_sent_before_the_browser_says_hello() -> None:
    w = InterSHAP(values=_tables(10, 0.5, 0), names=NAMES)
    assert w._saved_state is None
    assert _shown(w)._saved_state["tablesSaved"] is True


def _through_the_wire(w: InterSHAP) -> dict:
    """The state as ipywidgets sends and a notebook saves it: JSON, buffers split off and put back."""
    state, paths, buffers = _remove_buffers(w.get_state())
    assert all(isinstance(b, (memoryview, bytes)) for b in buffers)
    restored = {key: value for key, value in state.items()}
    _put_buffers(restored, paths, [bytes(b) for b in buffers])
    return restored["_saved_state"]


def test_the_saved_state_round_trips_every_table() -> None:
    n = 300
    early, late = _tables(n, 0.8, 0), _tables(n, 0.1, 1)
    labels = np.arange(n) % 2
    se = np.full_like(late, 0.01)
    w = _shown(
        InterSHAP(values=early, names=NAMES, labels=labels, prediction=early[:, 3], label="early")
    )
    w.add_model("late", values=late, names=NAMES, se=se)
    w.set_cohorts(np.where(labels == 1, "site A", "site B"), name="site")

    decoded = saved_state.decode_saved_state(_through_the_wire(w))
    assert decoded["tablesSaved"] is True
    first, second = decoded["models"]
    assert [first["label"], second["label"]] == ["early", "late"]
    assert first["names"] == NAMES and first["nSamples"] == n and first["state"] == "done"
    np.testing.assert_array_equal(first["arrays"]["values"], early)
    np.testing.assert_array_equal(first["arrays"]["prediction"], early[:, 3])
    np.testing.assert_array_equal(first["arrays"]["label"], labels)
    np.testing.assert_array_equal(second["arrays"]["values"], late)
    np.testing.assert_array_equal(second["arrays"]["se"], se)
    assert first["buffers"] == ["values", "prediction", "label"]
    assert second["buffers"] == ["values", "se"]
    (cohort,) = decoded["cohorts"]
    assert cohort["name"] == "site" and cohort["categories"] == ["site A", "site B"]
    np.testing.assert_array_equal(cohort["codes"], np.where(labels == 1, 0.0, 1.0))
    # Sizes: what the notebook holds is what the tables weigh, float64 each.
    expected = 8 * (early.size + n + n + late.size + se.size + n)
    assert decoded["tableBytes"] == expected
    assert saved_state.state_bytes(w._saved_state) == expected
    assert first["summary"]["globalIntershap"] == pytest.approx(
        aggregate(decompose(early)).global_intershap, abs=1e-12
    )


def test_the_state_is_written_once_per_finished_run_not_per_chunk() -> None:
    sent: list[str] = []
    w = _shown(InterSHAP(values=_tables(50, 0.5, 0), names=NAMES, label="a"))
    original = w.send_state

    def record(key=None):
        keys = [key] if isinstance(key, str) else list(key or [])
        sent.extend(k for k in keys if k == "_saved_state")
        return original(key)

    w.send_state = record  # type: ignore[method-assign]
    w.add_model("b", values=_tables(50, 0.1, 1), names=NAMES)
    assert sent == ["_saved_state"]

    # A model run: tables stream in many chunks, and the state is set once, when it ends.
    def model(batch: dict) -> np.ndarray:
        logit = batch["image"][:, 0] * batch["text"][:, 0]
        return np.stack([-logit, logit], axis=1)

    rng = np.random.default_rng(0)
    modalities = {"image": rng.normal(size=(50, 2)), "text": rng.normal(size=(50, 2))}
    sets: list[int] = []
    w.observe(lambda change: sets.append(len(change["new"]["models"])), names="_saved_state")
    w.add_model(
        "model", model, modalities, background=modalities, draws=5, chunk_samples=10, seed=0
    )
    w.wait(verbose=False)
    assert sets == [3]
    assert w._saved_state["models"][2]["count"] == 50


def test_above_the_cap_only_a_summary_is_kept() -> None:
    tables = _tables(2000, 0.8, 0)  # 64,000 bytes
    w = _shown(InterSHAP(values=tables, names=NAMES, label="big", save_state_mb=0.05))
    state = _through_the_wire(w)
    assert state["tablesSaved"] is False
    assert state["tableBytes"] == 64_000 and state["capBytes"] == 50_000
    (model,) = state["models"]
    assert "data" not in model and state["cohorts"] == []
    summary = model["summary"]
    assert summary["label"] == "big" and summary["n"] == 2000 and summary["state"] == "done"
    assert summary["globalIntershap"] == pytest.approx(w.results.global_intershap, abs=1e-12)
    low, high = summary["interval"]
    assert low <= summary["globalIntershap"] <= high
    # Under the cap the same widget keeps its tables.
    assert _shown(InterSHAP(values=tables, names=NAMES, save_state_mb=0.1))._saved_state[
        "tablesSaved"
    ]


def test_the_module_constant_is_the_default_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(saved_state, "SAVE_STATE_MB", 0.0)
    w = _shown(InterSHAP(values=_tables(10, 0.5, 0), names=NAMES))
    assert w._saved_state["tablesSaved"] is False


@pytest.mark.parametrize("bad", [-1, float("nan"), "20", True])
def test_a_bad_cap_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="save_state_mb: expected a number of megabytes >= 0"):
        InterSHAP(values=_tables(10, 0.5, 0), names=NAMES, save_state_mb=bad)


def test_text_plain_names_each_models_score_samples_and_state() -> None:
    early = _tables(2000, 0.8, 0)
    w = InterSHAP(values=early, names=NAMES, label="early fusion")
    w.add_model("late fusion", values=_tables(2000, 0.1, 1), names=NAMES)
    r = w.results
    # Displayed while its cell runs: no bootstrap there (it would delay the browser's hello).
    assert repr(w).split("\n")[0] == (
        f"InterSHAP: early fusion: global InterSHAP {r.global_intershap:.4f} over 2,000 samples"
        " (done)"
    )
    # Once a browser showed it, the saved summary's interval is in the line too.
    bundle = _shown(w)._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == w.model_id
    lines = bundle["text/plain"].split("\n")
    assert len(lines) == 2
    low, high = r.interval
    assert lines[0] == (
        f"InterSHAP: early fusion: global InterSHAP {r.global_intershap:.4f} "
        f"[{low:.3f}, {high:.3f}] over 2,000 samples (done)"
    )
    assert lines[1].startswith("InterSHAP: late fusion: global InterSHAP 0.")
    assert repr(w) == bundle["text/plain"]


def test_text_plain_of_a_run_that_has_not_started() -> None:
    summary = {
        "label": "m",
        "n": 0,
        "nSamples": 1000,
        "state": "running",
        "globalIntershap": None,
        "interval": None,
    }
    assert (
        saved_state.summary_line(summary)
        == "m: no sample computed yet, 0 of 1,000 samples (running)"
    )
    summary.update(n=10, globalIntershap=0.5)
    assert saved_state.summary_line(summary) == (
        "m: global InterSHAP 0.5000 over 10 of 1,000 samples (running)"
    )
