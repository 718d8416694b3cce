/**
 * loopkube's own components act under their own identities (issue #16), checked with the real
 * kubectl: a controller's ServiceAccount may do what kube's `system:controller:*` role gives it
 * (`auth can-i --list --as`); a node reads a Secret only when a pod bound to it uses it (the Node
 * authorizer); without the ClusterRoleBinding `system:controller:deployment-controller` a new
 * Deployment gets no ReplicaSet and the controller's Forbidden is logged, and once the binding is
 * back it does.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../src/_testing/index.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { KUBECTL, NO_KUBECTL, type RunResult, run } from "./_kubectl.ts";

const NS = "ids";

describe("components under their own identities", { skip: NO_KUBECTL }, () => {
  let c: Cluster;
  let kubectl: (args: string[], input?: string) => Promise<RunResult>;
  const logs: string[] = [];

  before(async () => {
    c = await startCluster({
      runtime: "process",
      name: "ids-e2e",
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
      log: (level, message) => {
        if (level === "warn" || level === "error") logs.push(message);
      },
    });
    const cache = join(c.dataDir, "kube-cache");
    kubectl = (args, input) =>
      run(KUBECTL ?? "", ["--kubeconfig", c.kubeconfigPath, "--cache-dir", cache, ...args], {
        env: { ...process.env, HOME: c.dataDir, KUBECONFIG: c.kubeconfigPath },
        ...(input !== undefined ? { input } : {}),
      });
    const r = await kubectl(["create", "namespace", NS]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await c?.stop();
  });

  const ok = async (args: string[], input?: string) => {
    const r = await kubectl(args, input);
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stdout}${r.stderr}`);
    return r.stdout;
  };

  test("the controllers' ServiceAccounts exist in kube-system and hold kube's controller roles", async () => {
    const accounts = await ok(["get", "serviceaccounts", "-n", "kube-system", "-o", "name"]);
    for (const sa of [
      "deployment-controller",
      "replicaset-controller",
      "endpointslice-controller",
      "generic-garbage-collector",
      "namespace-controller",
      "coredns",
    ]) {
      assert.match(accounts, new RegExp(`^serviceaccount/${sa}$`, "m"));
    }
    const list = await ok([
      "auth",
      "can-i",
      "--list",
      "--as=system:serviceaccount:kube-system:deployment-controller",
    ]);
    assert.match(
      list,
      /^replicasets\.apps\s+\[\]\s+\[\]\s+\[create delete get list patch update watch\]$/m,
    );
    assert.match(list, /^deployments\.apps\/status\s+\[\]\s+\[\]\s+\[update\]$/m);
    assert.doesNotMatch(list, /^secrets\s/m);
    const r = await kubectl([
      "auth",
      "can-i",
      "get",
      "secrets",
      "--as=system:serviceaccount:kube-system:deployment-controller",
    ]);
    assert.equal(r.stdout.trim(), "no");
  });

  test("a node may get a Secret only when one of its pods uses it", async () => {
    await ok(["create", "secret", "generic", "used", "-n", NS, "--from-literal=a=b"]);
    await ok(["create", "secret", "generic", "unused", "-n", NS, "--from-literal=a=b"]);
    await ok(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "reader", namespace: NS },
        spec: {
          nodeName: c.name,
          containers: [
            {
              name: "c",
              image: "busybox",
              command: ["sleep", "3600"],
              env: [{ name: "A", valueFrom: { secretKeyRef: { name: "used", key: "a" } } }],
            },
          ],
        },
      }),
    );
    const canI = async (node: string, secret: string) =>
      (
        await kubectl([
          "auth",
          "can-i",
          "get",
          `secret/${secret}`,
          "-n",
          NS,
          `--as=system:node:${node}`,
          "--as-group=system:nodes",
        ])
      ).stdout.trim();
    assert.equal(await canI(c.name, "used"), "yes");
    // kubectl prints the authorizer's reason after a refusal, as against a kube API server.
    assert.equal(
      await canI(c.name, "unused"),
      `no - no relationship found between node '${c.name}' and this object`,
    );
    assert.equal(
      await canI("elsewhere", "used"),
      "no - no relationship found between node 'elsewhere' and this object",
    );
    const r = await kubectl([
      "get",
      "secret",
      "unused",
      "-n",
      NS,
      `--as=system:node:${c.name}`,
      "--as-group=system:nodes",
    ]);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      new RegExp(
        `secrets "unused" is forbidden: User "system:node:${c.name}" cannot get resource "secrets" in API group "" in the namespace "${NS}": no relationship found between node '${c.name}' and this object`,
      ),
    );
    // The node agent itself read the used Secret as that node to start the pod.
    await waitFor(
      async () =>
        (await kubectl(["get", "pod", "reader", "-n", NS, "-o", "jsonpath={.status.phase}"]))
          .stdout === "Running",
      { what: "the pod reading the secret Running" },
    );
    await ok(["delete", "pod", "reader", "-n", NS, "--grace-period=0", "--force"]);
  });

  test("without its ClusterRoleBinding the deployment controller is refused and says so; restored, it works", async () => {
    const binding = JSON.parse(
      await ok([
        "get",
        "clusterrolebinding",
        "system:controller:deployment-controller",
        "-o",
        "json",
      ]),
    ) as { metadata: Record<string, unknown> };
    await ok(["delete", "clusterrolebinding", "system:controller:deployment-controller"]);
    await ok(["create", "deployment", "web", "-n", NS, "--image=busybox", "--", "sleep", "3600"]);
    await waitFor(
      async () =>
        logs.some((l) =>
          l.includes(
            `User "system:serviceaccount:kube-system:deployment-controller" cannot create resource "replicasets" in API group "apps" in the namespace "${NS}"`,
          ),
        ),
      { what: "the deployment controller's Forbidden in the log" },
    );
    assert.equal(await ok(["get", "replicasets", "-n", NS, "-o", "name"]), "");
    const { name, labels, annotations } = binding.metadata as Record<string, unknown>;
    await ok(
      ["create", "-f", "-"],
      JSON.stringify({ ...binding, metadata: { name, labels, annotations } }),
    );
    await waitFor(
      async () =>
        (await ok(["get", "replicasets", "-n", NS, "-o", "name"])).startsWith(
          "replicaset.apps/web-",
        ),
      { what: "the ReplicaSet of web once the binding is back" },
    );
  });
});
