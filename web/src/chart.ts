import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { EvalMetric, Metric } from "./operations.js";
import { h } from "./dom.js";
import { lossChartData } from "./series.js";

export const COLORS = { loss: "#2563eb", lossRaw: "rgba(37, 99, 235, 0.3)", gradNorm: "#b45309", learningRate: "#047857", throughput: "#7c3aed", evalLoss: "#be123c" };
const HEIGHT = { main: 260, small: 150 };
// steps are whole numbers: no 1.5 ticks on a short run
export const STEP_AXIS: uPlot.Axis = { label: "step", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000] };
const fromZero: uPlot.Scale["range"] = (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1];

/** Eval loss: few points, so each one shows (large, filled) and a dashed line joins them, unlike the train loss. */
export function evalLossSeries(label: string, color: string): uPlot.Series {
  return { label, stroke: color, width: 2, dash: [6, 4], points: { show: true, size: 8, fill: color } };
}

/** A uPlot that follows its container's width. */
export function responsive(plot: uPlot, el: HTMLElement, height: number): ResizeObserver {
  const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(260, el.clientWidth), height }));
  resize.observe(el);
  return resize;
}

/**
 * Live training curves, keyed by step: loss (raw, and EMA-smoothed when smoothing > 0), eval loss once the run has
 * evaluations, and grad norm (two y axes); learning rate and tokens/s below. Hidden until it has a point: a run that
 * never logged shows no empty frames.
 */
export class MetricsChart {
  readonly el: HTMLDivElement;
  private readonly points = new Map<number, Metric>();
  private readonly evalPoints = new Map<number, EvalMetric>();
  private readonly main: uPlot;
  private readonly lr: uPlot;
  private readonly throughput: uPlot;
  private readonly resizes: ResizeObserver[];
  private smoothing = 0;
  private evalSeries = false;

  constructor() {
    const mainEl = h("div", { class: "chart-main" });
    const lrEl = h("div", { class: "chart-small" });
    const tpEl = h("div", { class: "chart-small" });
    this.el = h("div", { class: "chart", "data-points": 0, hidden: true }, mainEl, h("div", { class: "chart-pair" }, lrEl, tpEl));
    this.main = new uPlot(
      {
        width: 600,
        height: HEIGHT.main,
        scales: { x: { time: false } },
        axes: [
          STEP_AXIS,
          { scale: "loss", label: "loss", stroke: COLORS.loss },
          { scale: "gradNorm", label: "grad norm", side: 1, stroke: COLORS.gradNorm, grid: { show: false } },
        ],
        series: [
          { label: "step" },
          // smoothed: the raw line stays, faint, under the smoothed one
          { label: "loss", scale: "loss", stroke: () => (this.smoothing > 0 ? COLORS.lossRaw : COLORS.loss), width: 2, points: { show: true, size: 4 } },
          { label: "loss (smoothed)", scale: "loss", stroke: COLORS.loss, width: 2, show: false },
          { label: "grad norm", scale: "gradNorm", stroke: COLORS.gradNorm, width: 1 },
        ],
      },
      [[], [], [], []],
      mainEl,
    );
    this.lr = new uPlot(
      {
        width: 300,
        height: HEIGHT.small,
        // from 0, so a constant schedule is a flat line at its value rather than a collapsed axis
        scales: { x: { time: false }, y: { range: fromZero } },
        axes: [STEP_AXIS, { label: "learning rate", size: 70, values: (_u, ticks) => ticks.map((t) => (t === 0 ? "0" : t.toExponential(1))) }],
        series: [{ label: "step" }, { label: "learning rate", stroke: COLORS.learningRate, width: 2 }],
      },
      [[], []],
      lrEl,
    );
    this.throughput = new uPlot(
      {
        width: 300,
        height: HEIGHT.small,
        scales: { x: { time: false }, y: { range: fromZero } },
        axes: [STEP_AXIS, { label: "tokens/s", size: 60 }],
        series: [{ label: "step" }, { label: "tokens/s", stroke: COLORS.throughput, width: 2 }],
      },
      [[], []],
      tpEl,
    );
    this.resizes = [responsive(this.main, mainEl, HEIGHT.main), responsive(this.lr, lrEl, HEIGHT.small), responsive(this.throughput, tpEl, HEIGHT.small)];
  }

  get size(): number {
    return this.points.size;
  }

  /** The points so far, by step. */
  metrics(): Metric[] {
    return [...this.points.values()].sort((a, b) => a.step - b.step);
  }

  /** The evaluations so far, by step. */
  evals(): EvalMetric[] {
    return [...this.evalPoints.values()].sort((a, b) => a.step - b.step);
  }

  /** The EMA weight of the loss line, 0 (raw) to 0.99, as W&B's slider. */
  setSmoothing(weight: number): void {
    this.smoothing = weight;
    this.draw();
  }

  add(metrics: readonly Metric[]): void {
    if (metrics.length === 0) return;
    for (const m of metrics) this.points.set(m.step, m);
    this.draw();
  }

  addEvals(evals: readonly EvalMetric[]): void {
    if (evals.length === 0) return;
    for (const e of evals) this.evalPoints.set(e.step, e);
    this.draw();
  }

  private draw(): void {
    const rows = this.metrics();
    const evals = this.evals();
    if (rows.length === 0) return;
    const steps = rows.map((m) => m.step);
    // added with the first evaluation, so a run without any has no "eval loss" in the legend
    if (evals.length > 0 && !this.evalSeries) {
      this.main.addSeries({ ...evalLossSeries("eval loss", COLORS.evalLoss), scale: "loss" });
      this.evalSeries = true;
    }
    this.main.setSeries(2, { show: this.smoothing > 0 });
    this.main.setData(lossChartData(rows, evals, this.smoothing));
    this.lr.setData([steps, rows.map((m) => m.learningRate)]);
    this.throughput.setData([steps, rows.map((m) => m.tokensPerSecond)]);
    this.el.dataset.points = String(rows.length);
    this.el.dataset.evalPoints = String(evals.length);
    this.el.hidden = false;
  }

  destroy(): void {
    for (const r of this.resizes) r.disconnect();
    this.main.destroy();
    this.lr.destroy();
    this.throughput.destroy();
  }
}

/** The EMA smoothing slider, as W&B's: 0 (raw) to 0.99; `onChange` gets the weight. Remembered across pages. */
export function smoothingControl(onChange: (weight: number) => void): HTMLElement {
  const KEY = "tunegraph.smoothing";
  const initial = Number(localStorage.getItem(KEY) ?? 0.6);
  const value = h("output", { for: "smoothing", class: "muted" }, String(initial));
  const slider = h("input", { type: "range", id: "smoothing", name: "smoothing", min: 0, max: 0.99, step: 0.01, value: initial });
  slider.addEventListener("input", () => {
    value.textContent = slider.value;
    localStorage.setItem(KEY, slider.value);
    onChange(Number(slider.value));
  });
  queueMicrotask(() => onChange(initial));
  return h("div", { class: "smoothing" }, h("label", { for: "smoothing" }, "Smoothing (EMA)"), slider, value);
}
