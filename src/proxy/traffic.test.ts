import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TrafficCounter } from "./traffic.ts";

describe("TrafficCounter", () => {
  it("sums each port's connections per endpoint over the last minute, and forgets older ones", () => {
    let now = 1_000_000;
    const t = new TrafficCounter(() => now);
    t.count("ns/a:http", "127.244.0.1:8080");
    t.count("ns/a:http", "127.244.0.1:8080");
    now += 30_000;
    t.count("ns/a:http", "127.244.0.2:8080");
    assert.deepEqual(t.recent(), [
      { port: "ns/a:http", endpoint: "127.244.0.1:8080", connections: 2 },
      { port: "ns/a:http", endpoint: "127.244.0.2:8080", connections: 1 },
    ]);
    now += 31_000;
    assert.deepEqual(t.recent(), [
      { port: "ns/a:http", endpoint: "127.244.0.2:8080", connections: 1 },
    ]);
    now += 120_000;
    assert.deepEqual(t.recent(), []);
  });

  it("reuses a bucket a minute later without counting the old second in it", () => {
    let now = 5_000;
    const t = new TrafficCounter(() => now);
    t.count("p", "e");
    now += 60_000;
    t.count("p", "e");
    assert.deepEqual(t.recent(), [{ port: "p", endpoint: "e", connections: 1 }]);
  });
});
