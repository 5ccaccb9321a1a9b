import { describe, expect, it } from "vitest";
import { StopMatcher } from "../../../src/backends/onnx/stop.js";

function run(stops: string[], chunks: string[]): { out: string; stopped: boolean } {
  const m = new StopMatcher(stops);
  let out = "";
  for (const c of chunks) out += m.push(c);
  if (!m.stopped) out += m.flush();
  return { out, stopped: m.stopped };
}

describe("StopMatcher", () => {
  it("stops on a stop sequence split across tokens and does not emit it", () => {
    expect(run(["### Human:"], ["Sure", " thing.", "##", "# Hu", "man:", " more"])).toEqual({ out: "Sure thing.", stopped: true });
  });

  it("holds back a possible prefix, then releases it when it does not complete", () => {
    const m = new StopMatcher(["\n\nUser"]);
    expect(m.push("a\n")).toBe("a");
    expect(m.push("\nUs")).toBe("");
    expect(m.push("ed")).toBe("\n\nUsed");
    expect(m.stopped).toBe(false);
  });

  it("releases held text at the end", () => {
    expect(run(["STOP"], ["end ST"])).toEqual({ out: "end ST", stopped: false });
  });

  it("cuts at the earliest of several stop sequences", () => {
    expect(run(["bb", "a"], ["xxbb", "a"])).toEqual({ out: "xx", stopped: true });
    expect(run(["cd", "bcx"], ["abcd"])).toEqual({ out: "ab", stopped: true });
  });

  it("emits everything at once without stop sequences, and nothing after stopping", () => {
    const m = new StopMatcher([]);
    expect(m.push("abc")).toBe("abc");
    const s = new StopMatcher(["x"]);
    expect(s.push("ax")).toBe("a");
    expect(s.push("more")).toBe("");
    expect(s.flush()).toBe("");
  });
});
