"""intershap-widget: how much a multimodal model relies on interactions between modalities."""

from __future__ import annotations

from typing import Any

from ._version import __version__


def __getattr__(name: str) -> Any:
    # The widget needs ipywidgets; the engine, the numpy twin and the benchmarks do not, and run
    # where it is not installed (a GPU machine running `python -m intershap_widget.bench`).
    if name == "InterSHAP":
        from .widget import InterSHAP

        return InterSHAP
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "intershap-widget"}]


__all__ = ["InterSHAP", "__version__"]
