"""Tests of intershap_widget.decompose per sample: golden games, SPEC §5 identities, SEs, CLI.

Aggregates over samples and the bootstrap are tested in test_aggregate.py.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intershap_widget.decompose import (
    aggregate,
    decompose,
    propagate_standard_errors,
    sii,
    to_jsonable,
)

REPO = Path(__file__).resolve().parents[2]
# A copy of ../shared/golden, vendored so a clone alone can run the tests; test_golden_copy.py
# checks that it still equals the shared original where that is present.
GOLDEN = REPO / "tests" / "golden" / "reference_games.json"

ATOL = 1e-9


GAMES = json.loads(GOLDEN.read_text())["games"]


def _nan_list(x: list) -> np.ndarray:
    return np.array([math.nan if e is None else e for e in x], dtype=float)


# ---------------------------------------------------------------------------------------------
# A slow, loop-based reference straight from the definitions (SPEC §2), independent of the
# weight matrices the module uses.
# ---------------------------------------------------------------------------------------------


def _popcount(b: int) -> int:
    return b.bit_count()


def _mobius(v: np.ndarray) -> np.ndarray:
    """m(T) = Σ_{S⊆T} (−1)^{|T|−|S|} v(S), by the definition (no fast transform)."""
    size = v.shape[0]
    out = np.zeros(size)
    for t in range(size):
        s = t
        while True:
            out[t] += (-1) ** (_popcount(t) - _popcount(s)) * v[s]
            if s == 0:
                break
            s = (s - 1) & t
    return out


def _reference(v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(φ, Φ, masses) for one value table, from the Möbius coefficients."""
    size = v.shape[0]
    m = size.bit_length() - 1
    mob = _mobius(v)
    phi = np.array(
        [sum(mob[t] / _popcount(t) for t in range(size) if t >> i & 1) for i in range(m)]
    )
    mat = np.zeros((m, m))
    for i, j in itertools.combinations(range(m), 2):
        pair = (1 << i) | (1 << j)
        s = sum(mob[t] / (_popcount(t) - 1) for t in range(size) if t & pair == pair)
        mat[i, j] = mat[j, i] = s / 2
    for i in range(m):
        mat[i, i] = phi[i] - (mat[i].sum() - mat[i, i])
    masses = np.array(
        [sum(mob[t] for t in range(size) if _popcount(t) == k) for k in range(1, m + 1)]
    )
    return phi, mat, masses


def _permutation_shapley(v: np.ndarray) -> np.ndarray:
    """Shapley values as the average marginal contribution over all orderings."""
    m = v.shape[0].bit_length() - 1
    phi = np.zeros(m)
    perms = list(itertools.permutations(range(m)))
    for order in perms:
        b = 0
        for i in order:
            phi[i] += v[b | (1 << i)] - v[b]
            b |= 1 << i
    return phi / len(perms)


def _random_values(m: int, seed: int, n: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 1 << m))


def _permute_table(values: np.ndarray, perm: list[int]) -> np.ndarray:
    """Table of the game where old modality i is called perm[i]: v'(perm(S)) = v(S)."""
    m = len(perm)
    out = np.empty_like(values)
    for b in range(1 << m):
        nb = 0
        for i in range(m):
            if b >> i & 1:
                nb |= 1 << perm[i]
        out[:, nb] = values[:, b]
    return out


# ---------------------------------------------------------------------------------------------
# Golden games
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("g", range(len(GAMES)), ids=[f"{g['kind']}-M{g['M']}" for g in GAMES])
def test_golden_game(g: int) -> None:
    game = GAMES[g]
    dec = decompose(np.array(game["values"], dtype=float))
    agg = aggregate(dec)
    assert dec.M == game["M"]
    np.testing.assert_allclose(dec.matrices, np.array(game["matrices"]), rtol=0, atol=ATOL)
    np.testing.assert_allclose(dec.shapley, np.array(game["shapley"]), rtol=0, atol=ATOL)
    expected_local = _nan_list(game["local"])
    np.testing.assert_array_equal(np.isnan(dec.local), np.isnan(expected_local))
    np.testing.assert_allclose(dec.local, expected_local, rtol=0, atol=ATOL, equal_nan=True)
    assert agg.n_undefined == int(np.isnan(expected_local).sum())
    for ours, key in [
        (agg.local_mean, "local_mean"),
        (agg.global_intershap, "global_intershap"),
        (agg.interaction_share, "interactions_share"),
    ]:
        if game[key] is None:
            assert math.isnan(ours)
        else:
            assert ours == pytest.approx(game[key], abs=ATOL), key
    np.testing.assert_allclose(
        agg.modality_contributions, np.array(game["modality_contributions"]), rtol=0, atol=ATOL
    )


def test_golden_cli_prints_the_golden_numbers() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "intershap_widget.decompose", str(GOLDEN)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)["games"]
    assert len(out) == len(GAMES)
    for ours, game in zip(out, GAMES):
        assert set(ours) >= {
            "M",
            "matrices",
            "shapley",
            "local",
            "global_intershap",
            "modality_contributions",
            "order_mass",
        }
        assert ours["M"] == game["M"]
        np.testing.assert_allclose(ours["matrices"], game["matrices"], rtol=0, atol=ATOL)
        np.testing.assert_allclose(ours["shapley"], game["shapley"], rtol=0, atol=ATOL)
        np.testing.assert_allclose(
            _nan_list(ours["local"]), _nan_list(game["local"]), rtol=0, atol=ATOL, equal_nan=True
        )
        assert ours["global_intershap"] == pytest.approx(game["global_intershap"], abs=ATOL)
        masses = np.array(ours["order_mass"])
        values = np.array(game["values"])
        np.testing.assert_allclose(masses.sum(axis=1), values[:, -1] - values[:, 0], atol=ATOL)


# ---------------------------------------------------------------------------------------------
# Against the slow reference
# ---------------------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(m=st.integers(2, 6), seed=st.integers(0, 2**32 - 1))
def test_matches_definition_based_reference(m: int, seed: int) -> None:
    values = _random_values(m, seed, n=2)
    dec = decompose(values)
    for a in range(values.shape[0]):
        phi, mat, masses = _reference(values[a])
        np.testing.assert_allclose(dec.shapley[a], phi, atol=1e-12)
        np.testing.assert_allclose(dec.matrices[a], mat, atol=1e-12)
        np.testing.assert_allclose(dec.order_mass[a], masses, atol=1e-12)
        if m <= 5:
            np.testing.assert_allclose(dec.shapley[a], _permutation_shapley(values[a]), atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(m=st.integers(2, 6), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_sii_of_any_set_matches_definition(m: int, seed: int, data: st.DataObject) -> None:
    values = _random_values(m, seed, n=2)
    mask = data.draw(st.integers(1, (1 << m) - 1))
    s = _popcount(mask)
    expected = []
    for row in values:
        mob = _mobius(row)
        expected.append(
            sum(mob[t] / (_popcount(t) - s + 1) for t in range(1 << m) if t & mask == mask)
        )
    np.testing.assert_allclose(sii(values, mask), expected, atol=1e-12)


def test_sii_special_cases() -> None:
    values = _random_values(5, 7, n=4)
    dec = decompose(values)
    for i in range(5):
        np.testing.assert_allclose(sii(values, 1 << i), dec.shapley[:, i], atol=1e-12)
    np.testing.assert_allclose(sii(values, 0b10100), 2 * dec.matrices[:, 2, 4], atol=1e-12)
    # The SII of the grand coalition is its Möbius coefficient.
    np.testing.assert_allclose(sii(values, 0b11111), [_mobius(r)[-1] for r in values], atol=1e-12)
    assert sii(values, np.int64(3)).shape == (4,)


# ---------------------------------------------------------------------------------------------
# SPEC §5 identities on random games up to M = 10
# ---------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(m=st.integers(2, 10), seed=st.integers(0, 2**32 - 1))
def test_efficiency_symmetry_rows_and_masses(m: int, seed: int) -> None:
    values = _random_values(m, seed)
    dec = decompose(values)
    total = values[:, -1] - values[:, 0]
    np.testing.assert_allclose(dec.matrices.sum(axis=(1, 2)), total, atol=1e-10)
    np.testing.assert_array_equal(dec.matrices, np.swapaxes(dec.matrices, 1, 2))
    np.testing.assert_allclose(dec.matrices.sum(axis=2), dec.shapley, atol=1e-10)
    np.testing.assert_allclose(dec.shapley.sum(axis=1), total, atol=1e-10)
    np.testing.assert_allclose(dec.order_mass.sum(axis=1), total, atol=1e-9)
    assert np.all((dec.local >= 0) & (dec.local <= 1))
    agg = aggregate(dec)
    assert agg.interaction_share + agg.modality_contributions.sum() == pytest.approx(1.0)


@settings(max_examples=30, deadline=None)
@given(m=st.integers(2, 10), seed=st.integers(0, 2**32 - 1))
def test_additive_game_has_no_interactions(m: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=(4, m))
    offset = rng.normal(size=(4, 1))
    member = ((np.arange(1 << m)[:, None] >> np.arange(m)) & 1).astype(float)
    values = offset + weights @ member.T
    dec = decompose(values)
    off = dec.matrices * (1 - np.eye(m))
    np.testing.assert_allclose(off, 0, atol=1e-10)
    np.testing.assert_allclose(np.diagonal(dec.matrices, axis1=1, axis2=2), weights, atol=1e-10)
    np.testing.assert_allclose(dec.local, 0, atol=1e-10)
    assert aggregate(dec).global_intershap == pytest.approx(0, abs=1e-10)
    np.testing.assert_allclose(dec.order_mass[:, 1:], 0, atol=1e-9)


@pytest.mark.parametrize("m", range(2, 11))
def test_pure_m_way_synergy(m: int) -> None:
    values = np.zeros((2, 1 << m))
    values[:, -1] = [1.0, -3.0]  # v = c·[S = full]
    dec = decompose(values)
    expected = m / (2 * (m - 1))
    np.testing.assert_allclose(dec.local, expected, atol=1e-12)
    assert aggregate(dec, [0]).global_intershap == pytest.approx(expected, abs=1e-12)
    np.testing.assert_allclose(dec.shapley[0], 1 / m, atol=1e-12)
    np.testing.assert_allclose(dec.order_mass[0], [0] * (m - 1) + [1], atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(m=st.integers(2, 8), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_permuting_modalities_permutes_phi(m: int, seed: int, data: st.DataObject) -> None:
    perm = data.draw(st.permutations(list(range(m))))
    values = _random_values(m, seed)
    dec = decompose(values)
    dec_p = decompose(_permute_table(values, perm))
    p = np.array(perm)
    expected = np.empty_like(dec.matrices)
    expected[:, p[:, None], p[None, :]] = dec.matrices
    np.testing.assert_allclose(dec_p.matrices, expected, atol=1e-12)
    expected_phi = np.empty_like(dec.shapley)
    expected_phi[:, p] = dec.shapley
    np.testing.assert_allclose(dec_p.shapley, expected_phi, atol=1e-12)
    np.testing.assert_allclose(dec_p.local, dec.local, atol=1e-12)
    np.testing.assert_allclose(dec_p.order_mass, dec.order_mass, atol=1e-9)


def test_large_m_runs_and_is_efficient() -> None:
    m = 13  # above the full-matrix weight layout, exercising the pair layout
    values = _random_values(m, 3, n=2)
    dec = decompose(values)
    np.testing.assert_allclose(
        dec.matrices.sum(axis=(1, 2)), values[:, -1] - values[:, 0], atol=1e-9
    )
    np.testing.assert_allclose(dec.matrices.sum(axis=2), dec.shapley, atol=1e-10)
    np.testing.assert_allclose(sii(values, 1 << 5), dec.shapley[:, 5], atol=1e-12)
    np.testing.assert_allclose(sii(values, 0b1001), 2 * dec.matrices[:, 0, 3], atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Standard errors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("m", [2, 3, 5, 9])
def test_se_propagation_matches_explicit_weights(m: int) -> None:
    rng = np.random.default_rng(m)
    se = rng.uniform(0, 0.1, size=(4, 1 << m))
    se[:, 0] = se[:, -1] = 0.0
    # The decomposition of a unit table e_S gives the weight of coalition S in every output.
    basis = decompose(np.eye(1 << m))
    want_phi = np.sqrt(np.einsum("nb,bi->ni", se**2, basis.shapley**2))
    want_mat = np.sqrt(np.einsum("nb,bij->nij", se**2, basis.matrices**2))
    se_phi, se_mat = propagate_standard_errors(se)
    assert se_phi.shape == (4, m) and se_mat.shape == (4, m, m)
    np.testing.assert_allclose(se_phi, want_phi, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(se_mat, want_mat, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(propagate_standard_errors(np.zeros((1, 1 << m)))[0], 0)


def test_se_propagation_matches_monte_carlo() -> None:
    m, reps = 3, 20000
    rng = np.random.default_rng(0)
    base = rng.normal(size=(1, 1 << m))
    se = rng.uniform(0.05, 0.2, size=(1, 1 << m))
    noisy = base + se * rng.standard_normal((reps, 1 << m))
    dec = decompose(noisy)
    se_phi, se_mat = propagate_standard_errors(se)
    np.testing.assert_allclose(dec.shapley.std(axis=0), se_phi[0], rtol=0.04)
    np.testing.assert_allclose(dec.matrices.std(axis=0), se_mat[0], rtol=0.04)


def test_se_validation() -> None:
    with pytest.raises(ValueError, match="se: expected non-negative"):
        propagate_standard_errors(-np.ones((1, 4)))
    with pytest.raises(ValueError, match=r"se: expected shape \(N, 2\*\*M\)"):
        propagate_standard_errors(np.ones((1, 5)))


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "match"),
    [
        (np.zeros(4), r"values: expected a 2-D array .* got 1-D shape \(4,\)"),
        (np.zeros((2, 2, 4)), r"values: expected a 2-D array .* got 3-D"),
        (
            np.zeros((5, 6)),
            (
                r"values: expected shape \(N, 2\*\*M\) with 2\*\*M a power of two >= 4, "
                r"got shape \(5, 6\)"
            ),
        ),
        (np.zeros((5, 2)), r"power of two >= 4, got shape \(5, 2\)"),
        (np.zeros((5, 0)), r"power of two >= 4, got shape \(5, 0\)"),
        (
            np.zeros((1, 1 << 17)),
            r"M in the supported range 2\.\.16, got 131072 columns \(M = 17\)",
        ),
        (np.zeros((0, 8)), r"values: expected at least one sample \(N >= 1\), got N = 0"),
        (np.array([[0, 1, np.nan, 2.0]]), r"values: expected finite numbers, got nan at row 0"),
        (np.array([[0, 1, 2.0, 3], [0, 0, np.inf, 0]]), r"got inf at row 1, column 2"),
        ([["a", "b", "c", "d"]], r"values: expected a numeric array"),
    ],
)
def test_validation_errors(values: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        decompose(values)  # type: ignore[arg-type]


def test_accepts_lists_and_ints() -> None:
    dec = decompose([[0, 1, 1, 3]])
    np.testing.assert_allclose(dec.matrices[0], [[1.0, 0.5], [0.5, 1.0]])


@pytest.mark.parametrize("mask", [0, 8, -1, True, 1.0, "3"])
def test_sii_bad_mask(mask: object) -> None:
    with pytest.raises(ValueError, match=r"subset_mask: expected .*1\.\.7"):
        sii(np.zeros((1, 8)), mask)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# JSON and CLI
# ---------------------------------------------------------------------------------------------


def test_to_jsonable_uses_null_for_undefined() -> None:
    values = np.zeros((2, 4))
    values[1] = [0, 1, 1, 1]
    out = to_jsonable(decompose(values))
    assert out["local"][0] is None and out["local"][1] == pytest.approx(1 / 3)
    text = json.dumps(out, allow_nan=False)
    assert "NaN" not in text
    zero = to_jsonable(decompose(np.zeros((1, 4))))
    assert zero["global_intershap"] is None
    assert zero["modality_contributions"] == [None, None]
    assert zero["local_mean"] is None and zero["n_undefined"] == 1


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "intershap_widget.decompose", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )


def test_cli_nulls_for_undefined(tmp_path: Path) -> None:
    path = tmp_path / "games.json"
    path.write_text(json.dumps({"games": [{"M": 2, "values": [[0, 0, 0, 0], [0, 1, 1, 1]]}]}))
    proc = _run_cli(str(path))
    assert proc.returncode == 0, proc.stderr
    assert "NaN" not in proc.stdout
    game = json.loads(proc.stdout)["games"][0]
    assert game["local"][0] is None
    assert game["local"][1] == pytest.approx(1 / 3)
    assert game["M"] == 2 and len(game["order_mass"]) == 2


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, "cannot read"),
        ("{not json", "not valid JSON"),
        ('{"games": 3}', '"games" list'),
        ('{"games": [{"M": 2, "values": [[0, 1, 2]]}]}', r"games\[0\]\.values: expected shape"),
        ('{"games": [{"M": 3, "values": [[0, 1, 2, 3]]}]}', r"games\[0\]\.M: expected M to match"),
        ('{"games": [{"M": 2, "values": [[0, null, 2, 3]]}]}', r"games\[0\]\.values: expected"),
    ],
)
def test_cli_errors(tmp_path: Path, content: str | None, match: str) -> None:
    path = tmp_path / "in.json"
    if content is not None:
        path.write_text(content)
    proc = _run_cli(str(path))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert re.search(match, proc.stderr), proc.stderr
