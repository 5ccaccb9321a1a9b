import { serverAudits } from "graphql-http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { noBackends, startTestApi, type TestApi } from "./harness.js";

describe("GraphQL over HTTP (graphql-http serverAudits)", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ backends: noBackends });
  });
  afterAll(async () => {
    await api?.close();
  });

  it("passes every MUST audit", async () => {
    const results = [];
    for (const audit of serverAudits({ url: () => api.url, fetchFn: fetch })) {
      results.push(await audit.fn());
    }
    expect(results.length).toBeGreaterThan(20);
    const failed = results.flatMap((r) => (r.status === "error" ? [`${r.name}: ${r.reason}`] : []));
    expect(failed).toEqual([]);
  });
});
