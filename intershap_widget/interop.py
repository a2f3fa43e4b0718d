r"""InterSHAP results as shapiq, shap and tidy pandas objects, and shapiq games as value tables.

The players are the M **modalities** (SPEC §1). Everything here is a function of the same value
tables the widget decomposes, in the same bitmask order (column ``b`` holds ``v(S)`` with
``S = {m : bit m of b set}``), computed with the numpy twin's closed-form weights
(``decompose.weights``), so the numbers agree with ``w.results`` to float rounding.

How the InterSHAP matrix relates to shapiq's indices (SPEC §2), for one sample's game:

- ``Φ_ij = SII({i,j}) / 2`` for i ≠ j: the off-diagonal cells halve the pair's Shapley
  interaction index (SII and 2-SII agree on pairs);
- ``Φ_ii = φ_i − Σ_{j≠i} Φ_ij = 2-SII({i})``: the diagonal is the main effect of order-2 k-SII
  (Bordt and von Luxburg 2023);
- ``SII({i}) = φ_i``, the Shapley value, which is also what SHAP reports.

shap and shapiq are optional (``pip install "intershap_widget[shap]"``, ``[shapiq]``, or
``[interop]`` for both); each is imported only inside the function that needs it.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from fractions import Fraction
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np

from .decompose.validation import validate_values
from .decompose.weights import centred, sii_weights
from .limits import MAX_MODALITIES, MIN_MODALITIES

if TYPE_CHECKING:
    import pandas as pd
    import shap
    import shapiq

    from .results import Results

__all__ = [
    "INDICES",
    "from_shapiq_game",
    "long_dataframe",
    "shapiq_game_values",
    "to_explanation",
    "to_interaction_values",
]

#: The interaction indices :func:`to_interaction_values` builds.
INDICES = ("SII", "k-SII")


def _require(module: str, extra: str) -> Any:
    """Imports an optional dependency, or says which extra installs it.

    Args:
        module: The module to import.
        extra: The extra of this package that installs it.

    Returns:
        The imported module.

    Raises:
        ImportError: The module is not installed; the message names the extra.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"{module} is not installed: this needs the optional extra, "
            f'pip install "intershap_widget[{extra}]"'
        ) from error


# --------------------------------------------------------------------------------------------
# shapiq


def _bernoulli(n: int) -> list[float]:
    """Bernoulli numbers B_0 … B_n with B_1 = −1/2 (the convention k-SII uses)."""
    b = [Fraction(1)]
    for k in range(1, n + 1):
        b.append(-sum(math.comb(k + 1, j) * b[j] for j in range(k)) / (k + 1))
    return [float(x) for x in b]


def _interactions(m: int, max_order: int) -> list[tuple[int, ...]]:
    """All coalitions of at most ``max_order`` players, in shapiq's order (by size, then lexic)."""
    return [s for k in range(max_order + 1) for s in combinations(range(m), k)]


def sii_table(values: np.ndarray, max_order: int) -> tuple[list[tuple[int, ...]], np.ndarray]:
    """Shapley interaction indices of every coalition of at most ``max_order`` modalities.

    ``SII(S) = Σ_{T⊇S} m(T) / (|T| − |S| + 1)`` (SPEC §2) for ``|S| >= 1``; for the empty set,
    as shapiq defines it, ``SII(∅) = Σ_T m(T) / (|T| + 1)`` (which is not ``v(∅)``).

    Args:
        values: ``(N, 2**M)`` value tables in bitmask order.
        max_order: The largest coalition size, 1 … M.

    Returns:
        The coalitions (tuples of modality indices, shapiq's order) and their indices, ``(N, K)``.

    Raises:
        TypeError: ``max_order`` is not an integer.
        ValueError: The tables are malformed or ``max_order`` is not in 1 … M.
    """
    v, m = validate_values(values, "values")
    if isinstance(max_order, bool) or not isinstance(max_order, (int, np.integer)):
        raise TypeError(f"max_order: expected an integer in 1..{m}, got {max_order!r}")
    if not 1 <= max_order <= m:
        raise ValueError(f"max_order: expected an integer in 1..{m} (M = {m}), got {max_order}")
    subsets = _interactions(m, int(max_order))
    weights = np.stack(
        [sii_weights(m, sum(1 << i for i in s)) for s in subsets], axis=1
    )  # (2**M, K)
    # Every weight column but the empty set's sums to 0, so centring changes nothing there and makes
    # a constant table give exact zeros (SPEC §2, "In the code"); the empty set's column sums to 1.
    out = centred(v) @ weights
    out[:, 0] += v[:, 0]
    return subsets, out


def k_sii_from_sii(
    subsets: list[tuple[int, ...]], sii: np.ndarray, empty: np.ndarray, order: int
) -> np.ndarray:
    """k-SII (Bordt and von Luxburg 2023) from the SII of every coalition up to size ``order``.

    ``k-SII(S) = Σ_{T⊇S, |T|<=k} B_{|T|−|S|} SII(T)`` for ``|S| >= 1`` (``B`` the Bernoulli
    numbers, ``B_1 = −1/2``), and ``k-SII(∅) = v(∅)``, so the values add up to ``v(full)``.

    Args:
        subsets: The coalitions, as :func:`sii_table` returns them.
        sii: Their SII, ``(N, K)``.
        empty: ``v(∅)`` per row, ``(N,)``.
        order: k.

    Returns:
        ``(N, K)`` k-SII in the order of ``subsets``.
    """
    bern = _bernoulli(order)
    position = {s: c for c, s in enumerate(subsets)}
    out = np.zeros_like(sii)
    for t, col in position.items():
        for size in range(1, len(t) + 1):
            for s in combinations(t, size):
                out[:, position[s]] += bern[len(t) - size] * sii[:, col]
    out[:, position[()]] = empty
    return out


def _game_table(results: Results, sample: int | None) -> np.ndarray:
    """The one value table ``to_shapiq`` explains: the mean over samples, or one sample's."""
    if results.values is None:
        raise ValueError("these results hold no value tables to build a game from")
    values = np.asarray(results.values, dtype=np.float64)
    if sample is None:
        return values.mean(axis=0, keepdims=True)
    try:
        index = -1 if isinstance(sample, (bool, np.bool_)) else operator.index(sample)
    except TypeError:
        index = -1
    if not 0 <= index < values.shape[0]:
        raise ValueError(
            f"sample: expected None or a sample index in 0..{values.shape[0] - 1}, got {sample!r}"
        )
    return values[index : index + 1]


def to_interaction_values(
    results: Results, sample: int | None = None, *, index: str = "SII", max_order: int = 2
) -> shapiq.InteractionValues:
    """See :meth:`Results.to_shapiq`.

    Args:
        results: The results to convert.
        sample: None for the mean game over the samples, or one sample's index.
        index: ``"SII"`` or ``"k-SII"``.
        max_order: The highest order of interaction, 1 … M.

    Returns:
        The exact (``estimated=False``) interaction values over the modalities.

    Raises:
        ImportError: shapiq is not installed.
        TypeError: ``max_order`` is not an integer.
        ValueError: An argument is out of range, or the results hold no value tables.
    """
    shapiq = _require("shapiq", "shapiq")
    if index not in INDICES:
        raise ValueError(f"index: expected one of {list(INDICES)}, got {index!r}")
    table = _game_table(results, sample)
    subsets, sii = sii_table(table, max_order)
    empty = table[:, 0]
    scores = sii if index == "SII" else k_sii_from_sii(subsets, sii, empty, int(max_order))
    m = table.shape[1].bit_length() - 1
    return shapiq.InteractionValues(
        values=scores[0].copy(),
        index=index,
        max_order=int(max_order),
        min_order=0,
        n_players=m,
        interaction_lookup={s: c for c, s in enumerate(subsets)},
        estimated=False,
        baseline_value=float(empty[0]),
    )


def _coalition_matrix(m: int) -> np.ndarray:
    """``(2**M, M)`` booleans: row ``b`` is the coalition with bitmask ``b`` (bit m = player m)."""
    b = np.arange(1 << m, dtype=np.int64)
    return ((b[:, None] >> np.arange(m, dtype=np.int64)) & 1).astype(bool)


def shapiq_game_values(games: Any, n_players: int | None = None) -> np.ndarray:
    """Value tables of shapiq games, by evaluating each on all ``2**M`` coalitions.

    The coalitions are passed as one ``(2**M, M)`` boolean matrix in bitmask order (row ``b``
    has player ``m`` present exactly when bit ``m`` of ``b`` is set), so the result is in the
    order ``InterSHAP(values=...)`` takes. A :class:`shapiq.Game` returns what
    ``ExactComputer`` sees too: for a game normalised by ``normalization_value`` that is
    ``v(S) − v(∅)``, so ``v(∅) = 0``; add ``game.normalization_value`` to get the model's
    output back (no interaction or InterSHAP score changes).

    Args:
        games: One game, or a sequence of games over the same players (one per sample). A game
            is a :class:`shapiq.Game` or any callable that takes the coalition matrix and returns
            one value per row.
        n_players: The number of players, needed only for games that are not
            :class:`shapiq.Game` objects (and checked against those that are).

    Returns:
        ``(N, 2**M)`` float64, ``N = 1`` for one game.

    Raises:
        TypeError: A game is not callable.
        ValueError: The number of players is unknown, differs between games, or is outside
            2 … 16; or a game returns the wrong number of values.
    """
    many = isinstance(games, Sequence) and not isinstance(games, (str, bytes))
    game_list = list(games) if many else [games]
    if not game_list:
        raise ValueError("games: expected a game or a non-empty sequence of games, got none")
    m = n_players
    for i, game in enumerate(game_list):
        players = getattr(game, "n_players", None)
        if not callable(game):
            raise TypeError(f"games[{i}]: expected a shapiq Game or a callable, got {game!r}")
        if players is not None and m is not None and int(players) != int(m):
            raise ValueError(
                f"games[{i}]: expected {m} players like the others, got {int(players)}"
            )
        if m is None and players is not None:
            m = int(players)
    if m is None:
        raise ValueError("n_players: expected the number of players for games that are callables")
    m = int(m)
    if not MIN_MODALITIES <= m <= MAX_MODALITIES:
        raise ValueError(
            f"n_players: expected {MIN_MODALITIES}..{MAX_MODALITIES} players (modalities), got {m}"
        )
    coalitions = _coalition_matrix(m)
    tables = np.empty((len(game_list), 1 << m), dtype=np.float64)
    for i, game in enumerate(game_list):
        row = np.asarray(game(coalitions), dtype=np.float64).reshape(-1)
        if row.shape[0] != 1 << m:
            raise ValueError(
                f"games[{i}]: expected {1 << m} values (one per coalition), got {row.shape[0]}"
            )
        tables[i] = row
    return tables


def _player_names(game: Any, m: int) -> list[str] | None:
    """The names a shapiq Game was given for its players, in player order, or None."""
    lookup = getattr(game, "player_name_lookup", None)
    if not lookup or len(lookup) != m:
        return None
    by_index = {int(i): str(name) for name, i in lookup.items()}
    return [by_index[i] for i in range(m)] if sorted(by_index) == list(range(m)) else None


def from_shapiq_game(
    cls: Callable[..., Any],
    games: Any,
    *,
    names: Sequence[str] | None = None,
    n_players: int | None = None,
    **widget_options: Any,
) -> Any:
    """A widget over the modalities of shapiq games (``InterSHAP.from_shapiq_game``).

    Each game is evaluated on all ``2**M`` coalitions (:func:`shapiq_game_values`); its value
    table becomes one sample, so one game gives ``N = 1`` and a sequence of games ``N`` samples.

    Args:
        cls: The widget class (``InterSHAP``); this function is its classmethod.
        games: One game or a sequence of games over the same players (see
            :func:`shapiq_game_values`).
        names: The modality names; by default the game's ``player_names``, else "modality 0", ….
        n_players: The number of players, for games that are plain callables.
        **widget_options: Passed to the widget (``label``, ``labels``, ``prediction``,
            ``cohorts``, ...).

    Returns:
        The widget.
    """
    tables = shapiq_game_values(games, n_players)
    if names is None:
        first = games[0] if isinstance(games, Sequence) and not isinstance(games, str) else games
        names = _player_names(first, tables.shape[1].bit_length() - 1)
    return cls(values=tables, names=names, **widget_options)


# --------------------------------------------------------------------------------------------
# shap


def to_explanation(results: Results, data: Any = None) -> shap.Explanation:
    """See :meth:`Results.to_explanation`.

    Args:
        results: The results to convert.
        data: None, ``"prediction"``, or an ``(N, M)`` array.

    Returns:
        The explanation.

    Raises:
        ImportError: shap is not installed.
        ValueError: The results hold no value tables, or ``data`` has the wrong shape.
    """
    shap = _require("shap", "shap")
    if results.values is None:
        raise ValueError("these results hold no value tables: v(∅) is unknown")
    values = np.asarray(results.values, dtype=np.float64)
    n, m = results.shapley.shape
    if isinstance(data, str):
        if data != "prediction":
            raise ValueError(f"data: expected None, 'prediction' or an (N, M) array, got {data!r}")
        pred = results.prediction if results.prediction is not None else values[:, -1]
        data = np.repeat(np.asarray(pred, dtype=np.float64).reshape(-1, 1), m, axis=1)
    elif data is not None:
        data = np.asarray(getattr(data, "to_numpy", lambda: data)())
        if data.shape != (n, m):
            raise ValueError(
                f"data: expected shape ({n}, {m}) (samples × modalities), got {data.shape}"
            )
    return shap.Explanation(
        values=np.array(results.shapley, dtype=np.float64),
        base_values=values[:, 0].copy(),
        data=data,
        feature_names=list(results.names),
    )


# --------------------------------------------------------------------------------------------
# pandas


def long_dataframe(results: Results) -> pd.DataFrame:
    """See :meth:`Results.to_dataframe` with ``long=True``.

    Args:
        results: The results to lay out.

    Returns:
        One row per sample and ordered pair of modalities (``N × M × M`` rows).
    """
    import pandas as pd

    n, m = results.shapley.shape
    names = list(results.names)
    ii, jj = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
    ii, jj = ii.reshape(-1), jj.reshape(-1)
    sample = np.repeat(np.arange(n), m * m)
    cat = pd.CategoricalDtype(names)
    frame = pd.DataFrame(
        {
            "sample": sample,
            "modality_i": pd.Categorical.from_codes(np.tile(ii, n), dtype=cat),
            "modality_j": pd.Categorical.from_codes(np.tile(jj, n), dtype=cat),
            "kind": pd.Categorical(
                np.where(np.tile(ii == jj, n), "main", "interaction"),
                categories=["main", "interaction"],
            ),
            "phi": np.asarray(results.matrices, dtype=np.float64).reshape(-1),
            "local_intershap": np.repeat(np.asarray(results.local), m * m),
        }
    )
    if results.prediction is not None:
        frame["prediction"] = np.repeat(np.asarray(results.prediction), m * m)
    if results.labels is not None:
        frame["label"] = np.repeat(np.asarray(results.labels), m * m)
    return frame
