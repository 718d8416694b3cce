/**
 * batch/v1 Jobs end to end on a whole cluster (`startCluster`, the process runtime: each pod is a
 * host `sh`), driven by the real kubectl: a Job of 5 completions and parallelism 2 completes and
 * `kubectl wait --for=condition=complete` returns, `kubectl logs job/x` reads a pod of it, a
 * failing Job stops at its backoffLimit with kube's condition message, and an Indexed Job's pods
 * resolve by hostname through a headless Service with Node's own DNS resolver.
 */
import assert from "node:assert/strict";
import { Resolver } from "node:dns/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Job } from "kubernetes-types/batch/v1.js";
import type { Pod } from "kubernetes-types/core/v1.js";
import { waitFor } from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import { typed } from "../src/api/types.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { KUBECTL, NO_KUBECTL, run } from "./_kubectl.ts";

describe("Jobs", { skip: NO_KUBECTL }, () => {
  let c: Cluster;
  const kubectl = (args: string[], input?: string) =>
    run(
      KUBECTL ?? "",
      ["--kubeconfig", c.kubeconfigPath, "--cache-dir", join(c.dataDir, "kube-cache"), ...args],
      { ...(input !== undefined ? { input } : {}), timeoutMs: 120_000 },
    );
  const getJob = async (name: string) => typed<Job>(await c.client.get(REFS.jobs, "default", name));
  const podsOf = async (job: string) =>
    (await c.client.list(REFS.pods, "default", { labelSelector: `job-name=${job}` })).items.map(
      (p) => typed<Pod>(p),
    );

  before(async () => {
    c = await startCluster({
      runtime: "process",
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
    });
  });
  after(async () => {
    await c?.stop();
  });

  test("a Job of 5 completions, parallelism 2, completes; kubectl wait returns; logs job/x reads a pod", async () => {
    const manifest = `apiVersion: batch/v1
kind: Job
metadata:
  name: five
spec:
  completions: 5
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: work
        image: busybox
        command: ["sh", "-c", "echo finished work"]
`;
    const applied = await kubectl(["apply", "-f", "-"], manifest);
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(applied.stdout.trim(), "job.batch/five created");
    const waited = await kubectl(["wait", "--for=condition=complete", "job/five", "--timeout=90s"]);
    assert.equal(waited.code, 0, waited.stderr);
    assert.equal(waited.stdout.trim(), "job.batch/five condition met");

    const job = await getJob("five");
    assert.equal(job.status?.succeeded, 5);
    assert.deepEqual(
      job.status?.conditions?.map((x) => [x.type, x.status, x.reason]),
      [
        ["SuccessCriteriaMet", "True", "CompletionsReached"],
        ["Complete", "True", "CompletionsReached"],
      ],
    );
    const pods = await podsOf("five");
    assert.equal(pods.length, 5);
    for (const p of pods) {
      assert.equal(p.status?.phase, "Succeeded");
      assert.deepEqual(p.metadata?.finalizers ?? [], [], "tracking finalizers are removed");
    }

    const got = await kubectl(["get", "jobs"]);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, /^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE\n/);
    assert.match(got.stdout, /\nfive\s+Complete\s+5\/5\s+\d+s\s+\d+s\n/);
    const wide = await kubectl(["get", "job", "five", "-o", "wide"]);
    assert.match(wide.stdout, /CONTAINERS\s+IMAGES\s+SELECTOR/);
    assert.match(wide.stdout, /work\s+busybox\s+batch\.kubernetes\.io\/controller-uid=/);

    const logs = await kubectl(["logs", "job/five"]);
    assert.equal(logs.code, 0, logs.stderr);
    assert.equal(logs.stdout, "finished work\n");
  });

  test("a batch/v1 Job deleted without a propagation policy orphans its pods, with kube's warning", async () => {
    const before = await podsOf("five");
    assert.equal(before.length, 5);
    // kubectl delete always names a policy; a bare API DELETE (as `--raw` sends) leaves it out.
    const deleted = await kubectl([
      "delete",
      "--raw",
      "/apis/batch/v1/namespaces/default/jobs/five",
    ]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(
      deleted.stderr,
      /Warning: child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning/,
    );
    await waitFor(
      async () =>
        (await c.client.list(REFS.jobs, "default")).items.every((j) => j.metadata?.name !== "five"),
      { timeoutMs: 30_000, what: "job five is gone" },
    );
    await waitFor(
      async () =>
        (await podsOf("five")).every((p) => (p.metadata?.ownerReferences ?? []).length === 0),
      { timeoutMs: 30_000, what: "the pods lose their owner reference" },
    );
    assert.equal((await podsOf("five")).length, 5, "the pods are kept");
  });

  test("a failing Job stops at its backoffLimit with kube's condition message", async () => {
    const manifest = `apiVersion: batch/v1
kind: Job
metadata:
  name: broken
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: fail
        image: busybox
        command: ["sh", "-c", "exit 3"]
`;
    const applied = await kubectl(["apply", "-f", "-"], manifest);
    assert.equal(applied.code, 0, applied.stderr);
    const waited = await kubectl(["wait", "--for=condition=failed", "job/broken", "--timeout=90s"]);
    assert.equal(waited.code, 0, waited.stderr);
    const job = await getJob("broken");
    assert.equal(job.status?.failed, 2, "the first try and one retry after the 10 s back-off");
    const failed = job.status?.conditions?.find((x) => x.type === "Failed");
    assert.equal(failed?.reason, "BackoffLimitExceeded");
    assert.equal(failed?.message, "Job has reached the specified backoff limit");
    assert.equal((await podsOf("broken")).length, 2);
    const described = await kubectl(["describe", "job", "broken"]);
    assert.match(
      described.stdout,
      /Warning\s+BackoffLimitExceeded\s+\S+\s+job-controller\s+Job has reached the specified backoff limit/,
    );
    const got = await kubectl(["get", "job", "broken"]);
    assert.match(got.stdout, /\nbroken\s+Failed\s+0\/1\s+\d+s\s+\d+s\n/);
  });

  test("an Indexed Job's pods resolve by hostname through a headless Service", async () => {
    const manifest = `apiVersion: v1
kind: Service
metadata:
  name: workers
spec:
  clusterIP: None
  selector:
    job-name: indexed
---
apiVersion: batch/v1
kind: Job
metadata:
  name: indexed
spec:
  completions: 2
  parallelism: 2
  completionMode: Indexed
  template:
    spec:
      subdomain: workers
      restartPolicy: Never
      containers:
      - name: work
        image: busybox
        command: ["sh", "-c", "echo index=$JOB_COMPLETION_INDEX host=$(hostname); sleep 600"]
`;
    const applied = await kubectl(["apply", "-f", "-"], manifest);
    assert.equal(applied.code, 0, applied.stderr);
    const resolver = new Resolver({ timeout: 1000, tries: 2 });
    resolver.setServers([`${c.dnsAddress.host}:${c.dnsAddress.port}`]);
    for (const index of [0, 1]) {
      const pod = await waitFor(
        async () => {
          const p = (await podsOf("indexed")).find(
            (x) =>
              x.metadata?.annotations?.["batch.kubernetes.io/job-completion-index"] ===
                `${index}` &&
              x.status?.podIP &&
              x.status.conditions?.some((cd) => cd.type === "Ready" && cd.status === "True"),
          );
          return p;
        },
        { what: `indexed pod ${index} ready`, timeoutMs: 60_000 },
      );
      assert.equal(pod.spec?.hostname, `indexed-${index}`);
      assert.equal(pod.metadata?.labels?.["batch.kubernetes.io/job-completion-index"], `${index}`);
      const name = `indexed-${index}.workers.default.svc.cluster.local`;
      const answer = await waitFor(
        async () => {
          const ips = await resolver.resolve4(name).catch(() => [] as string[]);
          return ips.length > 0 ? ips : undefined;
        },
        { what: `DNS answer for ${name}` },
      );
      assert.deepEqual(answer, [pod.status?.podIP]);
      const logs = await waitFor(
        async () => {
          const r = await kubectl(["logs", pod.metadata?.name ?? ""]);
          return r.stdout.includes("index=") ? r.stdout : undefined;
        },
        { what: "the pod's log", timeoutMs: 60_000 },
      );
      assert.equal(logs, `index=${index} host=indexed-${index}\n`);
    }
    const deleted = await kubectl(["delete", "job", "indexed", "--wait=true", "--timeout=60s"]);
    assert.equal(deleted.code, 0, deleted.stderr);
    await waitFor(async () => ((await podsOf("indexed")).length === 0 ? true : undefined), {
      what: "the Job's pods to go",
      timeoutMs: 60_000,
    });
  });
});
