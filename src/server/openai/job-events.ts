import type { CheckpointRecord, EvalRecord, LogRecord, MetricRecord, RunRecord } from "../../services/records.js";
import { jobId } from "./jobs.js";
import { unixSeconds } from "./route.js";

// A job's events, composed from what the run stores: its life (created, started, ended), metrics as `metrics`
// events with OpenAI's field names (plus HF's learning_rate, grad_norm, epoch; evaluations as valid_loss and
// full_valid_loss, the whole validation file being scored each time), log lines and checkpoints as
// `message` events. Ids are stable, so `after` pages through them.

export interface JobEvent {
  object: "fine_tuning.job.event";
  id: string;
  created_at: number;
  level: "info" | "warn" | "error";
  message: string;
  type: "message" | "metrics";
  data: object | null;
}

interface Timed {
  at: Date;
  event: JobEvent;
}

export interface RunHistory {
  run: RunRecord;
  fineTunedModel: string | null;
  metrics: MetricRecord[];
  evals: EvalRecord[];
  logs: LogRecord[];
  checkpoints: CheckpointRecord[];
}

/** Newest first, as OpenAI lists them. */
export function jobEvents({ run, fineTunedModel, metrics, evals, logs, checkpoints }: RunHistory): JobEvent[] {
  const id = (tag: string) => `ftevent-${run.id}-${tag}`;
  const make = (at: Date, tag: string, message: string, level: JobEvent["level"] = "info", type: JobEvent["type"] = "message", data: object | null = null): Timed => ({
    at,
    event: { object: "fine_tuning.job.event", id: id(tag), created_at: unixSeconds(at), level, message, type, data },
  });
  const timed: Timed[] = [make(run.createdAt, "created", `Created fine-tuning job: ${jobId(run.id)}`)];
  if (run.startedAt) timed.push(make(run.startedAt, "started", "Fine-tuning job started"));
  for (const m of metrics) {
    const data = { step: m.step, train_loss: m.loss, total_steps: run.maxSteps, learning_rate: m.learningRate, grad_norm: m.gradNorm, epoch: m.epoch };
    timed.push(make(m.at, `m${m.step}`, `Step ${m.step}/${run.maxSteps}: training loss=${m.loss.toFixed(4)}`, "info", "metrics", data));
  }
  for (const e of evals) {
    const data = { step: e.step, valid_loss: e.evalLoss, full_valid_loss: e.evalLoss, total_steps: run.maxSteps, epoch: e.epoch };
    timed.push(make(e.at, `e${e.step}`, `Step ${e.step}/${run.maxSteps}: validation loss=${e.evalLoss.toFixed(4)}`, "info", "metrics", data));
  }
  // a log line has no id of its own: its time, and its place among the lines of that millisecond
  const sameMs = new Map<number, number>();
  for (const l of logs) {
    const n = sameMs.get(l.at.getTime()) ?? 0;
    sameMs.set(l.at.getTime(), n + 1);
    timed.push(make(l.at, `l${l.at.getTime()}.${n}`, l.message, l.level.toLowerCase() as JobEvent["level"]));
  }
  for (const c of checkpoints) timed.push(make(c.createdAt, `c${c.step}`, `Checkpoint created at step ${c.step}`));
  if (run.finishedAt) timed.push(...ending(run, fineTunedModel, make));
  // stable: events of one instant keep the order above
  return timed
    .map((t, i) => ({ t, i }))
    .sort((a, b) => a.t.at.getTime() - b.t.at.getTime() || a.i - b.i)
    .map(({ t }) => t.event)
    .reverse();
}

function ending(run: RunRecord, model: string | null, make: (at: Date, tag: string, message: string, level?: JobEvent["level"]) => Timed): Timed[] {
  const at = run.finishedAt!;
  switch (run.status) {
    case "SUCCEEDED":
      return [make(at, "model", `New fine-tuned model created: ${model}`), make(at, "succeeded", "The job has successfully completed")];
    case "CANCELLED":
      return [make(at, "cancelled", "The job was cancelled")];
    case "INTERRUPTED":
      return [make(at, "interrupted", `The job was interrupted: ${run.error ?? "its worker stopped"}; resume continues from its last checkpoint`, "error")];
    case "FAILED":
      return [make(at, "failed", `The job failed: ${run.error ?? "no error recorded"}`, "error")];
    default:
      return [];
  }
}
