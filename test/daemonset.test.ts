/**
 * DaemonSets and ReplicationControllers on a cluster of three simulated nodes, judged by the real
 * kubectl: the Kubernetes documentation's DaemonSet runs one pod per node and rolls node by node
 * on an image change (`kubectl rollout status`, `history`, `undo`); a node tainted NoSchedule gets
 * no pod of a DaemonSet that does not tolerate the taint, a cordoned one does; a nodeSelector follows node labels, a
 * maxSurge update starts each new pod beside the old one and OnDelete replaces only deleted pods;
 * the documentation's ReplicationController runs its replicas and scales with `kubectl scale rc`.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { DaemonSet } from "kubernetes-types/apps/v1.js";
import type { Pod } from "kubernetes-types/core/v1.js";
import { waitFor } from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import { type KubeObject, typed } from "../src/api/types.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { KUBECTL, NO_KUBECTL, run } from "./_kubectl.ts";

/** The DaemonSet example of the Kubernetes documentation (concepts/workloads/controllers/daemonset). */
const FLUENTD = `
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: fluentd-elasticsearch
  namespace: kube-system
  labels:
    k8s-app: fluentd-logging
spec:
  selector:
    matchLabels:
      name: fluentd-elasticsearch
  template:
    metadata:
      labels:
        name: fluentd-elasticsearch
    spec:
      tolerations:
      # these tolerations are to have the daemonset runnable on control plane nodes
      # remove them if your control plane nodes should not run pods
      - key: node-role.kubernetes.io/control-plane
        operator: Exists
        effect: NoSchedule
      - key: node-role.kubernetes.io/master
        operator: Exists
        effect: NoSchedule
      containers:
      - name: fluentd-elasticsearch
        image: quay.io/fluentd_elasticsearch/fluentd:v2.5.2
        resources:
          limits:
            memory: 200Mi
          requests:
            cpu: 100m
            memory: 200Mi
        volumeMounts:
        - name: varlog
          mountPath: /var/log
      # it may be desirable to set a high priority class to ensure that a DaemonSet Pod
      # preempts running Pods
      # priorityClassName: important
      terminationGracePeriodSeconds: 30
      volumes:
      - name: varlog
        hostPath:
          path: /var/log
`;

/** The ReplicationController example of the Kubernetes documentation. */
const NGINX_RC = `
apiVersion: v1
kind: ReplicationController
metadata:
  name: nginx
spec:
  replicas: 3
  selector:
    app: nginx
  template:
    metadata:
      name: nginx
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx
        ports:
        - containerPort: 80
`;

const FLUENTD_IMAGE = "quay.io/fluentd_elasticsearch/fluentd";

describe("DaemonSets and ReplicationControllers on three simulated nodes", {
  skip: NO_KUBECTL,
}, () => {
  let c: Cluster;
  let home: string;
  const kubectl = async (...args: string[]) => {
    const r = await run(KUBECTL ?? "kubectl", ["--kubeconfig", c.kubeconfigPath, ...args], {
      env: { ...process.env, HOME: home, KUBECONFIG: c.kubeconfigPath },
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const apply = (yaml: string) => {
    const file = join(home, `manifest-${Date.now()}.yaml`);
    writeFileSync(file, yaml);
    return kubectl("apply", "-f", file);
  };
  const podsOf = async (ns: string, selector: string) =>
    (await c.client.list(REFS.pods, ns, { labelSelector: selector })).items
      .map((p) => typed<Pod>(p))
      .filter((p) => !p.metadata?.deletionTimestamp);
  const ready = (p: Pod) =>
    p.status?.conditions?.some((x) => x.type === "Ready" && x.status === "True") === true;
  const nodeNames = async () =>
    (await c.client.list(REFS.nodes, "")).items.map((n) => n.metadata.name ?? "").sort();

  before(async () => {
    home = mkdtempSync(join(tmpdir(), "loopkube-ds-"));
    c = await startCluster({
      name: "ds",
      ephemeral: true,
      runtime: "simulated",
      nodes: 3,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
    });
  });
  after(async () => {
    await c?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test("the documentation's DaemonSet runs one ready pod on each node", async () => {
    await apply(FLUENTD);
    const nodes = await nodeNames();
    assert.equal(nodes.length, 3);
    const pods = await waitFor(
      async () => {
        const ps = await podsOf("kube-system", "name=fluentd-elasticsearch");
        return ps.length === 3 && ps.every(ready) ? ps : undefined;
      },
      { what: "three ready pods", timeoutMs: 30_000 },
    );
    assert.deepEqual(pods.map((p) => p.spec?.nodeName).sort(), nodes);
    for (const p of pods) {
      const terms =
        p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
          ?.nodeSelectorTerms;
      assert.deepEqual(terms, [
        { matchFields: [{ key: "metadata.name", operator: "In", values: [p.spec?.nodeName] }] },
      ]);
    }
    const status = await kubectl(
      "rollout",
      "status",
      "ds/fluentd-elasticsearch",
      "-n",
      "kube-system",
      "--timeout=60s",
    );
    assert.match(status, /daemon set "fluentd-elasticsearch" successfully rolled out/);
    const table = await kubectl("get", "ds", "-n", "kube-system", "-o", "wide");
    const [header, row] = table.trim().split("\n");
    assert.deepEqual(header?.split(/\s{2,}/), [
      "NAME",
      "DESIRED",
      "CURRENT",
      "READY",
      "UP-TO-DATE",
      "AVAILABLE",
      "NODE SELECTOR",
      "AGE",
      "CONTAINERS",
      "IMAGES",
      "SELECTOR",
    ]);
    assert.match(
      row ?? "",
      /^fluentd-elasticsearch\s+3\s+3\s+3\s+3\s+3\s+<none>\s+\S+\s+fluentd-elasticsearch\s+quay\.io\/fluentd_elasticsearch\/fluentd:v2\.5\.2\s+name=fluentd-elasticsearch$/,
    );
  });

  test("an image change rolls node by node; rollout status, history and undo work", async () => {
    // Watch the pods: with maxUnavailable 1, two of three nodes keep a ready pod throughout.
    const readyNodes = new Map<string, Set<string>>();
    const note = (type: string, p: Pod) => {
      const set = readyNodes.get(p.spec?.nodeName ?? "") ?? new Set<string>();
      if (type !== "DELETED" && ready(p) && !p.metadata?.deletionTimestamp)
        set.add(p.metadata?.name ?? "");
      else set.delete(p.metadata?.name ?? "");
      readyNodes.set(p.spec?.nodeName ?? "", set);
    };
    const start = await c.client.list(REFS.pods, "kube-system", {
      labelSelector: "name=fluentd-elasticsearch",
    });
    for (const p of start.items) note("ADDED", typed<Pod>(p));
    assert.equal(readyNodes.size, 3);
    let fewest = 3;
    const watch = c.client.watch(
      REFS.pods,
      "kube-system",
      {
        labelSelector: "name=fluentd-elasticsearch",
        ...(start.metadata.resourceVersion
          ? { resourceVersion: start.metadata.resourceVersion }
          : {}),
      },
      (e) => {
        if (e.type !== "ADDED" && e.type !== "MODIFIED" && e.type !== "DELETED") return;
        note(e.type, typed<Pod>(e.object));
        const serving = [...readyNodes.values()].filter((s) => s.size > 0).length;
        fewest = Math.min(fewest, serving);
      },
    );
    try {
      await kubectl(
        "set",
        "image",
        "ds/fluentd-elasticsearch",
        "-n",
        "kube-system",
        `fluentd-elasticsearch=${FLUENTD_IMAGE}:v2.6.0`,
      );
      const status = await kubectl(
        "rollout",
        "status",
        "ds/fluentd-elasticsearch",
        "-n",
        "kube-system",
        "--timeout=60s",
      );
      assert.match(status, /successfully rolled out/);
      const pods = await podsOf("kube-system", "name=fluentd-elasticsearch");
      assert.equal(pods.length, 3);
      for (const p of pods) assert.equal(p.spec?.containers[0]?.image, `${FLUENTD_IMAGE}:v2.6.0`);
      assert.deepEqual(pods.map((p) => p.spec?.nodeName).sort(), await nodeNames());
      assert.ok(fewest >= 2, `a moment with only ${fewest} node(s) serving`);
    } finally {
      watch.stop();
    }

    const history = await kubectl(
      "rollout",
      "history",
      "ds/fluentd-elasticsearch",
      "-n",
      "kube-system",
    );
    assert.match(history, /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
    const two = await kubectl(
      "rollout",
      "history",
      "ds/fluentd-elasticsearch",
      "-n",
      "kube-system",
      "--revision=2",
    );
    assert.match(two, /Image:\s+quay\.io\/fluentd_elasticsearch\/fluentd:v2\.6\.0/);

    const undo = await kubectl("rollout", "undo", "ds/fluentd-elasticsearch", "-n", "kube-system");
    assert.match(undo, /daemonset\.apps\/fluentd-elasticsearch rolled back/);
    await kubectl(
      "rollout",
      "status",
      "ds/fluentd-elasticsearch",
      "-n",
      "kube-system",
      "--timeout=60s",
    );
    const back = await waitFor(
      async () => {
        const ps = await podsOf("kube-system", "name=fluentd-elasticsearch");
        return ps.length === 3 &&
          ps.every((p) => p.spec?.containers[0]?.image === `${FLUENTD_IMAGE}:v2.5.2` && ready(p))
          ? ps
          : undefined;
      },
      { what: "the pods back on v2.5.2", timeoutMs: 30_000 },
    );
    assert.equal(back.length, 3);
    const after = await kubectl(
      "rollout",
      "history",
      "ds/fluentd-elasticsearch",
      "-n",
      "kube-system",
    );
    assert.match(after, /REVISION\s+CHANGE-CAUSE\n2\s+<none>\n3\s+<none>/);
    // kubectl compares the revision's bytes with the patch it builds from the DaemonSet.
    const same = await kubectl(
      "rollout",
      "undo",
      "ds/fluentd-elasticsearch",
      "-n",
      "kube-system",
      "--to-revision=3",
    );
    assert.match(same, /skipped rollback \(current template already matches revision 3\)/);
  });

  test("a node tainted NoSchedule gets no pod of a DaemonSet without the toleration; a cordoned one does", async () => {
    const [tainted, cordoned] = await nodeNames();
    await kubectl("taint", "nodes", tainted ?? "", "dedicated=db:NoSchedule");
    // Daemon pods tolerate node.kubernetes.io/unschedulable, as kube adds to every one.
    await kubectl("cordon", cordoned ?? "");
    try {
      const ds: DaemonSet & KubeObject = {
        apiVersion: "apps/v1",
        kind: "DaemonSet",
        metadata: { name: "agent", namespace: "default" },
        spec: {
          selector: { matchLabels: { app: "agent" } },
          template: {
            metadata: { labels: { app: "agent" } },
            spec: { containers: [{ name: "agent", image: "busybox" }] },
          },
        },
      };
      await c.client.create(REFS.daemonsets, "default", ds);
      await kubectl("rollout", "status", "ds/agent", "-n", "default", "--timeout=60s");
      const pods = await podsOf("default", "app=agent");
      const others = (await nodeNames()).filter((n) => n !== tainted);
      assert.deepEqual(pods.map((p) => p.spec?.nodeName).sort(), others);
      const got = typed<DaemonSet>(await c.client.get(REFS.daemonsets, "default", "agent"));
      assert.equal(got.status?.desiredNumberScheduled, 2);
      // The documentation's DaemonSet, already there, stays on the tainted node (NoSchedule).
      const fluentd = await podsOf("kube-system", "name=fluentd-elasticsearch");
      assert.ok(fluentd.some((p) => p.spec?.nodeName === tainted));
      assert.ok(pods.every(ready), "the pod on the cordoned node runs");
    } finally {
      await kubectl("taint", "nodes", tainted ?? "", "dedicated=db:NoSchedule-");
      await kubectl("uncordon", cordoned ?? "");
    }
    // Untainted, the node gets its pod.
    await waitFor(
      async () => {
        const ps = await podsOf("default", "app=agent");
        return ps.length === 3 && ps.every(ready) ? ps : undefined;
      },
      { what: "a pod on the untainted node", timeoutMs: 30_000 },
    );
  });

  test("a nodeSelector follows node labels; maxSurge starts each new pod beside the old; OnDelete waits", async () => {
    const [first, second, third] = await nodeNames();
    assert.ok(first && second && third);
    const label = "loopkube.test/edge";
    const images = (ps: Pod[]) => ps.map((p) => p.spec?.containers[0]?.image).sort();
    const onNodes = (nodes: string[], image?: string) =>
      waitFor(
        async () => {
          const ps = await podsOf("default", "app=edge");
          const placed = ps.map((p) => p.spec?.nodeName ?? "").sort();
          const fine = ps.every(
            (p) => ready(p) && (!image || p.spec?.containers[0]?.image === image),
          );
          return fine && placed.join() === [...nodes].sort().join() && ps;
        },
        {
          what: `edge pods ready on ${nodes.join(", ")}${image ? ` with ${image}` : ""}`,
          timeoutMs: 30_000,
        },
      );
    await kubectl("label", "nodes", first, second, `${label}=true`);
    await apply(`
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: edge
  namespace: default
spec:
  selector:
    matchLabels: {app: edge}
  updateStrategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  template:
    metadata:
      labels: {app: edge}
    spec:
      nodeSelector: {${label}: "true"}
      containers:
      - {name: edge, image: "edge:v1"}
`);
    await onNodes([first, second]);
    await kubectl("label", "nodes", third, `${label}=true`);
    await onNodes([first, second, third]);
    await kubectl("label", "nodes", first, `${label}-`);
    await onNodes([second, third]);
    const table = await kubectl("get", "ds", "edge", "-n", "default");
    assert.match(
      table.trim().split("\n")[1] ?? "",
      /^edge\s+2\s+2\s+2\s+2\s+2\s+loopkube\.test\/edge=true\s+\S+$/,
    );

    // maxSurge 1, maxUnavailable 0: a node never lacks a ready pod, and one has two at a time.
    const live = new Map<string, Pod>();
    let most = 0;
    let unserved = "";
    const seen = await c.client.list(REFS.pods, "default", { labelSelector: "app=edge" });
    const watch = c.client.watch(
      REFS.pods,
      "default",
      {
        labelSelector: "app=edge",
        ...(seen.metadata.resourceVersion
          ? { resourceVersion: seen.metadata.resourceVersion }
          : {}),
      },
      (e) => {
        if (e.type !== "ADDED" && e.type !== "MODIFIED" && e.type !== "DELETED") return;
        const p = typed<Pod>(e.object);
        if (e.type === "DELETED") live.delete(p.metadata?.name ?? "");
        else live.set(p.metadata?.name ?? "", p);
        for (const node of [second, third]) {
          const here = [...live.values()].filter((x) => x.spec?.nodeName === node);
          most = Math.max(most, here.length);
          if (!here.some((x) => ready(x) && !x.metadata?.deletionTimestamp)) unserved = node;
        }
      },
    );
    for (const p of seen.items) live.set(p.metadata.name ?? "", typed<Pod>(p));
    try {
      await kubectl("set", "image", "ds/edge", "-n", "default", "edge=edge:v2");
      await kubectl("rollout", "status", "ds/edge", "-n", "default", "--timeout=60s");
      await onNodes([second, third], "edge:v2");
    } finally {
      watch.stop();
    }
    assert.equal(unserved, "", `node ${unserved} had no ready edge pod during the surge`);
    assert.equal(most, 2, "a node ran its old and new pod side by side");

    // OnDelete: a new template reaches a node only when its pod is deleted.
    await kubectl(
      "patch",
      "ds/edge",
      "-n",
      "default",
      "--type=merge",
      "-p",
      '{"spec":{"updateStrategy":{"type":"OnDelete","rollingUpdate":null}}}',
    );
    await kubectl("set", "image", "ds/edge", "-n", "default", "edge=edge:v3");
    await waitFor(
      async () => {
        const ds = typed<DaemonSet>(await c.client.get(REFS.daemonsets, "default", "edge"));
        return ds.status?.observedGeneration === ds.metadata?.generation && ds;
      },
      { what: "the OnDelete template observed" },
    );
    assert.deepEqual(images(await podsOf("default", "app=edge")), ["edge:v2", "edge:v2"]);
    const [onSecond] = (await podsOf("default", "app=edge")).filter(
      (p) => p.spec?.nodeName === second,
    );
    await kubectl("delete", "pod", onSecond?.metadata?.name ?? "", "-n", "default", "--wait=false");
    const after = await waitFor(
      async () => {
        const ps = await podsOf("default", "app=edge");
        const renewed = ps.find((p) => p.spec?.nodeName === second);
        return (
          ps.length === 2 &&
          renewed?.spec?.containers[0]?.image === "edge:v3" &&
          ready(renewed) &&
          ps
        );
      },
      { what: "a v3 pod on the node whose pod was deleted", timeoutMs: 30_000 },
    );
    assert.equal(
      after.find((p) => p.spec?.nodeName === third)?.spec?.containers[0]?.image,
      "edge:v2",
    );
    await kubectl("label", "nodes", second, third, `${label}-`);
    await waitFor(async () => (await podsOf("default", "app=edge")).length === 0, {
      what: "no edge pods once no node is labelled",
      timeoutMs: 30_000,
    });
  });

  test("the documentation's ReplicationController runs its replicas and scales", async () => {
    await apply(NGINX_RC);
    await waitFor(
      async () => {
        const ps = await podsOf("default", "app=nginx");
        return ps.length === 3 && ps.every(ready) ? ps : undefined;
      },
      { what: "three nginx pods", timeoutMs: 30_000 },
    );
    const table = await kubectl("get", "rc", "nginx", "-n", "default");
    const [header, row] = table.trim().split("\n");
    assert.deepEqual(header?.split(/\s{2,}/), ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]);
    assert.match(row ?? "", /^nginx\s+3\s+3\s+3\s+\S+$/);

    // kubectl describe finds the controller's events by the ReplicationController's kind.
    await waitFor(
      async () => {
        const described = await kubectl("describe", "rc", "nginx", "-n", "default");
        return /SuccessfulCreate\s+\S+\s+replication-controller\s+Created pod: nginx-/.test(
          described,
        );
      },
      { what: "kubectl describe rc showing the SuccessfulCreate events", timeoutMs: 30_000 },
    );

    const scaled = await kubectl("scale", "rc/nginx", "--replicas=5", "-n", "default");
    assert.match(scaled, /replicationcontroller\/nginx scaled/);
    await waitFor(
      async () => {
        const ps = await podsOf("default", "app=nginx");
        return ps.length === 5 && ps.every(ready) ? ps : undefined;
      },
      { what: "five nginx pods", timeoutMs: 30_000 },
    );
    await kubectl("scale", "rc/nginx", "--replicas=1", "-n", "default");
    const one = await waitFor(
      async () => {
        const ps = await podsOf("default", "app=nginx");
        return ps.length === 1 ? ps : undefined;
      },
      { what: "one nginx pod", timeoutMs: 30_000 },
    );
    assert.equal(one[0]?.metadata?.ownerReferences?.[0]?.kind, "ReplicationController");
  });
});
