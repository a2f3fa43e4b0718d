"""shap, shapiq and pandas: w.results in each library's objects, checked against its own exact code.

shapiq and shap are optional extras; ``scripts/setup.sh --browser`` (the test command) installs
both, so these tests run in CI. Each module is skipped, with the reason, only where it is missing.
"""

from __future__ import annotations

import builtins
import io
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from intershap_widget import InterSHAP, interop, progress
from intershap_widget import decompose as twin
from intershap_widget.runs import ModelRun

NAMES = {2: ["image", "text"], 3: ["image", "text", "tab"], 4: ["image", "text", "tab", "ts"]}


def _widget(m: int, n: int = 40, seed: int = 0, **options) -> tuple[InterSHAP, np.ndarray]:
    values = np.random.default_rng(seed).normal(size=(n, 1 << m))
    return InterSHAP(values=values, names=NAMES[m], **options), values


def _table_game(table: np.ndarray):
    """A game over M players from one value table (bitmask order), as shapiq calls games."""
    m = table.shape[0].bit_length() - 1

    def game(coalitions: np.ndarray) -> np.ndarray:
        bits = (np.asarray(coalitions).astype(np.int64) * (1 << np.arange(m))).sum(axis=1)
        return table[bits]

    return game


def _assert_same_interactions(ours, theirs, tol: float = 1e-9) -> None:
    keys = set(ours.interaction_lookup) | set(theirs.interaction_lookup)
    for key in keys:  # shapiq drops exact zeros from k-SII; [] reads those as 0
        assert ours[key] == pytest.approx(theirs[key], abs=tol), key
    assert ours.index == theirs.index
    assert ours.max_order == theirs.max_order and ours.n_players == theirs.n_players
    assert ours.baseline_value == pytest.approx(theirs.baseline_value, abs=tol)


@pytest.fixture
def agg():
    matplotlib = pytest.importorskip("matplotlib", reason="matplotlib comes with shap and shapiq")
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.close("all")
    yield plt
    plt.close("all")


@pytest.fixture
def no_module(monkeypatch):
    """Makes importing the named modules fail, as where they are not installed."""
    import importlib

    real_import, real_import_module = builtins.__import__, importlib.import_module

    def hide(*names: str) -> None:
        def hidden(name: str) -> bool:
            return name.split(".")[0] in names

        def fake_import(name, *args, **kwargs):
            if hidden(name):
                raise ImportError(f"No module named {name!r}")
            return real_import(name, *args, **kwargs)

        def fake_import_module(name, package=None):
            if hidden(name):
                raise ImportError(f"No module named {name!r}")
            return real_import_module(name, package)

        monkeypatch.setattr(builtins, "__import__", fake_import)
        monkeypatch.setattr(importlib, "import_module", fake_import_module)

    return hide


def test_importing_the_package_imports_neither_shap_nor_shapiq_nor_tqdm():
    code = (
        "import sys, intershap_widget, intershap_widget.interop, intershap_widget.progress\n"
        "import intershap_widget.results\n"
        "print(sorted(m for m in ('shap', 'shapiq', 'tqdm', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------------------------
# shapiq


@pytest.fixture
def shapiq():
    return pytest.importorskip(
        "shapiq", reason='shapiq is not installed: pip install "intershap_widget[shapiq]"'
    )


@pytest.mark.parametrize("m", [2, 3, 4])
@pytest.mark.parametrize("index", ["SII", "k-SII"])
def test_one_samples_order_2_indices_equal_shapiqs_exact_computer(shapiq, m, index):
    w, values = _widget(m)
    for sample in (0, 7, 39):
        ours = w.results.to_shapiq(sample, index=index)
        theirs = shapiq.ExactComputer(_table_game(values[sample]), n_players=m)(index, 2)
        assert isinstance(ours, shapiq.InteractionValues)
        assert ours.min_order == 0 and not ours.estimated
        _assert_same_interactions(ours, theirs)
        assert ours.baseline_value == pytest.approx(values[sample, 0], abs=1e-12)


def test_sii_keeps_shapiqs_empty_set_value_and_k_sii_adds_up_to_the_prediction(shapiq):
    w, values = _widget(3)
    sii = w.results.to_shapiq(5)
    moebius = shapiq.ExactComputer(_table_game(values[5]), n_players=3)("Moebius")
    expected = sum(moebius[t] / (len(t) + 1) for t in moebius.interaction_lookup)
    assert sii[()] == pytest.approx(expected, abs=1e-12)  # SII(∅), not v(∅)
    assert sii.baseline_value == pytest.approx(values[5, 0], abs=1e-12)
    k_sii = w.results.to_shapiq(5, index="k-SII")
    assert k_sii[()] == pytest.approx(values[5, 0], abs=1e-12)
    assert sum(k_sii.dict_values.values()) == pytest.approx(values[5, -1], abs=1e-12)


def test_order_2_indices_are_the_intershap_matrix_and_shapley_values(shapiq):
    w, _ = _widget(4)
    r = w.results
    sii, k_sii = r.to_shapiq(11), r.to_shapiq(11, index="k-SII")
    for i in range(4):
        assert sii[(i,)] == pytest.approx(r.shapley[11, i], abs=1e-12)
        assert k_sii[(i,)] == pytest.approx(r.matrices[11, i, i], abs=1e-12)
        for j in range(i + 1, 4):
            assert sii[(i, j)] / 2 == pytest.approx(r.matrices[11, i, j], abs=1e-12)
            assert k_sii[(i, j)] == pytest.approx(sii[(i, j)], abs=1e-12)


@pytest.mark.parametrize("index", ["SII", "k-SII"])
def test_the_global_game_is_the_mean_value_table_whose_indices_are_the_mean_indices(shapiq, index):
    w, values = _widget(3, n=25, seed=4)
    r = w.results
    ours = r.to_shapiq(index=index)
    theirs = shapiq.ExactComputer(_table_game(values.mean(axis=0)), n_players=3)(index, 2)
    _assert_same_interactions(ours, theirs)
    per_sample = [r.to_shapiq(a, index=index) for a in range(25)]
    for key in ours.interaction_lookup:
        assert ours[key] == pytest.approx(np.mean([iv[key] for iv in per_sample]), abs=1e-12)
    if index == "k-SII":  # the mean InterSHAP matrix, as the widget shows it
        for i in range(3):
            assert ours[(i,)] == pytest.approx(r.mean_matrix[i, i], abs=1e-12)
            for j in range(i + 1, 3):
                assert ours[(i, j)] / 2 == pytest.approx(r.mean_matrix[i, j], abs=1e-12)


@pytest.mark.parametrize("index", ["SII", "k-SII"])
def test_every_order_up_to_m_equals_the_exact_computer(shapiq, index):
    w, values = _widget(4, seed=2)
    game = shapiq.ExactComputer(_table_game(values[3]), n_players=4)
    for order in (3, 4):
        _assert_same_interactions(
            w.results.to_shapiq(3, index=index, max_order=order), game(index, order)
        )
    for sample in (0, 3):  # order 1: the Shapley values
        sv = w.results.to_shapiq(sample, max_order=1)
        exact = shapiq.ExactComputer(_table_game(values[sample]), n_players=4)("SV", 1)
        _assert_same_interactions(sv, exact)
        np.testing.assert_allclose(
            [sv[(i,)] for i in range(4)], w.results.shapley[sample], atol=1e-12
        )


def test_sii_of_a_triple_is_the_twins_sii(shapiq):
    w, values = _widget(4, seed=6)
    iv = w.results.to_shapiq(9, max_order=3)
    assert iv[(0, 2, 3)] == pytest.approx(twin.sii(values, 0b1101)[9], abs=1e-12)


def test_shapiq_plots_draw_headless(shapiq, agg):
    from matplotlib.figure import Figure

    w, _ = _widget(3)
    names = w.results.names
    for index in ("SII", "k-SII"):
        for iv in (w.results.to_shapiq(index=index), w.results.to_shapiq(2, index=index)):
            fig, _ = shapiq.network_plot(iv, feature_names=names, show=False)
            assert isinstance(fig, Figure) and fig.axes
            fig, _ = iv.plot_network(feature_names=names, show=False)
            assert isinstance(fig, Figure)
            assert isinstance(shapiq.upset_plot(iv, feature_names=names, show=False), Figure)
            assert isinstance(iv.plot_upset(feature_names=names, show=False), Figure)
            assert isinstance(shapiq.force_plot(iv, feature_names=names, show=False), Figure)
            assert isinstance(iv.plot_force(feature_names=names, show=False), Figure)
            agg.close("all")  # shapiq's waterfall draws into pyplot's current figure
            ax = iv.plot_waterfall(feature_names=names, show=False)
            assert ax.get_yticklabels()
            agg.close("all")


def test_bad_arguments_are_refused_by_name(shapiq):
    w, _ = _widget(3)
    with pytest.raises(ValueError, match=r"sample: expected None or a sample index in 0\.\.39"):
        w.results.to_shapiq(40)
    with pytest.raises(ValueError, match=r"sample: expected None or a sample index"):
        w.results.to_shapiq(True)
    with pytest.raises(ValueError, match=r"index: expected one of \['SII', 'k-SII'\], got 'STII'"):
        w.results.to_shapiq(index="STII")
    with pytest.raises(ValueError, match=r"max_order: expected an integer in 1\.\.3 \(M = 3\)"):
        w.results.to_shapiq(max_order=4)
    with pytest.raises(TypeError, match=r"max_order: expected an integer"):
        w.results.to_shapiq(max_order=2.0)


def test_without_shapiq_the_error_names_the_extra(no_module):
    w, _ = _widget(2)
    no_module("shapiq")
    with pytest.raises(ImportError, match=r'pip install "intershap_widget\[shapiq\]"'):
        w.results.to_shapiq()


def _shapiq_game(shapiq, table: np.ndarray, names=None):
    m = table.shape[0].bit_length() - 1
    call = _table_game(table)

    class TableGame(shapiq.Game):
        def value_function(self, coalitions: np.ndarray) -> np.ndarray:
            return call(coalitions)

    return TableGame(n_players=m, normalize=False, player_names=names)


def test_a_shapiq_game_becomes_value_tables_in_bitmask_order(shapiq):
    table = np.random.default_rng(8).normal(size=8)
    game = _shapiq_game(shapiq, table)
    np.testing.assert_array_equal(interop.shapiq_game_values(game), table[None, :])
    seen = []

    def record(coalitions):
        seen.append(np.asarray(coalitions).copy())
        return np.zeros(len(coalitions))

    interop.shapiq_game_values(record, n_players=3)
    assert seen[0].tolist()[:4] == [
        [False, False, False],
        [True, False, False],
        [False, True, False],
        [True, True, False],
    ]


def test_from_shapiq_game_gives_a_widget_that_agrees_with_the_exact_computer(shapiq):
    tables = np.random.default_rng(9).normal(size=(5, 8))
    games = [_shapiq_game(shapiq, t, names=["a", "b", "c"]) for t in tables]
    one = interop.from_shapiq_game(InterSHAP, games[2], label="game")
    assert one.results.n == 1 and one.results.names == ["a", "b", "c"]
    _assert_same_interactions(one.results.to_shapiq(0), shapiq.ExactComputer(games[2])("SII", 2))
    many = interop.from_shapiq_game(InterSHAP, games, names=["x", "y", "z"])
    np.testing.assert_array_equal(many.results.values, tables)
    assert many.results.names == ["x", "y", "z"]
    for a in range(5):
        _assert_same_interactions(
            many.results.to_shapiq(a, index="k-SII"),
            shapiq.ExactComputer(games[a])("k-SII", 2),
        )
    normalised = _shapiq_game(shapiq, tables[0])
    normalised.normalization_value = float(tables[0, 0])  # what ExactComputer sees, v(∅) = 0
    np.testing.assert_allclose(
        interop.shapiq_game_values(normalised)[0], tables[0] - tables[0, 0], atol=1e-15
    )


def test_games_that_do_not_fit_are_refused_by_name():
    with pytest.raises(ValueError, match=r"n_players: expected the number of players"):
        interop.shapiq_game_values(lambda c: np.zeros(len(c)))
    with pytest.raises(ValueError, match=r"n_players: expected 2\.\.16 players"):
        interop.shapiq_game_values(lambda c: np.zeros(len(c)), n_players=1)
    with pytest.raises(ValueError, match=r"games\[0\]: expected 8 values"):
        interop.shapiq_game_values(lambda c: np.zeros(3), n_players=3)
    with pytest.raises(TypeError, match=r"games\[1\]: expected a shapiq Game or a callable"):
        interop.shapiq_game_values([lambda c: np.zeros(len(c)), 3], n_players=3)
    with pytest.raises(ValueError, match=r"games: expected a game or a non-empty sequence"):
        interop.shapiq_game_values([])


# --------------------------------------------------------------------------------------------
# shap


@pytest.fixture
def shap():
    return pytest.importorskip(
        "shap", reason='shap is not installed: pip install "intershap_widget[shap]"'
    )


def _shap_exact(shap, table: np.ndarray, interactions: int = 1) -> np.ndarray:
    """SHAP's own exact explainer on the game: a model of M presence bits, absent = 0."""
    m = table.shape[0].bit_length() - 1
    model = _table_game(table)
    masker = shap.maskers.Independent(np.zeros((1, m)), max_samples=1)
    explainer = shap.explainers.Exact(model, masker)
    return explainer(np.ones((1, m)), interactions=interactions).values[0]


@pytest.mark.parametrize("m", [2, 3, 4])
def test_the_explanation_holds_shapley_values_equal_to_shaps_exact_explainer(shap, m):
    w, values = _widget(m, prediction=np.linspace(0, 1, 40))
    e = w.results.to_explanation()
    assert isinstance(e, shap.Explanation)
    assert e.values.shape == (40, m) and list(e.feature_names) == NAMES[m] and e.data is None
    np.testing.assert_allclose(e.values, w.results.shapley, atol=0)
    np.testing.assert_allclose(e.base_values, values[:, 0], atol=0)
    # efficiency: each row adds up to v(full) − v(∅)
    np.testing.assert_allclose(e.values.sum(axis=1), values[:, -1] - values[:, 0], atol=1e-12)
    for sample in (0, 13, 39):
        np.testing.assert_allclose(_shap_exact(shap, values[sample]), e.values[sample], atol=1e-9)


def test_shaps_exact_interactions_are_the_intershap_matrix_for_two_modalities(shap, shapiq):
    w, values = _widget(2)
    np.testing.assert_allclose(
        _shap_exact(shap, values[4], interactions=2), w.results.matrices[4], atol=1e-9
    )
    # From three modalities on they differ: SHAP's exact pair values are the Shapley-Taylor index
    # (halved), not the SII that InterSHAP (and to_shapiq) use.
    w3, values3 = _widget(3)
    shaps = _shap_exact(shap, values3[4], interactions=2)
    stii = shapiq.ExactComputer(_table_game(values3[4]), n_players=3)("STII", 2)
    assert shaps[0, 1] == pytest.approx(stii[(0, 1)] / 2, abs=1e-9)
    assert abs(shaps[0, 1] - w3.results.matrices[4, 0, 1]) > 1e-3


def test_shap_plots_draw_headless(shap, agg):
    w, _ = _widget(3, prediction=np.linspace(0, 1, 40))
    for data in (None, "prediction"):
        e = w.results.to_explanation(data=data)
        assert shap.plots.bar(e, show=False) is not None
        agg.close("all")
        assert shap.plots.waterfall(e[3], show=False) is not None
        agg.close("all")
        shap.plots.beeswarm(e, show=False)
        assert agg.gcf().axes
        agg.close("all")


def test_explanation_data_is_the_prediction_or_a_given_array(shap):
    w, values = _widget(3, prediction=np.linspace(0, 1, 40))
    e = w.results.to_explanation(data="prediction")
    np.testing.assert_array_equal(e.data, np.repeat(np.linspace(0, 1, 40)[:, None], 3, axis=1))
    bare, _ = _widget(3)
    np.testing.assert_array_equal(
        bare.results.to_explanation(data="prediction").data[:, 1], values[:, -1]
    )
    given = np.arange(120.0).reshape(40, 3)
    np.testing.assert_array_equal(w.results.to_explanation(data=given).data, given)
    with pytest.raises(
        ValueError, match=r"data: expected shape \(40, 3\) \(samples × modalities\)"
    ):
        w.results.to_explanation(data=np.zeros((40, 2)))
    with pytest.raises(ValueError, match=r"data: expected None, 'prediction' or an \(N, M\) array"):
        w.results.to_explanation(data="label")


def test_without_shap_the_error_names_the_extra(no_module):
    w, _ = _widget(2)
    no_module("shap")
    with pytest.raises(ImportError, match=r'pip install "intershap_widget\[shap\]"'):
        w.results.to_explanation()


# --------------------------------------------------------------------------------------------
# pandas


def test_long_dataframe_is_tidy_with_one_row_per_sample_and_ordered_pair():
    pd = pytest.importorskip("pandas")
    labels = np.arange(40) % 2
    prediction = np.linspace(0, 1, 40)
    w, values = _widget(3, labels=labels, prediction=prediction)
    r = w.results
    frame = r.to_dataframe(long=True)
    assert list(frame.columns) == [
        "sample",
        "modality_i",
        "modality_j",
        "kind",
        "phi",
        "local_intershap",
        "prediction",
        "label",
    ]
    assert len(frame) == 40 * 9
    assert list(frame["modality_i"].cat.categories) == NAMES[3]
    assert (frame["kind"] == "main").sum() == 40 * 3
    assert ((frame["kind"] == "main") == (frame["modality_i"] == frame["modality_j"])).all()
    cube = frame.pivot_table(
        index="sample", columns=["modality_i", "modality_j"], values="phi", observed=True
    )
    np.testing.assert_array_equal(cube.to_numpy().reshape(40, 3, 3), r.matrices)
    sums = frame.groupby("sample")["phi"].sum().to_numpy()
    np.testing.assert_allclose(sums, values[:, -1] - values[:, 0], atol=1e-12)
    first = frame.groupby("sample").first()
    np.testing.assert_array_equal(first["local_intershap"], r.local)
    np.testing.assert_array_equal(first["prediction"], prediction)
    np.testing.assert_array_equal(first["label"], labels)
    inter = frame[frame["kind"] == "interaction"].assign(a=lambda f: f["phi"].abs())
    shares = (
        inter.groupby("sample")["a"].sum()
        / frame.assign(a=frame["phi"].abs()).groupby("sample")["a"].sum()
    )
    np.testing.assert_allclose(shares.to_numpy(), r.local, atol=1e-12)
    assert isinstance(frame, pd.DataFrame)


def test_long_dataframe_leaves_out_what_is_unknown_and_wide_stays_the_default():
    pytest.importorskip("pandas")
    w, _ = _widget(2)
    frame = w.results.to_dataframe(long=True)
    assert list(frame.columns) == [
        "sample",
        "modality_i",
        "modality_j",
        "kind",
        "phi",
        "local_intershap",
    ]
    wide = w.results.to_dataframe()
    assert len(wide) == 40 and "shapley[image]" in wide.columns


# --------------------------------------------------------------------------------------------
# progress


def _running(n: int = 200, label: str = "toy") -> ModelRun:
    return ModelRun(
        model_id="m", label=label, names=["a", "b"], values=np.zeros((n, 4)), state="running"
    )


def _fill(run: ModelRun, step: int = 20, pause: float = 0.02, error=None) -> threading.Thread:
    def work() -> None:
        while run.filled < run.n_samples:
            time.sleep(pause)
            run.filled = min(run.n_samples, run.filled + step)
            run.model_rows += step * 40
        run.error = error
        run.state = "error" if error else "done"
        run.finished.set()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def test_wait_draws_a_tqdm_bar_per_model_then_leaves_the_plain_line(capsys):
    tqdm = pytest.importorskip("tqdm", reason="tqdm comes with shap and shapiq")
    assert progress.tqdm_class() is not None
    runs = [_running(label="early"), _running(n=100, label="late")]
    threads = [_fill(runs[0]), _fill(runs[1], step=2, pause=0.02)]
    out = io.StringIO()
    progress.wait_for_runs(runs, bar=tqdm.tqdm, file=out)
    for thread in threads:
        thread.join()
    drawn = out.getvalue()
    assert "early:" in drawn and "late:" in drawn
    assert "/200" in drawn and "/100" in drawn
    assert "samples/s" in drawn  # tqdm's rate, samples as the unit
    assert "model rows" in drawn
    printed = [line.strip() for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert printed == [
        runs[0].progress_line(),
        runs[1].progress_line(),
    ]
    assert printed[0].startswith("early: 200/200 samples (100%), done, ")


def test_wait_uses_tqdm_auto_by_default(capsys):
    pytest.importorskip("tqdm", reason="tqdm comes with shap and shapiq")
    run = _running()
    _fill(run)
    out = io.StringIO()
    progress.wait_for_runs([run], file=out)
    assert "toy:" in out.getvalue() and "/200" in out.getvalue()
    assert capsys.readouterr().out.strip().startswith("toy: 200/200 samples (100%), done")


def test_without_tqdm_wait_rewrites_the_plain_line(capsys, monkeypatch):
    monkeypatch.setattr(progress, "tqdm_class", lambda: None)
    monkeypatch.setattr(progress, "LINE_POLL_S", 0.01)
    run = _running()
    _fill(run, step=5)
    progress.wait_for_runs([run])
    printed = capsys.readouterr().out
    assert printed.count("\r") > 2
    assert printed.strip().split("\r")[-1].strip().startswith("toy: 200/200 samples (100%), done")


def test_wait_times_out_closes_its_bar_and_reraises_a_models_error(capsys):
    tqdm = pytest.importorskip("tqdm", reason="tqdm comes with shap and shapiq")
    stuck = _running()
    out = io.StringIO()
    with pytest.raises(TimeoutError, match=r"timeout: 'toy' not finished after 0.2 s"):
        progress.wait_for_runs([stuck], timeout=0.2, bar=tqdm.tqdm, file=out)
    assert not tqdm.tqdm._instances  # closed
    failing = _running(label="bad")
    _fill(failing, error=RuntimeError("model raised"))
    with pytest.raises(RuntimeError, match="model raised"):
        progress.wait_for_runs([failing], bar=tqdm.tqdm, file=out)
    assert "bad: 200/200 samples (100%), error" in capsys.readouterr().out


def test_finished_runs_and_quiet_waits_draw_no_bar(capsys):
    tqdm = pytest.importorskip("tqdm", reason="tqdm comes with shap and shapiq")
    w, _ = _widget(2)
    out = io.StringIO()
    progress.wait_for_runs(w._runs.values(), bar=tqdm.tqdm, file=out)
    assert out.getvalue() == ""
    assert capsys.readouterr().out.strip() == "model: 40/40 samples (100%), done"
    run = _running()
    _fill(run)
    progress.wait_for_runs([run], verbose=False, bar=tqdm.tqdm, file=out)
    assert out.getvalue() == "" and capsys.readouterr().out == ""
