/**
 * Service accounts end to end, with the real kubectl against a whole cluster (`startCluster`):
 * every namespace gets `default` and `kube-root-ca.crt` (and gets them back), `kubectl create
 * token` prints a JWT with kube's claims that a third-party library verifies through the
 * cluster's OIDC discovery, the API server authenticates such tokens (kube's 403 until a RoleBinding
 * allows them) and refuses unknown ones
 * with 401, pods get kube's token volume (or are refused with kube's message when their account
 * is missing), and a pod's own process reaches the API with @kubernetes/client-node's in-cluster
 * config. That last test needs root (the pod sandbox mounts the volume at its absolute path) and
 * says so when skipped.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createLocalJWKSet, jwtVerify } from "jose";
import { REFS } from "../src/api/refs.ts";
import type { KubeObject } from "../src/api/types.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { sandboxSupported } from "../src/kubelet/sandbox/index.ts";
import { KUBECTL, NO_KUBECTL, type RunResult, run } from "./_kubectl.ts";

const IN_CLUSTER = fileURLToPath(new URL("./fixtures/in-cluster.js", import.meta.url));
const ISSUER = "https://kubernetes.default.svc.cluster.local";
const NS = "sa-e2e";

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString()) as Record<
    string,
    unknown
  >;

describe("service accounts", { skip: NO_KUBECTL }, () => {
  let c: Cluster;
  let kubectl: (args: string[], input?: string) => Promise<RunResult>;
  let caFile: string;

  before(async () => {
    c = await startCluster({
      runtime: "process",
      name: "sa-e2e",
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
    });
    const cache = join(c.dataDir, "kube-cache");
    kubectl = (args, input) =>
      run(KUBECTL ?? "", ["--kubeconfig", c.kubeconfigPath, "--cache-dir", cache, ...args], {
        env: { ...process.env, HOME: c.dataDir, KUBECONFIG: c.kubeconfigPath },
        ...(input !== undefined ? { input } : {}),
      });
    caFile = join(c.dataDir, "pki", "ca.crt");
    const r = await kubectl(["create", "namespace", NS]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await c?.stop();
  });

  const getJson = async (args: string[]) => {
    const r = await kubectl([...args, "-o", "json"]);
    return r.code === 0 ? (JSON.parse(r.stdout) as KubeObject) : undefined;
  };

  test("a new namespace gets default and kube-root-ca.crt, and gets them back when deleted", async () => {
    const sa = await waitFor("default", () => getJson(["get", "sa", "default", "-n", NS]));
    const table = await kubectl(["get", "sa", "-n", NS]);
    assert.match(table.stdout, /^NAME\s+SECRETS\s+AGE\ndefault\s+0\s+\d+s\n$/);
    const cm = await waitFor("kube-root-ca.crt", () =>
      getJson(["get", "cm", "kube-root-ca.crt", "-n", NS]),
    );
    assert.deepEqual(cm.data, { "ca.crt": readFileSync(caFile, "utf8") });
    assert.equal(
      cm.metadata.annotations?.["kubernetes.io/description"],
      "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.",
    );
    assert.equal((await kubectl(["delete", "sa", "default", "-n", NS])).code, 0);
    assert.equal((await kubectl(["delete", "cm", "kube-root-ca.crt", "-n", NS])).code, 0);
    await waitFor("default again", async () => {
      const again = await getJson(["get", "sa", "default", "-n", NS]);
      return again && again.metadata.uid !== sa.metadata.uid ? again : undefined;
    });
    await waitFor("kube-root-ca.crt again", async () => {
      const again = await getJson(["get", "cm", "kube-root-ca.crt", "-n", NS]);
      return again && again.metadata.uid !== cm.metadata.uid ? again : undefined;
    });
    // An edited copy is put back as it was.
    const edit = await kubectl([
      "patch",
      "cm",
      "kube-root-ca.crt",
      "-n",
      NS,
      "--type=merge",
      "-p",
      '{"data":{"ca.crt":"x"}}',
    ]);
    assert.equal(edit.code, 0, edit.stderr);
    await waitFor("kube-root-ca.crt repaired", async () => {
      const again = await getJson(["get", "cm", "kube-root-ca.crt", "-n", NS]);
      return again?.data && (again.data as Record<string, string>)["ca.crt"] !== "x"
        ? again
        : undefined;
    });
  });

  test("kubectl create token prints a JWT with kube's claims that jose verifies through OIDC discovery", async () => {
    const sa = await waitFor("default", () => getJson(["get", "sa", "default", "-n", NS]));
    const r = await kubectl(["create", "token", "default", "-n", NS]);
    assert.equal(r.code, 0, r.stderr);
    const jwt = r.stdout.trim();
    const claims = claimsOf(jwt);
    assert.deepEqual(Object.keys(claims), [
      "aud",
      "exp",
      "iat",
      "iss",
      "jti",
      "kubernetes.io",
      "nbf",
      "sub",
    ]);
    assert.deepEqual(claims.aud, [ISSUER]);
    assert.equal(claims.iss, ISSUER);
    assert.equal(claims.sub, `system:serviceaccount:${NS}:default`);
    assert.equal((claims.exp as number) - (claims.iat as number), 3600);
    assert.equal(claims.nbf, claims.iat);
    assert.match(
      String(claims.jti),
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    assert.deepEqual(claims["kubernetes.io"], {
      namespace: NS,
      serviceaccount: { name: "default", uid: sa.metadata.uid },
    });

    const discovery = await kubectl(["get", "--raw", "/.well-known/openid-configuration"]);
    assert.equal(discovery.code, 0, discovery.stderr);
    const config = JSON.parse(discovery.stdout) as { issuer: string; jwks_uri: string };
    assert.equal(config.issuer, ISSUER);
    assert.equal(config.jwks_uri, `${c.apiUrl}/openid/v1/jwks`);
    const jwks = await kubectl(["get", "--raw", new URL(config.jwks_uri).pathname]);
    const { payload } = await jwtVerify(jwt, createLocalJWKSet(JSON.parse(jwks.stdout)), {
      issuer: ISSUER,
      audience: ISSUER,
    });
    assert.equal(payload.sub, `system:serviceaccount:${NS}:default`);

    const short = await kubectl(["create", "token", "default", "-n", NS, "--duration=5m"]);
    assert.notEqual(short.code, 0);
    assert.match(
      short.stderr,
      /spec\.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes/,
    );
    const missing = await kubectl(["create", "token", "nobody", "-n", NS]);
    assert.match(missing.stderr, /serviceaccounts "nobody" not found/);
  });

  test("a service-account token is forbidden until a RoleBinding allows it, and unknown or revoked ones get 401", async () => {
    await waitFor("default", () => getJson(["get", "sa", "default", "-n", NS]));
    assert.equal((await kubectl(["create", "sa", "robot", "-n", NS])).code, 0);
    const token = (await kubectl(["create", "token", "robot", "-n", NS])).stdout.trim();
    const as = (t: string) =>
      run(KUBECTL ?? "", [
        "--kubeconfig",
        join(c.dataDir, "empty-kubeconfig"),
        "--server",
        c.apiUrl,
        "--certificate-authority",
        caFile,
        "--token",
        t,
        "get",
        "sa",
        "-n",
        NS,
        "-o",
        "name",
      ]);
    writeFileSync(join(c.dataDir, "empty-kubeconfig"), "apiVersion: v1\nkind: Config\n");
    const denied = await as(token);
    assert.notEqual(denied.code, 0);
    assert.match(
      denied.stderr,
      new RegExp(
        `Error from server \\(Forbidden\\): serviceaccounts is forbidden: User "system:serviceaccount:${NS}:robot" cannot list resource "serviceaccounts" in API group "" in the namespace "${NS}"`,
      ),
    );
    const bind = [
      "create",
      "rolebinding",
      "robot-view",
      "--clusterrole=view",
      `--serviceaccount=${NS}:robot`,
    ];
    assert.equal((await kubectl([...bind, "-n", NS])).code, 0);
    const ok = await as(token);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /serviceaccount\/robot/);
    const unknown = await as("not-a-known-token");
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /You must be logged in to the server \(Unauthorized\)/);
    assert.equal((await kubectl(["delete", "sa", "robot", "-n", NS])).code, 0);
    const revoked = await as(token);
    assert.match(revoked.stderr, /You must be logged in to the server \(Unauthorized\)/);
  });

  test("a legacy token Secret is filled by the token controller, authenticates until deleted, and goes with its account", async () => {
    assert.equal((await kubectl(["create", "sa", "legacy", "-n", NS])).code, 0);
    const secret = (name: string, account: string) =>
      JSON.stringify({
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name,
          namespace: NS,
          annotations: { "kubernetes.io/service-account.name": account },
        },
        type: "kubernetes.io/service-account-token",
      });
    const applied = await kubectl(["apply", "-f", "-"], secret("legacy-token", "legacy"));
    assert.equal(applied.code, 0, applied.stderr);
    const b64Token = await waitFor("token", async () => {
      const r = await kubectl([
        "get",
        "secret",
        "legacy-token",
        "-n",
        NS,
        "-o",
        "jsonpath={.data.token}",
      ]);
      return r.stdout.trim() || undefined;
    });
    const token = Buffer.from(b64Token, "base64").toString("utf8");
    const filled = await waitFor("object", () =>
      getJson(["get", "secret", "legacy-token", "-n", NS]),
    );
    const data = filled.data as Record<string, string>;
    const sa = await waitFor("object", () => getJson(["get", "sa", "legacy", "-n", NS]));
    assert.equal(Buffer.from(data.namespace ?? "", "base64").toString(), NS);
    assert.equal(
      Buffer.from(data["ca.crt"] ?? "", "base64").toString(),
      readFileSync(caFile, "utf8"),
    );
    const meta = filled.metadata as KubeObject["metadata"];
    assert.equal(
      meta.annotations?.["kubernetes.io/service-account.uid"],
      (sa.metadata as KubeObject["metadata"]).uid,
    );
    assert.equal(claimsOf(token).iss, "kubernetes/serviceaccount");
    assert.equal(claimsOf(token)["kubernetes.io/serviceaccount/secret.name"], "legacy-token");

    writeFileSync(join(c.dataDir, "empty-kubeconfig"), "apiVersion: v1\nkind: Config\n");
    const as = (...args: string[]) =>
      run(KUBECTL ?? "", [
        "--kubeconfig",
        join(c.dataDir, "empty-kubeconfig"),
        "--server",
        c.apiUrl,
        "--certificate-authority",
        caFile,
        "--token",
        token,
        ...args,
      ]);
    const whoami = await as("auth", "whoami", "-o", "json");
    assert.equal(whoami.code, 0, whoami.stderr);
    const review = JSON.parse(whoami.stdout) as { status: { userInfo: Record<string, unknown> } };
    assert.equal(review.status.userInfo.username, `system:serviceaccount:${NS}:legacy`);
    assert.deepEqual(review.status.userInfo.groups, [
      "system:serviceaccounts",
      `system:serviceaccounts:${NS}`,
      "system:authenticated",
    ]);
    const used = await waitFor("object", () =>
      getJson(["get", "secret", "legacy-token", "-n", NS]),
    );
    assert.equal(
      (used.metadata as KubeObject["metadata"]).labels?.["kubernetes.io/legacy-token-last-used"],
      new Date().toISOString().slice(0, 10),
    );
    const denied = await as("get", "configmaps", "-n", NS);
    assert.match(
      denied.stderr,
      new RegExp(
        `\\(Forbidden\\): configmaps is forbidden: User "system:serviceaccount:${NS}:legacy" cannot list resource "configmaps"`,
      ),
    );
    const bind = ["create", "rolebinding", "legacy-view", "--clusterrole=view"];
    const bound = await kubectl([...bind, `--serviceaccount=${NS}:legacy`, "-n", NS]);
    assert.equal(bound.code, 0, bound.stderr);
    const allowed = await as("get", "configmaps", "-n", NS, "-o", "name");
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stdout, /configmap\/kube-root-ca.crt/);
    assert.equal((await kubectl(["delete", "secret", "legacy-token", "-n", NS])).code, 0);
    const refused = await as("get", "configmaps", "-n", NS);
    assert.match(refused.stderr, /You must be logged in to the server \(Unauthorized\)/);

    // A token Secret of an account that does not exist is deleted; so are an account's tokens.
    await kubectl(["apply", "-f", "-"], secret("orphan-token", "nobody"));
    await waitFor("orphan deleted", async () => {
      const r = await kubectl(["get", "secret", "orphan-token", "-n", NS, "--ignore-not-found"]);
      return r.code === 0 && r.stdout.trim() === "" ? true : undefined;
    });
    await kubectl(["apply", "-f", "-"], secret("second-token", "legacy"));
    await waitFor("second filled", async () => {
      const r = await kubectl([
        "get",
        "secret",
        "second-token",
        "-n",
        NS,
        "-o",
        "jsonpath={.data.token}",
      ]);
      return r.stdout.trim() || undefined;
    });
    assert.equal((await kubectl(["delete", "sa", "legacy", "-n", NS])).code, 0);
    await waitFor("tokens deleted with the account", async () => {
      const r = await kubectl(["get", "secret", "second-token", "-n", NS, "--ignore-not-found"]);
      return r.code === 0 && r.stdout.trim() === "" ? true : undefined;
    });
  });

  test("a pod gets the default account and kube's token volume; a pod naming a missing account is refused", async () => {
    await waitFor("default", () => getJson(["get", "sa", "default", "-n", NS]));
    const manifest = (name: string, extra: object = {}) =>
      JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: NS, annotations: { "loopkube.dev/runtime": "simulated" } },
        spec: { containers: [{ name: "c", image: "sleep" }], ...extra },
      });
    const applied = await kubectl(["apply", "-f", "-"], manifest("plain"));
    assert.equal(applied.code, 0, applied.stderr);
    const pod = (await getJson(["get", "pod", "plain", "-n", NS])) as KubeObject & {
      spec: {
        serviceAccount: string;
        serviceAccountName: string;
        volumes: Array<{ name: string; projected: unknown }>;
        containers: Array<{ volumeMounts: unknown[] }>;
      };
    };
    assert.equal(pod.spec.serviceAccountName, "default");
    assert.equal(pod.spec.serviceAccount, "default");
    const [volume] = pod.spec.volumes;
    assert.match(volume?.name ?? "", /^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.deepEqual(volume?.projected, {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
        { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
        {
          downwardAPI: {
            items: [
              {
                path: "namespace",
                fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" },
              },
            ],
          },
        },
      ],
    });
    assert.deepEqual(pod.spec.containers[0]?.volumeMounts, [
      {
        name: volume?.name,
        readOnly: true,
        mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
      },
    ]);
    const refused = await kubectl(
      ["apply", "-f", "-"],
      manifest("lost", { serviceAccountName: "nope" }),
    );
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /Error from server \(Forbidden\): error when creating "STDIN": pods "lost" is forbidden: error looking up service account sa-e2e\/nope: serviceaccount "nope" not found/,
    );
    const quiet = await kubectl(
      ["apply", "-f", "-"],
      manifest("quiet", { automountServiceAccountToken: false }),
    );
    assert.equal(quiet.code, 0, quiet.stderr);
    const q = await getJson(["get", "pod", "quiet", "-n", NS]);
    assert.ok(q);
    assert.equal((q.spec as { volumes?: unknown[] }).volumes, undefined);
  });

  test("a pod's process lists its namespace's pods with client-node's in-cluster config", {
    skip: sandboxSupported()
      ? false
      : "needs root and util-linux: without the pod sandbox the token volume is not mounted at /var/run/secrets/kubernetes.io/serviceaccount, where in-cluster clients read it",
  }, async () => {
    await waitFor("default", () => getJson(["get", "sa", "default", "-n", NS]));
    // As on a real cluster, the pod's account may list pods only once a binding allows it.
    const bind = ["create", "rolebinding", "default-view", "--clusterrole=view"];
    assert.equal((await kubectl([...bind, `--serviceaccount=${NS}:default`, "-n", NS])).code, 0);
    await c.client.create(REFS.pods, NS, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "in-cluster", namespace: NS },
      spec: {
        restartPolicy: "Never",
        containers: [{ name: "client", image: "node", command: [process.execPath, IN_CLUSTER] }],
      },
    });
    const done = await waitFor(
      "the in-cluster pod to finish",
      async () => {
        const p = (await c.client.get(REFS.pods, NS, "in-cluster")) as KubeObject & {
          status?: { phase?: string };
        };
        const phase = p.status?.phase;
        return phase === "Succeeded" || phase === "Failed" ? p : undefined;
      },
      60_000,
    );
    const logs = await kubectl(["logs", "in-cluster", "-n", NS]);
    assert.equal(done.status?.phase, "Succeeded", logs.stdout + logs.stderr);
    const out = JSON.parse(logs.stdout.trim().split("\n").pop() ?? "{}") as {
      server: string;
      namespace: string;
      pods: string[];
    };
    assert.equal(out.server, `https://${c.addresses.kubernetesServiceIP}:443`);
    assert.equal(out.namespace, NS);
    assert.ok(out.pods.includes("in-cluster"), JSON.stringify(out));
  });
});
