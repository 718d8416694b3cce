/**
 * What the end-to-end tests with images share: why one cannot run here; a page fetched from a pod
 * or Service address; and `imageCluster`, the fixture most of them start from: a
 * `docker-registry` on a free loopback port holding busybox images pushed with skopeo, and a
 * cluster (runtime `auto`, so `oci` as root) with its own image store, the real kubectl pointed
 * at it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { get as httpGet } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import type { Pod } from "kubernetes-types/core/v1.js";
import {
  buildBusyboxLayout,
  imageToolsMissing,
  type Layout,
  type LayoutOptions,
  skopeoCopy,
  startRegistry,
  type TestRegistry,
  waitFor,
} from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import { type Cluster, type ClusterOptions, startCluster } from "../src/index.ts";
import { routeDevice } from "../src/kubelet/index.ts";
import { NO_OCI } from "./_busybox.ts";
import { KUBECTL, NO_KUBECTL, run } from "./_kubectl.ts";

/**
 * Why `file` cannot run here (root and an OCI runtime, kubectl, the `tools` it needs, any
 * `also` reason), printed once; false when it can.
 */
export function imagesSkip(
  file: string,
  tools: string[] = ["docker-registry", "skopeo"],
  also: Array<string | false> = [],
): string | false {
  const missing = imageToolsMissing(tools);
  const why =
    NO_OCI ||
    NO_KUBECTL ||
    also.find((r) => r !== false) ||
    (missing.length > 0 && `needs ${missing.join(", ")} (apt-get install ${missing.join(" ")})`);
  if (why) console.log(`# ${file} skipped: ${why}`);
  return why;
}

/** `GET http://ip:port/`: the body of a 200, else `HTTP <status>`. */
export const fetchText = (ip: string, port = 80) =>
  new Promise<string>((resolve, reject) => {
    const req = httpGet({ host: ip, port, path: "/", timeout: 5000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => {
        body += d;
      });
      res.on("end", () => resolve(res.statusCode === 200 ? body : `HTTP ${res.statusCode}`));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
  });

/**
 * Waits until `ip`:80 serves `want`, after checking that `ip` goes to `device` (a pod link by
 * default) so that nothing is sent off the machine.
 */
export async function serves(ip: string, want: string, device = /^lk/): Promise<void> {
  assert.match(await routeDevice(ip), device, `${ip} goes to ${device}`);
  let last = "";
  await waitFor(
    async () => {
      last = await fetchText(ip).catch((e: Error) => e.message);
      return last === want || undefined;
    },
    { timeoutMs: 30_000, what: `${JSON.stringify(want)} on ${ip}:80 (last: ${last})` },
  );
}

export const isReady = (p: Pod) =>
  p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;

/**
 * kube's "StatefulSet Basics" StatefulSet `web` (Service `nginx`, label `app=nginx`) running
 * `image`, each pod's PVC `www` from volumeClaimTemplates mounted at `/usr/share/nginx/html`.
 */
export const nginxStatefulSet = (image: string, replicas: number) => ({
  apiVersion: "apps/v1",
  kind: "StatefulSet",
  metadata: { name: "web" },
  spec: {
    serviceName: "nginx",
    replicas,
    selector: { matchLabels: { app: "nginx" } },
    template: {
      metadata: { labels: { app: "nginx" } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: "nginx",
            image,
            ports: [{ name: "web", containerPort: 80 }],
            volumeMounts: [{ name: "www", mountPath: "/usr/share/nginx/html" }],
          },
        ],
      },
    },
    volumeClaimTemplates: [
      {
        metadata: { name: "www" },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
      },
    ],
  },
});

export interface ImageClusterOptions {
  /** Busybox images to build and push as `demo/<name:tag>`, each with its layout's options. */
  images: Record<string, LayoutOptions>;
  /** More for the cluster (its name, data dir, ports and image store are the fixture's). */
  cluster?: Partial<ClusterOptions>;
}

/**
 * Registers the `before()` and `after()` of the calling `describe` that start and remove a
 * registry with `options.images` pushed and a cluster named `name`; what it returns is usable in
 * the tests (its getters fail before the start).
 */
export function imageCluster(name: string, options: ImageClusterOptions) {
  let cluster: Cluster | undefined;
  let registry: TestRegistry | undefined;
  let dir = "";
  const layouts: Record<string, Layout> = {};
  const start = () =>
    startCluster({
      name,
      dataDir: join(dir, "data"),
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
      imageStore: join(dir, "store"),
      ...options.cluster,
    });

  const f = {
    get cluster(): Cluster {
      return cluster ?? assert.fail(`cluster ${name} is not running`);
    },
    get registry(): TestRegistry {
      return registry ?? assert.fail("the registry is not running");
    },
    /** The temporary directory everything lives in (removed after the tests). */
    get dir() {
      return dir;
    },
    /** The cluster's image store directory. */
    get store() {
      return join(dir, "store");
    },
    /** Each pushed image's layout, by `name:tag`. */
    layouts,
    /** `registry/demo/<image>`. */
    ref: (image: string) => `${f.registry.host}/demo/${image}`,
    /** kubectl's command line for `args` against the cluster. */
    kubectlArgv: (args: string[]) => [
      KUBECTL ?? "kubectl",
      "--kubeconfig",
      f.cluster.kubeconfigPath,
      ...args,
    ],
    kubectl: (args: string[], input?: string) => {
      const [cmd, ...rest] = f.kubectlArgv(args);
      return run(cmd as string, rest, {
        ...(input !== undefined ? { input } : {}),
        timeoutMs: 60_000,
      });
    },
    /** kubectl's stdout, asserting it exited 0. */
    ok: async (args: string[], input?: string) => {
      const r = await f.kubectl(args, input);
      assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stdout}${r.stderr}`);
      return r.stdout;
    },
    pod: async (podName: string) =>
      (await f.cluster.client.get(REFS.pods, "default", podName)) as Pod,
    podsOf: async (selector: string) =>
      (await f.cluster.client.list(REFS.pods, "default", { labelSelector: selector }))
        .items as Pod[],
    /** `count` pods of `selector` (not being deleted), all Running, Ready and passing `check`. */
    readyPods: (selector: string, count: number, check: (p: Pod) => boolean = () => true) =>
      waitFor(
        async () => {
          const ps = (await f.podsOf(selector)).filter((p) => !p.metadata?.deletionTimestamp);
          return ps.length === count &&
            ps.every((p) => p.status?.phase === "Running" && isReady(p) && check(p))
            ? ps
            : undefined;
        },
        { timeoutMs: 90_000, what: `${count} pods ${selector} Running and Ready` },
      ),
    stopCluster: async () => {
      await cluster?.stop();
      cluster = undefined;
    },
    /** Starts the cluster again on the same data directory and image store. */
    startCluster: async () => {
      cluster = await start();
    },
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), `loopkube-${name}-`));
    registry = await startRegistry();
    // The cluster starts while the images are built and pushed; one that started is kept for
    // `after()` even when a push failed.
    const [started, pushed] = await Promise.allSettled([
      start(),
      Promise.all(
        Object.entries(options.images).map(async ([image, layoutOptions]) => {
          const layout = await buildBusyboxLayout(
            join(dir, image.replace(":", "-")),
            layoutOptions,
          );
          layouts[image] = layout;
          await skopeoCopy(`oci:${layout.dir}:${layout.tag}`, `docker://${f.ref(image)}`);
        }),
      ),
    ]);
    if (started.status === "fulfilled") cluster = started.value;
    for (const r of [started, pushed]) if (r.status === "rejected") throw r.reason;
  });

  after(async () => {
    if (cluster) {
      // The images' servers run as PID 1, which ignores SIGTERM: the stop would wait out each
      // pod's 30 s grace period, as kube does. The tests are done with them: the workloads go,
      // then every pod with a 1 s grace period (a shorter delete cuts a running one short).
      const kinds = "deployments,statefulsets,replicasets,daemonsets,jobs";
      await f.kubectl(["delete", kinds, "--all", "-A", "--wait=false"]);
      await f.kubectl(["delete", "pods", "--all", "-A", "--grace-period=1", "--timeout=60s"]);
    }
    await cluster?.stop();
    await registry?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return f;
}
