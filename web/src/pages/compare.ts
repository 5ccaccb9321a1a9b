import uPlot from "uplot";
import { request, type ApiError } from "../api.js";
import { evalLossSeries, responsive, smoothingControl, STEP_AXIS } from "../chart.js";
import { clear, errorBox, fmtNumber, h, statusBadge } from "../dom.js";
import { differingParams, fmtValue, paramLabel } from "../hyperparameters.js";
import { RUN, type RunData, type RunDetail } from "../operations.js";
import { compareChartData, hasEvals } from "../series.js";
import type { Page } from "../main.js";

export const COMPARE_MIN = 2;
export const COMPARE_MAX = 5;
// distinguishable, and 4.5:1 or more against white for the legend text
const PALETTE = ["#1d4ed8", "#b45309", "#047857", "#9333ea", "#be123c"];
const HEIGHT = 320;

export const runTitle = (r: { id: string; name: string | null }) => r.name ?? r.id.slice(0, 8);

/**
 * 2–5 runs (`#/compare?ids=a,b`): their loss curves overlaid (each named, with its eval loss when it has evaluations),
 * and the hyperparameters that differ.
 */
export const mountCompare: Page = (root, params) => {
  const ids = (params.get("ids") ?? "").split(",").filter(Boolean);
  const status = h("div");
  const chartEl = h("div", { class: "chart compare-chart", hidden: true });
  const legend = h("ul", { class: "legend" });
  const diff = h("div");
  let plot: uPlot | null = null;
  let resize: ResizeObserver | null = null;
  let runs: RunDetail[] = [];
  let smoothing = 0;

  root.append(h("section", { class: "page compare" },
    h("p", {}, h("a", { href: "#/runs" }, "← Runs")),
    h("div", { class: "title-row" }, h("h1", {}, "Compare runs"), smoothingControl((w) => {
      smoothing = w;
      draw();
    })),
    status, legend, chartEl,
    h("h2", {}, "Hyperparameters that differ"), diff));

  const draw = () => {
    if (runs.length === 0) return;
    const data = compareChartData(runs, smoothing);
    chartEl.hidden = data[0]!.length === 0;
    chartEl.dataset.series = String(runs.filter((r) => r.metrics.length > 0).length);
    if (!plot) {
      plot = new uPlot({
        width: 600,
        height: HEIGHT,
        scales: { x: { time: false } },
        axes: [STEP_AXIS, { label: "loss" }],
        series: [
          { label: "step" },
          ...runs.map((r, i) => ({ label: runTitle(r), stroke: PALETTE[i]!, width: 2 })),
          ...runs.flatMap((r, i) => (hasEvals(r) ? [evalLossSeries(`${runTitle(r)} eval loss`, PALETTE[i]!)] : [])),
        ],
      }, data, chartEl);
      resize = responsive(plot, chartEl, HEIGHT);
    } else plot.setData(data);
  };

  const drawTables = () => {
    clear(legend, ...runs.map((r, i) => h("li", { "data-run": r.id },
      h("span", { class: "swatch", style: `background:${PALETTE[i]}`, "aria-hidden": "true" }),
      h("a", { href: `#/runs/${encodeURIComponent(r.id)}` }, runTitle(r)), " ", statusBadge(r.status),
      ` · step ${r.currentStep} / ${r.maxSteps} · loss ${fmtNumber(r.latestLoss)}`,
      hasEvals(r) && ` · eval loss ${fmtNumber(r.evalMetrics.at(-1)!.evalLoss)}`,
      r.metrics.length === 0 ? h("span", { class: "muted" }, " · no loss logged") : null)));
    const names = differingParams(runs.map((r) => r.hyperparameters));
    clear(diff, names.length === 0
      ? h("p", { class: "muted" }, "All hyperparameters are the same.")
      : h("div", { class: "table-wrap" }, h("table", { class: "diff" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Hyperparameter"), ...runs.map((r) => h("th", { scope: "col" }, runTitle(r))))),
        h("tbody", {}, ...names.map((name) => h("tr", { "data-param": name }, paramLabel(name, "th"),
          ...runs.map((r) => h("td", {}, fmtValue(r.hyperparameters[name])))))))));
  };

  if (ids.length < COMPARE_MIN || ids.length > COMPARE_MAX) {
    status.append(errorBox(`Pick ${COMPARE_MIN} to ${COMPARE_MAX} runs in the list to compare (got ${ids.length}).`));
  } else {
    status.append(h("p", { class: "muted" }, "Loading runs…"));
    Promise.all(ids.map((id) => request<RunData>(RUN, { id }).then((d) => d.trainingRun ?? Promise.reject(new Error(`no training run ${id}`))))).then(
      (loaded) => {
        runs = loaded;
        clear(status);
        drawTables();
        draw();
      },
      (err: ApiError | Error) => clear(status, errorBox(`Could not load the runs: ${err.message}`)),
    );
  }
  return () => {
    resize?.disconnect();
    plot?.destroy();
  };
};
