/**
 * HorizontalPodAutoscalers end to end on a whole cluster (the process runtime: each pod is a host
 * process), driven by the real kubectl: `kubectl autoscale` creates an HPA, `kubectl get hpa`
 * shows kube's columns and TARGETS, and a Deployment whose pods burn CPU (real processes, measured
 * by the node agent and served as `metrics.k8s.io`) is scaled up to maxReplicas; once they stop
 * burning it is scaled back down after the (shortened) downscale stabilization window.
 *
 * The pods burn while a file the test owns exists, so the test decides when the load ends.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Deployment } from "kubernetes-types/apps/v1.js";
import type { HorizontalPodAutoscaler } from "kubernetes-types/autoscaling/v2.js";
import { waitFor } from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import { typed } from "../src/api/types.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { KUBECTL, NO_KUBECTL, run } from "./_kubectl.ts";
import { NODE } from "./_kubelet.ts";

// About a fifth of a core while the file exists: far above a 20m request, light on the machine.
const SPIN = `const { existsSync } = require("node:fs");
setInterval(() => {
  if (!existsSync(process.env.BURN)) return;
  const end = Date.now() + 20;
  while (Date.now() < end);
}, 100);`;

describe("HorizontalPodAutoscaler", { skip: NO_KUBECTL }, () => {
  let c: Cluster;
  let dir: string;
  const kubectl = (args: string[], input?: string) =>
    run(
      KUBECTL ?? "",
      ["--kubeconfig", c.kubeconfigPath, "--cache-dir", join(c.dataDir, "kube-cache"), ...args],
      { ...(input !== undefined ? { input } : {}), timeoutMs: 60_000 },
    );
  const replicas = async () =>
    typed<Deployment>(await c.client.get(REFS.deployments, "default", "burn")).spec?.replicas;
  const hpa = async () =>
    typed<HorizontalPodAutoscaler>(
      await c.client.get(REFS.horizontalpodautoscalers, "default", "burn"),
    );
  const events = async () =>
    (await c.client.list(REFS.events, "default")).items
      .filter(
        (e) =>
          (e as { involvedObject?: { kind?: string } }).involvedObject?.kind ===
          "HorizontalPodAutoscaler",
      )
      .map((e) => `${(e as { reason?: string }).reason}: ${(e as { message?: string }).message}`);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "loopkube-hpa-"));
    writeFileSync(join(dir, "burn"), "");
    c = await startCluster({
      runtime: "process",
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
      hpa: { syncPeriodMs: 2_000, downscaleStabilizationMs: 10_000 },
    });
  });
  after(async () => {
    await c?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("kubectl autoscale scales a CPU-burning Deployment up to max, then down after the window", async () => {
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "burn" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "burn" } },
        template: {
          metadata: { labels: { app: "burn" } },
          spec: {
            containers: [
              {
                name: "spin",
                image: "node",
                command: [NODE, "-e", SPIN],
                env: [{ name: "BURN", value: join(dir, "burn") }],
                resources: { requests: { cpu: "20m" } },
              },
            ],
          },
        },
      },
    };
    const applied = await kubectl(["apply", "-f", "-"], JSON.stringify(deployment));
    assert.equal(applied.code, 0, applied.stderr);

    const created = await kubectl([
      "autoscale",
      "deploy/burn",
      "--cpu-percent=50",
      "--min=1",
      "--max=3",
    ]);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout.trim(), "horizontalpodautoscaler.autoscaling/burn autoscaled");

    const first = await kubectl(["get", "hpa"]);
    assert.equal(first.code, 0, first.stderr);
    const [header, row] = first.stdout.trim().split("\n");
    assert.deepEqual(header?.split(/\s{2,}/), [
      "NAME",
      "REFERENCE",
      "TARGETS",
      "MINPODS",
      "MAXPODS",
      "REPLICAS",
      "AGE",
    ]);
    assert.match(
      row ?? "",
      /^burn\s+Deployment\/burn\s+cpu: (<unknown>|\d+%)\/50%\s+1\s+3\s+[01]\s+\d+s$/,
    );

    await waitFor(async () => (await replicas()) === 3, {
      what: "the HPA to scale deploy/burn to 3",
      timeoutMs: 120_000,
    });
    const up = await hpa();
    assert.equal(up.status?.desiredReplicas, 3);
    assert.ok((up.status?.currentMetrics?.[0]?.resource?.current.averageUtilization ?? 0) > 55);
    assert.ok(
      (await events()).includes(
        "SuccessfulRescale: New size: 3; reason: cpu resource utilization (percentage of request) above target",
      ),
      (await events()).join("\n"),
    );
    const shown = await kubectl(["get", "hpa", "burn", "--no-headers"]);
    assert.match(shown.stdout, /^burn\s+Deployment\/burn\s+cpu: \d+%\/50%\s+1\s+3\s+[1-3]\s+\d+s/);
    const asV1 = await kubectl([
      "get",
      "horizontalpodautoscalers.v1.autoscaling",
      "burn",
      "-o",
      "jsonpath={.spec.targetCPUUtilizationPercentage}",
    ]);
    assert.equal(asV1.stdout, "50", `${asV1.stdout}${asV1.stderr}`);

    rmSync(join(dir, "burn"));
    await waitFor(async () => (await replicas()) === 1, {
      what: "the HPA to scale deploy/burn back to 1 once the pods are idle",
      timeoutMs: 120_000,
    });
    assert.ok(
      (await events()).includes("SuccessfulRescale: New size: 1; reason: All metrics below target"),
      (await events()).join("\n"),
    );
    const down = await hpa();
    assert.deepEqual(
      down.status?.conditions?.map((x) => [x.type, x.status]),
      [
        ["AbleToScale", "True"],
        ["ScalingActive", "True"],
        ["ScalingLimited", "False"],
      ],
    );
  });
});
