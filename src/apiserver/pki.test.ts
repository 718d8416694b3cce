import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { createPublicKey, X509Certificate } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { TLSSocket } from "node:tls";
import { buildKubeconfig, parseKubeconfig } from "./kubeconfig.ts";
import { ensurePki, issueClientCert, type Pki } from "./pki.ts";

const HOSTS = [
  "localhost",
  "127.0.0.1",
  "127.96.0.1",
  "kubernetes",
  "kubernetes.default",
  "kubernetes.default.svc",
  "kubernetes.default.svc.cluster.local",
];

const opensslAvailable = spawnSync("openssl", ["version"], { stdio: "ignore" }).error === undefined;

/** Runs `openssl`; resolves with stdout, or rejects with stderr when it exits non-zero. */
function openssl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("openssl", args, { timeout: 20_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

const kubectlAvailable =
  spawnSync("kubectl", ["version", "--client"], { stdio: "ignore" }).error === undefined;

describe("ensurePki", () => {
  let dir: string;
  let pki: Pki;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "loopkube-pki-"));
    pki = await ensurePki(join(dir, "pki"), { clusterName: "loopkube", hosts: HOSTS });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("creates a CA named loopkube-ca valid for about ten years", () => {
    const ca = new X509Certificate(pki.caCert);
    assert.match(ca.subject, /CN=loopkube-ca/);
    assert.equal(ca.ca, true);
    const years = (Date.parse(ca.validTo) - Date.parse(ca.validFrom)) / (365 * 24 * 3600 * 1000);
    assert.ok(years > 9.9 && years < 10.1, `CA validity ${years} years`);
  });

  test("serving certificate is signed by the CA and covers every host", () => {
    const cert = new X509Certificate(pki.serverCert);
    assert.ok(cert.verify(new X509Certificate(pki.caCert).publicKey));
    for (const h of HOSTS) {
      const ok = /^[\d.]+$/.test(h) ? cert.checkIP(h) : cert.checkHost(h, { wildcards: false });
      assert.equal(ok, h, `SAN for ${h}`);
    }
    assert.equal(cert.checkHost("example.com"), undefined);
    assert.equal(cert.checkIP("127.0.0.2"), undefined);
  });

  test("admin certificate is kubernetes-admin in system:masters for client auth", () => {
    const cert = new X509Certificate(pki.adminCert);
    assert.match(cert.subject, /CN=kubernetes-admin/);
    assert.match(cert.subject, /O=system:masters/);
    assert.deepEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.2"]);
    assert.ok(cert.verify(new X509Certificate(pki.caCert).publicKey));
  });

  test("front-proxy client certificate is front-proxy-client, signed by its own CA, not the cluster's", () => {
    const cert = new X509Certificate(pki.frontProxyClientCert);
    assert.match(cert.subject, /CN=front-proxy-client/);
    assert.deepEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.2"]);
    assert.match(new X509Certificate(pki.frontProxyCaCert).subject, /CN=front-proxy-ca/);
    assert.ok(cert.verify(new X509Certificate(pki.frontProxyCaCert).publicKey));
    assert.equal(cert.verify(new X509Certificate(pki.caCert).publicKey), false);
  });

  test("key and token files are private (0600)", async () => {
    const files = await readdir(join(dir, "pki"));
    for (const f of files.filter((f) => f.endsWith(".key") || f.endsWith(".token"))) {
      const mode = (await stat(join(dir, "pki", f))).mode & 0o777;
      assert.equal(mode, 0o600, f);
    }
    assert.ok(files.includes("admin.token"));
    assert.ok(pki.token.length >= 32);
  });

  test("second call loads the same material", async () => {
    const again = await ensurePki(join(dir, "pki"), { clusterName: "loopkube", hosts: HOSTS });
    assert.deepEqual(again, pki);
  });

  test("keeps the service-account signing key across starts; sa.pub is its public half", async () => {
    const sub = join(dir, "sa");
    const first = await ensurePki(sub, { clusterName: "c", hosts: ["127.0.0.1"] });
    assert.equal(
      createPublicKey(first.serviceAccountKey).export({ type: "spki", format: "pem" }),
      first.serviceAccountPublicKey,
    );
    assert.equal(await readFile(join(sub, "sa.pub"), "utf8"), first.serviceAccountPublicKey);
    await rm(join(sub, "sa.pub"));
    const second = await ensurePki(sub, { clusterName: "c", hosts: ["127.0.0.1"] });
    assert.equal(second.serviceAccountKey, first.serviceAccountKey);
    assert.equal(await readFile(join(sub, "sa.pub"), "utf8"), first.serviceAccountPublicKey);
  });

  test("re-issues only the serving certificate when a host is added", async () => {
    const sub = join(dir, "grow");
    const first = await ensurePki(sub, { clusterName: "c", hosts: ["127.0.0.1"] });
    const second = await ensurePki(sub, { clusterName: "c", hosts: ["127.0.0.1", "my.host"] });
    assert.equal(second.caCert, first.caCert);
    assert.equal(second.adminCert, first.adminCert);
    assert.equal(second.token, first.token);
    assert.notEqual(second.serverCert, first.serverCert);
    assert.equal(new X509Certificate(second.serverCert).checkHost("my.host"), "my.host");
    const third = await ensurePki(sub, { clusterName: "c", hosts: ["my.host"] });
    assert.equal(third.serverCert, second.serverCert, "a subset of hosts keeps the cert");
  });

  test("re-issues the serving certificate when it nears expiry", async () => {
    const sub = join(dir, "expiry");
    const first = await ensurePki(sub, { clusterName: "c", hosts: ["127.0.0.1"] });
    const later = new Date(Date.now() + 350 * 24 * 3600 * 1000);
    const second = await ensurePki(sub, {
      clusterName: "c",
      hosts: ["127.0.0.1"],
      now: () => later,
    });
    assert.notEqual(second.serverCert, first.serverCert);
    assert.equal(second.caCert, first.caCert);
  });

  test("openssl parses every certificate with the fields Kubernetes relies on", {
    skip: !opensslAvailable && "openssl not installed",
  }, async () => {
    const text = async (pem: string) => {
      const file = join(dir, "parse.crt");
      await writeFile(file, pem);
      return openssl(["x509", "-in", file, "-text", "-noout"]);
    };
    const ca = await text(pki.caCert);
    assert.match(ca, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(ca, /Subject: CN ?= ?loopkube-ca, O ?= ?loopkube/);
    assert.match(ca, /Basic Constraints: critical\s+CA:TRUE/);
    assert.match(ca, /Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
    assert.match(ca, /Subject Key Identifier/);
    const server = await text(pki.serverCert);
    assert.match(server, /Issuer: CN ?= ?loopkube-ca, O ?= ?loopkube/);
    assert.match(server, /Basic Constraints: critical\s+CA:FALSE/);
    assert.match(server, /Key Usage: critical\s+Digital Signature, Key Encipherment/);
    assert.match(server, /Extended Key Usage:\s+TLS Web Server Authentication/);
    assert.match(server, /Authority Key Identifier/);
    assert.match(
      server,
      /DNS:localhost, IP Address:127\.0\.0\.1, IP Address:127\.96\.0\.1, DNS:kubernetes, DNS:kubernetes\.default, DNS:kubernetes\.default\.svc, DNS:kubernetes\.default\.svc\.cluster\.local/,
    );
    const admin = await text(pki.adminCert);
    assert.match(admin, /Subject: CN ?= ?kubernetes-admin, O ?= ?system:masters/);
    assert.match(admin, /Extended Key Usage:\s+TLS Web Client Authentication/);
  });

  test("openssl verifies the serving and admin certificates against the CA for their purpose", {
    skip: !opensslAvailable && "openssl not installed",
  }, async () => {
    const ca = join(dir, "pki", "ca.crt");
    const server = join(dir, "pki", "apiserver.crt");
    const admin = join(dir, "pki", "admin.crt");
    assert.match(await openssl(["verify", "-CAfile", ca, "-purpose", "sslserver", server]), /: OK/);
    assert.match(await openssl(["verify", "-CAfile", ca, "-purpose", "sslclient", admin]), /: OK/);
    await assert.rejects(openssl(["verify", "-CAfile", ca, "-purpose", "sslserver", admin]));
    const other = await ensurePki(join(dir, "stranger"), { clusterName: "s", hosts: ["x"] });
    const otherCa = join(dir, "stranger", "ca.crt");
    assert.notEqual(other.caCert, pki.caCert);
    await assert.rejects(openssl(["verify", "-CAfile", otherCa, server]));
  });

  test("Node's X509Certificate sees each leaf as issued by the CA", () => {
    const ca = new X509Certificate(pki.caCert);
    for (const pem of [pki.serverCert, pki.adminCert]) {
      const cert = new X509Certificate(pem);
      assert.ok(cert.checkIssued(ca));
      assert.equal(cert.ca, false);
      const serial = Buffer.from(cert.serialNumber, "hex");
      assert.equal(serial.length, 16, "a 128-bit serial");
      assert.ok((serial[0] ?? 0) > 0 && (serial[0] ?? 0) < 0x80, "positive, no leading zero");
    }
  });

  test("issueClientCert signs a client certificate with the given groups", async () => {
    const pair = await issueClientCert(pki, {
      commonName: "system:serviceaccount:default:builder",
      organizations: ["system:serviceaccounts", "system:serviceaccounts:default"],
    });
    const cert = new X509Certificate(pair.cert);
    assert.match(cert.subject, /CN=system:serviceaccount:default:builder/);
    assert.match(cert.subject, /O=system:serviceaccounts\n/);
    assert.match(cert.subject, /O=system:serviceaccounts:default/);
    assert.ok(cert.verify(new X509Certificate(pki.caCert).publicKey));
  });

  describe("over TLS", () => {
    let server: https.Server;
    let port: number;
    const seen: { path: string; user: string | undefined; authorized: boolean }[] = [];

    before(async () => {
      server = https.createServer(
        {
          cert: pki.serverCert,
          key: pki.serverKey,
          ca: pki.caCert,
          requestCert: true,
          rejectUnauthorized: false,
        },
        (req, res) => {
          const socket = req.socket as TLSSocket;
          const peer = socket.authorized ? socket.getPeerCertificate() : undefined;
          seen.push({
            path: req.url ?? "",
            user: peer === undefined ? undefined : String(peer.subject.CN),
            authorized: socket.authorized,
          });
          if (!socket.authorized) {
            res.writeHead(401, { "content-type": "application/json" });
            res.end(
              JSON.stringify({
                kind: "Status",
                apiVersion: "v1",
                metadata: {},
                status: "Failure",
                message: "Unauthorized",
                reason: "Unauthorized",
                code: 401,
              }),
            );
            return;
          }
          const path = (req.url ?? "").split("?")[0];
          res.setHeader("content-type", "application/json");
          if (path === "/version") {
            res.end(
              JSON.stringify({
                major: "1",
                minor: "32",
                gitVersion: "v1.32.0-loopkube",
                gitCommit: "0000000000000000000000000000000000000000",
                gitTreeState: "clean",
                buildDate: "2026-01-01T00:00:00Z",
                goVersion: "go1.23.0",
                compiler: "gc",
                platform: "linux/amd64",
              }),
            );
          } else if (path === "/api") {
            res.end(
              JSON.stringify({
                kind: "APIVersions",
                versions: ["v1"],
                serverAddressByClientCIDRs: [
                  { clientCIDR: "0.0.0.0/0", serverAddress: `127.0.0.1:${port}` },
                ],
              }),
            );
          } else {
            res.writeHead(404);
            res.end("{}");
          }
        },
      );
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      port = (server.address() as AddressInfo).port;
    });
    after(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });

    function kubeconfigFor(): string {
      return buildKubeconfig({
        name: "loopkube",
        server: `https://127.0.0.1:${port}`,
        caCert: pki.caCert,
        clientCert: pki.adminCert,
        clientKey: pki.adminKey,
      });
    }

    function get(
      path: string,
      tls: { cert?: string; key?: string; ca: string },
    ): Promise<{ status: number; body: string }> {
      return new Promise((resolve, reject) => {
        const req = https.request(
          { host: "127.0.0.1", port, path, ...tls, servername: "localhost" },
          (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => {
              body += c;
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on("error", reject);
        req.end();
      });
    }

    test("Node's https.request verifies the server and presents the admin cert from the kubeconfig", async () => {
      const conn = parseKubeconfig(kubeconfigFor());
      assert.ok(
        conn.caCert !== undefined && conn.clientCert !== undefined && conn.clientKey !== undefined,
      );
      const res = await get("/version", {
        ca: conn.caCert,
        cert: conn.clientCert,
        key: conn.clientKey,
      });
      assert.equal(res.status, 200);
      assert.equal(JSON.parse(res.body).gitVersion, "v1.32.0-loopkube");
      assert.equal(seen.at(-1)?.user, "kubernetes-admin");
    });

    test("a request without a client certificate reaches the server unauthorized (401)", async () => {
      const res = await get("/api", { ca: pki.caCert });
      assert.equal(res.status, 401);
      assert.equal(seen.at(-1)?.authorized, false);
    });

    test("a client trusting another CA refuses the serving certificate", async () => {
      const other = await ensurePki(join(dir, "other"), { clusterName: "x", hosts: ["127.0.0.1"] });
      await assert.rejects(
        get("/version", { ca: other.caCert }),
        /self.signed|unable to verify|certificate/i,
      );
    });

    test("kubectl connects with TLS verification and the client certificate", {
      skip: !kubectlAvailable && "kubectl not installed",
    }, async () => {
      const kubeconfig = join(dir, "kubeconfig");
      await writeFile(kubeconfig, kubeconfigFor(), { mode: 0o600 });
      const cacheDir = join(dir, "kube-cache");
      const run = (args: string[]) =>
        new Promise<string>((resolve, reject) => {
          execFile(
            "kubectl",
            ["--kubeconfig", kubeconfig, "--cache-dir", cacheDir, ...args],
            { timeout: 20_000, env: { ...process.env, HOME: dir } },
            (err, stdout, stderr) =>
              err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
          );
        });
      const before = seen.length;
      const version = JSON.parse(await run(["version", "-o", "json"]));
      assert.equal(version.serverVersion.gitVersion, "v1.32.0-loopkube");
      const api = JSON.parse(await run(["get", "--raw", "/api"]));
      assert.deepEqual(api.versions, ["v1"]);
      const mine = seen.slice(before);
      assert.ok(mine.length >= 2);
      assert.ok(
        mine.every((s) => s.authorized && s.user === "kubernetes-admin"),
        JSON.stringify(mine),
      );
    });
  });
});
