/**
 * What authorization costs (issue #16): the RBAC authorizer per decision, in process, for a user
 * bound by a RoleBinding among many bindings; and HTTPS GETs of one ConfigMap per second by such a
 * user (client certificate, keep-alive, 8 in flight) against an API server with
 * `authorization: "RBAC"` and with `"AlwaysAllow"`, and their ratio.
 *
 * Run: node --import tsx bench/rbac/authz.bench.ts [--quick]
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REFS } from "../../src/api/refs.ts";
import type { KubeObject } from "../../src/api/types.ts";
import { createRegistry, startApiServer } from "../../src/apiserver/index.ts";
import { ensurePki, issueClientCert } from "../../src/apiserver/pki.ts";
import { createRbac, requestAttributes } from "../../src/apiserver/rbac/index.ts";
import { openStore } from "../../src/store/index.ts";
import { type Line, startResult } from "../_result.ts";

const quick = process.argv.includes("--quick");
const DECISIONS = quick ? 20_000 : 200_000;
const REQUESTS = quick ? 2_000 : 10_000;
const BINDINGS = 200;
const result = startResult("rbac", { quick });
const lines: Line[] = [];

const RBAC = { group: "rbac.authorization.k8s.io", version: "v1" };

function bindUser(registry: ReturnType<typeof createRegistry>["registry"]): void {
  registry.createSync({ ...RBAC, resource: "roles" }, "default", {
    metadata: { name: "cm-reader" },
    rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }],
  } as KubeObject);
  for (let i = 0; i < BINDINGS; i++) {
    registry.createSync({ ...RBAC, resource: "rolebindings" }, "default", {
      metadata: { name: `other-${i}` },
      roleRef: { apiGroup: RBAC.group, kind: "Role", name: "cm-reader" },
      subjects: [{ kind: "User", name: `user-${i}` }],
    } as KubeObject);
  }
  registry.createSync({ ...RBAC, resource: "rolebindings" }, "default", {
    metadata: { name: "zz-bench" },
    roleRef: { apiGroup: RBAC.group, kind: "Role", name: "cm-reader" },
    subjects: [{ kind: "User", name: "bench" }],
  } as KubeObject);
}

function inProcess(): void {
  const store = openStore({ backend: "memory" });
  const { registry, custom } = createRegistry(store);
  bindUser(registry);
  const rbac = createRbac(store);
  const user = { name: "bench", groups: ["system:authenticated"] };
  const attributes = requestAttributes("GET", "/api/v1/namespaces/default/configmaps/cm");
  for (let i = 0; i < 1000; i++) rbac.authorizer.authorize(user, attributes);
  const t = performance.now();
  let allowed = 0;
  for (let i = 0; i < DECISIONS; i++)
    if (rbac.authorizer.authorize(user, attributes).allowed) allowed++;
  const us = ((performance.now() - t) * 1000) / DECISIONS;
  console.log(JSON.stringify({ us, allowed }));
  lines.push({
    measure: `RBAC decision, in process (user bound last of ${BINDINGS + 1} RoleBindings)`,
    value: Number(us.toFixed(2)),
    unit: "µs",
    better: "lower",
    detail: `${DECISIONS} decisions, ${allowed} allowed`,
  });
  rbac.stop();
  custom.stop();
  store.close();
}

async function overHttp(mode: "RBAC" | "AlwaysAllow", dir: string): Promise<number> {
  const pki = await ensurePki(join(dir, "pki"), { clusterName: "bench", hosts: ["127.0.0.1"] });
  const store = openStore({ backend: "memory" });
  const server = await startApiServer({
    store,
    port: 0,
    tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert },
    authorization: mode,
  });
  bindUser(server.registry);
  server.registry.createSync(REFS.configmaps, "default", {
    metadata: { name: "cm" },
    data: { a: "b" },
  } as KubeObject);
  const cert = await issueClientCert(pki, { commonName: "bench" });
  const agent = new Agent({
    keepAlive: true,
    maxSockets: 8,
    ca: pki.caCert,
    cert: cert.cert,
    key: cert.key,
  });
  const get = () =>
    new Promise<void>((resolve, reject) => {
      request(`${server.url}/api/v1/namespaces/default/configmaps/cm`, { agent }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
        res.resume();
        res.on("end", resolve);
      })
        .on("error", reject)
        .end();
    });
  const drive = async (n: number) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next++ < n) await get();
      }),
    );
  };
  await drive(500);
  const t = performance.now();
  await drive(REQUESTS);
  const perSecond = REQUESTS / ((performance.now() - t) / 1000);
  agent.destroy();
  await server.close();
  store.close();
  console.log(JSON.stringify({ mode, perSecond }));
  return perSecond;
}

inProcess();
const dir = mkdtempSync(join(tmpdir(), "loopkube-bench-rbac-"));
try {
  const off = await overHttp("AlwaysAllow", join(dir, "off"));
  const on = await overHttp("RBAC", join(dir, "on"));
  lines.push(
    {
      measure: "ConfigMap GETs over HTTPS, AlwaysAllow (8 in flight)",
      value: Math.round(off),
      unit: "/s",
      better: "higher",
      detail: `${REQUESTS} requests`,
    },
    {
      measure: "ConfigMap GETs over HTTPS, RBAC (8 in flight)",
      value: Math.round(on),
      unit: "/s",
      better: "higher",
      detail: `${REQUESTS} requests; RBAC/AlwaysAllow = ${(on / off).toFixed(2)}`,
    },
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`wrote ${result.done(lines)}`);
