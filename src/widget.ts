/**
 * The ipywidgets model and view. The model owns the session (data and compute) so that every view
 * of one widget shares it; the view lays out the lumino panels and redraws on session changes.
 */
import { DOMWidgetModel, DOMWidgetView } from '@jupyter-widgets/base';
import type { ISerializers } from '@jupyter-widgets/base';
import { Widget } from '@lumino/widgets';
import { config } from './config';
import { docking } from './docking';
import { ComputeClient } from './compute/main/client';
import { BrowserEvaluation } from './compute/main/evaluation';
import { normalizeSelection, Session } from './compute/main/session';
import {
  decodeSelection,
  nullIfNaN,
  PROTOCOL_VERSION,
  RESULT_BUFFERS,
  selectionToBuffer
} from './protocol/messages';
import type { BrowserMessage } from './protocol/messages';
import { COMPARED_BUFFERS, isCompareRequest, parseCompareMessage } from './protocol/compare';
import type { CompareMessage, CompareReply } from './protocol/compare';
import {
  isEvaluateRequest,
  isRemaskRequest,
  parseEvaluateMessage,
  parseRemaskMessage
} from './protocol/evaluate';
import { isExportRequest, parseExportMessage } from './protocol/export';
import { parseSavedState, tooLargeNotice } from './protocol/savedState';
import type { ExportMessage, ExportReply } from './protocol/export';
import { MODULE_NAME, MODULE_VERSION } from './version';
import { Dashboard } from './views/dashboard';
import { LinkedState } from './views/linkedState';

/** How long an export request waits for a view of the widget to be on the page (Run All). */
const EXPORT_VIEW_WAIT_MS = 15_000;
/** ...and for the values still streaming in, after which it draws what it has. */
const EXPORT_SETTLE_WAIT_MS = 600_000;

/** Whether `condition` held within `timeoutMs`, checked every tenth of a second. */
async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) {
      return false;
    }
    await new Promise(resolve => setTimeout(resolve, 100));
  }
  return true;
}

/** Marks a 'selection' change that came from the session itself, so it is not applied twice. */
const FROM_SESSION = { fromSession: true };

export class InterSHAPModel extends DOMWidgetModel {
  declare session: Session;
  /** The dashboards of this model's views on the page, newest last: exports are drawn by one. */
  declare dashboards: Dashboard[];
  /** The tab, model and compared models every view of this widget shows. */
  declare linked: LinkedState;

  defaults() {
    return {
      ...super.defaults(),
      _model_name: 'InterSHAPModel',
      _model_module: MODULE_NAME,
      _model_module_version: MODULE_VERSION,
      _view_name: 'InterSHAPView',
      _view_module: MODULE_NAME,
      _view_module_version: MODULE_VERSION
    };
  }

  /**
   * `selection` travels as a buffer of int32 sample indices, both ways. It arrives as a DataView
   * (decoded in linkSelection, where an error can be shown) and is held as an Int32Array once the
   * session sets it; either is sent back as an exactly-sized little-endian buffer.
   */
  static serializers: ISerializers = {
    ...DOMWidgetModel.serializers,
    selection: {
      serialize: (value: unknown) =>
        selectionToBuffer(value === null || value === undefined ? [] : decodeSelection(value))
    },
    // The kernel's saved tables (DataViews inside JSON) go into the notebook as they came: the
    // default serializer would copy them through JSON and lose the bytes.
    _saved_state: { serialize: (value: unknown) => value }
  };

  initialize(attributes: Backbone.ObjectHash, options: { model_id: string; comm?: unknown }): void {
    super.initialize(attributes, options as never);
    this.session = new Session(
      new ComputeClient(config.useWorker),
      modelId => void this.sendResults(modelId)
    );
    this.dashboards = [];
    this.linked = new LinkedState();
    docking.add(this);
    this.on('msg:custom', (content: unknown, buffers?: ArrayBuffer[] | ArrayBufferView[]) => {
      if (isExportRequest(content)) {
        void this.exportFigure(content);
      } else if (isCompareRequest(content)) {
        void this.compareModels(content, buffers ?? []);
      } else if (isEvaluateRequest(content) || isRemaskRequest(content)) {
        this.evaluateInBrowser(content, buffers ?? []);
      } else {
        this.session.receive(content, buffers ?? []);
      }
    });
    this.linkSelection();
    this.watchKernel();
    if (options.comm) {
      // The kernel (re)sends every value table on hello: a reloaded page gets its data back.
      this.sendMessage({ kind: 'hello', protocol: PROTOCOL_VERSION });
    } else {
      // Made from the notebook's saved widget state: no kernel holds this widget.
      this.replaySavedState();
    }
  }

  /**
   * Feeds the value tables saved with the notebook (`_saved_state`) into the session exactly as
   * the kernel's messages would come (dataset, chunks, status; cohorts), so every view works as
   * with a kernel. Only for a model without a comm: a live kernel streams the tables itself.
   */
  private replaySavedState(): void {
    const raw: unknown = this.get('_saved_state');
    if (raw === null || raw === undefined) {
      return;
    }
    try {
      const saved = parseSavedState(raw);
      for (const { content, buffers } of saved.messages) {
        this.session.receive(content, buffers);
      }
      this.session.notice = saved.tablesSaved
        ? 'Shown from the value tables saved with the notebook (no kernel holds this widget): ' +
          'every view is recomputed in the browser; re-run the cell to compute again.'
        : tooLargeNotice(saved);
      this.session.notify();
    } catch (error) {
      this.session.reportError(error);
    }
  }

  /**
   * A restarted kernel closes the comm, but one that died and is auto-restarted does not, so the
   * kernel's own status is watched too. Either way: say so, and keep every result on screen.
   */
  private watchKernel(): void {
    const lost = () => {
      if (!this.comm) {
        return; // made from saved state: there was never a kernel to lose
      }
      // Streams that had not finished are marked partial, with the samples they hold.
      this.session.loseConnection(
        'Lost the connection to the kernel (it died, restarted or shut down). The results on ' +
          'screen are kept; re-run the cell to compute again.'
      );
    };
    this.on('comm_live_update', () => {
      if (!this.comm_live) {
        lost();
      }
    });
    type StatusSignal = { connect: (slot: (sender: unknown, status: string) => void) => void };
    const kernel = (this.widget_manager as unknown as { kernel?: { statusChanged?: StatusSignal } })
      .kernel;
    kernel?.statusChanged?.connect((_sender, status) => {
      if (status === 'dead' || status === 'autorestarting' || status === 'restarting') {
        lost();
      }
    });
  }

  /**
   * `w.selection` in Python and the session's selection are one: a brush sets the trait (and
   * save_changes sends it to the kernel); a change from Python re-aggregates in the worker.
   */
  private linkSelection(): void {
    this.session.onSelectionChange = (selection, origin) => {
      if (origin === 'view') {
        this.set('selection', selection ? selection.slice() : new Int32Array(0), FROM_SESSION);
        if (this.comm) {
          this.save_changes(); // with no kernel (saved state), the selection stays in the page
        }
      }
    };
    const fromKernel = (value: unknown) => {
      try {
        const first = this.session.models.values().next().value;
        const bound = first ? first.dataset.nSamples : undefined;
        const indices = value === null || value === undefined ? [] : decodeSelection(value, bound);
        this.session.setSelection(
          normalizeSelection(indices, bound ?? Number.MAX_SAFE_INTEGER),
          'kernel'
        );
      } catch (error) {
        this.session.reportError(error);
      }
    };
    this.on(
      'change:selection',
      (_model: unknown, value: unknown, options?: { fromSession?: boolean }) => {
        if (!options?.fromSession) {
          fromKernel(value);
        }
      }
    );
    fromKernel(this.get('selection'));
  }

  /**
   * A model the browser evaluates itself: `evaluate` brings the model and the data (again after a
   * page reload, then without re-running what the kernel already holds), `remask` new settings
   * from `w.remask(...)`. A bad message is shown, and nothing on screen changes.
   */
  private evaluateInBrowser(content: unknown, buffers: ArrayBuffer[] | ArrayBufferView[]): void {
    try {
      if (isRemaskRequest(content)) {
        const request = parseRemaskMessage(content);
        const evaluation = this.session.evaluations.get(request.modelId);
        if (!evaluation) {
          throw new Error(`remask: model '${request.modelId}' is not evaluated in this browser`);
        }
        if (request.settings) {
          evaluation.start(request.evaluation, request.settings);
        } else {
          evaluation.cancel();
        }
        return;
      }
      const request = parseEvaluateMessage(content, buffers);
      this.session.evaluations.get(request.data.modelId)?.dispose();
      const evaluation = new BrowserEvaluation(request, {
        receive: (message, data) => this.session.receive(message, data),
        hasModel: modelId => this.session.models.has(modelId),
        sendToKernel: (message, data) => this.sendMessage(message, data),
        notify: () => this.session.notify()
      });
      this.session.evaluations.set(request.data.modelId, evaluation);
    } catch (error) {
      this.session.reportError(error);
    }
  }

  /** Stops a model's run: in the browser for a browser-evaluated model, else in the kernel. */
  cancel(modelId: string): void {
    const evaluation = this.session.evaluations.get(modelId);
    if (evaluation) {
      evaluation.cancel();
    } else {
      this.sendMessage({ kind: 'cancel', modelId });
    }
  }

  private disposeEvaluations(): void {
    for (const evaluation of this.session.evaluations.values()) {
      evaluation.dispose();
    }
    this.session.evaluations.clear();
  }

  /**
   * Draws the figure `w.export(...)` asked for in a view on the page and sends the file back.
   * Every failure is answered (the kernel is waiting), and nothing on screen changes.
   */
  private async exportFigure(raw: unknown): Promise<void> {
    let request: ExportMessage | null = null;
    try {
      request = parseExportMessage(raw);
      const dashboard = await this.dashboardOnPage();
      await this.settled();
      const file = await dashboard.exportFigure({
        view: request.view,
        chart: request.chart,
        sample: request.sample,
        modelId: request.modelId,
        format: request.format,
        style: request.style
      });
      this.sendMessage(
        { kind: 'exported', id: request.id, format: request.format, panels: file.panels },
        [file.bytes.slice().buffer]
      );
    } catch (error) {
      const id = request?.id ?? String((raw as { id?: unknown }).id ?? '');
      this.sendMessage({
        kind: 'exportFailed',
        id,
        error: error instanceof Error ? error.message : String(error)
      });
    }
  }

  /**
   * Answers `w.compare(...)`: the worker compares the two models, as the Compare tab does, and
   * the numbers go back as buffers. Every failure is answered too (the kernel is waiting).
   */
  private async compareModels(
    raw: unknown,
    buffers: ArrayBuffer[] | ArrayBufferView[]
  ): Promise<void> {
    let request: CompareMessage | null = null;
    try {
      request = parseCompareMessage(raw, buffers);
      const { referenceId, otherId } = request;
      const subset = request.subset ?? undefined;
      const result = await this.session.compare(referenceId, [otherId], subset, {
        movers: 0,
        withLocalDelta: true
      });
      const bounds = await this.session.compareInterval(
        `kernel:${request.id}`,
        referenceId,
        otherId,
        subset
      );
      const { delta, localDelta } = result.others[0];
      const M = Math.round(Math.sqrt(delta.matrixDelta.length));
      const nan = (length: number) => new Float64Array(length).fill(NaN);
      const arrays = [
        delta.matrixDelta,
        bounds?.matrixLow ?? nan(M * M),
        bounds?.matrixHigh ?? nan(M * M),
        delta.contributionDelta,
        bounds?.contributionLow ?? nan(M),
        bounds?.contributionHigh ?? nan(M),
        localDelta ?? nan(result.n)
      ];
      const reply: CompareReply = {
        kind: 'compared',
        id: request.id,
        referenceId,
        n: result.n,
        globalReference: nullIfNaN(delta.globalReference),
        globalOther: nullIfNaN(delta.globalOther),
        globalDelta: nullIfNaN(delta.globalDelta),
        globalDeltaInterval: [
          nullIfNaN(bounds?.globalLow ?? NaN),
          nullIfNaN(bounds?.globalHigh ?? NaN)
        ],
        undefinedReps: bounds?.undefinedReps ?? 0,
        buffers: [...COMPARED_BUFFERS]
      };
      this.sendMessage(
        reply,
        arrays.map(a => a.slice().buffer)
      );
    } catch (error) {
      const id = request?.id ?? String((raw as { id?: unknown }).id ?? '');
      this.sendMessage({
        kind: 'compareFailed',
        id,
        error: error instanceof Error ? error.message : String(error)
      });
    }
  }

  /**
   * Until every model's stream is over and its interval computed: `w.export(...)` right after
   * the widget's cell draws the finished figure, not the first chunk.
   */
  private async settled(): Promise<void> {
    const isSettled = () =>
      [...this.session.models.values()].every(m => {
        const state = m.status?.state;
        if (state === 'error' || state === 'cancelled') {
          return true;
        }
        return (
          state === 'done' && m.received === m.dataset.nSamples && Boolean(m.aggregate?.interval)
        );
      });
    await waitUntil(isSettled, EXPORT_SETTLE_WAIT_MS);
  }

  /**
   * The newest visible view on the page (a docked tab behind another tab is attached but hidden),
   * else the newest one attached; under Run All the request can come before it is drawn.
   */
  private async dashboardOnPage(): Promise<Dashboard> {
    const shown = () => this.dashboards.filter(d => d.isAttached && d.node.isConnected);
    if (!(await waitUntil(() => shown().length > 0, EXPORT_VIEW_WAIT_MS))) {
      throw new Error(
        'no view of this widget is on the page: display it (put `w` at the end of a cell) and export again'
      );
    }
    const views = shown();
    const visible = views.filter(d => d.isVisible);
    const pool = visible.length ? visible : views;
    return pool[pool.length - 1];
  }

  /**
   * Sends to the kernel when one listens. With none (made from saved state, or the kernel gone)
   * the page goes on without it: a browser-evaluated model still re-masks, results still show.
   */
  sendMessage(
    message: BrowserMessage | ExportReply | CompareReply | Record<string, unknown>,
    buffers: ArrayBuffer[] = []
  ): void {
    if (!this.comm || !this.comm_live || this.session.connectionLost) {
      return;
    }
    try {
      this.send(message as never, {}, buffers);
    } catch (error) {
      console.warn('intershap-widget: the kernel did not take a message', error);
    }
  }

  /** Hands the browser's numbers back to Python (w.results), as binary buffers. */
  private async sendResults(modelId: string): Promise<void> {
    const state = this.session.models.get(modelId);
    const agg = state?.aggregate;
    if (!state || !agg) {
      return;
    }
    const locals = await this.session.compute.locals(modelId);
    this.sendMessage(
      {
        kind: 'results',
        modelId,
        n: agg.n,
        globalIntershap: nullIfNaN(agg.globalIntershap),
        localMean: nullIfNaN(agg.localMean),
        nUndefined: agg.nUndefined,
        interval: agg.interval ? [agg.interval.low, agg.interval.high] : null,
        buffers: [...RESULT_BUFFERS]
      },
      [agg.meanMatrix, agg.contributions, agg.orderMass, locals].map(a => a.slice().buffer)
    );
  }

  /**
   * `w.close()` in Python, or the notebook's widget manager clearing its models: ipywidgets closes
   * the model (and removes its views) without calling destroy(); the docked tabs close with it.
   */
  close(comm_closed = false): Promise<void> {
    docking.remove(this);
    // destroy() does not follow: stop the workers (and free their tables) here.
    this.session.compute.dispose();
    this.disposeEvaluations();
    return super.close(comm_closed);
  }

  destroy(options?: unknown): ReturnType<DOMWidgetModel['destroy']> {
    docking.remove(this);
    this.session.compute.dispose();
    this.disposeEvaluations();
    return super.destroy(options as never);
  }
}

export class InterSHAPView extends DOMWidgetView {
  private panel!: Dashboard;

  render(): void {
    this.el.classList.add('intershap-widget');
    const model = this.model as InterSHAPModel;
    // Says where the decomposition runs, for users debugging performance and for the browser tests.
    this.el.dataset.compute = model.session.compute.usesWorker ? 'worker' : 'main-thread';
    this.panel = new Dashboard(model.session, modelId => model.cancel(modelId), model.linked);
    model.dashboards.push(this.panel);
    // A right click on the view offers "Open InterSHAP view in a new tab" for this widget.
    docking.watch(this.el, model);
    // The panel is attached once the view's own node is in the document (see processLuminoMessage).
  }

  processLuminoMessage(msg: Parameters<DOMWidgetView['processLuminoMessage']>[0]): void {
    super.processLuminoMessage(msg);
    if (
      msg.type === 'after-attach' &&
      this.panel &&
      !this.panel.isAttached &&
      this.el.isConnected
    ) {
      Widget.attach(this.panel, this.el);
    }
    if (msg.type === 'resize' || msg.type === 'after-show') {
      this.panel?.fit();
    }
  }

  remove(): void {
    if (this.panel?.isAttached) {
      if (this.panel.node.isConnected) {
        Widget.detach(this.panel);
      } else {
        // The output was cleared before the view was removed: the node is already gone, and
        // lumino refuses to detach it; mark it detached so that dispose() does not try again.
        this.panel.clearFlag(Widget.Flag.IsAttached);
      }
    }
    const model = this.model as InterSHAPModel;
    docking.unwatch(this.el);
    model.dashboards = model.dashboards.filter(d => d !== this.panel);
    this.panel?.dispose();
    return super.remove();
  }
}
