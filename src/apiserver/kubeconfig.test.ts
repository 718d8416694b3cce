import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse } from "yaml";
import {
  buildKubeconfig,
  KubeconfigError,
  mergeKubeconfigContext,
  parseKubeconfig,
  readKubeconfigFile,
  removeKubeconfigContext,
} from "./kubeconfig.ts";

const kubectlAvailable =
  spawnSync("kubectl", ["version", "--client"], { stdio: "ignore" }).error === undefined;

const CA = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";
const CERT = "-----BEGIN CERTIFICATE-----\nADMIN\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n";

const OTHER_CONFIG = `apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://prod.example:6443
    certificate-authority: ca.pem
users:
- name: prod-admin
  user:
    client-certificate: certs/admin.pem
    client-key: certs/admin-key.pem
- name: prod-token
  user:
    token: s3cret
contexts:
- name: prod
  context:
    cluster: prod
    user: prod-admin
    namespace: shop
- name: prod-ro
  context:
    cluster: prod
    user: prod-token
current-context: prod
preferences: {}
`;

describe("kubeconfig", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "loopkube-kubeconfig-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("buildKubeconfig embeds base64 material under one name and makes it current", () => {
    const text = buildKubeconfig({
      name: "loopkube",
      server: "https://127.0.0.1:6443",
      caCert: CA,
      clientCert: CERT,
      clientKey: KEY,
    });
    const doc = parse(text);
    assert.equal(doc["current-context"], "loopkube");
    assert.equal(doc.clusters[0].name, "loopkube");
    assert.equal(doc.users[0].name, "loopkube");
    assert.deepEqual(doc.contexts[0], {
      name: "loopkube",
      context: { cluster: "loopkube", user: "loopkube" },
    });
    assert.equal(
      Buffer.from(doc.clusters[0].cluster["certificate-authority-data"], "base64").toString(),
      CA,
    );
    assert.deepEqual(parseKubeconfig(text), {
      server: "https://127.0.0.1:6443",
      caCert: CA,
      clientCert: CERT,
      clientKey: KEY,
    });
  });

  test("parseKubeconfig reads file paths relative to baseDir, namespace and named contexts", async () => {
    await writeFile(join(dir, "ca.pem"), CA);
    await mkdir(join(dir, "certs"), { recursive: true });
    await writeFile(join(dir, "certs", "admin.pem"), CERT);
    await writeFile(join(dir, "certs", "admin-key.pem"), KEY);
    assert.deepEqual(parseKubeconfig(OTHER_CONFIG, { baseDir: dir }), {
      server: "https://prod.example:6443",
      caCert: CA,
      clientCert: CERT,
      clientKey: KEY,
      namespace: "shop",
    });
    assert.deepEqual(parseKubeconfig(OTHER_CONFIG, { baseDir: dir, context: "prod-ro" }), {
      server: "https://prod.example:6443",
      caCert: CA,
      token: "s3cret",
    });
  });

  test("parseKubeconfig reports insecure-skip-tls-verify", () => {
    const text = `clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}
contexts:
- name: c
  context: {cluster: c}
current-context: c
`;
    assert.deepEqual(parseKubeconfig(text), {
      server: "https://127.0.0.1:1",
      insecureSkipTlsVerify: true,
    });
  });

  const broken: [string, string, RegExp][] = [
    ["no current context", "clusters: []\n", /no current-context/],
    ["unknown context", "current-context: x\ncontexts: []\n", /no context named "x"/],
    [
      "unknown cluster",
      "current-context: x\ncontexts: [{name: x, context: {cluster: y}}]\n",
      /no cluster named "y"/,
    ],
    ["not a mapping", "- a\n- b\n", /not a YAML mapping/],
  ];
  for (const [what, text, message] of broken) {
    test(`parseKubeconfig rejects a kubeconfig with ${what}`, () => {
      assert.throws(
        () => parseKubeconfig(text),
        (err: unknown) => {
          assert.ok(err instanceof KubeconfigError);
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }

  test("mergeKubeconfigContext creates a missing file and directory with 0600", async () => {
    const path = join(dir, "fresh", ".kube", "config");
    const ours = buildKubeconfig({ name: "x", server: "https://127.0.0.1:6443", caCert: CA });
    await mergeKubeconfigContext(path, { contextName: "loopkube", kubeconfigText: ours });
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const conn = parseKubeconfig(await readFile(path, "utf8"));
    assert.equal(conn.server, "https://127.0.0.1:6443");
    const doc = parse(await readFile(path, "utf8"));
    assert.equal(doc["current-context"], "loopkube");
    assert.deepEqual(doc.contexts, [
      { name: "loopkube", context: { cluster: "loopkube", user: "loopkube" } },
    ]);
  });

  test("mergeKubeconfigContext keeps other entries, replaces its own, then remove restores them", async () => {
    const path = join(dir, "shared-config");
    await writeFile(path, OTHER_CONFIG);
    const v1 = buildKubeconfig({
      name: "a",
      server: "https://127.0.0.1:1",
      caCert: CA,
      clientCert: CERT,
      clientKey: KEY,
    });
    const v2 = buildKubeconfig({
      name: "b",
      server: "https://127.0.0.1:2",
      caCert: CA,
      token: "t",
    });
    await mergeKubeconfigContext(path, { contextName: "loopkube", kubeconfigText: v1 });
    await mergeKubeconfigContext(path, { contextName: "loopkube", kubeconfigText: v2 });
    const merged = parse(await readFile(path, "utf8"));
    assert.deepEqual(
      merged.clusters.map((c: { name: string }) => c.name),
      ["prod", "loopkube"],
    );
    assert.deepEqual(
      merged.users.map((c: { name: string }) => c.name),
      ["prod-admin", "prod-token", "loopkube"],
    );
    assert.equal(merged["current-context"], "loopkube");
    assert.deepEqual(parseKubeconfig(await readFile(path, "utf8")), {
      server: "https://127.0.0.1:2",
      caCert: CA,
      token: "t",
    });
    assert.equal((await readKubeconfigFile(path, { context: "prod-ro" })).token, "s3cret");

    await removeKubeconfigContext(path, "loopkube");
    const removed = parse(await readFile(path, "utf8"));
    assert.equal(removed["current-context"], "");
    assert.deepEqual(removed.clusters, parse(OTHER_CONFIG).clusters);
    assert.deepEqual(removed.users, parse(OTHER_CONFIG).users);
    assert.deepEqual(removed.contexts, parse(OTHER_CONFIG).contexts);
  });

  test("kubectl reads the merged kubeconfig: contexts and the current one", {
    skip: !kubectlAvailable && "kubectl not installed",
  }, async () => {
    const path = join(dir, "kubectl-config");
    await writeFile(path, OTHER_CONFIG);
    const ours = buildKubeconfig({
      name: "x",
      server: "https://127.0.0.1:6443",
      caCert: CA,
      clientCert: CERT,
      clientKey: KEY,
    });
    await mergeKubeconfigContext(path, { contextName: "loopkube", kubeconfigText: ours });
    const run = (args: string[]) =>
      execFileSync("kubectl", ["--kubeconfig", path, ...args], {
        encoding: "utf8",
        env: { ...process.env, HOME: dir, KUBECONFIG: "" },
      });
    assert.equal(run(["config", "current-context"]).trim(), "loopkube");
    assert.deepEqual(run(["config", "get-contexts", "-o", "name"]).trim().split("\n").sort(), [
      "loopkube",
      "prod",
      "prod-ro",
    ]);
    const view = parse(run(["config", "view", "--minify", "--raw"]));
    assert.equal(view.clusters[0].cluster.server, "https://127.0.0.1:6443");
    assert.equal(view.users[0].name, "loopkube");
  });

  test("removeKubeconfigContext keeps current-context when it names another context", async () => {
    const path = join(dir, "keep-current");
    await writeFile(path, OTHER_CONFIG);
    await removeKubeconfigContext(path, "prod-ro");
    const doc = parse(await readFile(path, "utf8"));
    assert.equal(doc["current-context"], "prod");
    assert.deepEqual(
      doc.contexts.map((c: { name: string }) => c.name),
      ["prod"],
    );
  });

  test("removeKubeconfigContext on a missing file does nothing", async () => {
    await removeKubeconfigContext(join(dir, "nope", "config"), "loopkube");
    await assert.rejects(stat(join(dir, "nope")));
  });
});
