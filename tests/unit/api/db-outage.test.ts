import { describe, expect, it } from "vitest";
import { isDatabaseUnavailable } from "../../../src/services/db-outage.js";

// the shapes seen while PostgreSQL was stopped and started under Prisma's pg adapter (a probe that looped writes,
// transactions and reads across restarts on a loaded machine)
describe("isDatabaseUnavailable", () => {
  it("knows an outage in every shape Prisma and pg report it", () => {
    const adapter = (cause: object) => Object.assign(new Error("x"), { code: "P2010", meta: { driverAdapterError: { cause } } });
    const driverAdapterError = Object.assign(new Error("x"), { name: "DriverAdapterError", cause: { kind: "ConnectionClosed" } });
    for (const err of [
      Object.assign(new Error("Can't reach database server"), { code: "P1001" }),
      Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" }),
      adapter({ kind: "DatabaseNotReachable" }),
      adapter({ kind: "postgres", originalCode: "57P03" }),
      driverAdapterError,
      new Error("Connection terminated unexpectedly"),
      new Error("Connection terminated due to connection timeout"),
      // a pooled client whose socket broke: pg's plain Error, no code (it used to end a run FAILED, not waiting)
      new Error("Client has encountered a connection error and is not queryable"),
      new Error("timeout exceeded when trying to connect"),
    ]) {
      expect(isDatabaseUnavailable(err), String(err.message)).toBe(true);
    }
  });

  it("does not take a refused statement or another error for an outage", () => {
    for (const err of [
      Object.assign(new Error("Unique constraint failed"), { code: "P2002" }),
      Object.assign(new Error("x"), { code: "P2010", meta: { driverAdapterError: { cause: { kind: "UnsupportedNativeDataType" } } } }),
      new Error("Client was closed and is not queryable"),
      new Error("loss is not finite"),
      null,
      "Connection terminated unexpectedly",
    ]) {
      expect(isDatabaseUnavailable(err)).toBe(false);
    }
  });
});
