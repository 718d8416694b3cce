/**
 * `loopkube images` and `loopkube load image` as a user runs them, against a real registry
 * (Debian's docker-registry on a loopback port) and images built from busybox-static; and
 * `images rm` of an image a running pod of a cluster uses (refused, then removed once the pod is
 * gone: root and crun, skipped visibly else).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Pod } from "kubernetes-types/core/v1.js";
import {
  buildBusyboxLayout,
  imageToolsMissing,
  type Layout,
  skopeoCopy,
  startRegistry,
  type TestRegistry,
  waitFor,
} from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import { startCluster } from "../src/index.ts";
import { NO_OCI } from "./_busybox.ts";
import { cliEnv, runLoopkube } from "./_cli.ts";

const missing = imageToolsMissing();
const skip =
  missing.length > 0 && `needs ${missing.join(", ")} (apt-get install ${missing.join(" ")})`;
if (skip) console.log(`# SKIP images CLI tests: ${skip}`);

let home: string;
let registry: TestRegistry;
let layout: Layout;

before(async () => {
  if (skip) return;
  home = mkdtempSync(join(tmpdir(), "lk-images-cli-"));
  registry = await startRegistry();
  layout = await buildBusyboxLayout(join(home, "layout"), { tag: "1" });
  await skopeoCopy(`oci:${layout.dir}:1`, `docker://${registry.host}/demo/httpd:1`);
});

after(async () => {
  if (skip) return;
  await registry?.stop();
  rmSync(home, { recursive: true, force: true });
});

test("loopkube images pull, ls, rm and load image work on the user's shared store", {
  skip,
}, async () => {
  const env = cliEnv(home);
  const pulled = await runLoopkube(["images", "pull", `${registry.host}/demo/httpd:1`], env);
  assert.equal(pulled.code, 0, pulled.stderr);
  assert.equal(pulled.stdout.trim(), `${registry.host}/demo/httpd:1 ${layout.manifestDigest}`);
  assert.match(pulled.stderr, /demo\/httpd:1: done, [\d.]+MB/);

  const archive = join(home, "saved.tar");
  await skopeoCopy(`oci:${layout.dir}:1`, `docker-archive:${archive}:saved/app:2`);
  const loaded = await runLoopkube(["load", "image", archive], env);
  assert.equal(loaded.code, 0, loaded.stderr);
  assert.match(
    loaded.stdout,
    /^Loaded image: docker\.io\/saved\/app:2 \([\d.]+MB, id [0-9a-f]{12}\)$/m,
  );

  const listed = await runLoopkube(["images"], env);
  assert.equal(listed.code, 0, listed.stderr);
  const lines = listed.stdout.trim().split("\n");
  assert.match(lines[0] ?? "", /^IMAGE\s+TAG\s+IMAGE ID\s+SIZE$/);
  assert.deepEqual(
    lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2)),
    [
      [`${registry.host}/demo/httpd`, "1"],
      ["docker.io/saved/app", "2"],
    ],
  );

  const removed = await runLoopkube(["images", "rm", "saved/app:2"], env);
  assert.equal(removed.code, 0, removed.stderr);
  assert.match(removed.stdout, /^Deleted: docker\.io\/saved\/app:2$/m);
  const after = await runLoopkube(["images", "ls"], env);
  assert.doesNotMatch(after.stdout, /saved\/app/);
  const missingImage = await runLoopkube(["images", "rm", "nothing/here:1"], env);
  assert.equal(missingImage.code, 1);
  assert.match(missingImage.stderr, /no such image: nothing\/here:1/);
  const notFound = await runLoopkube(["images", "pull", `${registry.host}/demo/httpd:nope`], env);
  assert.equal(notFound.code, 1);
  assert.match(notFound.stderr, /not found/);
});

test("images rm refuses an image a running pod of a cluster uses, and removes it once the pod is gone", {
  skip: skip || NO_OCI,
}, async () => {
  const env = cliEnv(home);
  const image = `${registry.host}/demo/httpd:1`;
  const cluster = await startCluster({
    name: "images-in-use",
    dataDir: join(home, "cluster"),
    apiPort: 0,
    dnsPort: 0,
    updateKubeconfig: false,
    // The store the CLI uses for this user (XDG_DATA_HOME of cliEnv).
    imageStore: join(home, "data", "loopkube", "images"),
    runtime: "oci",
  });
  try {
    await cluster.client.create(REFS.pods, "default", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "user" },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{ name: "app", image, imagePullPolicy: "IfNotPresent" }],
      },
    });
    await waitFor(
      async () => {
        const p = (await cluster.client.get(REFS.pods, "default", "user")) as Pod;
        return p.status?.containerStatuses?.[0]?.state?.running ? p : undefined;
      },
      { timeoutMs: 60_000, what: "pod user running" },
    );
    const refused = await runLoopkube(["images", "rm", image], env);
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(
      refused.stderr,
      /unable to remove image .*demo\/httpd:1: image is in use by a container: pod default\/user \(container app\) in cluster images-in-use/,
    );
    const pruned = await runLoopkube(["images", "prune", "--all"], env);
    assert.equal(pruned.code, 0, pruned.stderr);
    const listed = await runLoopkube(["images", "ls"], env);
    assert.match(listed.stdout, /demo\/httpd\s+1\s/);

    await cluster.client.delete(REFS.pods, "default", "user");
    await waitFor(
      async () =>
        (await cluster.client.get(REFS.pods, "default", "user").then(
          () => false,
          () => true,
        )) || undefined,
      { timeoutMs: 60_000, what: "pod user gone" },
    );
    const removed = await runLoopkube(["images", "rm", image], env);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /^Deleted: .*demo\/httpd:1$/m);
  } finally {
    await cluster.stop();
  }
});
