import assert from "node:assert/strict";
import { once } from "node:events";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { decodeServingStatus, encodeCheckRequest, grpcCheck } from "./grpcprobe.ts";

test("the request and response messages are gRPC frames of the health protocol", () => {
  assert.deepEqual([...encodeCheckRequest("")], [0, 0, 0, 0, 0]);
  assert.deepEqual([...encodeCheckRequest("db")], [0, 0, 0, 0, 4, 0x0a, 2, 0x64, 0x62]);
  // [case, frame, status]
  const cases: Array<[string, number[], number]> = [
    ["SERVING", [0, 0, 0, 0, 2, 0x08, 1], 1],
    ["NOT_SERVING", [0, 0, 0, 0, 2, 0x08, 2], 2],
    ["an empty message is UNKNOWN", [0, 0, 0, 0, 0], 0],
    ["an unknown string field first is skipped", [0, 0, 0, 0, 5, 0x12, 1, 0x78, 0x08, 1], 1],
  ];
  for (const [name, frame, want] of cases)
    assert.equal(decodeServingStatus(Buffer.from(frame)), want, name);
});

describe("grpcCheck against a grpc-js server with the standard health service", () => {
  const health = new HealthImplementation({
    "": "SERVING",
    ready: "SERVING",
    draining: "NOT_SERVING",
  });
  const server = new Server();
  const bare = new Server(); // serves no health service at all
  let port = 0;
  let barePort = 0;
  const bind = (s: Server) =>
    new Promise<number>((resolve, reject) =>
      s.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
  before(async () => {
    health.addToServer(server);
    port = await bind(server);
    barePort = await bind(bare);
  });
  after(() => {
    server.forceShutdown();
    bare.forceShutdown();
  });

  test("answers as kube's gRPC probe does for each outcome", async () => {
    // [case, port, service, ok, message]
    const cases: Array<[string, () => number, string, boolean, string | RegExp]> = [
      ["the server as a whole", () => port, "", true, "service healthy"],
      ["a named service", () => port, "ready", true, "service healthy"],
      [
        "a service not serving",
        () => port,
        "draining",
        false,
        'service unhealthy (responded with "NOT_SERVING")',
      ],
      [
        "a service the server does not know",
        () => port,
        "nope",
        false,
        /^error: health rpc probe failed: rpc error: code = NotFound desc = /,
      ],
      [
        "a server without the health service",
        () => barePort,
        "",
        false,
        /^error: this server does not implement the grpc health protocol \(grpc\.health\.v1\.Health\): /,
      ],
    ];
    for (const [name, p, service, ok, message] of cases) {
      const got = await grpcCheck("127.0.0.1", p(), service, 1000);
      assert.equal(got.ok, ok, `${name}: ${got.message}`);
      if (typeof message === "string") assert.equal(got.message, message, name);
      else assert.match(got.message, message, name);
    }
  });

  test("through `dial` (rootless pods): the check uses the socket it hands over", async () => {
    const asked: string[] = [];
    const dial = (host: string, p: number) => {
      asked.push(`${host}:${p}`);
      const s = connect({ host: "127.0.0.1", port });
      return once(s, "connect").then(() => s);
    };
    // The pod's address: nothing listens there on the host.
    const got = await grpcCheck("127.244.9.9", 50051, "ready", 1000, dial);
    assert.deepEqual(got, { ok: true, message: "service healthy" });
    assert.deepEqual(asked, ["127.244.9.9:50051"]);
    const refused = await grpcCheck("127.244.9.9", 50051, "", 1000, () =>
      Promise.reject(new Error("connect ECONNREFUSED")),
    );
    assert.equal(
      refused.message,
      'timeout: failed to connect service "127.244.9.9:50051" within 1s: context deadline exceeded',
    );
  });

  test("a status change is seen by the next check", async () => {
    health.setStatus("flip", "NOT_SERVING");
    assert.equal((await grpcCheck("127.0.0.1", port, "flip", 1000)).ok, false);
    health.setStatus("flip", "SERVING");
    assert.equal((await grpcCheck("127.0.0.1", port, "flip", 1000)).ok, true);
  });
});

test("a port nobody listens on fails with kube's connect message", async () => {
  const got = await grpcCheck("127.0.0.1", 1, "", 1000);
  assert.deepEqual(got, {
    ok: false,
    message:
      'timeout: failed to connect service "127.0.0.1:1" within 1s: context deadline exceeded',
  });
});
