/**
 * PodDisruptionBudgets, evictions, ResourceQuotas and LimitRanges end to end with the real
 * kubectl, over a control plane with the disruption and quota controllers and a stand-in node
 * agent: the budget's status and `kubectl get pdb` columns, an eviction the budget forbids
 * answered with kube's 429 (`kubectl create --raw` of a policy/v1 Eviction), `kubectl drain`
 * evicting what the budget allows and retrying the rest; quota refusals in kube's words and
 * `kubectl get quota`; LimitRange defaults appearing in a pod and its max refusing one. Then on a
 * whole cluster of two simulated nodes, `kubectl drain` moves a Deployment's pods under a budget.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { startTestControlPlane, type TestControlPlane } from "./_controlplane.ts";
import { KUBECTL, NO_KUBECTL, run } from "./_kubectl.ts";

const pod = (ns: string, name: string, labels: Record<string, string>, resources = "") => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${ns}, labels: ${JSON.stringify(labels)}}
spec:
  containers:
  - name: app
    image: busybox
${resources}`;

describe("policy: disruption budgets, quotas and limit ranges", { skip: NO_KUBECTL }, () => {
  let cp: TestControlPlane;
  const kubectl = (args: string[], input?: string) =>
    cp.api.kubectl(args, input !== undefined ? { input } : {});
  const ok = async (args: string[], input?: string) => {
    const r = await kubectl(args, input);
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const pdbStatus = async (ns: string, name: string) =>
    (await cp.client.get(REFS.poddisruptionbudgets, ns, name)).status as
      | Record<string, unknown>
      | undefined;

  before(async () => {
    cp = await startTestControlPlane({
      controllers: ["disruption", "resourcequota", "namespace"],
      fakeNode: true,
    });
    await ok(["create", "-f", "-"], "apiVersion: v1\nkind: Node\nmetadata: {name: test-node}\n");
  });
  after(async () => {
    await cp?.stop();
  });

  test("a budget's status, its kubectl columns, a refused eviction (429) and a drain that waits on the budget", async () => {
    await ok(["create", "namespace", "pdb"]);
    for (const name of ["web-1", "web-2"])
      await ok(["create", "-f", "-"], pod("pdb", name, { app: "web" }));
    await ok(["create", "pdb", "web", "-n", "pdb", "--selector=app=web", "--min-available=2"]);
    const status = await waitFor(
      async () => {
        const s = await pdbStatus("pdb", "web");
        return s?.currentHealthy === 2 ? s : undefined;
      },
      { what: "the budget to see two healthy pods" },
    );
    assert.equal(status.desiredHealthy, 2);
    assert.equal(status.expectedPods, 2);
    assert.equal(status.disruptionsAllowed, 0);
    const conditions = status.conditions as Array<Record<string, unknown>>;
    assert.deepEqual(
      conditions.map((c) => [c.type, c.status, c.reason]),
      [["DisruptionAllowed", "False", "InsufficientPods"]],
    );
    const explained = await ok(["explain", "pdb.spec.unhealthyPodEvictionPolicy"]);
    assert.match(explained, /GROUP:\s+policy\nKIND:\s+PodDisruptionBudget\nVERSION:\s+v1/);
    const table = await ok(["get", "pdb", "-n", "pdb"]);
    assert.match(table, /^NAME\s+MIN AVAILABLE\s+MAX UNAVAILABLE\s+ALLOWED DISRUPTIONS\s+AGE\n/);
    assert.match(table, /\nweb\s+2\s+N\/A\s+0\s+\d+s\n/);

    const eviction = JSON.stringify({
      apiVersion: "policy/v1",
      kind: "Eviction",
      metadata: { name: "web-1", namespace: "pdb" },
    });
    const refused = await kubectl(
      ["create", "--raw", "/api/v1/namespaces/pdb/pods/web-1/eviction", "-f", "-"],
      eviction,
    );
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /\(TooManyRequests\): Cannot evict pod as it would violate the pod's disruption budget\./,
    );

    await ok([
      "patch",
      "pdb",
      "web",
      "-n",
      "pdb",
      "--type=merge",
      "-p",
      '{"spec":{"minAvailable":1}}',
    ]);
    await waitFor(async () => (await pdbStatus("pdb", "web"))?.disruptionsAllowed === 1, {
      what: "one disruption allowed",
    });
    const drained = await kubectl([
      "drain",
      "test-node",
      "--force",
      "--pod-selector=app=web",
      "--timeout=7s",
    ]);
    assert.notEqual(drained.code, 0, "the second pod may not go");
    assert.match(
      drained.stderr,
      /error when evicting pods\/"web-\d" -n "pdb" \(will retry after 5s\): Cannot evict pod as it would violate the pod's disruption budget\./,
    );
    const left = (await cp.client.list(REFS.pods, "pdb")).items;
    assert.equal(left.length, 1, "one pod evicted, one kept by the budget");

    await ok([
      "patch",
      "pdb",
      "web",
      "-n",
      "pdb",
      "--type=merge",
      "-p",
      '{"spec":{"minAvailable":0}}',
    ]);
    await waitFor(async () => (await pdbStatus("pdb", "web"))?.disruptionsAllowed === 1, {
      what: "the last pod allowed to go",
    });
    const done = await ok([
      "drain",
      "test-node",
      "--force",
      "--pod-selector=app=web",
      "--timeout=30s",
    ]);
    assert.match(done, /node\/test-node drained/);
    assert.equal((await cp.client.list(REFS.pods, "pdb")).items.length, 0);
  });

  test("a quota refuses what would exceed it with kube's message, and kubectl shows its usage", async () => {
    await ok(["create", "namespace", "quota"]);
    await ok(["create", "quota", "q", "-n", "quota", "--hard=pods=1,count/deployments.apps=1"]);
    await waitFor(
      async () =>
        Object.hasOwn(
          (await cp.client.get(REFS.resourcequotas, "quota", "q")).status ?? {},
          "used",
        ),
      { what: "the quota's usage counted" },
    );
    await ok(["create", "-f", "-"], pod("quota", "a", { app: "a" }));
    const refused = await kubectl(["create", "-f", "-"], pod("quota", "b", { app: "b" }));
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /Error from server \(Forbidden\): error when creating "STDIN": pods "b" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1/,
    );
    await ok(["create", "deployment", "d1", "-n", "quota", "--image=busybox", "--replicas=0"]);
    const second = await kubectl(["create", "deployment", "d2", "-n", "quota", "--image=busybox"]);
    assert.match(
      second.stderr,
      /deployments\.apps "d2" is forbidden: exceeded quota: q, requested: count\/deployments\.apps=1, used: count\/deployments\.apps=1, limited: count\/deployments\.apps=1/,
    );
    const table = await ok(["get", "quota", "-n", "quota"]);
    assert.match(table, /^NAME\s+AGE\s+REQUEST\s+LIMIT\n/);
    assert.match(table, /\nq\s+\d+s\s+count\/deployments\.apps: 1\/1, pods: 1\/1\s*\n/);

    await ok(["create", "quota", "svc", "-n", "quota", "--hard=services=1,services.nodeports=0"]);
    await waitFor(
      async () =>
        Object.hasOwn(
          (await cp.client.get(REFS.resourcequotas, "quota", "svc")).status ?? {},
          "used",
        ),
      { what: "the service quota counted" },
    );
    const nodePort = await kubectl([
      "create",
      "service",
      "nodeport",
      "np",
      "-n",
      "quota",
      "--tcp=80",
    ]);
    assert.match(
      nodePort.stderr,
      /services "np" is forbidden: exceeded quota: svc, requested: services\.nodeports=1, used: services\.nodeports=0, limited: services\.nodeports=0/,
    );
    await ok(["create", "service", "clusterip", "one", "-n", "quota", "--tcp=80"]);
    const two = await kubectl(["create", "service", "clusterip", "two", "-n", "quota", "--tcp=80"]);
    assert.match(
      two.stderr,
      /services "two" is forbidden: exceeded quota: svc, requested: services=1/,
    );

    // Compute quotas make every container state what they limit.
    await ok(["create", "quota", "compute", "-n", "quota", "--hard=requests.cpu=1"]);
    await waitFor(
      async () =>
        Object.hasOwn(
          (await cp.client.get(REFS.resourcequotas, "quota", "compute")).status ?? {},
          "used",
        ),
      { what: "the compute quota counted" },
    );
    await ok(["delete", "pod", "a", "-n", "quota"]);
    await waitFor(
      async () => {
        const q = await cp.client.get(REFS.resourcequotas, "quota", "q");
        return (q.status as { used?: Record<string, string> }).used?.pods === "0";
      },
      { what: "the deleted pod released" },
    );
    const unstated = await kubectl(["create", "-f", "-"], pod("quota", "c", { app: "c" }));
    assert.match(
      unstated.stderr,
      /pods "c" is forbidden: failed quota: compute: must specify requests\.cpu for: app/,
    );

    // Deleting the namespace deletes its quotas too (a namespace made again starts without them).
    await ok(["delete", "namespace", "quota", "--timeout=60s"]);
    assert.deepEqual((await cp.client.list(REFS.resourcequotas, "quota")).items, []);
  });

  test("a LimitRange's defaults appear in a pod, and its max refuses a container, and a claim, over it", async () => {
    await ok(["create", "namespace", "limits"]);
    await ok(
      ["create", "-f", "-"],
      `apiVersion: v1
kind: LimitRange
metadata: {name: cpu, namespace: limits}
spec:
  limits:
  - type: Container
    max: {cpu: "1"}
    default: {cpu: 500m}
    defaultRequest: {cpu: 250m, memory: 64Mi}
`,
    );
    const table = await ok(["get", "limits", "-n", "limits"]);
    assert.match(table, /^NAME\s+CREATED AT\ncpu\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n/);
    await ok(["create", "-f", "-"], pod("limits", "plain", { app: "plain" }));
    const got = JSON.parse(await ok(["get", "pod", "plain", "-n", "limits", "-o", "json"]));
    assert.deepEqual(got.spec.containers[0].resources, {
      limits: { cpu: "500m" },
      requests: { cpu: "250m", memory: "64Mi" },
    });
    assert.equal(
      got.metadata.annotations["kubernetes.io/limit-ranger"],
      "LimitRanger plugin set: cpu, memory request for container app; cpu limit for container app",
    );
    const big = await kubectl(
      ["create", "-f", "-"],
      pod("limits", "big", { app: "big" }, '    resources: {limits: {cpu: "2"}}\n'),
    );
    assert.match(
      big.stderr,
      /pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2/,
    );

    await ok(
      ["create", "-f", "-"],
      `apiVersion: v1
kind: LimitRange
metadata: {name: storage, namespace: limits}
spec:
  limits:
  - type: PersistentVolumeClaim
    max: {storage: 1Gi}
`,
    );
    const claim = (name: string, size: string) => `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: ${name}, namespace: limits}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: ${size}}}
`;
    await ok(["create", "-f", "-"], claim("small", "512Mi"));
    const bigClaim = await kubectl(["create", "-f", "-"], claim("huge", "5Gi"));
    assert.match(
      bigClaim.stderr,
      /persistentvolumeclaims "huge" is forbidden: maximum storage usage per PersistentVolumeClaim is 1Gi, but request is 5Gi/,
    );
  });
});

describe("kubectl drain on a whole cluster", { skip: NO_KUBECTL }, () => {
  let c: Cluster;
  const kubectl = (args: string[]) =>
    run(
      KUBECTL ?? "",
      ["--kubeconfig", c.kubeconfigPath, "--cache-dir", join(c.dataDir, "kube-cache"), ...args],
      { timeoutMs: 120_000 },
    );

  before(async () => {
    c = await startCluster({
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
      runtime: "simulated",
      nodes: 2,
    });
  });
  after(async () => {
    await c?.stop();
  });

  test("kubectl drain evicts a simulated node's Deployment pods under a budget; they come back on the other node", async () => {
    for (const args of [
      ["create", "deployment", "web", "--image=busybox", "--replicas=4"],
      ["create", "pdb", "web", "--selector=app=web", "--max-unavailable=1"],
      ["rollout", "status", "deploy/web", "--timeout=60s"],
    ]) {
      const r = await kubectl(args);
      assert.equal(r.code, 0, r.stderr);
    }
    await waitFor(
      async () => {
        const pdb = await c.client.get(REFS.poddisruptionbudgets, "default", "web");
        return (pdb.status as { disruptionsAllowed?: number })?.disruptionsAllowed === 1;
      },
      { what: "the budget to allow one disruption" },
    );
    const drained = await kubectl(["drain", "loopkube", "--timeout=90s"]);
    assert.equal(drained.code, 0, drained.stderr);
    assert.match(drained.stdout, /node\/loopkube cordoned\n/);
    assert.match(drained.stdout, /evicting pod default\/web-/, "through pods/eviction");
    assert.match(drained.stdout, /node\/loopkube drained\n/);
    const pods = await waitFor(
      async () => {
        const items = (await c.client.list(REFS.pods, "default")).items;
        const running = items.filter(
          (p) => !p.metadata.deletionTimestamp && (p.spec as { nodeName?: string }).nodeName,
        );
        return running.length === 4 ? running : undefined;
      },
      { what: "four pods placed again" },
    );
    for (const p of pods) assert.equal((p.spec as { nodeName?: string }).nodeName, "loopkube-2");
  });

  test("a budget owned by a Deployment is garbage-collected with it", async () => {
    const made = await kubectl([
      "create",
      "deployment",
      "owner",
      "--image=busybox",
      "--replicas=0",
    ]);
    assert.equal(made.code, 0, made.stderr);
    const deployment = await c.client.get(REFS.deployments, "default", "owner");
    await c.client.create(REFS.poddisruptionbudgets, "default", {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: {
        name: "owned",
        ownerReferences: [
          {
            apiVersion: "apps/v1",
            kind: "Deployment",
            name: "owner",
            uid: deployment.metadata.uid ?? "",
          },
        ],
      },
      spec: { maxUnavailable: 1, selector: { matchLabels: { app: "owner" } } },
    });
    const r = await kubectl(["delete", "deployment", "owner"]);
    assert.equal(r.code, 0, r.stderr);
    await waitFor(
      async () =>
        !(await c.client.list(REFS.poddisruptionbudgets, "default")).items.some(
          (b) => b.metadata.name === "owned",
        ),
      { what: "the owned budget deleted" },
    );
  });
});
