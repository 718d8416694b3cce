/**
 * Users and RBAC end to end (issue #16) with the real kubectl and @kubernetes/client-node:
 * the admin kubeconfig (`system:masters`) may do everything; a user from a client certificate
 * (CN, O) may do nothing but discovery and self-reviews until a Role and RoleBinding allow it,
 * and gets kube's 403 wording; impersonation (`--as`, `--as-group`) needs `impersonate`;
 * `kubectl auth can-i` (with `--list` and `--as`), `kubectl auth whoami`, `kubectl create
 * role/rolebinding/clusterrole/clusterrolebinding` and `kubectl auth reconcile` work; the bootstrap
 * roles are there with `view` aggregated; escalation through a Role or a binding is refused.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { waitFor } from "../src/_testing/index.ts";
import { buildKubeconfig } from "../src/apiserver/kubeconfig.ts";
import { issueClientCert } from "../src/apiserver/pki.ts";
import { userKubeconfig } from "../src/cluster/index.ts";
import { startTestApiServer, type TestApiServer } from "./_apiserver.ts";
import { NO_KUBECTL } from "./_kubectl.ts";

describe("RBAC with kubectl", { skip: NO_KUBECTL }, () => {
  let api: TestApiServer;
  let aliceConfig: string;

  const admin = async (args: string[], input?: string) => {
    const r = await api.kubectl(args, input === undefined ? {} : { input });
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  const alice = (args: string[], input?: string) =>
    api.kubectl(["--kubeconfig", aliceConfig, ...args], input === undefined ? {} : { input });

  before(async () => {
    api = await startTestApiServer();
    const cert = await issueClientCert(api.pki, { commonName: "alice", organizations: ["dev"] });
    aliceConfig = join(api.dir, "alice.kubeconfig");
    writeFileSync(
      aliceConfig,
      buildKubeconfig({
        name: "alice",
        server: api.server.url,
        caCert: api.pki.caCert,
        clientCert: cert.cert,
        clientKey: cert.key,
      }),
      { mode: 0o600 },
    );
  });
  after(async () => {
    await api?.stop();
  });

  test("the bootstrap roles and bindings exist and view is aggregated from system:aggregate-to-view", async () => {
    const roles = await admin(["get", "clusterroles"]);
    assert.match(roles, /^NAME\s+CREATED AT\n/);
    for (const name of [
      "cluster-admin",
      "admin",
      "edit",
      "view",
      "system:discovery",
      "system:basic-user",
    ]) {
      assert.match(roles, new RegExp(`^${name}\\s`, "m"));
    }
    const bindings = await admin(["get", "clusterrolebindings", "-o", "wide"]);
    assert.match(bindings, /^NAME\s+ROLE\s+AGE\s+USERS\s+GROUPS\s+SERVICEACCOUNTS\n/);
    assert.match(bindings, /^cluster-admin\s+ClusterRole\/cluster-admin\s+\S+\s+system:masters/m);
    await waitFor(
      async () => {
        const rules = JSON.parse(await admin(["get", "clusterrole", "view", "-o", "json"])).rules;
        return (
          Array.isArray(rules) &&
          rules.some((r: { resources?: string[] }) => r.resources?.includes("pods"))
        );
      },
      { what: "the RBAC change to take effect (1)" },
    );
  });

  test("kube's component and controller roles exist with their bindings, and the scheduler may bind pods", async () => {
    const roles = await admin(["get", "clusterroles"]);
    for (const name of [
      "system:kube-scheduler",
      "system:kube-controller-manager",
      "system:node",
      "system:volume-scheduler",
      "system:controller:deployment-controller",
      "system:controller:generic-garbage-collector",
      "system:controller:ttl-after-finished-controller",
    ]) {
      assert.match(roles, new RegExp(`^${name}\\s`, "m"));
    }
    const yaml = await admin([
      "get",
      "clusterrole",
      "system:controller:deployment-controller",
      "-o",
      "yaml",
    ]);
    assert.match(yaml, /rbac.authorization.kubernetes.io\/autoupdate: "true"/);
    assert.match(
      yaml,
      /- apiGroups:\n {2}- apps\n {2}- extensions\n {2}resources:\n {2}- replicasets\n {2}verbs:\n {2}- create\n {2}- delete\n {2}- get\n {2}- list\n {2}- patch\n {2}- update\n {2}- watch\n/,
    );
    const bindings = await admin(["get", "clusterrolebindings", "-o", "wide"]);
    assert.match(
      bindings,
      /^system:controller:deployment-controller\s+ClusterRole\/system:controller:deployment-controller\s+\S+\s+kube-system\/deployment-controller/m,
    );
    // kubectl reads `pods/binding` as the pod named "binding"; the subresource is a flag.
    const yes = await api.kubectl([
      "auth",
      "can-i",
      "--as=system:kube-scheduler",
      "create",
      "pods",
      "--subresource=binding",
    ]);
    assert.equal(yes.stdout.trim(), "yes", `pods/binding: ${yes.stdout}${yes.stderr}`);
    const no = await api.kubectl([
      "auth",
      "can-i",
      "--as=system:kube-scheduler",
      "create",
      "secrets",
    ]);
    assert.equal(no.stdout.trim(), "no", `secrets: ${no.stdout}${no.stderr}`);
    const gc = await api.kubectl([
      "auth",
      "can-i",
      "--as=system:serviceaccount:kube-system:generic-garbage-collector",
      "delete",
      "deployments.apps",
      "-A",
    ]);
    assert.equal(gc.stdout.trim(), "yes", `gc: ${gc.stdout}${gc.stderr}`);
  });

  test("kubectl auth whoami shows the certificate's user and groups", async () => {
    const r = await alice(["auth", "whoami"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Username\s+alice/);
    assert.match(r.stdout, /Groups\s+\[dev system:authenticated\]/);
    assert.match(
      await admin(["auth", "whoami"]),
      /Groups\s+\[system:masters system:authenticated\]/,
    );
  });

  test("a user without a binding gets kube's 403 and can-i answers no", async () => {
    const r = await alice(["get", "pods"]);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /Error from server \(Forbidden\): pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"/,
    );
    const named = await alice(["get", "deployment", "web"]);
    assert.match(
      named.stderr,
      /deployments\.apps "web" is forbidden: User "alice" cannot get resource "deployments" in API group "apps" in the namespace "default"/,
    );
    const nodes = await alice(["get", "nodes"]);
    assert.match(
      nodes.stderr,
      /nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope/,
    );
    const canI = await alice(["auth", "can-i", "list", "pods"]);
    assert.equal(canI.stdout.trim(), "no");
    assert.equal(canI.code, 1);
  });

  test("kubectl create role and rolebinding let the user read pods, and only that", async () => {
    await admin(["create", "role", "pod-reader", "--verb=get,list,watch", "--resource=pods"]);
    await admin(["create", "rolebinding", "alice-reads", "--role=pod-reader", "--user=alice"]);
    const roles = await admin(["get", "rolebindings", "-o", "wide"]);
    assert.match(roles, /^alice-reads\s+Role\/pod-reader\s+\S+\s+alice\s/m);
    await waitFor(async () => (await alice(["get", "pods"])).code === 0, {
      what: "the RBAC change to take effect (2)",
    });
    assert.equal((await alice(["auth", "can-i", "list", "pods"])).stdout.trim(), "yes");
    assert.equal((await alice(["auth", "can-i", "delete", "pods"])).stdout.trim(), "no");
    assert.equal(
      (await alice(["auth", "can-i", "list", "pods", "-n", "kube-system"])).stdout.trim(),
      "no",
    );
    const list = await alice(["auth", "can-i", "--list"]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^pods\s+\[\]\s+\[\]\s+\[get list watch\]/m);
    assert.match(
      list.stdout,
      /selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]/,
    );
  });

  test("the admin answers can-i --as and --list --as for a service account", async () => {
    await admin(["create", "serviceaccount", "robot"]);
    await admin([
      "create",
      "rolebinding",
      "robot-view",
      "--clusterrole=view",
      "--serviceaccount=default:robot",
    ]);
    await waitFor(
      async () => {
        const r = await api.kubectl([
          "auth",
          "can-i",
          "list",
          "deployments",
          "--as=system:serviceaccount:default:robot",
        ]);
        return r.stdout.trim() === "yes";
      },
      { what: "the RBAC change to take effect (3)" },
    );
    const no = await api.kubectl([
      "auth",
      "can-i",
      "create",
      "deployments",
      "--as=system:serviceaccount:default:robot",
    ]);
    assert.equal(no.stdout.trim(), "no");
    const list = await admin([
      "auth",
      "can-i",
      "--list",
      "--as=system:serviceaccount:default:robot",
    ]);
    assert.match(list, /deployments\.apps\s+\[\]\s+\[\]\s+\[get list watch\]/);
  });

  test("impersonation needs the impersonate verb and then acts as that user", async () => {
    const r = await alice(["get", "pods", "--as=bob"]);
    assert.match(
      r.stderr,
      /users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope/,
    );
    const asAlice = await api.kubectl(["get", "secrets", "--as=alice"]);
    assert.match(
      asAlice.stderr,
      /secrets is forbidden: User "alice" cannot list resource "secrets" in API group "" in the namespace "default"/,
    );
    const asGroup = await api.kubectl([
      "auth",
      "whoami",
      "--as=carol",
      "--as-group=ops",
      "-o",
      "json",
    ]);
    assert.deepEqual(JSON.parse(asGroup.stdout).status.userInfo, {
      username: "carol",
      groups: ["ops", "system:authenticated"],
    });
  });

  test("escalation is refused: a Role with rules the writer lacks, a binding to a role it does not hold", async () => {
    await admin([
      "create",
      "role",
      "rbac-editor",
      "--verb=get,list,create,update,patch,delete",
      "--resource=roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io",
    ]);
    await admin(["create", "rolebinding", "alice-rbac", "--role=rbac-editor", "--user=alice"]);
    await waitFor(
      async () => (await alice(["auth", "can-i", "create", "roles"])).stdout.trim() === "yes",
      { what: "the RBAC change to take effect (4)" },
    );
    const role = await alice([
      "create",
      "role",
      "secret-reader",
      "--verb=get",
      "--resource=secrets",
    ]);
    assert.notEqual(role.code, 0);
    assert.match(
      role.stderr,
      /roles\.rbac\.authorization\.k8s\.io "secret-reader" is forbidden: user "alice" \(groups=\["dev" "system:authenticated"\]\) is attempting to grant RBAC permissions not currently held:\n\{APIGroups:\[""\], Resources:\["secrets"\], Verbs:\["get"\]\}/,
    );
    const ok = await alice(["create", "role", "pod-getter", "--verb=get", "--resource=pods"]);
    assert.equal(ok.code, 0, ok.stderr);
    const bind = await alice([
      "create",
      "rolebinding",
      "self-admin",
      "--clusterrole=admin",
      "--user=alice",
    ]);
    assert.notEqual(bind.code, 0);
    assert.match(
      bind.stderr,
      /rolebindings\.rbac\.authorization\.k8s\.io "self-admin" is forbidden: user "alice"/,
    );
  });

  test("kubectl auth reconcile creates and updates roles and bindings", async () => {
    const manifest = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: reconciled
rules:
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: reconciled
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: reconciled
subjects:
- kind: Group
  name: dev
  apiGroup: rbac.authorization.k8s.io
`;
    const out = await admin(["auth", "reconcile", "-f", "-"], manifest);
    assert.match(out, /clusterrole\.rbac\.authorization\.k8s\.io\/reconciled reconciled/);
    await waitFor(
      async () =>
        (await alice(["auth", "can-i", "get", "configmaps", "-A"])).stdout.trim() === "yes",
      { what: "the RBAC change to take effect (5)" },
    );
  });

  test("validation refuses a rule without verbs and a roleRef change with kube's messages", async () => {
    const r = await api.kubectl(["create", "-f", "-"], {
      input: `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: bad}
rules:
- apiGroups: [""]
  resources: ["pods"]
  verbs: []
`,
    });
    assert.match(
      r.stderr,
      /The Role "bad" is invalid: rules\[0\]\.verbs: Required value: verbs must contain at least one value/,
    );
    const change = await api.kubectl([
      "patch",
      "rolebinding",
      "alice-reads",
      "--type=merge",
      "-p",
      '{"roleRef":{"name":"other"}}',
    ]);
    assert.match(
      change.stderr,
      /roleRef: Invalid value: rbac\.RoleRef\{APIGroup:"rbac\.authorization\.k8s\.io", Kind:"Role", Name:"other"\}: cannot change roleRef/,
    );
  });

  test("client-node as the user: allowed list, and a 403 Status with kube's details", async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(aliceConfig);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.listNamespacedPod({ namespace: "default" });
    await assert.rejects(core.listNamespacedSecret({ namespace: "default" }), (e: unknown) => {
      const body = JSON.parse(String((e as { body?: unknown }).body));
      assert.equal(body.code, 403);
      assert.equal(body.reason, "Forbidden");
      assert.deepEqual(body.details, { kind: "secrets" });
      return true;
    });
  });

  test("userKubeconfig (loopkube kubeconfig --user) gives a user in groups that bindings apply to", async () => {
    const path = join(api.dir, "dave.kubeconfig");
    writeFileSync(path, await userKubeconfig(api.dir, { name: "dave", groups: ["dev", "qa"] }), {
      mode: 0o600,
    });
    const who = await api.kubectl(["--kubeconfig", path, "auth", "whoami", "-o", "json"]);
    assert.deepEqual(JSON.parse(who.stdout).status.userInfo, {
      username: "dave",
      groups: ["dev", "qa", "system:authenticated"],
    });
    // The group `dev` is bound to `reconciled` (configmaps get) by the reconcile test above.
    const canI = await api.kubectl(["--kubeconfig", path, "auth", "can-i", "get", "configmaps"]);
    assert.equal(canI.stdout.trim(), "yes");
  });

  test("anonymous requests reach health and version but not the API", async () => {
    const res = await fetch(`${api.server.url}/version`).catch(() => undefined);
    void res; // TLS with a private CA: checked with node's https below.
    const https = await import("node:https");
    const get = (path: string) =>
      new Promise<{ code: number; body: string }>((resolve, reject) => {
        https
          .get(`${api.server.url}${path}`, { ca: api.pki.caCert }, (r) => {
            let body = "";
            r.on("data", (c) => {
              body += c;
            });
            r.on("end", () => resolve({ code: r.statusCode ?? 0, body }));
          })
          .on("error", reject);
      });
    assert.equal((await get("/version")).code, 200);
    assert.equal((await get("/readyz")).code, 200);
    const pods = await get("/api/v1/namespaces/default/pods");
    assert.equal(pods.code, 403);
    assert.equal(
      JSON.parse(pods.body).message,
      'pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "default"',
    );
    const metrics = await get("/metrics");
    assert.equal(
      JSON.parse(metrics.body).message,
      'forbidden: User "system:anonymous" cannot get path "/metrics"',
    );
  });
});
