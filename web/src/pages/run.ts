import { skippedText } from "../../../src/backends/training/log-line.js";
import { request, subscribe, type ApiError } from "../api.js";
import { MetricsChart, smoothingControl } from "../chart.js";
import { clear, errorBox, fmtBytes, fmtNumber, fmtTime, h, pathCode, statusBadge } from "../dom.js";
import { hyperparameterGroups } from "../hyperparameters.js";
import {
  ACTIVE, CANCEL, MERGE, MERGED_MODELS, PROGRESS, RESUME, RUN,
  type CheckpointRow, type Log, type MergedData, type MergedRow, type ProgressData, type RunData, type RunDetail,
} from "../operations.js";
import type { Page } from "../main.js";
import { etaSeconds, fmtCount, fmtDuration, trainedTokens } from "../run-stats.js";

const RESUMABLE = ["INTERRUPTED", "CANCELLED", "FAILED"];

/**
 * One run: live charts from `trainingProgress` (smoothing, eval loss, tokens/s), the last evaluation, elapsed / ETA /
 * trained tokens, grouped hyperparameters, checkpoints, live logs, cancel/resume, merge. An unknown id shows its error
 * alone.
 */
export const mountRun: Page = (root, _params, id) => {
  const runId = id!;
  const chart = new MetricsChart();
  const head = h("div", { class: "run-head" });
  const actions = h("div", { class: "actions" });
  const summary = h("div");
  const hyper = h("div");
  const timing = h("p", { class: "facts timing" });
  const checkpoints = h("ul", { class: "checkpoints" });
  const merge = h("div", { class: "merge" });
  const logs = h("ol", { class: "logs" });
  let run: RunDetail | null = null;
  let unsubscribe: (() => void) | null = null;
  let mergeTimer: ReturnType<typeof setTimeout> | undefined;
  let precisionChoice = "FP32"; // kept while the merge section redraws
  let ticker: ReturnType<typeof setInterval> | undefined;
  let alive = true;

  const curves = h("div", { class: "curves", hidden: true },
    h("div", { class: "title-row" }, h("h2", {}, "Training curves"), smoothingControl((w) => chart.setSmoothing(w))), chart.el);
  // everything but the head waits for the run: an unknown id shows no empty sections
  const body = h("div", { hidden: true },
    curves, summary,
    h("div", { class: "columns" },
      h("div", {}, h("h2", {}, "Hyperparameters"), hyper),
      h("div", {}, h("h2", {}, "Checkpoints"), checkpoints, h("h2", {}, "Adapter"), merge)),
    h("h2", {}, "Logs"), logs,
  );
  root.append(h("section", { class: "page run" }, h("p", {}, h("a", { href: "#/runs" }, "← Runs")), head, actions, body));

  /** Elapsed time, ETA at the recent pace, and trained tokens; ticks every second while the run is active. */
  const drawTiming = () => {
    if (!run) return;
    const points = chart.metrics();
    const active = ACTIVE.includes(run.status);
    const started = run.startedAt ? Date.parse(run.startedAt) : null;
    const ended = run.finishedAt && !active ? Date.parse(run.finishedAt) : Date.now();
    const eta = run.status === "RUNNING" ? etaSeconds(points, run.currentStep, run.maxSteps) : null;
    const tokens = trainedTokens(points);
    clear(timing,
      h("span", { "data-stat": "elapsed" }, `elapsed ${started === null ? "–" : fmtDuration((ended - started) / 1000)}`),
      active ? h("span", { "data-stat": "eta" }, ` · ETA ${fmtDuration(eta)}`) : null,
      tokens !== null && h("span", { "data-stat": "tokens", title: "tokens/s of each logging window times its length" }, ` · ≈ ${fmtCount(tokens)} tokens trained`),
    );
    curves.hidden = points.length === 0;
  };

  const drawHead = () => {
    if (!run) return;
    const pct = run.maxSteps > 0 ? Math.min(100, (100 * run.currentStep) / run.maxSteps) : 0;
    const lastEval = chart.evals().at(-1);
    clear(head,
      h("h1", {}, run.name ? `${run.name} ` : `Run ${run.id.slice(0, 8)} `, statusBadge(run.status)),
      h("progress", { max: 100, value: pct, "aria-label": "progress" }),
      h("p", { class: "facts" },
        `step ${run.currentStep} / ${run.maxSteps} · loss ${fmtNumber(run.latestLoss)}`,
        lastEval && h("span", { "data-stat": "eval" },
          ` · eval loss ${fmtNumber(lastEval.evalLoss)} (perplexity ${fmtNumber(lastEval.perplexity)}) at step ${lastEval.step}`),
        ` · ${run.baseModel.name} on ${run.dataset.name} · `,
        `${run.backend}${run.engine ? ` (${run.engine}, ${run.device})` : ""} · started ${fmtTime(run.startedAt)}`),
      timing,
      run.error ? errorBox(run.error) : null,
    );
    drawTiming();
    clearInterval(ticker);
    if (ACTIVE.includes(run.status)) ticker = setInterval(drawTiming, 1000);
    clear(actions);
    if (ACTIVE.includes(run.status)) actions.append(h("button", { type: "button", class: "danger", onclick: () => void act(CANCEL) }, "Cancel"));
    if (RESUMABLE.includes(run.status)) actions.append(h("button", { type: "button", onclick: () => void act(RESUME) }, "Resume"));
  };

  const drawDetail = () => {
    if (!run) return;
    const s = run.summary;
    clear(summary, s && h("p", { class: "facts" },
      `train_runtime ${fmtNumber(s.trainRuntime)} s · train_samples_per_second ${fmtNumber(s.trainSamplesPerSecond)} · `,
      `train_steps_per_second ${fmtNumber(s.trainStepsPerSecond)} · train_loss ${fmtNumber(s.trainLoss)} · epoch ${fmtNumber(s.epoch)}`,
      s.skippedSteps > 0 ? ` · ${skippedText(s.skippedSteps)}` : ""));
    clear(hyper, hyperparameterGroups(run.hyperparameters));
    clear(checkpoints);
    run.checkpoints.forEach(addCheckpoint);
    if (run.checkpoints.length === 0) checkpoints.append(h("li", { class: "muted" }, "none yet"));
    clear(logs);
    run.logs.forEach(addLog);
    void drawMerge();
  };

  const addCheckpoint = (c: CheckpointRow) => {
    checkpoints.querySelector(".muted")?.remove();
    checkpoints.append(h("li", {}, `step ${c.step}: `, pathCode(c.path)));
  };
  const addLog = (l: Log) => {
    logs.append(h("li", { class: l.level.toLowerCase() }, h("time", {}, new Date(l.at).toLocaleTimeString()), ` ${l.message}`));
    logs.scrollTop = logs.scrollHeight;
  };

  const drawMerge = async () => {
    clearTimeout(mergeTimer);
    if (!run?.adapter) {
      clear(merge, h("p", { class: "muted" }, "The adapter appears when the run succeeds."));
      return;
    }
    const { adapter, baseModel } = run;
    let merged: MergedRow[] = [];
    try {
      merged = (await request<MergedData>(MERGED_MODELS)).mergedModels.filter((m) => m.adapter.id === adapter.id);
    } catch (err) {
      clear(merge, errorBox(`Could not load merged models: ${(err as ApiError).message}`));
      return;
    }
    if (!alive) return;
    const precision = h("select", { name: "precision", "aria-label": "precision", onchange: () => (precisionChoice = precision.value) },
      h("option", { value: "FP32" }, "FP32"), h("option", { value: "INT4" }, "INT4"));
    precision.value = precisionChoice;
    const note = h("div");
    const start = async () => {
      try {
        await request(MERGE, { adapterId: adapter.id, precision: precision.value });
        void drawMerge();
      } catch (err) {
        clear(note, errorBox((err as ApiError).message));
      }
    };
    clear(merge,
      h("p", {}, pathCode(adapter.path), ` · ${fmtBytes(adapter.sizeBytes)} · `,
        h("a", { href: `#/playground?model=${encodeURIComponent(baseModel.id)}&adapter=${encodeURIComponent(adapter.id)}` }, "chat with it unmerged")),
      h("div", { class: "inline" }, precision, h("button", { type: "button", onclick: () => void start() }, "Merge")),
      note,
      h("ul", { class: "merged" }, ...merged.map((m) => h("li", { "data-merged": m.id, "data-status": m.status },
        statusBadge(m.status), ` ${m.precision} · ${fmtBytes(m.sizeBytes)} `,
        m.status === "READY" ? h("a", { href: `#/playground?model=${encodeURIComponent(m.id)}` }, "chat with it") : null,
        m.error ? errorBox(m.error) : null))),
    );
    if (merged.some((m) => m.status === "QUEUED" || m.status === "RUNNING")) mergeTimer = setTimeout(() => void drawMerge(), 2000);
  };

  const act = async (mutation: string) => {
    try {
      await request(mutation, { id: runId });
      await load();
      watch();
    } catch (err) {
      actions.append(errorBox((err as ApiError).message));
    }
  };

  const load = async () => {
    const data = await request<RunData>(RUN, { id: runId });
    if (!alive) return;
    if (!data.trainingRun) throw new Error(`no training run ${runId}`);
    run = data.trainingRun;
    chart.add(run.metrics);
    chart.addEvals(run.evalMetrics);
    body.hidden = false;
    drawHead();
    drawDetail();
  };

  // Progress events: STATE first (so a late subscriber is never blank), then metrics/evaluations/checkpoints/logs as
  // they happen.
  const watch = () => {
    if (unsubscribe || !run || !ACTIVE.includes(run.status)) return;
    unsubscribe = subscribe<ProgressData>(PROGRESS, { runId }, {
      next: ({ trainingProgress: e }) => {
        if (!run) return;
        run.status = e.status;
        run.currentStep = e.currentStep;
        run.maxSteps = e.maxSteps;
        run.error = e.error;
        if (e.metrics) chart.add(e.metrics);
        if (e.evalMetrics) chart.addEvals(e.evalMetrics);
        if (e.eval) chart.addEvals([e.eval]);
        if (e.metric) {
          chart.add([e.metric]);
          run.latestLoss = e.metric.loss;
        }
        if (e.checkpoint) addCheckpoint(e.checkpoint);
        if (e.logs) {
          clear(logs);
          e.logs.forEach(addLog);
        }
        if (e.log) addLog(e.log);
        drawHead();
        // a new status brings fields the event does not carry (engine and device once started, summary, adapter)
        if (e.kind === "STATUS") void load().catch(() => {});
      },
      error: (err) => {
        unsubscribe = null;
        actions.append(errorBox(`Live updates stopped: ${err.message}`));
      },
      complete: () => {
        unsubscribe = null;
        if (alive) void load().catch(() => {});
      },
    });
  };

  load().then(watch, (err: Error) => clear(head, h("h1", {}, "Run not found"), errorBox(`Could not load run ${runId}: ${err.message}`)));
  return () => {
    alive = false;
    clearInterval(ticker);
    unsubscribe?.();
    clearTimeout(mergeTimer);
    chart.destroy();
  };
};
