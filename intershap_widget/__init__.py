"""intershap-widget: how much a multimodal model relies on interactions between modalities."""

from ._version import __version__
from .widget import InterSHAP


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "intershap-widget"}]


__all__ = ["InterSHAP", "__version__"]
