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
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Container, Pod } from "kubernetes-types/core/v1.js";
import {
  buildBusyboxLayout,
  type Layout,
  skopeoCopy,
  startRegistry,
  type TestRegistry,
  waitFor,
} from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { routeDevice } from "../src/kubelet/index.ts";
import { cliEnv, runLoopkube } from "./_cli.ts";
import { fetchText, imagesSkip } from "./_images.ts";
import { KUBECTL, run } from "./_kubectl.ts";

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
  let cluster: Cluster;
  let registry: TestRegistry;
  let tokened: TestRegistry;
  let dir: string;
  let store: string;
  let layout: Layout;
  let commandImage: string;

  const kubectl = (args: string[], input?: string) =>
    run(KUBECTL ?? "kubectl", ["--kubeconfig", cluster.kubeconfigPath, ...args], {
      ...(input !== undefined ? { input } : {}),
    });
  const ok = async (args: string[], input?: string) => {
    const r = await kubectl(args, input);
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const getPod = async (name: string) =>
    (await cluster.client.get(REFS.pods, "default", name)) as Pod;
  const isReady = (p: Pod) =>
    p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
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
  const serves = async (p: Pod, want: string) => {
    const ip = p.status?.podIP ?? "";
    assert.match(await routeDevice(ip), /^lk/, `${ip} goes to the cluster's pod link`);
    await waitFor(async () => (await fetchText(ip).catch(() => "")) === want || undefined, {
      timeoutMs: 30_000,
      what: `${JSON.stringify(want)} on ${ip}:80`,
    });
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "loopkube-images-sources-"));
    store = join(dir, "store");
    const started = startCluster({
      name: "images-sources",
      dataDir: join(dir, "data"),
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
      imageStore: store,
    });
    [registry, tokened] = await Promise.all([
      startRegistry(),
      startRegistry({ tokenAuth: { ...USER, publicPrefix: "public/" } }),
    ]);
    const commandLayout = await buildBusyboxLayout(join(dir, "cmd"), {
      tag: "1",
      entrypoint: ["/bin/echo", "ep-1"],
      cmd: ["foo", "bar"],
    });
    layout = await buildBusyboxLayout(join(dir, "httpd"), { tag: "tokened" });
    commandImage = `${registry.host}/demo/cmd:1`;
    const creds = `${USER.username}:${USER.password}`;
    await Promise.all([
      skopeoCopy(`oci:${commandLayout.dir}:1`, `docker://${commandImage}`),
      skopeoCopy(`oci:${layout.dir}:tokened`, `docker://${tokened.host}/private/httpd:1`, {
        destCreds: creds,
      }),
      skopeoCopy(`oci:${layout.dir}:tokened`, `docker://${tokened.host}/public/httpd:1`, {
        destCreds: creds,
      }),
    ]);
    cluster = await started;
  });

  after(async () => {
    await cluster?.stop();
    await Promise.all([registry?.stop(), tokened?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("a token-auth registry: private refused without imagePullSecrets, pulled with them", async () => {
    const privateRef = `${tokened.host}/private/httpd:1`;
    await apply("public", {
      containers: [{ name: "app", image: `${tokened.host}/public/httpd:1` }],
    });
    await apply("refused", { containers: [{ name: "app", image: privateRef }] });
    await ok([
      "create",
      "secret",
      "docker-registry",
      "tokened",
      `--docker-server=${tokened.host}`,
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
        `${tokened.host}/${repo}/httpd@${layout.manifestDigest}`,
      );
      await serves(pod, "hello from tokened\n");
    }
  });

  test("loopkube load image of a docker save tarball, then a Never pod runs it", async () => {
    const saved = await buildBusyboxLayout(join(dir, "saved"), { tag: "saved" });
    const tarball = join(dir, "saved.tar");
    await skopeoCopy(`oci:${saved.dir}:saved`, `docker-archive:${tarball}:demo/saved:1`);
    const loaded = await runLoopkube(["load", "image", tarball, "--store", store], cliEnv(dir));
    assert.equal(loaded.code, 0, loaded.stderr);
    assert.match(`${loaded.stdout}${loaded.stderr}`, /demo\/saved:1/);
    await apply("saved", {
      containers: [{ name: "app", image: "demo/saved:1", imagePullPolicy: "Never" }],
    });
    const pod = await runningReady("saved");
    const status = pod.status?.containerStatuses?.[0];
    assert.equal(status?.image, "demo/saved:1");
    assert.match(status?.imageID ?? "", /^docker\.io\/demo\/saved@sha256:[0-9a-f]{64}$/);
    await serves(pod, "hello from saved\n");
    assert.equal(await ok(["exec", "saved", "--", "cat", "/www/index.html"]), "hello from saved\n");
  });

  test("Entrypoint/Cmd and command/args combine as kube's table says", async () => {
    const pods = COMMAND_TABLE.map((row, i) => ({ ...row, name: `cmd-${i}` }));
    await Promise.all(
      pods.map((p) =>
        apply(p.name, {
          restartPolicy: "Never",
          containers: [{ name: "app", image: commandImage, ...p.container }],
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
