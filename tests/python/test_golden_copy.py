"""The vendored golden file must be the shared original, byte for byte, wherever both exist."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENDORED = REPO / "tests" / "golden" / "reference_games.json"
SHARED = REPO.parent / "shared" / "golden" / "reference_games.json"


def test_vendored_golden_file_exists() -> None:
    assert VENDORED.stat().st_size > 1000


@pytest.mark.skipif(not SHARED.exists(), reason="no ../shared checkout beside this clone")
def test_vendored_golden_file_equals_the_shared_original() -> None:
    assert VENDORED.read_bytes() == SHARED.read_bytes()
