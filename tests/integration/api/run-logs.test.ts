import type { Client } from "graphql-ws";
import { describe, expect, it } from "vitest";
import { collect, demoServer } from "./harness.js";

// Every LOG of a run reaches every subscriber, early or late; cancel, summary and resume are LOG lines too
const PROGRESS = `subscription ($id: ID!) {
  trainingProgress(runId: $id) { kind status currentStep metric { step } logs { level message } log { level message } }
}`;

interface Event {
  kind: string;
  status: string;
  currentStep: number;
  metric: { step: number } | null;
  logs: { level: string; message: string }[] | null;
  log: { level: string; message: string } | null;
}

const SUMMARY = /^\{'train_runtime': [\d.e+-]+, 'train_samples_per_second': [\d.e+-]+, 'train_steps_per_second': [\d.e+-]+, 'train_loss': [\d.e+-]+, 'epoch': [\d.e+-]+\}$/;

describe("a run's log lines over the subscription", () => {
  const demo = demoServer();

  const start = async (hp: string): Promise<string> => {
    const r = await demo.api.gql<{ startTraining: { id: string } }>(
      `mutation { startTraining(input: { baseModelId: "${demo.modelId}", datasetId: "${demo.datasetId}", hyperparameters: ${hp} }) { id } }`,
    );
    expect(r.errors).toBeUndefined();
    return r.data!.startTraining.id;
  };

  /** Follow a run to its end; `onEvent` may act on the way (cancel it). */
  const follow = (client: Client, runId: string, onEvent: (e: Event) => void = () => {}): Promise<Event[]> =>
    new Promise((resolve, reject) => {
      const events: Event[] = [];
      client.subscribe<{ trainingProgress: Event }>({ query: PROGRESS, variables: { id: runId } }, {
        next: (v) => {
          events.push(v.data!.trainingProgress);
          onEvent(v.data!.trainingProgress);
        },
        error: reject,
        complete: () => resolve(events),
      });
    });

  const messages = (events: Event[]) => events.flatMap((e) => [...(e.logs ?? []), ...(e.log ? [e.log] : [])]).map((l) => l.message);

  it("a subscriber that attaches after the run ended gets every log line in the STATE, the summary last", async () => {
    const runId = await start("{ maxSteps: 3, batchSize: 2, maxSeqLength: 48, loggingSteps: 1, saveSteps: 3, optim: \"adamw\" }");
    const early = demo.api.ws();
    const live = await follow(early, runId);
    await early.dispose();
    expect(live.at(-1)).toMatchObject({ kind: "STATUS", status: "SUCCEEDED" });

    const late = demo.api.ws();
    const { events, errors } = await collect<{ trainingProgress: Event }>(late, PROGRESS, { id: runId });
    await late.dispose();
    expect(errors).toEqual([]);
    expect(events).toHaveLength(1);
    const state = events[0]!.trainingProgress;
    expect(state.kind).toBe("STATE");
    const logged = state.logs!.map((l) => l.message);
    expect(logged[0]).toBe("training started");
    expect(logged[1]).toMatch(/^\d+ conversations; 3 steps on /);
    expect(logged.at(-1)).toMatch(SUMMARY);
    // the early subscriber heard the same lines, each once, in the same order
    expect(messages(live)).toEqual(logged);
  });

  it("cancel shows CANCELLING, then logs where it stopped; resume logs why the step goes back before it does", async () => {
    const runId = await start("{ maxSteps: 400, batchSize: 1, maxSeqLength: 32, loggingSteps: 1, saveSteps: 2, optim: \"adamw\" }");
    const client = demo.api.ws();
    let answered: { status: string } | undefined;
    const cancelled = await follow(client, runId, (e) => {
      if (e.kind === "METRIC" && e.metric!.step === 3 && !answered) {
        void demo.api.gql<{ cancelTraining: { status: string } }>(`mutation { cancelTraining(id: "${runId}") { status } }`).then((r) => (answered = r.data!.cancelTraining));
      }
    });
    expect(answered).toEqual({ status: "CANCELLING" });
    expect(cancelled.some((e) => e.kind === "STATUS" && e.status === "CANCELLING")).toBe(true);
    expect(cancelled.at(-1)).toMatchObject({ kind: "STATUS", status: "CANCELLED" });
    const stoppedAt = cancelled.at(-1)!.currentStep;
    const stopLine = messages(cancelled).at(-1)!;
    const [, step, checkpoint] = /^cancelled at step (\d+); last checkpoint (\d+)$/.exec(stopLine) ?? [];
    expect(Number(step)).toBe(stoppedAt);
    expect(Number(checkpoint)).toBe(stoppedAt - (stoppedAt % 2));

    // resumed and cancelled again a few steps on: the step may only go back after the resume line says why
    const resumed = await demo.api.gql(`mutation { resumeTraining(id: "${runId}") { id } }`);
    expect(resumed.errors).toBeUndefined();
    let asked = false;
    const again = await follow(client, runId, (e) => {
      if (e.kind === "METRIC" && e.metric!.step >= stoppedAt + 2 && !asked) {
        asked = true;
        void demo.api.gql(`mutation { cancelTraining(id: "${runId}") { id } }`);
      }
    });
    await client.dispose();
    const resumeLine = new RegExp(`^resuming from checkpoint at step ${checkpoint}${stoppedAt > Number(checkpoint) ? `; steps ${Number(checkpoint) + 1}-${stoppedAt} are trained again` : ""}$`);
    // in the STATE when the worker was quicker than the subscription, else as a LOG event
    const said = again.findIndex((e) => [...(e.logs ?? []), ...(e.log ? [e.log] : [])].some((l) => resumeLine.test(l.message)));
    expect(said).toBeGreaterThan(-1);
    let highest = 0;
    again.forEach((e, i) => {
      if (e.currentStep < highest) expect(i).toBeGreaterThan(said);
      highest = Math.max(highest, e.currentStep);
    });
    expect(again.filter((e) => e.kind === "METRIC")[0]!.metric!.step).toBe(Number(checkpoint) + 1);
  });
});
