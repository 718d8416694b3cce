import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CHANNEL,
  exitStatus,
  frame,
  parseExecQuery,
  parseMessage,
  pickProtocol,
} from "./exec_protocol.ts";

test("exitStatus is the kubelet's Success for exit code 0", () => {
  assert.deepEqual(exitStatus(0, ["true"]), { metadata: {}, status: "Success" });
});

test("exitStatus carries a non-zero exit code as the ExitCode cause kubectl reads", () => {
  const s = exitStatus(3, ["sh", "-c", "exit 3"]) as {
    status: string;
    reason: string;
    details: { causes: { reason: string; message: string }[] };
  };
  assert.equal(s.status, "Failure");
  assert.equal(s.reason, "NonZeroExitCode");
  assert.deepEqual(s.details.causes, [{ reason: "ExitCode", message: "3" }]);
});

test("pickProtocol prefers v5 and refuses what it does not speak", () => {
  const cases: [string[], string | undefined][] = [
    [["v4.channel.k8s.io", "v5.channel.k8s.io"], "v5.channel.k8s.io"],
    [["v4.channel.k8s.io"], "v4.channel.k8s.io"],
    [["channel.k8s.io", "base64.channel.k8s.io"], undefined],
    [[], undefined],
  ];
  for (const [offered, want] of cases) assert.equal(pickProtocol(offered), want, offered.join());
});

test("frame prefixes the channel byte", () => {
  assert.deepEqual([...frame(CHANNEL.stdout, "hi")], [1, 0x68, 0x69]);
});

test("parseMessage decodes stdin, the v5 close signal and resize; drops the rest", () => {
  const v5 = "v5.channel.k8s.io";
  assert.deepEqual(parseMessage(Buffer.from([0, 0x61]), v5), {
    kind: "stdin",
    data: Buffer.from("a"),
  });
  assert.deepEqual(parseMessage(Buffer.from([255, 0]), v5), { kind: "close", channel: 0 });
  assert.deepEqual(parseMessage(Buffer.from([255, 0]), "v4.channel.k8s.io"), { kind: "ignored" });
  assert.deepEqual(parseMessage(frame(4, '{"Width":80,"Height":24}'), v5), {
    kind: "resize",
    width: 80,
    height: 24,
  });
  assert.deepEqual(parseMessage(frame(4, "{bad"), v5), { kind: "ignored" });
  assert.deepEqual(parseMessage(Buffer.alloc(0), v5), { kind: "ignored" });
});

test("parseExecQuery reads repeated command parameters and the stream flags", () => {
  const q = new URLSearchParams(
    "command=sh&command=-c&command=echo+hi&container=web&stdin=true&stdout=true&tty=1",
  );
  assert.deepEqual(parseExecQuery(q), {
    command: ["sh", "-c", "echo hi"],
    container: "web",
    stdin: true,
    stdout: true,
    stderr: false,
    tty: true,
  });
});
