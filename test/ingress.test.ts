/**
 * Ingress end to end (issue 15's acceptance), with the real kubectl, curl and openssl against a
 * running cluster with real pods: an Ingress routes two hosts to two Services (`curl --resolve`),
 * path rules pick the Service, a request no rule matches gets the controller's 404 (and the
 * default backend once the Ingress names one), TLS answers each SNI name with its Secret's
 * certificate (checked with `openssl s_client`) and unknown names with the fake one, an Ingress of
 * another class is not served, and `kubectl get ingress` shows the ADDRESS. Also: loopkube's
 * IngressClass is there and default, `kubectl create ingress` gets it, `kubectl describe` and
 * `kubectl explain` work, NetworkPolicies are defaulted, validated, stored and listed, and the
 * controller acts as its ServiceAccount, whose role lets it update ingresses/status only.
 *
 * One cluster for the whole file, on the ranges it is given (others may run beside it). The
 * ingress listens on 80/443 when they can be bound, else on the ports its status names: the
 * tests read them from `status.loadBalancer.ingress`.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../src/_testing/index.ts";
import { cidrContains, nthAddress, parseCidr } from "../src/api/cidr.ts";
import type { KubeObject } from "../src/api/types.ts";
import { selfSignedCert } from "../src/apiserver/pki.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { KUBECTL, NO_KUBECTL, run } from "./_kubectl.ts";
import { HTTP_SERVER, NODE } from "./_kubelet.ts";

function onPath(name: string): string | undefined {
  const dirs = (process.env.PATH ?? "").split(delimiter).filter((d) => d !== "");
  return dirs.map((d) => join(d, name)).find((p) => existsSync(p));
}
const CURL = onPath("curl");
const OPENSSL = onPath("openssl");
const NO_TOOLS = NO_KUBECTL || (CURL ? false : "curl is not installed");

function web(name: string): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: "web",
              image: "fixture/http-server",
              command: [NODE, HTTP_SERVER],
              env: [
                { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
                { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
              ],
              ports: [{ name: "http", containerPort: 8080 }],
              readinessProbe: { httpGet: { path: "/ready", port: "http" }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  } as KubeObject;
}

function service(name: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name },
    spec: { selector: { app: name }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
  } as KubeObject;
}

const INGRESS = `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop
spec:
  tls:
  - hosts: [a.example.com]
    secretName: a-tls
  - hosts: [b.example.com]
    secretName: b-tls
  rules:
  - host: a.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web-a
            port:
              number: 80
      - path: /b
        pathType: Prefix
        backend:
          service:
            name: web-b
            port:
              name: http
      - path: /exact
        pathType: Exact
        backend:
          service:
            name: web-b
            port:
              number: 80
      - path: /impl
        pathType: ImplementationSpecific
        backend:
          service:
            name: web-b
            port:
              number: 80
  - host: b.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web-b
            port:
              number: 80
`;

const OTHER_CLASS = `
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: other
spec:
  controller: example.com/other-controller
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: elsewhere
spec:
  ingressClassName: other
  rules:
  - host: other.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web-a
            port:
              number: 80
`;

interface Address {
  ip: string;
  http: number;
  https: number;
}

describe("Ingress with the real kubectl, curl and openssl", { skip: NO_TOOLS }, () => {
  let c: Cluster;
  let dir: string;
  let noPods: string | false = false;
  let address: Address;

  const kubectl = (args: string[], input?: string) =>
    run(KUBECTL ?? "kubectl", ["--kubeconfig", c.kubeconfigPath, ...args], {
      ...(input === undefined ? {} : { input }),
    });

  /** `curl --resolve host:port:ip`, answering "<status> <body>". */
  const curl = async (scheme: "http" | "https", host: string, path = "/") => {
    const port = scheme === "http" ? address.http : address.https;
    const r = await run(CURL ?? "curl", [
      "-sk",
      "--max-time",
      "10",
      "--resolve",
      `${host}:${port}:${address.ip}`,
      "-w",
      " %{http_code}",
      `${scheme}://${host}:${port}${path}`,
    ]);
    const m = /^([\s\S]*) (\d{3})$/.exec(r.stdout);
    return m ? `${m[2]} ${m[1]?.trim()}` : `curl failed: ${r.stderr}`;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "loopkube-ingress-"));
    c = await startCluster({
      runtime: "process",
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
    });
    if (!c.hasNodeAgent) {
      noPods = "no node agent in this build: pods cannot run";
      return;
    }
    for (const host of ["a.example.com", "b.example.com"]) {
      const pair = await selfSignedCert({ commonName: host, hosts: [host] });
      writeFileSync(join(dir, `${host}.crt`), pair.cert);
      writeFileSync(join(dir, `${host}.key`), pair.key);
      const name = `${host[0]}-tls`;
      const r = await kubectl([
        "create",
        "secret",
        "tls",
        name,
        `--cert=${join(dir, `${host}.crt`)}`,
        `--key=${join(dir, `${host}.key`)}`,
      ]);
      assert.equal(r.code, 0, r.stderr);
    }
    const applied = await c.apply([web("web-a"), service("web-a"), web("web-b"), service("web-b")]);
    await c.waitReady(applied, { timeoutMs: 60_000 });
    const r = await kubectl(["apply", "-f", "-"], INGRESS);
    assert.equal(r.code, 0, r.stderr);
    // The controller writes the address once it serves the Ingress.
    const status = await waitFor(
      async () => {
        const got = await kubectl([
          "get",
          "ingress",
          "shop",
          "-o",
          "jsonpath={.status.loadBalancer.ingress[0]}",
        ]);
        return got.stdout === ""
          ? undefined
          : (JSON.parse(got.stdout) as { ip: string; ports?: { port: number }[] });
      },
      { what: "the Ingress's status to name its address", retryErrors: true },
    );
    address = {
      ip: status.ip,
      http: status.ports?.[0]?.port ?? 80,
      https: status.ports?.[1]?.port ?? 443,
    };
    // Endpoints reach the controller through its informers: wait until the first route answers.
    await waitFor(
      async () =>
        (await curl("http", "a.example.com")).startsWith("200 web-a") ? true : undefined,
      { what: "a.example.com to answer through the ingress", retryErrors: true },
    );
  });
  after(async () => {
    await c?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("kubectl get ingress shows the class, hosts, ADDRESS and ports", async (t) => {
    if (noPods) return t.skip(noPods);
    const r = await kubectl(["get", "ingress", "shop"]);
    const [head, row] = r.stdout.trim().split("\n");
    assert.match(head ?? "", /^NAME\s+CLASS\s+HOSTS\s+ADDRESS\s+PORTS\s+AGE$/);
    const ports =
      address.http === 80 && address.https === 443
        ? "80, 443"
        : `${address.http}, ${address.https}`;
    const cells = (row ?? "").split(/\s{2,}/);
    assert.deepEqual(cells.slice(0, 5), [
      "shop",
      "loopkube",
      "a.example.com,b.example.com",
      address.ip,
      ports,
    ]);
    // The address is the last usable one of this cluster's own load balancer range (loopback).
    const range = parseCidr(c.addresses.loadBalancerCidr);
    assert.ok(cidrContains(range, address.ip), `${address.ip} in ${range.text}`);
    assert.equal(address.ip, nthAddress(range, range.total - 2));
    assert.match(address.ip, /^127\./);
  });

  test("kubectl describe ingress lists each rule's backends with their endpoints", async (t) => {
    if (noPods) return t.skip(noPods);
    const r = await kubectl(["describe", "ingress", "shop"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Ingress Class:\s+loopkube$/m);
    assert.match(r.stdout, new RegExp(`^Address:\\s+${address.ip.replaceAll(".", "\\.")}$`, "m"));
    assert.match(r.stdout, /^\s+a\.example\.com\s*$/m);
    assert.match(r.stdout, /^\s+\/\s+web-a:80 \(127\.[\d.]+:8080\)$/m);
    assert.match(r.stdout, /^\s+\/exact\s+web-b:80 \(127\.[\d.]+:8080\)$/m);
    assert.match(r.stdout, /^\s+a-tls terminates a\.example\.com$/m);
  });

  test("two hosts reach two Services (curl --resolve)", async (t) => {
    if (noPods) return t.skip(noPods);
    assert.match(await curl("http", "a.example.com"), /^200 web-a-/);
    assert.match(await curl("http", "b.example.com"), /^200 web-b-/);
  });

  test("path rules pick the Service: Prefix by segment, Exact, ImplementationSpecific as Prefix", async (t) => {
    if (noPods) return t.skip(noPods);
    assert.match(await curl("http", "a.example.com", "/b"), /^200 web-b-/);
    assert.match(await curl("http", "a.example.com", "/b/deeper"), /^200 web-b-/);
    assert.match(await curl("http", "a.example.com", "/bee"), /^200 web-a-/);
    assert.match(await curl("http", "a.example.com", "/exact"), /^200 web-b-/);
    assert.match(await curl("http", "a.example.com", "/exact/more"), /^200 web-a-/);
    assert.match(await curl("http", "a.example.com", "/impl/more"), /^200 web-b-/);
  });

  test("a request no rule matches gets 404, then the default backend once there is one", async (t) => {
    if (noPods) return t.skip(noPods);
    assert.equal(await curl("http", "nobody.example.com"), "404 404 page not found");
    const patch = JSON.stringify({
      spec: { defaultBackend: { service: { name: "web-b", port: { number: 80 } } } },
    });
    const r = await kubectl(["patch", "ingress", "shop", "--type=merge", "-p", patch]);
    assert.equal(r.code, 0, r.stderr);
    await waitFor(
      async () =>
        (await curl("http", "nobody.example.com")).startsWith("200 web-b") ? true : undefined,
      { what: "the default backend to answer", retryErrors: true },
    );
  });

  test("TLS: each SNI name gets its own certificate; openssl s_client shows the CN", {
    skip: OPENSSL ? false : "openssl is not installed",
  }, async (t) => {
    if (noPods) return t.skip(noPods);
    const subject = async (servername: string) => {
      const r = await run(
        OPENSSL ?? "openssl",
        ["s_client", "-connect", `${address.ip}:${address.https}`, "-servername", servername],
        { input: "" },
      );
      return /subject=.*CN\s*=\s*([^,\n]+)/.exec(r.stdout)?.[1]?.trim() ?? r.stdout + r.stderr;
    };
    assert.equal(await subject("a.example.com"), "a.example.com");
    assert.equal(await subject("b.example.com"), "b.example.com");
    assert.equal(
      await subject("unknown.example.com"),
      "Kubernetes Ingress Controller Fake Certificate",
    );
    assert.match(await curl("https", "a.example.com"), /^200 web-a-/);
    assert.match(await curl("https", "b.example.com"), /^200 web-b-/);
  });

  test("an Ingress of another class is not served and gets no address", async (t) => {
    if (noPods) return t.skip(noPods);
    const r = await kubectl(["apply", "-f", "-"], OTHER_CLASS);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await curl("http", "other.example.com")).slice(0, 3), "200");
    // ...from the default backend, not web-a: the rule is not ours.
    assert.match(await curl("http", "other.example.com"), /^200 web-b-/);
    const status = await kubectl(["get", "ingress", "elsewhere", "-o", "jsonpath={.status}"]);
    assert.equal(status.stdout, '{"loadBalancer":{}}');
  });

  test("the ingress controller's ServiceAccount may update ingresses/status and not delete pods", async () => {
    const as = "--as=system:serviceaccount:kube-system:ingress-controller";
    const cases: Array<[string[], string, number]> = [
      // kubectl reads `ingresses/status` as the Ingress named "status": the subresource is a flag.
      [["update", "ingresses", "--subresource=status"], "yes", 0],
      [["update", "ingresses"], "no", 1],
      [["list", "secrets", "--all-namespaces"], "yes", 0],
      [["delete", "pods"], "no", 1],
      [["create", "ingressclasses"], "no", 1],
    ];
    for (const [args, want, code] of cases) {
      const r = await kubectl(["auth", "can-i", ...args, as]);
      assert.equal(r.stdout.trim(), want, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.code, code, args.join(" "));
    }
  });

  test("loopkube's IngressClass is the default: kubectl create ingress gets it", async (t) => {
    if (noPods) return t.skip(noPods);
    const classes = await kubectl(["get", "ingressclass", "loopkube"]);
    assert.match(
      classes.stdout,
      /^NAME\s+CONTROLLER\s+PARAMETERS\s+AGE\nloopkube\s+loopkube\.dev\/ingress\s+<none>\s+/,
    );
    const r = await kubectl(["create", "ingress", "quick", "--rule=quick.example.com/*=web-a:80"]);
    assert.equal(r.code, 0, r.stderr);
    const cls = await kubectl([
      "get",
      "ingress",
      "quick",
      "-o",
      "jsonpath={.spec.ingressClassName}",
    ]);
    assert.equal(cls.stdout, "loopkube");
    await waitFor(
      async () =>
        (await curl("http", "quick.example.com", "/any")).startsWith("200 web-a")
          ? true
          : undefined,
      { what: "quick.example.com to answer", retryErrors: true },
    );
    const events = await kubectl([
      "get",
      "events",
      "--field-selector",
      "involvedObject.name=quick,reason=Sync",
      "-o",
      "jsonpath={.items[*].message}",
    ]);
    assert.match(events.stdout, /Scheduled for sync/);
  });

  test("NetworkPolicies are stored and listed as on a real cluster", async (t) => {
    if (noPods) return t.skip(noPods);
    const policy = JSON.stringify({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "deny-web" },
      spec: { podSelector: { matchLabels: { app: "web-a" } }, ingress: [] },
    });
    assert.equal((await kubectl(["apply", "-f", "-"], policy)).code, 0);
    const r = await kubectl(["get", "netpol"]);
    assert.match(r.stdout, /^NAME\s+POD-SELECTOR\s+AGE\ndeny-web\s+app=web-a\s+/);
    // kube's default: a policy without egress rules is of type Ingress only.
    const types = await kubectl([
      "get",
      "netpol",
      "deny-web",
      "-o",
      "jsonpath={.spec.policyTypes}",
    ]);
    assert.equal(types.stdout, '["Ingress"]');
    const bad = JSON.stringify({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "bad" },
      spec: { podSelector: {}, policyTypes: ["Sideways"] },
    });
    const refused = await kubectl(["apply", "-f", "-"], bad);
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /^The NetworkPolicy "bad" is invalid: spec\.policyTypes\[0\]: Unsupported value: "Sideways"/,
    );
  });

  test("kubectl explain knows the Ingress fields (OpenAPI of 1.32)", async () => {
    const r = await kubectl(["explain", "ingress.spec.rules.http.paths.pathType"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ImplementationSpecific/);
  });
});
