"""Figures for papers: ``w.export(path, ...)`` asks the browser to draw a view and waits for the file.

The browser owns the views, so it draws the figure (plotly's SVG, svg2pdf.js and jsPDF for PDF, a
canvas for PNG) and sends the bytes back over the widget's comm. A cell that waits for that reply
would block the very thread the reply is handled on: ``wait_for`` has the reply handled
elsewhere while the cell waits, and cells queued behind it ("Run All") still wait their turn.
"""

from __future__ import annotations

import contextvars
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

EXPORT_FORMATS = {".svg": "svg", ".pdf": "pdf", ".png": "png"}
EXPORT_VIEWS = ("global", "local", "cohorts", "compare")
EXPORT_THEMES = ("paper", "screen")
SINGLE_COLUMN_MM = 88.0
DOUBLE_COLUMN_MM = 180.0
#: Longest page side accepted, in millimetres (A0 is 1189 mm).
MAX_SIDE_MM = 1200.0
#: PNG pixels per side at most: Chromium's canvas refuses larger images.
MAX_PNG_SIDE_PX = 16384
#: How long export waits for a browser to say it holds the widget before it gives up.
BROWSER_ATTACH_TIMEOUT_S = 10.0

#: The type of the replies one kind of request gets.
R = TypeVar("R")

NO_BROWSER_MESSAGE = (
    "export: no browser is showing this widget, and the figure is drawn by the browser. Display the "
    "widget in JupyterLab or Notebook 7 (put `w` at the end of a cell), wait for it to appear, then "
    "call w.export(...) again. In a script or nbclient, where nothing renders widgets, save the "
    "numbers instead: w.results.to_csv(...) or w.results.to_latex()."
)


@dataclass(frozen=True)
class ExportSpec:
    """A checked export request.

    Attributes:
        path: Where the file goes.
        format: ``"svg"``, ``"pdf"`` or ``"png"``, from the path's suffix.
        view: ``"global"``, ``"local"``, ``"cohorts"`` or ``"compare"`` (two or more models).
        chart: One chart of the view by name, or None for every panel.
        sample: The local view's sample, or None for the one shown.
        width_mm: Page width in millimetres.
        height_mm: Page height in millimetres, or None for what the panels need.
        font_pt: Text size in points.
        dpi: Resolution of a PNG and of the scatter's embedded points image.
        theme: ``"paper"`` (black on white) or ``"screen"`` (JupyterLab's theme).
    """

    path: Path
    format: str
    view: str
    chart: str | None
    sample: int | None
    width_mm: float
    height_mm: float | None
    font_pt: float
    dpi: int
    theme: str

    def message(self, request_id: str, model_id: str | None) -> dict[str, Any]:
        """The kernel→browser 'export' message for this request."""
        return {
            "kind": "export",
            "id": request_id,
            "view": self.view,
            "chart": self.chart,
            "sample": self.sample,
            "modelId": model_id,
            "format": self.format,
            "style": {
                "widthMm": self.width_mm,
                "heightMm": self.height_mm,
                "fontPt": self.font_pt,
                "dpi": self.dpi,
                "theme": self.theme,
            },
        }


def check_export_args(
    path: Any,
    view: Any = "global",
    sample: Any = None,
    chart: Any = None,
    width_mm: Any = SINGLE_COLUMN_MM,
    height_mm: Any = None,
    font_pt: Any = 8,
    dpi: Any = 600,
    theme: Any = "paper",
) -> ExportSpec:
    """Validates ``w.export``'s arguments before anything is sent.

    Returns:
        The request, with the format taken from the path's suffix.

    Raises:
        TypeError: An argument of the wrong type (named in the message).
        ValueError: An argument out of range (named, with what was expected and what came).
    """
    if not isinstance(path, (str, Path)):
        raise TypeError(f"path: expected a str or pathlib.Path, got {type(path).__name__}")
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise ValueError(
            f"path: expected a file name ending in .svg, .pdf or .png, got {str(path)!r}"
        )
    if not target.parent.exists():
        raise ValueError(f"path: the folder {str(target.parent)!r} does not exist")
    if view not in EXPORT_VIEWS:
        raise ValueError(f"view: expected one of {', '.join(EXPORT_VIEWS)}, got {view!r}")
    if chart is not None and not isinstance(chart, str):
        raise TypeError(f"chart: expected a chart name (str) or None, got {type(chart).__name__}")
    if sample is not None:
        if isinstance(sample, bool) or not isinstance(sample, int) or sample < 0:
            raise ValueError(f"sample: expected a sample index (int >= 0) or None, got {sample!r}")
        if view != "local":
            raise ValueError(f"sample: only the local view shows one sample, got view={view!r}")
    width = _positive(width_mm, "width_mm", MAX_SIDE_MM)
    height = None if height_mm is None else _positive(height_mm, "height_mm", MAX_SIDE_MM)
    font = _positive(font_pt, "font_pt", 72.0)
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not 36 <= dpi <= 2400:
        raise ValueError(f"dpi: expected a whole number from 36 to 2400, got {dpi!r}")
    if EXPORT_FORMATS[suffix] == "png":
        for side, mm in (("width_mm", width), ("height_mm", height)):
            if mm is not None and mm / 25.4 * dpi > MAX_PNG_SIDE_PX:
                raise ValueError(
                    f"{side}: {mm} mm at {dpi} dpi is over {MAX_PNG_SIDE_PX} pixels, more than a"
                    " browser canvas holds; lower dpi"
                )
    if theme not in EXPORT_THEMES:
        raise ValueError(f"theme: expected one of {', '.join(EXPORT_THEMES)}, got {theme!r}")
    return ExportSpec(
        path=target,
        format=EXPORT_FORMATS[suffix],
        view=view,
        chart=chart,
        sample=sample,
        width_mm=width,
        height_mm=height,
        font_pt=font,
        dpi=dpi,
        theme=theme,
    )


def _positive(value: Any, argument: str, most: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{argument}: expected a number, got {type(value).__name__}")
    if not math.isfinite(value) or not 0 < value <= most:
        raise ValueError(f"{argument}: expected a number above 0 and at most {most:g}, got {value!r}")
    return float(value)


@dataclass
class ExportReply:
    """What the browser sent back for one request: the file's bytes, or why it could not."""

    data: bytes | None = None
    error: str | None = None
    panels: tuple[str, ...] = ()


class BrowserRequests(Generic[R]):
    """Requests sent to the browser, and their replies as they arrive, matched by request id.

    Shared by ``w.export`` and ``w.compare``: each request carries a fresh ``id``, the browser's
    reply carries it back in its content, and the widget's message handler ``deliver``s it here.

    Args:
        timeout_message: The text of the TimeoutError for a reply that never came, given the
            timeout in seconds.
    """

    def __init__(self, timeout_message: Callable[[float], str]) -> None:
        self._replies: dict[str, R] = {}
        self._pending: set[str] = set()
        self._timeout_message = timeout_message

    def new_id(self) -> str:
        """A fresh request id, remembered as pending."""
        request_id = uuid.uuid4().hex
        self._pending.add(request_id)
        return request_id

    def deliver(self, request_id: str, reply: R) -> None:
        """Stores a reply; one for a request nobody waits for any more is dropped."""
        if request_id in self._pending:
            self._replies[request_id] = reply

    def wait(self, request_id: str, timeout: float, comm: Any = None) -> R:
        """Waits, with the browser's messages handled, until the reply to ``request_id`` arrives.

        Raises:
            TimeoutError: No reply within ``timeout`` seconds.
        """
        try:
            if not wait_for(lambda: request_id in self._replies, timeout, comm, request_id):
                raise TimeoutError(self._timeout_message(timeout))
            return self._replies.pop(request_id)
        finally:
            self._pending.discard(request_id)

    def ask(self, send: Callable[[str], None], timeout: float, comm: Any = None) -> R:
        """Sends one request and waits for its reply.

        Args:
            send: Sends the request with the id it is given.
            timeout: Seconds to wait for the reply at most.
            comm: The widget's comm the reply comes on.

        Returns:
            The reply delivered for the request.

        Raises:
            TimeoutError: No reply within ``timeout`` seconds.
        """
        request_id = self.new_id()
        try:
            send_routed(comm, lambda: send(request_id))
        except BaseException:
            self._pending.discard(request_id)
            raise
        return self.wait(request_id, timeout, comm)


class ExportRequests(BrowserRequests[ExportReply]):
    """Export requests sent to the browser, and their replies as they arrive."""

    def __init__(self) -> None:
        super().__init__(
            lambda timeout: (
                f"export: the browser did not send the figure within {timeout:g} s; is the"
                " widget's tab still open? Pass a larger timeout= for very large figures."
            )
        )


def wait_for(
    condition: Callable[[], bool],
    timeout: float,
    comm: Any = None,
    request_id: str | None = None,
) -> bool:
    """Waits until ``condition()`` holds while the browser's replies on ``comm`` are handled.

    A cell that waits blocks the kernel's main thread, where comm messages are handled. ipykernel
    7 can hand a comm's messages to a subshell, a thread of its own: the reply to ``request_id``
    (or, without one, every message of ``comm``) is routed to one while this cell waits, and
    cells queued behind it (Run All) wait for it as usual. Older kernels cannot route messages;
    there ``jupyter_ui_poll`` handles them one by one and replays queued cells afterwards.

    Args:
        condition: What the reply makes true.
        timeout: Seconds to wait at most.
        comm: The widget's comm the reply comes on.
        request_id: The ``id`` the reply's content carries, or None for any message.

    Returns:
        Whether the condition held before ``timeout`` seconds passed. Outside an IPython kernel
        (a script) there are no comm messages to wait for, so it only checks once.
    """
    if condition():
        return True
    kernel = _kernel()
    if kernel is None:
        return False
    deadline = time.monotonic() + timeout
    if hasattr(kernel, "do_one_iteration"):
        from jupyter_ui_poll import ui_events

        with ui_events() as poll:
            while not condition():
                if time.monotonic() > deadline:
                    return False
                poll(20)
                time.sleep(0.01)
        return True
    route = reply_route(comm)
    while not condition():
        if time.monotonic() > deadline:
            return False
        if route is not None:
            route(request_id)
        time.sleep(0.01)
    return True


def reply_route(comm: Any) -> Callable[[str | None], None] | None:
    """Where the kernel can, a function that routes replies on ``comm`` away from the main thread.

    Call it before sending a request, then call what it returns with the request's id right after
    the send (which notes the sender's thread as the reply's destination): the reply is then
    handled on a subshell's thread, even while the main thread waits in a cell.

    Returns:
        None where replies cannot be routed (no ipykernel 7 subshells, or no comm).
    """
    kernel = _kernel()
    if comm is None or kernel is None or not hasattr(comm, "_reply_subshell_ids"):
        return None
    subshell = _reply_subshell(kernel)
    if subshell is None:
        return None

    def route(request_id: str | None) -> None:
        # ipykernel's Comm sends a message whose content names a request id to the subshell
        # noted for that id, and any other message to the one noted last.
        with comm._reply_subshell_lock:
            if request_id is not None:
                comm._reply_subshell_ids[request_id] = subshell
            else:
                comm._reply_subshell_id = subshell

    return route


def send_routed(comm: Any, send: Callable[[], None]) -> None:
    """Sends a request on ``comm`` with its reply routed to a subshell from the start.

    ipykernel's Comm notes, as it sends, the sender's subshell (the parent message's) as where
    the reply to the content's ``id`` goes. Sent from a cell, that is the main shell, blocked by
    the cell that waits; pointing the id elsewhere after the send leaves a moment in which a
    quick reply still lands there (the export test played the browser fast enough to hit it in
    half of its runs on a loaded machine). So the send runs with a parent naming the subshell.
    """
    kernel = _kernel()
    subshell = None if reply_route(comm) is None else _reply_subshell(kernel)
    parent_var = getattr(kernel, "_shell_parent", None)
    if subshell is None or parent_var is None:
        send()
        return
    parent = kernel.get_parent()
    header = {**(parent.get("header") or {}), "subshell_id": subshell}

    def in_context() -> None:
        parent_var.set({**parent, "header": header})
        send()

    contextvars.copy_context().run(in_context)


_SUBSHELLS: dict[int, str] = {}


def _reply_subshell(kernel: Any) -> str | None:
    """A subshell of this kernel for replies (made once, as a create_subshell_request does)."""
    manager = getattr(getattr(kernel, "shell_channel_thread", None), "manager", None)
    if manager is None or not getattr(kernel, "_supports_kernel_subshells", False):
        return None
    known = _SUBSHELLS.get(id(kernel))
    if known is not None and known in manager.list_subshell():
        return known
    channel = manager.control_to_shell_channel.from_socket
    channel.send_json({"type": "create"})
    reply = channel.recv_json()
    if reply.get("status") != "ok":
        return None
    _SUBSHELLS[id(kernel)] = reply["subshell_id"]
    return reply["subshell_id"]


def _kernel() -> Any:
    """The running IPython kernel, or None (a script, a plain IPython terminal)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return None if shell is None else getattr(shell, "kernel", None)


#: Browser errors that start with one of these name an argument of ``w.export``.
_ARGUMENT_ERRORS = ("sample:", "chart:", "model:", "height_mm:", "width_mm:")


class FigureExport:
    """``w.export(...)``: the widget's figures as files (a mixin of ``InterSHAP``)."""

    _exports: ExportRequests
    _browser_ready: bool

    def export(
        self,
        path: str | Path,
        view: str = "global",
        sample: int | None = None,
        model: str | None = None,
        chart: str | None = None,
        width_mm: float = SINGLE_COLUMN_MM,
        height_mm: float | None = None,
        font_pt: float = 8,
        dpi: int = 600,
        theme: str = "paper",
        timeout: float = 120.0,
    ) -> Path:
        """Writes a figure of one view, as the widget shows it, for a paper.

        The browser draws it once every sample is in (for a model still running, it waits): text
        stays text, the shipped font (DejaVu Sans) is embedded in a PDF, charts are vector, and
        the scatter's points are an image at ``dpi`` under vector axes.

        Args:
            path: The file to write; ``.svg``, ``.pdf`` or ``.png`` picks the format.
            view: ``"global"``, ``"local"``, ``"cohorts"`` or ``"compare"`` (two or more models).
            sample: For the local view, the sample to show (None: the one open there).
            model: The label of the model to draw (None: the one shown).
            chart: One chart of the view by name (``"heatmap"``, ``"scatter"``, ...), or None for
                every panel, lettered a, b, c.
            width_mm: Page width: 88 for a single column, 180 for a double column.
            height_mm: Page height, or None for what the panels need at this width.
            font_pt: Text size in points.
            dpi: Resolution of a PNG, and of the scatter's points image in any format.
            theme: ``"paper"`` (black on white, whatever JupyterLab's theme) or ``"screen"``.
            timeout: Seconds to wait for the browser's file.

        Returns:
            The path written.

        Raises:
            ValueError: An argument is out of range, or names no chart, sample or model there is.
            TypeError: An argument has the wrong type.
            RuntimeError: No browser shows the widget (a script, nbclient), or it failed to draw.
            TimeoutError: The browser sent nothing within ``timeout`` seconds.
        """
        spec = check_export_args(
            path, view, sample, chart, width_mm, height_mm, font_pt, dpi, theme
        )
        model_id = None if model is None else self._model_id_of(model)
        comm = getattr(self, "comm", None)
        if not wait_for(lambda: self._browser_ready, BROWSER_ATTACH_TIMEOUT_S, comm):
            raise RuntimeError(NO_BROWSER_MESSAGE)

        def send(request_id: str) -> None:
            self.send(spec.message(request_id, model_id))  # type: ignore[attr-defined]

        reply = self._exports.ask(send, timeout, comm)
        if reply.error is not None:
            if reply.error.startswith(_ARGUMENT_ERRORS):
                raise ValueError(reply.error)
            raise RuntimeError(f"export: the browser could not draw the figure: {reply.error}")
        spec.path.write_bytes(reply.data or b"")
        return spec.path

    def _model_id_of(self, label: str) -> str:
        try:
            return self._run_by_label(label).model_id  # type: ignore[attr-defined]
        except KeyError as error:
            raise ValueError(str(error.args[0]).replace("label:", "model:", 1)) from None
