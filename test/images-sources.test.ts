/**
 * Issue 18's acceptance for where images come from and how their config starts the container,
 * with the real kubectl against one cluster (runtime `auto`, so `oci` as root):
 *
 * - a token-auth registry (a second `docker-registry` behind the test token server): a private
 *   repository is refused without imagePullSecrets (ErrImagePull) and pulled with them; a public
 *   one is pulled with an anonymous token;
 * - `loopkube load image` of a `docker save` tarball (docker-archive, written by skopeo from a
 *   layout, offline), then a pod with `imagePullPolicy: Never` runs it;
 * - the Entrypoint/Cmd vs command/args table of kube's "Define a Command and Arguments for a
 *   Container" page, one pod per row, each echoing what it was started with to its log.
 *
 * Needs root, crun (or runc), docker-registry, skopeo, openssl, python3 and busybox-static; skips
 * visibly else. Network safety: `ip route get` shows where each pod address goes before anything
 * is sent to it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Container } from "kubernetes-types/core/v1.js";
import {
  buildBusyboxLayout,
  type Layout,
  skopeoCopy,
  startRegistry,
  type TestRegistry,
  waitFor,
} from "../src/_testing/index.ts";
import { cliEnv, runLoopkube } from "./_cli.ts";
import { imageCluster, imagesSkip, isReady, serves } from "./_images.ts";

const SKIP = imagesSkip("images-sources.test.ts", ["docker-registry", "skopeo", "openssl"]);

const USER = { username: "carol", password: "t0ken-e2e" };

/** kube's table, with the page's names: the image has Entrypoint [/ep-1] and Cmd [foo bar]. */
const COMMAND_TABLE: {
  row: string;
  container: Pick<Container, "command" | "args">;
  runs: string;
}[] = [
  { row: "neither command nor args: Entrypoint and Cmd", container: {}, runs: "ep-1 foo bar" },
  { row: "command only: command", container: { command: ["/bin/echo", "ep-2"] }, runs: "ep-2" },
  {
    row: "args only: Entrypoint and args",
    container: { args: ["zoo", "boo"] },
    runs: "ep-1 zoo boo",
  },
  {
    row: "command and args: command and args",
    container: { command: ["/bin/echo", "ep-2"], args: ["zoo", "boo"] },
    runs: "ep-2 zoo boo",
  },
];

describe("images from a token-auth registry and a docker save tarball; Entrypoint/Cmd vs command/args", {
  skip: SKIP,
}, () => {
  const f = imageCluster("images-sources", {
    images: { "cmd:1": { tag: "1", entrypoint: ["/bin/echo", "ep-1"], cmd: ["foo", "bar"] } },
  });
  const { ok } = f;
  let tokened: TestRegistry | undefined;
  let layout: Layout;
  /** The token-auth registry, started in `before()`. */
  const tokenedHost = () => tokened?.host ?? assert.fail("the token-auth registry is not running");

  const getPod = f.pod;
  const apply = (name: string, spec: Record<string, unknown>) =>
    ok(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name },
        spec: { terminationGracePeriodSeconds: 1, ...spec },
      }),
    );
  const runningReady = (name: string) =>
    waitFor(
      async () => {
        const p = await getPod(name);
        return p.status?.phase === "Running" && isReady(p) ? p : undefined;
      },
      { timeoutMs: 60_000, what: `pod ${name} Running and Ready` },
    );

  before(async () => {
    tokened = await startRegistry({ tokenAuth: { ...USER, publicPrefix: "public/" } });
    layout = await buildBusyboxLayout(join(f.dir, "httpd"), { tag: "tokened" });
    const creds = `${USER.username}:${USER.password}`;
    await Promise.all(
      ["private", "public"].map((repo) =>
        skopeoCopy(`oci:${layout.dir}:tokened`, `docker://${tokenedHost()}/${repo}/httpd:1`, {
          destCreds: creds,
        }),
      ),
    );
  });

  after(async () => {
    await tokened?.stop();
  });

  test("a token-auth registry: private refused without imagePullSecrets, pulled with them", async () => {
    const privateRef = `${tokenedHost()}/private/httpd:1`;
    await apply("public", {
      containers: [{ name: "app", image: `${tokenedHost()}/public/httpd:1` }],
    });
    await apply("refused", { containers: [{ name: "app", image: privateRef }] });
    await ok([
      "create",
      "secret",
      "docker-registry",
      "tokened",
      `--docker-server=${tokenedHost()}`,
      `--docker-username=${USER.username}`,
      `--docker-password=${USER.password}`,
    ]);
    await apply("authorized", {
      imagePullSecrets: [{ name: "tokened" }],
      containers: [{ name: "app", image: privateRef }],
    });

    const refused = await waitFor(
      async () => {
        const p = await getPod("refused");
        const reason = p.status?.containerStatuses?.[0]?.state?.waiting?.reason;
        return reason === "ErrImagePull" || reason === "ImagePullBackOff" ? p : undefined;
      },
      { timeoutMs: 30_000, what: "ErrImagePull without imagePullSecrets" },
    );
    assert.match(
      refused.status?.containerStatuses?.[0]?.state?.waiting?.message ?? "",
      /401|403|unauthorized|denied/i,
    );
    for (const [name, repo] of [
      ["authorized", "private"],
      ["public", "public"],
    ] as const) {
      const pod = await runningReady(name);
      assert.equal(
        pod.status?.containerStatuses?.[0]?.imageID,
        `${tokenedHost()}/${repo}/httpd@${layout.manifestDigest}`,
      );
      await serves(pod.status?.podIP ?? "", "hello from tokened\n");
    }
  });

  test("loopkube load image of a docker save tarball, then a Never pod runs it", async () => {
    const saved = await buildBusyboxLayout(join(f.dir, "saved"), { tag: "saved" });
    const tarball = join(f.dir, "saved.tar");
    await skopeoCopy(`oci:${saved.dir}:saved`, `docker-archive:${tarball}:demo/saved:1`);
    const loaded = await runLoopkube(["load", "image", tarball, "--store", f.store], cliEnv(f.dir));
    assert.equal(loaded.code, 0, loaded.stderr);
    assert.match(`${loaded.stdout}${loaded.stderr}`, /demo\/saved:1/);
    await apply("saved", {
      containers: [{ name: "app", image: "demo/saved:1", imagePullPolicy: "Never" }],
    });
    const pod = await runningReady("saved");
    const status = pod.status?.containerStatuses?.[0];
    assert.equal(status?.image, "demo/saved:1");
    assert.match(status?.imageID ?? "", /^docker\.io\/demo\/saved@sha256:[0-9a-f]{64}$/);
    await serves(pod.status?.podIP ?? "", "hello from saved\n");
    assert.equal(await ok(["exec", "saved", "--", "cat", "/www/index.html"]), "hello from saved\n");
  });

  test("Entrypoint/Cmd and command/args combine as kube's table says", async () => {
    const pods = COMMAND_TABLE.map((row, i) => ({ ...row, name: `cmd-${i}` }));
    await Promise.all(
      pods.map((p) =>
        apply(p.name, {
          restartPolicy: "Never",
          containers: [{ name: "app", image: f.ref("cmd:1"), ...p.container }],
        }),
      ),
    );
    for (const p of pods) {
      await waitFor(
        async () => ((await getPod(p.name)).status?.phase === "Succeeded" ? true : undefined),
        { timeoutMs: 60_000, what: `pod ${p.name} (${p.row}) Succeeded` },
      );
      assert.equal(await ok(["logs", p.name]), `${p.runs}\n`, p.row);
    }
  });
});
