import assert from "node:assert/strict";
import { test } from "node:test";
import { createTokenManager, requiresRefresh, type TokenRequestSpec } from "./tokens.ts";

const T0 = Date.parse("2025-01-01T00:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

test("requiresRefresh: at 80 % of the lifetime, or after 24 h, less the jitter", () => {
  const hour = { expirationSeconds: 3600, expirationTimestamp: iso(T0 + 3600_000) };
  const twoDays = { expirationSeconds: 172_800, expirationTimestamp: iso(T0 + 172_800_000) };
  const cases: Array<[string, typeof hour, number, number, boolean]> = [
    ["fresh", hour, 0, 0, false],
    ["at 79 %", hour, 2844_000, 0, false],
    ["past 80 %", hour, 2881_000, 0, true],
    ["at 79 % with 10 s of jitter past 80 %", hour, 2871_000, 10_000, true],
    ["a two-day token after 23 h", twoDays, 23 * 3600_000, 0, false],
    ["a two-day token after 24 h", twoDays, 24 * 3600_000 + 1, 0, true],
  ];
  for (const [what, entry, after, jitter, due] of cases) {
    assert.equal(requiresRefresh(entry, T0 + after, jitter), due, what);
  }
});

test("the token manager serves its cache until the token is due, then asks the API again", async () => {
  let now = T0;
  const calls: number[] = [];
  const manager = createTokenManager({
    now: () => now,
    random: () => 0,
    request: async (_ns, _sa, spec) => {
      calls.push(now);
      return {
        token: `token-${calls.length}`,
        expirationTimestamp: iso(now + spec.expirationSeconds * 1000),
      };
    },
  });
  const spec: TokenRequestSpec = {
    expirationSeconds: 600,
    boundObjectRef: { apiVersion: "v1", kind: "Pod", name: "p", uid: "u1" },
  };
  assert.equal(await manager.get("ns", "default", spec), "token-1");
  now = T0 + 470_000; // 78 %
  assert.equal(await manager.get("ns", "default", spec), "token-1");
  now = T0 + 481_000; // past 80 %
  assert.equal(await manager.get("ns", "default", spec), "token-2");
  assert.deepEqual(calls, [T0, T0 + 481_000]);
  // Another pod's token is its own entry; forgetting a pod drops its tokens.
  await manager.get("ns", "default", {
    ...spec,
    boundObjectRef: { ...spec.boundObjectRef, uid: "u2" },
  });
  assert.equal(manager.size(), 2);
  manager.forgetPod("u2");
  assert.equal(manager.size(), 1);
});

test("a failed refresh keeps serving the old token while it is valid; an expired one is dropped", async () => {
  let now = T0;
  let fail = false;
  const errors: unknown[] = [];
  const manager = createTokenManager({
    now: () => now,
    random: () => 0,
    onError: (e) => errors.push(e),
    request: async (_ns, _sa, spec) => {
      if (fail) throw new Error("API down");
      return { token: "t", expirationTimestamp: iso(now + spec.expirationSeconds * 1000) };
    },
  });
  const spec: TokenRequestSpec = {
    expirationSeconds: 600,
    boundObjectRef: { apiVersion: "v1", kind: "Pod", name: "p", uid: "u" },
  };
  await manager.get("ns", "sa", spec);
  fail = true;
  now = T0 + 500_000;
  assert.equal(await manager.get("ns", "sa", spec), "t");
  assert.equal(errors.length, 1);
  now = T0 + 600_000;
  await assert.rejects(manager.get("ns", "sa", spec), /API down/);
  assert.equal(manager.size(), 0);
});
