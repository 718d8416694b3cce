/**
 * Runs the installed kubectl against the stub server and decodes what it really sends now, so a
 * kubectl that changes its encoding (new fields, another media type) fails here rather than in
 * front of a user. Skipped, with the reason printed, when no kubectl is installed.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { argvOf, COMMANDS } from "./_testing/commands.ts";
import { findKubectls, type KubectlSandbox, kubectlSandbox } from "./_testing/kubectl.ts";
import { type StubServer, startStubServer } from "./_testing/stub-server.ts";
import { decodeKubeProtobufReport, isProtobufContentType } from "./index.ts";

const all = findKubectls();
// The kubectl on PATH and the newest versioned binary beside it.
const binaries = [all[0], all.length > 1 ? all.at(-1) : undefined].filter((b) => b !== undefined);
const commands = COMMANDS.filter((c) => c.name === "deployment" || c.name === "service-nodeport");
const skip = binaries.length === 0 ? "kubectl is not installed (not found on PATH)" : false;

describe("the installed kubectl's create bodies", { skip }, () => {
  let server: StubServer;
  let sandbox: KubectlSandbox;
  before(async () => {
    server = await startStubServer();
    sandbox = kubectlSandbox(server.url);
  });
  after(async () => {
    sandbox.dispose();
    await server.close();
  });

  for (const bin of binaries) {
    for (const cmd of commands) {
      it(`${bin.name} ${argvOf(cmd).join(" ")} decodes to what kubectl prints with --dry-run=client`, async (t) => {
        const before = server.posts.length;
        const run = await sandbox.run(bin.path, argvOf(cmd));
        assert.equal(run.code, 0, run.stderr);
        const post = server.posts[before];
        assert.ok(post, "kubectl sent no POST");
        const dry = await sandbox.run(bin.path, argvOf(cmd, ["--dry-run=client", "-o", "json"]));
        assert.equal(dry.code, 0, dry.stderr);
        const want: unknown = JSON.parse(dry.stdout);
        if (isProtobufContentType(post.contentType)) {
          const got = decodeKubeProtobufReport(post.body);
          assert.deepEqual(got.object, want);
          assert.deepEqual(got.unknownFields, [], "kubectl sent fields the schema lacks");
          t.diagnostic(`${bin.name} sent protobuf`);
        } else {
          assert.match(post.contentType, /^application\/json/, "kubectl sent a new media type");
          assert.deepEqual(JSON.parse(post.body.toString("utf8")), want);
          t.diagnostic(`${bin.name} sent JSON`);
        }
      });
    }
  }
});
