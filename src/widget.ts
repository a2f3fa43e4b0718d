/**
 * The ipywidgets model and view. The model owns the session (data and compute) so that every view
 * of one widget shares it; the view lays out the lumino panels and redraws on session changes.
 */
import { DOMWidgetModel, DOMWidgetView } from '@jupyter-widgets/base';
import type { ISerializers } from '@jupyter-widgets/base';
import { BoxPanel, Widget } from '@lumino/widgets';
import { config } from './config';
import { ComputeClient } from './compute/client';
import { Session } from './compute/session';
import { nullIfNaN, PROTOCOL_VERSION } from './protocol/messages';
import type { BrowserMessage } from './protocol/messages';
import { MODULE_NAME, MODULE_VERSION } from './version';
import { GlobalView } from './views/globalView';
import { StatusBar } from './views/statusBar';

export class InterSHAPModel extends DOMWidgetModel {
  declare session: Session;

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

  static serializers: ISerializers = { ...DOMWidgetModel.serializers };

  initialize(attributes: Backbone.ObjectHash, options: { model_id: string; comm?: unknown }): void {
    super.initialize(attributes, options as never);
    this.session = new Session(
      new ComputeClient(config.useWorker),
      modelId => void this.sendResults(modelId)
    );
    this.on('msg:custom', (content: unknown, buffers?: ArrayBuffer[] | ArrayBufferView[]) =>
      this.session.receive(content, buffers ?? [])
    );
    // The kernel (re)sends every value table on hello: a reloaded page gets its data back.
    this.sendMessage({ kind: 'hello', protocol: PROTOCOL_VERSION });
  }

  sendMessage(message: BrowserMessage, buffers: ArrayBuffer[] = []): void {
    this.send(message as never, {}, buffers);
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
        buffers: ['meanMatrix', 'contributions', 'orderMass', 'local']
      },
      [agg.meanMatrix, agg.contributions, agg.orderMass, locals].map(a => a.slice().buffer)
    );
  }

  destroy(options?: unknown): ReturnType<DOMWidgetModel['destroy']> {
    this.session.compute.dispose();
    return super.destroy(options as never);
  }
}

export class InterSHAPView extends DOMWidgetView {
  private panel!: BoxPanel;
  private status!: StatusBar;
  private globalView!: GlobalView;
  private unsubscribe: (() => void) | null = null;
  private drawing = Promise.resolve();

  render(): void {
    this.el.classList.add('intershap-widget');
    const session = (this.model as InterSHAPModel).session;
    // Says where the decomposition runs, for users debugging performance and for the browser tests.
    this.el.dataset.compute = session.compute.usesWorker ? 'worker' : 'main-thread';
    this.status = new StatusBar(modelId =>
      (this.model as InterSHAPModel).sendMessage({ kind: 'cancel', modelId })
    );
    this.globalView = new GlobalView();
    this.panel = new BoxPanel({ direction: 'top-to-bottom', spacing: 4 });
    BoxPanel.setStretch(this.status, 0);
    BoxPanel.setStretch(this.globalView, 1);
    this.panel.addWidget(this.status);
    this.panel.addWidget(this.globalView);
    // The panel is attached once the view's own node is in the document (see processLuminoMessage).
    this.unsubscribe = session.subscribe(() => this.redraw());
    this.redraw();
  }

  /** Redraws are chained, so a slow plotly draw is never overtaken by an older one. */
  private redraw(): void {
    this.drawing = this.drawing
      .then(() => this.draw())
      .catch(error => console.error('intershap-widget: drawing failed', error));
  }

  private async draw(): Promise<void> {
    const session = (this.model as InterSHAPModel).session;
    this.status.render(session);
    const first = session.models.values().next();
    if (!first.done) {
      await this.globalView.render(first.value);
    }
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
    this.unsubscribe?.();
    if (this.panel?.isAttached) {
      Widget.detach(this.panel);
    }
    this.panel?.dispose();
    return super.remove();
  }
}
