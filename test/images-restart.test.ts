/**
 * Issue 18: a StatefulSet running an image keeps its volume's data across a restart of loopkube
 * (the cluster stopped and started again on the same data directory), with the real kubectl and
 * a busybox `httpd` image pulled from a `docker-registry` on a free loopback port: `web-0` gets
 * its hostname written into its PVC at `/usr/share/nginx/html`, and after the restart the pod is
 * back, with the same name and address, serving the same page from the image it pulled before.
 *
 * Needs root, crun (or runc), docker-registry, skopeo and busybox-static; skips visibly else.
 * Network safety: `ip route get` shows where each address goes before anything is sent to it.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Pod } from "kubernetes-types/core/v1.js";
import {
  buildBusyboxLayout,
  skopeoCopy,
  startRegistry,
  type TestRegistry,
  waitFor,
} from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { routeDevice } from "../src/kubelet/index.ts";
import { fetchText, imagesSkip } from "./_images.ts";
import { KUBECTL, run } from "./_kubectl.ts";

const SKIP = imagesSkip("images-restart.test.ts");

describe("a StatefulSet's data across a restart of loopkube (oci runtime)", { skip: SKIP }, () => {
  let cluster: Cluster | undefined;
  let registry: TestRegistry;
  let dir: string;
  let image: string;

  const start = () =>
    startCluster({
      name: "images-restart",
      dataDir: join(dir, "data"),
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
      imageStore: join(dir, "store"),
    });
  const ok = async (args: string[], input?: string) => {
    const r = await run(
      KUBECTL ?? "kubectl",
      ["--kubeconfig", cluster?.kubeconfigPath ?? "", ...args],
      input !== undefined ? { input } : {},
    );
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const web0 = () =>
    waitFor(
      async () => {
        const p = (await cluster?.client.get(REFS.pods, "default", "web-0")) as Pod | undefined;
        const ready = p?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
        return p?.status?.phase === "Running" && ready ? p : undefined;
      },
      { timeoutMs: 60_000, what: "web-0 Running and Ready" },
    );
  const serves = async (ip: string, want: string) => {
    assert.match(await routeDevice(ip), /^lk/, `${ip} goes to the cluster's pod link`);
    let last = "";
    await waitFor(
      async () => {
        last = await fetchText(ip).catch((e: Error) => e.message);
        return last === want || undefined;
      },
      { timeoutMs: 30_000, what: `${JSON.stringify(want)} on ${ip}:80 (last: ${last})` },
    );
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "loopkube-images-restart-"));
    const starting = start();
    registry = await startRegistry();
    const layout = await buildBusyboxLayout(join(dir, "nginx"), {
      tag: "1",
      cmd: ["httpd", "-f", "-p", "80", "-h", "/usr/share/nginx/html"],
    });
    image = `${registry.host}/demo/nginx:1`;
    await skopeoCopy(`oci:${layout.dir}:1`, `docker://${image}`);
    cluster = await starting;
  });

  after(async () => {
    await cluster?.stop();
    await registry?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("web-0 serves what it wrote into its volume after loopkube stops and starts again", async () => {
    await ok(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: { name: "web" },
        spec: {
          serviceName: "nginx",
          replicas: 1,
          selector: { matchLabels: { app: "nginx" } },
          template: {
            metadata: { labels: { app: "nginx" } },
            spec: {
              terminationGracePeriodSeconds: 1,
              containers: [
                {
                  name: "nginx",
                  image,
                  volumeMounts: [{ name: "www", mountPath: "/usr/share/nginx/html" }],
                },
              ],
            },
          },
          volumeClaimTemplates: [
            {
              metadata: { name: "www" },
              spec: {
                accessModes: ["ReadWriteOnce"],
                resources: { requests: { storage: "1Gi" } },
              },
            },
          ],
        },
      }),
    );
    const first = await web0();
    await ok(["exec", "web-0", "--", "sh", "-c", "hostname > /usr/share/nginx/html/index.html"]);
    const ip = first.status?.podIP ?? "";
    await serves(ip, "web-0\n");

    await cluster?.stop();
    cluster = undefined;
    assert.notEqual(await fetchText(ip).catch(() => "gone"), "web-0\n", "stopped with loopkube");
    // The registry goes too: the pod must start again from the image the store already holds.
    await registry.stop();
    cluster = await start();
    const again = await web0();
    assert.equal(again.status?.podIP, ip, "the same address");
    await serves(ip, "web-0\n");
  });
});
