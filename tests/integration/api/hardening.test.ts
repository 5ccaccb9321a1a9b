import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { noBackends, startTestApi, type TestApi } from "./harness.js";

// issue 11's audit reproductions, made small, against the real server
const KEY = "hardening-key";
const auth = { authorization: `Bearer ${KEY}` };
describe("request pipeline hardening", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ backends: noBackends, env: { TUNEGRAPH_API_KEY: KEY } });
  });
  afterAll(async () => {
    await api?.close();
  });

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(api.url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  const code = (r: { errors?: { extensions?: { code?: string } }[] }) => r.errors?.[0]?.extensions?.code;

  it("answers huge documents at once, with or without the key, and never delays health", async () => {
    const aliases = `{ ${Array.from({ length: 4000 }, (_, i) => `m${i}: model(id:"i") { id }`).join(" ")} }`;
    const wide = "{ " + "health { ok } ".repeat(60000) + "}";
    for (const [query, headers, status] of [[aliases, {}, 401], [wide, {}, 401], [aliases, auth, 400], [wide, auth, 400]] as const) {
      const started = performance.now();
      const [res, health] = await Promise.all([post(JSON.stringify({ query }), headers), api.gql("{ health { ok } }")]);
      expect(res.status, await res.clone().text()).toBe(status);
      expect(health.status).toBe(200);
      expect(performance.now() - started).toBeLessThan(1000);
    }
    const many = await api.gql(`{ ${Array.from({ length: 40 }, (_, i) => `h${i}: health { ok }`).join(" ")} }`, {}, auth);
    expect(code(many)).toBe("QUERY_TOO_COSTLY");
  });

  it("answers every express-level error as JSON in the API's shape", async () => {
    for (const [body, status] of [["{not json", 400], ["null", 400], ['"a string"', 400], [JSON.stringify({ query: "x".repeat(1_100_000) }), 413]] as const) {
      const res = await post(body, auth);
      expect(res.status).toBe(status);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({ errors: [{ message: expect.any(String), extensions: { code: "BAD_REQUEST" } }] });
      expect(text).not.toMatch(/\/work|node_modules|at \w+ \(/);
    }
    const escape = await fetch(api.url.replace("/graphql", "/assets/..%2f..%2fpackage.json"));
    expect([403, 404]).toContain(escape.status);
    expect(((await escape.json()) as { errors: unknown[] }).errors).toHaveLength(1);
  });

  it("answers depth and cost limits with HTTP 400", async () => {
    const deep = await api.gql("{ trainingRuns { nodes { adapter { run { adapter { run { adapter { run { adapter { run { id } } } } } } } } } } }", {}, auth);
    expect([deep.status, code(deep)]).toEqual([400, "QUERY_TOO_DEEP"]);
    const costly = await api.gql("{ trainingRuns(first: 1000) { nodes { metrics(last: 1000) { step loss } } } }", {}, auth);
    expect([costly.status, code(costly)]).toEqual([400, "QUERY_TOO_COSTLY"]);
  });

  it("refuses a subscription over HTTP and generate on a GET", async () => {
    const sub = await api.gql('subscription { trainingProgress(runId: "x") { kind } }', {}, auth);
    expect([sub.status, code(sub)]).toEqual([400, "BAD_REQUEST"]);
    expect(sub.errors![0]!.message).toMatch(/WebSocket/);
    const q = encodeURIComponent('{ generate(input: { modelId: "m", prompt: "hi" }) { text } }');
    const get = await fetch(`${api.url}?query=${q}`, { headers: { ...auth, "apollo-require-preflight": "1" } });
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
  });

  it("refuses NUL and unpaired surrogates in literals and variables, naming where", async () => {
    const literal = await api.gql('{ model(id: "a\\u0000b") { id } }', {}, auth);
    expect([literal.status, code(literal)]).toEqual([400, "BAD_USER_INPUT"]);
    expect(literal.errors![0]!.message).toMatch(/argument "id" contains a NUL/);
    const variable = await api.gql("query ($id: ID!) { model(id: $id) { id } }", { id: "x\ud800" }, auth);
    expect(code(variable)).toBe("BAD_USER_INPUT");
    expect(variable.errors![0]!.message).toMatch(/variable "\$id" contains an unpaired/);
    const nested = await api.gql("mutation ($i: GenerateInput!) { __typename }", { i: { prompt: "\u0000" } }, auth);
    expect(code(nested)).not.toBe("INTERNAL_SERVER_ERROR");
  });

  it("has a liveness and a readiness probe", async () => {
    const base = api.url.replace("/graphql", "");
    expect((await fetch(`${base}/livez`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ok: true, database: true });
  });

  it("survives a seeded fuzz of malformed requests: no 5xx, no stack or path, health after each", async () => {
    let seed = 12345;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const strings = ["", "\u0000", "\ud800", "\udc00x", "a".repeat(5000), "../../etc/passwd", "😀"];
    const numbers = [-1, 0, 1e400 === Infinity ? 1e308 : 0, -2147483649, 2147483648, 1.5, 1e15];
    const values = [...strings.map((s) => JSON.stringify(s)), ...numbers.map(String), "null", "true", "[]", "{}"];
    const fields = ['model(id: $v) { id }', 'trainingRuns(first: $v) { totalCount }', 'trainingRun(id: $v) { id }', 'metrics(runId: $v, last: $v) { step }'];
    for (let i = 0; i < 300; i++) {
      const v = values[rand(values.length)]!;
      const kind = rand(5);
      const body =
        kind === 0 ? values[rand(values.length)]! // not a request object
        : kind === 1 ? JSON.stringify({ query: "{".repeat(rand(3000)) })
        : kind === 2 ? JSON.stringify({ query: `query ($v: ${["ID!", "Int", "String", "[Int]"][rand(4)]}) { ${fields[rand(fields.length)]} }`, variables: { v: JSON.parse(v) } })
        : kind === 3 ? JSON.stringify({ query: `{ ${fields[rand(fields.length)]!.replaceAll("$v", v)} }` })
        : `{"query": "{ health { ok } }", "variables": ${"[".repeat(rand(20000))}`;
      const res = await post(body, auth);
      const text = await res.text();
      expect(res.status, body.slice(0, 200)).toBeLessThan(500);
      expect(text, body.slice(0, 200)).not.toMatch(/\/work\/|node_modules|\n\s+at /);
    }
    expect((await api.gql("{ health { ok } }")).status).toBe(200);
    const runs = await api.gql<{ trainingRuns: { totalCount: number }; models: unknown[] }>("{ trainingRuns { totalCount } models { id } }", {}, auth);
    expect(runs.data).toEqual({ trainingRuns: { totalCount: 0 }, models: [] });
  });
});
