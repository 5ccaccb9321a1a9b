import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { Metric } from "./operations.js";
import { h } from "./dom.js";

const COLORS = { loss: "#2563eb", gradNorm: "#d97706", learningRate: "#059669" };
const HEIGHT = { main: 260, lr: 170 };
// steps are whole numbers: no 1.5 ticks on a short run
const STEP_AXIS: uPlot.Axis = { label: "step", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000] };

/** Live training curves: loss and grad norm against step (two y axes), learning rate below; points are keyed by step. */
export class MetricsChart {
  readonly el: HTMLDivElement;
  private readonly points = new Map<number, Metric>();
  private readonly main: uPlot;
  private readonly lr: uPlot;
  private readonly resize: ResizeObserver;

  constructor() {
    const mainEl = h("div", { class: "chart-main" });
    const lrEl = h("div", { class: "chart-lr" });
    this.el = h("div", { class: "chart", "data-points": 0 }, mainEl, lrEl);
    const width = 600;
    this.main = new uPlot(
      {
        width,
        height: HEIGHT.main,
        scales: { x: { time: false } },
        axes: [
          STEP_AXIS,
          { scale: "loss", label: "loss", stroke: COLORS.loss },
          { scale: "gradNorm", label: "grad norm", side: 1, stroke: COLORS.gradNorm, grid: { show: false } },
        ],
        series: [
          { label: "step" },
          { label: "loss", scale: "loss", stroke: COLORS.loss, width: 2, points: { show: true, size: 4 } },
          { label: "grad norm", scale: "gradNorm", stroke: COLORS.gradNorm, width: 1 },
        ],
      },
      [[], [], []],
      mainEl,
    );
    this.lr = new uPlot(
      {
        width,
        height: HEIGHT.lr,
        // from 0, so a constant schedule is a flat line at its value rather than a collapsed axis
        scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] } },
        axes: [STEP_AXIS, { label: "learning rate", size: 70, values: (_u, ticks) => ticks.map((t) => (t === 0 ? "0" : t.toExponential(1))) }],
        series: [{ label: "step" }, { label: "learning rate", stroke: COLORS.learningRate, width: 2 }],
      },
      [[], []],
      lrEl,
    );
    this.resize = new ResizeObserver(() => {
      const w = Math.max(260, this.el.clientWidth);
      this.main.setSize({ width: w, height: HEIGHT.main });
      this.lr.setSize({ width: w, height: HEIGHT.lr });
    });
    this.resize.observe(this.el);
  }

  get size(): number {
    return this.points.size;
  }

  add(metrics: readonly Metric[]): void {
    if (metrics.length === 0) return;
    for (const m of metrics) this.points.set(m.step, m);
    const rows = [...this.points.values()].sort((a, b) => a.step - b.step);
    const steps = rows.map((m) => m.step);
    this.main.setData([steps, rows.map((m) => m.loss), rows.map((m) => m.gradNorm)]);
    this.lr.setData([steps, rows.map((m) => m.learningRate)]);
    this.el.dataset.points = String(rows.length);
  }

  destroy(): void {
    this.resize.disconnect();
    this.main.destroy();
    this.lr.destroy();
  }
}
