import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { healthCheckBody } from "./healthcheck.ts";

describe("healthCheckBody", () => {
  it("writes kube-proxy's JSON, tab-indented, without a trailing newline", () => {
    assert.equal(
      healthCheckBody({ namespace: "default", name: "web" }, 2, true),
      '{\n\t"service": {\n\t\t"namespace": "default",\n\t\t"name": "web"\n\t},\n\t"localEndpoints": 2,\n\t"serviceProxyHealthy": true\n}',
    );
  });
});
