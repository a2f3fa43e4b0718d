"""The widget users create: ``InterSHAP(model, modalities, ...)`` or ``InterSHAP(values=..., names=...)``."""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
from ipywidgets import DOMWidget
from traitlets import Any as AnyTrait
from traitlets import TraitError, Unicode, validate

from . import interop, progress, protocol, saved_state, selection
from ._version import __version__
from .browser_eval import EVALUATION_KINDS, BrowserModels, check_evaluate
from .compare import ModelComparison, compare_requests
from .export import ExportReply, ExportRequests, FigureExport
from .inputs import normalize_modalities
from .results import Results, numpy_results
from .runs import (
    ModelRun,
    check_cohort_column,
    check_value_tables,
    lower_this_threads_priority,
    optional_per_sample,
)

MODULE_NAME = "intershap-widget"
MODULE_VERSION = "^" + __version__

# Samples per message when re-sending finished tables to a (re)loaded page.
RESEND_BLOCK = 20_000
MIN_PROGRESS_INTERVAL_S = 0.25
# The engine's thread yields the CPU to everything else on the machine — above all the browser
# showing the results, which shares these cores when JupyterLab runs locally. Nice 10 leaves it
# about a tenth of a contended core against a nice-0 thread and costs nothing on an idle core.
ENGINE_THREAD_NICENESS = 10


class SelectionError(protocol.ProtocolError, TraitError):
    """A selection with an index that is not a sample's.

    A ValueError, as every argument error here; also a TraitError, so that traitlets takes back a
    selection the browser sent with the rest of its state instead of keeping it.
    """


class InterSHAP(FigureExport, ModelComparison, BrowserModels, DOMWidget):
    """How much a multimodal model relies on interactions between its modalities (InterSHAP).

    Give either a model and its modalities, and the widget evaluates the 2**M coalitions per sample
    in the background while the views fill in; or ready-made value tables ``values`` of shape
    (N, 2**M) in bitmask order (bit m set = modality m present), with their modality ``names``.

    Args:
        model: The model to explain; see ``values.ValueEngine`` for what it may be.
        modalities: The samples to explain, one array (or frame, tensor, list) per modality.
        values: Ready-made value tables (N, 2**M) instead of a model.
        names: The modality names of ``values``.
        se: Monte-Carlo standard errors of ``values``, of the same shape.
        labels: One label per sample (for cohorts and the tables).
        prediction: One prediction per sample, for ``values``.
        label: The model's label, as the widget shows it.
        cohorts: A grouping of the samples; see ``set_cohorts``.
        save_state_mb: The cap on the value tables kept in the widget's state (and so in a
            notebook saved with its widget state), in megabytes; above it only a summary is kept.
            Default ``saved_state.SAVE_STATE_MB`` (20); 0 keeps only the summary.
        **engine_options: Passed to the engine: background, masking, draws, target, seed, ...;
            ``executor=`` computes the chunks on a ``dask.distributed.Client`` or a
            ``concurrent.futures.Executor`` (``distributed.py``; ``retry()`` after a failure).

    Attributes:
        selection: The samples selected in the widget (a brush, a lasso, a cohort), as a list of
            sample indices; an empty list means every sample. Set it from Python to select
            samples in the widget: the list is kept as given (order and repeats), a repeated
            index is reported with a ``UserWarning``, and the widget selects the distinct
            samples. It travels to the browser as a buffer of int32 indices.
        client_errors: Errors the browser reported.

    Raises:
        ValueError: An argument is wrong; the message names it, says what was expected and what
            was given. Raised before any model call.
    """

    _model_name = Unicode("InterSHAPModel").tag(sync=True)
    _model_module = Unicode(MODULE_NAME).tag(sync=True)
    _model_module_version = Unicode(MODULE_VERSION).tag(sync=True)
    _view_name = Unicode("InterSHAPView").tag(sync=True)
    _view_module = Unicode(MODULE_NAME).tag(sync=True)
    _view_module_version = Unicode(MODULE_VERSION).tag(sync=True)

    #: The samples selected in the widget (a brush, a lasso, a cohort), as sample indices; an empty
    #: list means every sample. Set it from Python to select samples in the widget. The synced
    #: state is a binary buffer of little-endian int32 indices (selection.selection_to_json). A
    #: brush is not echoed back (ipywidgets' echo_update): the page that sent it has it, and a
    #: brush of 500,000 samples echoed is 2 MB more through the server and the page's main thread.
    selection = selection.SelectionList(
        help="Selected sample indices; empty means all samples."
    ).tag(
        sync=True,
        echo_update=False,
        to_json=selection.selection_to_json,
        from_json=selection.selection_from_json,
    )

    #: Every finished model's value tables (or, above ``save_state_mb``, a summary), kept in the
    #: widget's state so that a notebook saved with its widget state shows the results with no
    #: kernel (saved_state.py). Set once per finished run, never per chunk.
    _saved_state = AnyTrait(None, allow_none=True).tag(
        sync=True,
        to_json=saved_state.saved_state_to_json,
        from_json=saved_state.saved_state_from_json,
    )

    @validate("selection")
    def _check_selection(self, proposal: Any) -> list[int]:
        """Refuses indices outside the samples here, where the user can see which one was wrong.

        Args:
            proposal: The traitlets proposal; its 'value' is the new list of indices.

        Returns:
            The indices as ints, in the order given (neither sorted nor de-duplicated). A sample
            listed twice stays twice here, with a ``UserWarning`` naming the repeated indices;
            the widget in the browser selects the distinct samples (each once).

        Raises:
            SelectionError: An index is not a sample's (a ValueError naming the first few).
        """
        value = proposal["value"]
        array = selection.int_array(value)
        # A brush's 500,000 ints are converted by numpy, not one int() call each.
        indices = array.tolist() if array is not None else [int(i) for i in value]
        checked = indices if array is None else array  # the checks take either, alike
        runs = getattr(self, "_runs", None)
        if runs:
            try:
                selection.check_selection(checked, next(iter(runs.values())).n_samples)
            except protocol.ProtocolError as error:
                raise SelectionError(str(error)) from None
        selection.warn_duplicates(checked)
        return indices

    def __init__(
        self,
        model: Any = None,
        modalities: Any = None,
        *,
        values: Any = None,
        names: Sequence[str] | None = None,
        se: Any = None,
        labels: Any = None,
        prediction: Any = None,
        label: str = "model",
        cohorts: Any = None,
        save_state_mb: float | None = None,
        **engine_options: Any,
    ) -> None:
        self.save_state_mb = saved_state.check_save_state_mb(save_state_mb)
        super().__init__()
        self._runs: dict[str, ModelRun] = {}
        self._cohorts: dict[str, tuple[list[str], np.ndarray]] = {}
        self._send_lock = threading.RLock()
        self._browser_ready = False
        self._exports = ExportRequests()
        self._comparisons = compare_requests()
        self.client_errors: list[str] = []
        self.on_msg(self._on_browser_message)
        self.add_model(
            label,
            model,
            modalities,
            values=values,
            names=names,
            se=se,
            labels=labels,
            prediction=prediction,
            **engine_options,
        )
        if cohorts is not None:
            self.set_cohorts(cohorts)

    # ----------------------------------------------------------------------------------------
    # Public API

    #: A widget over shapiq games, each evaluated on all 2**M coalitions (interop.from_shapiq_game).
    from_shapiq_game = classmethod(interop.from_shapiq_game)

    def set_cohorts(self, cohorts: Any, name: str | None = None) -> InterSHAP:
        """Groups samples into cohorts shown side by side.

        Args:
            cohorts: One label per sample (array, list or pandas Series), or a dict name -> such
                column for several groupings.
            name: The grouping's name for a single column (default: the Series' name, or
                "cohort").

        Returns:
            The widget, for chaining.

        Raises:
            ValueError: A column does not hold one label per sample.
        """
        columns = (
            cohorts
            if isinstance(cohorts, dict)
            else {name or getattr(cohorts, "name", None) or "cohort": cohorts}
        )
        n = next(iter(self._runs.values())).n_samples
        for column_name, column in columns.items():
            self._cohorts[str(column_name)] = check_cohort_column(
                column, n, f"cohorts[{column_name!r}]"
            )
        with self._send_lock:
            if self._browser_ready:
                self._send_cohorts()
        self._save_state()
        return self

    def add_model(
        self,
        label: str,
        model: Any = None,
        modalities: Any = None,
        *,
        values: Any = None,
        names: Sequence[str] | None = None,
        se: Any = None,
        labels: Any = None,
        prediction: Any = None,
        **engine_options: Any,
    ) -> InterSHAP:
        """Adds a model (or ready-made value tables) to compare side by side.

        Args:
            label: The new model's label; it must differ from every label shown.
            model: The model, with ``modalities``; or None with ``values``.
            modalities: The samples, one array per modality (the same samples as the others).
            values: Ready-made value tables (N, 2**M) instead of a model.
            names: The modality names.
            se: Monte-Carlo standard errors of ``values``.
            labels: One label per sample.
            prediction: One prediction per sample, for ``values``.
            **engine_options: Passed to the engine (see ``InterSHAP``).

        Returns:
            The widget, for chaining.

        Raises:
            ValueError: The label is taken, both or neither of a model and values were given, or
                an input is wrong.
        """
        if label in {run.label for run in self._runs.values()}:
            raise ValueError(
                f"label: expected a new model label, got {label!r} which is already shown"
            )
        if values is not None:
            if model is not None or modalities is not None:
                raise ValueError(
                    "values: expected either values= or a model and modalities, got both"
                )
            run = self._run_from_values(label, values, names, se, labels, prediction)
        elif model is not None:
            if check_evaluate(engine_options.pop("evaluate", "kernel")) == "browser":
                self._start_browser_model(label, model, modalities, names, labels, engine_options)
            else:
                self._start_engine(label, model, modalities, names, labels, engine_options)
            return self
        else:
            raise ValueError(
                "model: expected a model and its modalities, or value tables via values=, got neither"
            )
        self._announce(run)
        return self

    @property
    def results(self) -> Results:
        """The first model's results (see ``results_for``).

        Returns:
            The results over the samples computed so far.
        """
        return self.results_for(next(iter(self._runs.values())).label)

    def results_for(self, label: str) -> Results:
        """Returns one model's results over the samples computed so far.

        The browser's numbers are used once it has sent them for every sample; until then (and
        with no browser at all) the numpy twin computes them.

        Args:
            label: The model's label.

        Returns:
            The results.

        Raises:
            KeyError: No model has that label.
            RuntimeError: No sample has been computed yet.
        """
        run = self._run_by_label(label)
        if run.filled == 0:
            raise RuntimeError(f"{label!r}: no sample has been computed yet; call wait() first")
        complete = run.filled == run.n_samples and run.state != "running"
        browser = (
            run.browser if complete and run.browser and run.browser.n == run.n_samples else None
        )
        if (
            run._results is None
            or run._results.n != run.filled
            or (browser and run._results.source != "browser")
        ):
            run._results = numpy_results(
                run.label,
                run.names,
                run.values[: run.filled],
                prediction=None if run.prediction is None else run.prediction[: run.filled],
                labels=None if run.labels is None else run.labels[: run.filled],
                browser=browser,
            )
        return run._results

    def __repr__(self) -> str:
        """One line per model: its global score, samples and state (the text/plain form)."""
        runs = list(getattr(self, "_runs", {}).values())
        if not runs:
            return "InterSHAP: no model yet"
        return "\n".join(
            f"InterSHAP: {saved_state.summary_line(saved_state.run_summary(run, bootstrap=False))}"
            for run in runs
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        """The widget view's bundle, with the whole text/plain line(s), untruncated.

        What a viewer without the widget (nbconvert to markdown, GitHub) shows is the score as
        it stood when the widget was displayed: display it after ``w.wait()`` for the final one.
        """
        data = super()._repr_mimebundle_(**kwargs)
        if data is not None:
            data["text/plain"] = repr(self)
        return data

    @property
    def models(self) -> list[str]:
        """The models' labels, in the order they were added."""
        return [run.label for run in self._runs.values()]

    @property
    def progress(self) -> list[dict[str, Any]]:
        """How far each model is; the widget shows the same.

        Returns:
            Per model: samples done and total, samples/s, seconds left, model rows and state
            (``"running"``, ``"done"``, ``"cancelled"`` or ``"error"``).
        """
        return [run.progress() for run in self._runs.values()]

    def wait(self, timeout: float | None = None, verbose: bool = True) -> InterSHAP:
        """Blocks until every model's values are computed.

        Args:
            timeout: Seconds to wait at most, or None to wait as long as it takes.
            verbose: Show progress while waiting: a tqdm bar per model when tqdm is installed,
                else a progress line.

        Returns:
            The widget, for chaining.

        An interrupt (the stop button, Ctrl+C) stops the waiting, not the computation:
        ``KeyboardInterrupt`` is raised here within a fraction of a second, the engine keeps
        running in its thread, ``w.progress`` still says ``"running"`` and the views keep filling
        in; ``w.cancel()`` stops it (keeping every finished sample), ``w.wait()`` waits again.

        Raises:
            TimeoutError: A model was not finished within ``timeout``.
            KeyboardInterrupt: The kernel was interrupted while waiting (see above).
            Exception: The error a model raised, re-raised.
        """
        self._wait_for_browser(timeout, verbose)
        progress.wait_for_runs(self._runs.values(), timeout=timeout, verbose=verbose)
        return self

    def cancel(self) -> None:
        """Stops every running model within one batch; what was computed is kept.

        With an ``executor``, no further chunk is sent and the chunks running are waited for
        (and kept): the workers stop within one chunk each.
        """
        for run in self._runs.values():
            if run.cancel is not None and run.state == "running":
                run.cancel()

    def retry(self, executor: Any = None) -> InterSHAP:
        """Computes every sample a model has not computed yet, in the background, as before.

        Those are the chunks that failed on an ``executor`` (a task that raised, a worker that
        died: the status names their samples), and the samples a cancel or a model error left
        out. Everything computed stays; the values are the ones an uninterrupted run gives.

        Args:
            executor: Where to compute them from now on (e.g. a new ``ProcessPoolExecutor``
                after one broke); None keeps each model's own (``executor=`` of ``InterSHAP``).

        Returns:
            The widget, for chaining: ``w.retry().wait()``.

        Raises:
            RuntimeError: A model is still running (``wait()`` or ``cancel()`` first).
            TypeError: ``executor`` is not an executor, or the model cannot be sent to it.
        """
        restarts = {id(run.retry): run for run in self._runs.values() if run.retry is not None}
        for run in self._runs.values():
            if run.retry is not None and run.state == "running":
                raise RuntimeError(
                    f"retry: {run.label!r} is still running; call w.wait() or w.cancel() first"
                )
        for run in restarts.values():
            assert run.retry is not None
            run.retry(executor)
        return self

    # ----------------------------------------------------------------------------------------
    # Building runs

    def _run_from_values(
        self,
        label: str,
        values: Any,
        names: Sequence[str] | None,
        se: Any,
        labels: Any,
        prediction: Any,
    ) -> ModelRun:
        """Checks ready-made value tables and makes a finished run of them (not yet announced)."""
        array, checked_names = check_value_tables(values, names)
        n = array.shape[0]
        se_array = None
        if se is not None:
            se_array = np.asarray(se, dtype=np.float64)
            if se_array.shape != array.shape:
                raise ValueError(
                    f"se: expected shape {array.shape} like values, got {se_array.shape}"
                )
        self._check_same_samples(n, label)
        run = ModelRun(
            model_id=uuid.uuid4().hex[:12],
            label=label,
            names=checked_names,
            values=array,
            se=se_array,
            prediction=optional_per_sample(prediction, n, "prediction"),
            labels=optional_per_sample(labels, n, "labels"),
            filled=n,
        )
        run.finished.set()
        return run

    def _start_engine(
        self,
        label: str,
        model: Any,
        modalities: Any,
        names: Sequence[str] | None,
        labels: Any,
        options: dict[str, Any],
    ) -> list[ModelRun]:
        """Validates everything, then starts the background thread.

        Nothing calls the model before the checks but the engine's small probe.
        ``target="all"`` gives one run per class, all fed by one engine.

        Args:
            label: The model's label.
            model: The model.
            modalities: The samples, one array per modality.
            names: The modality names.
            labels: One label per sample.
            options: The engine's options (``chunk_samples`` is taken out of them).

        Returns:
            The runs the engine feeds.

        Raises:
            ValueError: An input is wrong, or the samples differ from the other models'.
        """
        from .engine import ValueEngine

        chunk_samples = _pop_chunk_samples(options)
        engine = ValueEngine(model, modalities, names=names, **options)
        n, m = engine.n_samples, engine.M
        self._check_same_samples(n, label)
        target = options.get("target", "predicted")
        per_class = target == "all"
        classes = range(engine.n_classes) if per_class else [None]
        checked_labels = optional_per_sample(labels, n, "labels")
        runs = [
            ModelRun(
                model_id=uuid.uuid4().hex[:12],
                label=label if k is None else f"{label} · class {k}",
                names=list(engine.names),
                values=np.zeros((n, 1 << m)),
                se=np.zeros((n, 1 << m)),
                prediction=np.full(n, np.nan),
                labels=checked_labels,
                target=str(target if k is None else k),
                state="running",
                cancel=engine.cancel,
            )
            for k in classes
        ]
        thread = threading.Thread(
            target=self._stream,
            args=(runs, engine, chunk_samples, per_class, [(0, n)]),
            name=f"intershap-{label}",
            daemon=True,
        )
        restart = functools.partial(self._restart, runs, engine, chunk_samples, per_class)
        for run in runs:  # the browser hears of each run before its first chunk
            run.retry = restart
            self._announce(run)
        thread.start()
        return runs

    def _start_browser_model(
        self,
        label: str,
        model: Any,
        modalities: Any,
        names: Sequence[str] | None,
        labels: Any,
        options: dict[str, Any],
    ) -> None:
        """``evaluate="browser"``: checks the model here, and the browser evaluates it."""
        chunk_samples = _pop_chunk_samples(options)
        n = normalize_modalities(modalities, names).n_samples
        checked_labels = optional_per_sample(labels, n, "labels")
        self._start_browser(label, model, modalities, names, checked_labels, options, chunk_samples)

    def _restart(
        self,
        runs: list[ModelRun],
        engine: Any,
        chunk_samples: int,
        per_class: bool,
        executor: Any = None,
    ) -> bool:
        """Starts the engine's thread again on the samples its runs lack (``retry``).

        Args:
            runs: The runs one engine feeds.
            engine: The engine.
            chunk_samples: Samples per chunk.
            per_class: Whether each run is one class of ``target="all"``.
            executor: Another executor to use from now on, or None for the engine's own.

        Returns:
            Whether anything was missing (and so started).
        """
        from .distributed import use_executor

        first = runs[0]
        done = first.done if first.done is not None else np.arange(first.n_samples) < first.filled
        missing = np.flatnonzero(np.diff(np.concatenate([[0], (~done).view(np.int8), [0]])))
        spans = [(int(a), int(b)) for a, b in zip(missing[::2], missing[1::2], strict=True)]
        if executor is not None:
            use_executor(engine, executor)
        if not spans:
            return False
        engine.reset_cancel()
        with self._send_lock:
            for run in runs:
                run.failures, run.error, run.message, run.state = [], None, "", "running"
                run.finished.clear()
                run.restart_clock()
                if self._browser_ready:
                    self.send(protocol.status_message(run.model_id, "running"))
        threading.Thread(
            target=self._stream,
            args=(runs, engine, chunk_samples, per_class, spans),
            name=f"intershap-{first.label}-retry",
            daemon=True,
        ).start()
        return True

    def _check_same_samples(self, n: int, label: str) -> None:
        """Raises ValueError unless ``n`` is the number of samples of every model shown."""
        for other in self._runs.values():
            if other.n_samples != n:
                raise ValueError(
                    f"{label}: expected the same {other.n_samples} samples as {other.label!r}, got {n}"
                )

    def _run_by_label(self, label: str) -> ModelRun:
        """Returns the run of a label; raises KeyError naming the labels there are."""
        for run in self._runs.values():
            if run.label == label:
                return run
        raise KeyError(f"label: expected one of {self.models}, got {label!r}")

    # ----------------------------------------------------------------------------------------
    # Streaming (runs on the engine's thread)

    def _stream(
        self,
        runs: list[ModelRun],
        engine: Any,
        chunk_samples: int,
        per_class: bool,
        spans: list[tuple[int, int]],
    ) -> None:
        """Feeds the engine's chunks into the runs and the browser (the engine's thread).

        ``spans``: the sample ranges to compute. With an executor, chunks come in any order and
        a failed one is reported at once (its samples, in the status) while the others go on.
        """
        from .distributed import ChunkFailure, ChunksFailed, engine_outcomes, failure_message

        lower_this_threads_priority(ENGINE_THREAD_NICENESS)
        last_progress = 0.0
        try:
            for chunk in engine_outcomes(engine, spans, chunk_samples):
                if isinstance(chunk, ChunkFailure):
                    with self._send_lock:
                        for run in runs:
                            run.failures.append(chunk)
                            run.message = failure_message(run.failures)
                            if self._browser_ready:
                                self.send(
                                    protocol.status_message(run.model_id, "error", run.message)
                                )
                    continue
                stop = chunk.start + len(chunk)
                with self._send_lock:
                    for k, run in enumerate(runs):
                        values = chunk.values[:, k, :] if per_class else chunk.values
                        se = chunk.se[:, k, :] if per_class else chunk.se
                        self._store_chunk(run, chunk, values, se, int(engine.model_rows))
                        if self._browser_ready:
                            self._send_chunk(run, chunk.start, stop)
                now = time.perf_counter()
                finished = runs[0].n_done == runs[0].n_samples
                if now - last_progress >= MIN_PROGRESS_INTERVAL_S or finished:
                    last_progress = now
                    for run in runs:
                        self._send_progress(run)
            state = "cancelled" if runs[0].filled < runs[0].n_samples else "done"
            for run in runs:
                run.state = state
                if run.failures:
                    run.state, run.error = "error", ChunksFailed(run.failures)
                    run.message = str(run.error)
        except BaseException as error:  # noqa: BLE001 - shown in the widget and re-raised by wait()
            for run in runs:
                run.state, run.error = "error", error
                run.message = f"{type(error).__name__}: {error}"
        finally:
            try:
                self._save_state()
            finally:
                with self._send_lock:
                    for run in runs:
                        if self._browser_ready:
                            self.send(protocol.status_message(run.model_id, run.state, run.message))
                        run.finished.set()

    @staticmethod
    def _store_chunk(
        run: ModelRun, chunk: Any, values: np.ndarray, se: np.ndarray, model_rows: int
    ) -> None:
        """Copies one of the engine's chunks into a run."""
        stop = chunk.start + len(chunk)
        run.values[chunk.start : stop] = values
        run.se[chunk.start : stop] = se  # type: ignore[index]
        run.prediction[chunk.start : stop] = chunk.prediction  # type: ignore[index]
        if chunk.predicted_class is not None:
            if run.predicted_class is None:
                run.predicted_class = np.full(run.n_samples, np.nan)
            run.predicted_class[chunk.start : stop] = chunk.predicted_class
        run.mark_done(chunk.start, stop)
        run.model_rows = model_rows

    # ----------------------------------------------------------------------------------------
    # Messages

    def _announce(self, run: ModelRun) -> None:
        """Registers a run and, when a browser listens, sends it everything about it."""
        with self._send_lock:
            self._runs[run.model_id] = run
            if self._browser_ready:
                self._send_all(run)
        if run.state != "running":
            self._save_state()

    def _save_state(self) -> None:
        """Keeps every finished run's tables (or, above the cap, a summary) in the synced state.

        Called once per finished run (and when the cohorts change), never per chunk: ipywidgets
        sends the new state to the browser, and a notebook saved with its widget state holds it.
        """
        # Nothing is sent on the comm before the browser's hello: a message sent from the engine's
        # thread then would route the hello itself to the main shell, where a waiting cell
        # (w.export under Run All) never sees it. The hello saves it.
        if not self._browser_ready:
            return
        cap = saved_state.SAVE_STATE_MB if self.save_state_mb is None else self.save_state_mb
        # Built outside the lock (it decomposes, and bootstraps small runs): other models' chunks
        # need not wait for it.
        state = saved_state.build_saved_state(list(self._runs.values()), dict(self._cohorts), cap)
        with self._send_lock:
            self._saved_state = state

    def _send_all(self, run: ModelRun) -> None:
        """Sends a run's data set, every table computed so far and its state.

        A browser-evaluated run sends its model and data first; while it runs, its tables come
        from the browser, so none are sent.
        """
        if run.evaluation is not None and self._send_evaluation(run):
            return
        self.send(
            protocol.dataset_message(run.model_id, run.label, run.names, run.n_samples, run.target)
        )
        for first, last in run.done_ranges():  # an executor's chunks leave gaps until retried
            for start in range(first, last, RESEND_BLOCK):
                self._send_chunk(run, start, min(last, start + RESEND_BLOCK))
        if run.state != "running":
            self.send(protocol.status_message(run.model_id, run.state, run.message))
        else:
            self.send(protocol.status_message(run.model_id, "running"))

    def _send_cohorts(self) -> None:
        """Sends every grouping of the samples."""
        for name, (categories, codes) in self._cohorts.items():
            self.send(*protocol.cohorts_message(name, categories, codes))

    def _send_chunk(self, run: ModelRun, start: int, stop: int) -> None:
        """Sends samples [start, stop) of a run as one chunk."""
        header, buffers = protocol.chunk_message(run.model_id, start, run.chunk_arrays(start, stop))
        self.send(header, buffers)

    def _send_progress(self, run: ModelRun) -> None:
        """Sends a run's progress, when a browser listens."""
        p = run.progress()
        with self._send_lock:
            if self._browser_ready:
                self.send(
                    protocol.progress_message(
                        run.model_id,
                        p["done"],
                        p["total"],
                        p["samples_per_s"],
                        p["seconds_left"],
                        run.model_rows,
                    )
                )

    def _on_browser_message(self, _widget: Any, content: Any, buffers: list[Any]) -> None:
        """Acts on a message from the browser (ipywidgets' on_msg callback).

        Args:
            _widget: The widget (ipywidgets passes it).
            content: The message content.
            buffers: The message's binary buffers.

        Raises:
            protocol.ProtocolError: The message does not follow the schema (it is dropped, and
                ipywidgets shows the error in the kernel's log).
        """
        if isinstance(content, dict) and content.get("kind") in EVALUATION_KINDS:
            self._on_evaluation_message(content, buffers)
            return
        models = {run.model_id: len(run.names) for run in self._runs.values()}
        message = protocol.parse_browser_message(content, buffers, models)
        if isinstance(message, protocol.Hello):
            with self._send_lock:
                self._browser_ready = True
                for run in self._runs.values():
                    self._send_all(run)
                self._send_cohorts()
            if any(run.state != "running" for run in self._runs.values()):
                self._save_state()
        elif isinstance(message, protocol.Cancel):
            for run in self._runs.values():
                if run.cancel is not None and message.model_id in (None, run.model_id):
                    run.cancel()
        elif isinstance(message, protocol.BrowserResults):
            self._runs[message.model_id].browser = message
            # The saved summary of a large run waits for these numbers (saved_state.run_summary).
            self._save_state()
        elif isinstance(message, protocol.ClientError):
            self.client_errors.append(message.message)
        elif isinstance(message, protocol.ExportedFigure):
            reply = ExportReply(data=message.data, panels=message.panels)
            self._exports.deliver(message.request_id, reply)
        elif isinstance(message, protocol.ExportFailed):
            self._exports.deliver(message.request_id, ExportReply(error=message.error))
        elif isinstance(message, (protocol.BrowserComparison, protocol.CompareFailed)):
            self._comparisons.deliver(message.request_id, message)


def _pop_chunk_samples(options: dict[str, Any]) -> int:
    """Takes ``chunk_samples`` (samples per streamed chunk) out of the engine options, checked."""
    from .engine import DEFAULT_CHUNK_SAMPLES
    from .inputs import check_chunk_samples

    return check_chunk_samples(
        options.pop("chunk_samples", DEFAULT_CHUNK_SAMPLES), str(DEFAULT_CHUNK_SAMPLES)
    )
