import assert from "node:assert/strict";
import { once } from "node:events";
import http from "node:http";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import tls from "node:tls";
import type { Secret } from "kubernetes-types/core/v1.js";
import type { Ingress, IngressLoadBalancerIngress } from "kubernetes-types/networking/v1.js";
import { waitFor } from "../../_testing/index.ts";
import { type KeyPairPem, selfSignedCert } from "../../apiserver/pki.ts";
import { endpoint, freshIp, service, slice } from "../_testing/kit.ts";
import { IngressController, type IngressControllerOptions } from "./controller.ts";

const CONTROLLER = "loopkube.dev/ingress";

interface EchoBackend {
  ip: string;
  port: number;
  server: http.Server;
  close(): Promise<void>;
}

/** An HTTP backend answering JSON: its name, the method, URL, headers and body it got. */
async function echoBackend(name: string): Promise<EchoBackend> {
  const ip = freshIp("127.244");
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.stringify({
        name,
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      res.writeHead(200, { "content-type": "application/json", "x-backend": name });
      res.end(body);
    });
  });
  // A WebSocket-like upgrade: 101, then echo every byte back upper-cased.
  const upgraded = new Set<net.Socket>();
  server.on("upgrade", (req, socket: net.Socket) => {
    upgraded.add(socket);
    socket.on("close", () => upgraded.delete(socket));
    socket.on("end", () => socket.end());
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade}\r\nConnection: Upgrade\r\nX-Seen-Host: ${req.headers.host}\r\n\r\n`,
    );
    socket.on("data", (c: Buffer) => socket.write(c.toString().toUpperCase()));
  });
  await new Promise<void>((resolve) => server.listen(0, ip, resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    ip,
    port,
    server,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        for (const socket of upgraded) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

interface Answer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
  json?: {
    name: string;
    method: string;
    url: string;
    headers: Record<string, string>;
    body: string;
  };
}

function get(
  ip: string,
  port: number,
  host: string,
  path = "/",
  options: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: ip,
        port,
        path,
        method: options.method ?? "GET",
        headers: { host, ...options.headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString();
          const answer: Answer = { status: res.statusCode ?? 0, body, headers: res.headers };
          if (res.headers["content-type"] === "application/json") answer.json = JSON.parse(body);
          resolve(answer);
        });
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** The subject CN of the certificate served for an SNI name (none: no SNI sent). */
function servedCn(ip: string, port: number, servername?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: ip,
      port,
      rejectUnauthorized: false,
      ...(servername ? { servername } : {}),
    });
    socket.once("secureConnect", () => {
      const cn = socket.getPeerCertificate().subject?.CN ?? "";
      socket.destroy();
      resolve(Array.isArray(cn) ? cn.join(",") : cn);
    });
    socket.once("error", reject);
  });
}

function ingressClass(name: string, controller: string) {
  return { metadata: { name }, spec: { controller } };
}

function ingress(
  name: string,
  spec: Ingress["spec"],
  extra: { className?: string | null; generation?: number; created?: string } = {},
): Ingress {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
      name,
      namespace: "default",
      generation: extra.generation ?? 1,
      creationTimestamp: extra.created ?? "2026-01-01T00:00:00Z",
    },
    spec: {
      ...(extra.className === null ? {} : { ingressClassName: extra.className ?? "loopkube" }),
      ...spec,
    },
  };
}

function prefix(path: string, svc: string, port: { number?: number; name?: string }) {
  return { path, pathType: "Prefix", backend: { service: { name: svc, port } } };
}

function tlsSecret(name: string, pair: KeyPairPem): Secret {
  return {
    metadata: { name, namespace: "default", resourceVersion: "1" },
    type: "kubernetes.io/tls",
    data: {
      "tls.crt": Buffer.from(pair.cert).toString("base64"),
      "tls.key": Buffer.from(pair.key).toString("base64"),
    },
  };
}

interface Harness {
  controller: IngressController;
  ip: string;
  http: number;
  https: number;
  events: string[];
  statuses: Map<string, IngressLoadBalancerIngress[]>;
}

async function start(
  options: Partial<IngressControllerOptions> = {},
  statusResult: () => Promise<unknown> = async () => {},
): Promise<Harness> {
  const events: string[] = [];
  const statuses = new Map<string, IngressLoadBalancerIngress[]>();
  const ip = freshIp("127.99");
  const controller = new IngressController({
    controllerName: CONTROLLER,
    ip,
    httpPorts: [0],
    httpsPorts: [0],
    onEvent: (ing, type, reason, message) =>
      events.push(`${ing.metadata?.name} ${type} ${reason} ${message}`),
    onStatus: (ing, points) => {
      statuses.set(ing.metadata?.name ?? "", points);
      return statusResult();
    },
    ...options,
  });
  await controller.settled();
  const [h, s] = controller.listeners();
  return { controller, ip, http: h?.port ?? 0, https: s?.port ?? 0, events, statuses };
}

/** Feeds a Service named `name` with one port (`http`, 80 → the backend) and its endpoints. */
function feedService(c: IngressController, name: string, backends: EchoBackend[]): void {
  c.upsertService(service(name, { clusterIP: "None", ports: [{ name: "http", port: 80 }] }));
  const first = backends[0];
  c.upsertEndpointSlice(
    slice(
      `${name}-1`,
      name,
      [{ name: "http", port: first?.port ?? 1 }],
      backends.map((b) => endpoint(b.ip)),
    ),
  );
}

describe("IngressController", () => {
  let a: EchoBackend;
  let b: EchoBackend;
  let fallback: EchoBackend;
  let certA: KeyPairPem;
  let certB: KeyPairPem;
  let fake: KeyPairPem;
  before(async () => {
    [a, b, fallback] = await Promise.all([
      echoBackend("a"),
      echoBackend("b"),
      echoBackend("fallback"),
    ]);
    [certA, certB, fake] = await Promise.all([
      selfSignedCert({ commonName: "a.example.com", hosts: ["a.example.com"] }),
      selfSignedCert({ commonName: "b.example.com", hosts: ["b.example.com", "*.b.example.com"] }),
      selfSignedCert({ commonName: "Kubernetes Ingress Controller Fake Certificate" }),
    ]);
  });
  after(async () => {
    await Promise.all([a.close(), b.close(), fallback.close()]);
  });

  async function withController(
    fn: (h: Harness) => Promise<void>,
    options: Partial<IngressControllerOptions> = {},
  ): Promise<void> {
    const h = await start({ defaultCertificate: fake, ...options });
    try {
      h.controller.upsertIngressClass(ingressClass("loopkube", CONTROLLER));
      h.controller.upsertIngressClass(ingressClass("nginx", "k8s.io/ingress-nginx"));
      feedService(h.controller, "a", [a]);
      feedService(h.controller, "b", [b]);
      feedService(h.controller, "fallback", [fallback]);
      await fn(h);
    } finally {
      await h.controller.close();
    }
  }

  test("routes two hosts to two Services, by port number and by port name", () =>
    withController(async (h) => {
      h.controller.upsertIngress(
        ingress("web", {
          rules: [
            { host: "a.example.com", http: { paths: [prefix("/", "a", { number: 80 })] } },
            { host: "b.example.com", http: { paths: [prefix("/", "b", { name: "http" })] } },
          ],
        }),
      );
      assert.equal((await get(h.ip, h.http, "a.example.com")).json?.name, "a");
      assert.equal((await get(h.ip, h.http, "b.example.com:8080", "/x")).json?.name, "b");
      assert.equal((await get(h.ip, h.http, "c.example.com")).status, 404);
    }));

  test("passes Host and the request through and sets the X-Forwarded headers", () =>
    withController(async (h) => {
      h.controller.upsertIngress(
        ingress("web", {
          rules: [{ host: "a.example.com", http: { paths: [prefix("/", "a", { number: 80 })] } }],
        }),
      );
      const answer = await get(h.ip, h.http, "a.example.com", "/p/q?x=1", {
        method: "POST",
        body: "hello",
        headers: { "x-forwarded-for": "6.6.6.6", "x-custom": "kept", connection: "x-custom-hop" },
      });
      const seen = answer.json;
      assert.equal(seen?.method, "POST");
      assert.equal(seen?.url, "/p/q?x=1");
      assert.equal(seen?.body, "hello");
      assert.equal(seen?.headers.host, "a.example.com");
      assert.equal(seen?.headers["x-custom"], "kept");
      assert.equal(seen?.headers["x-forwarded-for"], "127.0.0.1");
      assert.equal(seen?.headers["x-real-ip"], "127.0.0.1");
      assert.equal(seen?.headers["x-forwarded-host"], "a.example.com");
      assert.equal(seen?.headers["x-forwarded-proto"], "http");
      assert.equal(seen?.headers["x-forwarded-port"], String(h.http));
      assert.equal(answer.headers["x-backend"], "a");
    }));

  test("path rules: Prefix by segment, Exact over Prefix, the longest first", () =>
    withController(async (h) => {
      h.controller.upsertIngress(
        ingress("paths", {
          rules: [
            {
              http: {
                paths: [
                  prefix("/foo", "a", { number: 80 }),
                  prefix("/foo/bar", "b", { number: 80 }),
                  {
                    path: "/foo/bar/exact",
                    pathType: "Exact",
                    backend: { service: { name: "fallback", port: { number: 80 } } },
                  },
                ],
              },
            },
          ],
        }),
      );
      const via = async (p: string) => (await get(h.ip, h.http, "any.host", p)).json?.name ?? "404";
      assert.equal(await via("/foo"), "a");
      assert.equal(await via("/foo/baz"), "a");
      assert.equal(await via("/foobar"), "404");
      assert.equal(await via("/foo/bar/x"), "b");
      assert.equal(await via("/foo/bar/exact"), "fallback");
      assert.equal(await via("/foo/bar/exact/more"), "b");
    }));

  test("a request matching no rule goes to the default backend, else gets the controller's 404", () =>
    withController(async (h) => {
      const rules = [
        { host: "a.example.com", http: { paths: [prefix("/app", "a", { number: 80 })] } },
      ];
      h.controller.upsertIngress(ingress("web", { rules }));
      const miss = await get(h.ip, h.http, "a.example.com", "/other");
      assert.equal(miss.status, 404);
      assert.equal(miss.body, "404 page not found\n");
      h.controller.upsertIngress(
        ingress("web", {
          rules,
          defaultBackend: { service: { name: "fallback", port: { number: 80 } } },
        }),
      );
      assert.equal((await get(h.ip, h.http, "a.example.com", "/other")).json?.name, "fallback");
      assert.equal((await get(h.ip, h.http, "elsewhere.org")).json?.name, "fallback");
    }));

  test("a backend without Service, port or ready endpoint answers 503", () =>
    withController(async (h) => {
      h.controller.upsertService(service("empty", { clusterIP: "None", ports: [{ port: 80 }] }));
      h.controller.upsertIngress(
        ingress("web", {
          rules: [
            {
              http: {
                paths: [
                  prefix("/missing", "nope", { number: 80 }),
                  prefix("/port", "a", { number: 81 }),
                  prefix("/empty", "empty", { number: 80 }),
                ],
              },
            },
          ],
        }),
      );
      for (const p of ["/missing", "/port", "/empty"]) {
        const answer = await get(h.ip, h.http, "x", p);
        assert.equal(answer.status, 503, p);
        assert.equal(answer.body, "no available server\n");
      }
    }));

  test("only Ingresses of this controller's class are served; the legacy annotation counts", () =>
    withController(async (h) => {
      const rules = (host: string) => [
        { host, http: { paths: [prefix("/", "a", { number: 80 })] } },
      ];
      h.controller.upsertIngress(
        ingress("other", { rules: rules("other.test") }, { className: "nginx" }),
      );
      h.controller.upsertIngress(
        ingress("none", { rules: rules("none.test") }, { className: null }),
      );
      const legacy = ingress("legacy", { rules: rules("legacy.test") }, { className: null });
      legacy.metadata = {
        ...legacy.metadata,
        annotations: { "kubernetes.io/ingress.class": "loopkube" },
      };
      h.controller.upsertIngress(legacy);
      assert.equal((await get(h.ip, h.http, "other.test")).status, 404);
      assert.equal((await get(h.ip, h.http, "none.test")).status, 404);
      assert.equal((await get(h.ip, h.http, "legacy.test")).json?.name, "a");
      assert.deepEqual(h.controller.served(), ["default/legacy"]);
      assert.equal(h.statuses.has("other"), false);
      assert.equal(h.statuses.has("none"), false);
    }));

  test("served Ingresses get the address and, off 80/443, the ports; it is removed when they leave", () =>
    withController(async (h) => {
      const plain = ingress("plain", {
        defaultBackend: { service: { name: "a", port: { number: 80 } } },
      });
      const secure = ingress("secure", {
        defaultBackend: { service: { name: "a", port: { number: 80 } } },
        tls: [{ hosts: ["a.example.com"], secretName: "a-tls" }],
      });
      h.controller.upsertIngress(plain);
      h.controller.upsertIngress(secure);
      assert.deepEqual(h.statuses.get("plain"), [
        { ip: h.ip, ports: [{ port: h.http, protocol: "TCP" }] },
      ]);
      assert.deepEqual(h.statuses.get("secure"), [
        {
          ip: h.ip,
          ports: [
            { port: h.http, protocol: "TCP" },
            { port: h.https, protocol: "TCP" },
          ],
        },
      ]);
      // The informer brings the written status back: nothing more to write.
      h.statuses.clear();
      const written = {
        ...plain,
        status: {
          loadBalancer: { ingress: [{ ip: h.ip, ports: [{ port: h.http, protocol: "TCP" }] }] },
        },
      };
      h.controller.upsertIngress(written);
      assert.equal(h.statuses.has("plain"), false);
      // Moved to another class: the address goes.
      h.controller.upsertIngress({
        ...written,
        spec: { ...written.spec, ingressClassName: "nginx" },
      });
      assert.deepEqual(h.statuses.get("plain"), []);
    }));

  test("a failed status write is tried again", async () => {
    let fail = true;
    const h = await start({ retryIntervalMs: 20 }, async () => {
      if (fail) {
        fail = false;
        throw new Error("conflict");
      }
    });
    try {
      h.controller.upsertIngressClass(ingressClass("loopkube", CONTROLLER));
      h.controller.upsertIngress(
        ingress("web", { defaultBackend: { service: { name: "a", port: { number: 80 } } } }),
      );
      h.statuses.clear();
      await waitFor(() => h.statuses.has("web"), { what: "the status write to be retried" });
    } finally {
      await h.controller.close();
    }
  });

  test("TLS: each SNI name gets its Secret's certificate, others the default one", () =>
    withController(async (h) => {
      h.controller.upsertSecret(tlsSecret("a-tls", certA));
      h.controller.upsertSecret(tlsSecret("b-tls", certB));
      h.controller.upsertIngress(
        ingress("web", {
          tls: [
            { hosts: ["a.example.com"], secretName: "a-tls" },
            { hosts: ["b.example.com", "*.b.example.com"], secretName: "b-tls" },
          ],
          rules: [
            { host: "a.example.com", http: { paths: [prefix("/", "a", { number: 80 })] } },
            { host: "b.example.com", http: { paths: [prefix("/", "b", { number: 80 })] } },
          ],
        }),
      );
      assert.equal(await servedCn(h.ip, h.https, "a.example.com"), "a.example.com");
      assert.equal(await servedCn(h.ip, h.https, "b.example.com"), "b.example.com");
      assert.equal(await servedCn(h.ip, h.https, "x.b.example.com"), "b.example.com");
      assert.equal(
        await servedCn(h.ip, h.https, "unknown.example.com"),
        "Kubernetes Ingress Controller Fake Certificate",
      );
      assert.equal(await servedCn(h.ip, h.https), "Kubernetes Ingress Controller Fake Certificate");
      // And the request inside the TLS connection is routed, marked https.
      const answer = await new Promise<string>((resolve, reject) => {
        const req = http.request(
          {
            createConnection: () =>
              tls.connect({
                host: h.ip,
                port: h.https,
                servername: "b.example.com",
                rejectUnauthorized: false,
              }),
            headers: { host: "b.example.com" },
            path: "/secure",
          },
          (res) => {
            let body = "";
            res.on("data", (c) => {
              body += c;
            });
            res.on("end", () => resolve(body));
          },
        );
        req.on("error", reject);
        req.end();
      });
      const seen = JSON.parse(answer);
      assert.equal(seen.name, "b");
      assert.equal(seen.headers["x-forwarded-proto"], "https");
      assert.equal(seen.headers["x-forwarded-port"], String(h.https));
    }));

  test("TLS: a missing or mismatched Secret is reported and the default certificate served", () =>
    withController(async (h) => {
      h.controller.upsertSecret(tlsSecret("a-tls", certA));
      h.controller.upsertIngress(
        ingress("web", {
          tls: [
            { hosts: ["c.example.com"], secretName: "a-tls" },
            { hosts: ["d.example.com"], secretName: "absent" },
          ],
          defaultBackend: { service: { name: "a", port: { number: 80 } } },
        }),
      );
      const fakeCn = "Kubernetes Ingress Controller Fake Certificate";
      assert.equal(await servedCn(h.ip, h.https, "c.example.com"), fakeCn);
      assert.equal(await servedCn(h.ip, h.https, "d.example.com"), fakeCn);
      const warnings = h.events.filter((e) => e.includes("Warning"));
      assert.deepEqual(warnings, [
        "web Warning BadTLSSecret secret default/a-tls: its certificate is not valid for c.example.com; serving the default certificate",
        "web Warning BadTLSSecret secret default/absent: not found; serving the default certificate",
      ]);
      // The Secret appears: its host is served with it, and nothing new is reported twice.
      h.controller.upsertSecret(tlsSecret("absent", certB));
      h.controller.upsertIngress(
        ingress("web", {
          tls: [{ hosts: ["b.example.com"], secretName: "absent" }],
          defaultBackend: { service: { name: "a", port: { number: 80 } } },
        }),
      );
      assert.equal(await servedCn(h.ip, h.https, "b.example.com"), "b.example.com");
    }));

  test("TLS: an entry without hosts serves clients no other entry names", () =>
    withController(async (h) => {
      h.controller.upsertSecret(tlsSecret("b-tls", certB));
      h.controller.upsertIngress(
        ingress("web", {
          tls: [{ secretName: "b-tls" }],
          defaultBackend: { service: { name: "a", port: { number: 80 } } },
        }),
      );
      assert.equal(await servedCn(h.ip, h.https, "anything.test"), "b.example.com");
      assert.equal(await servedCn(h.ip, h.https), "b.example.com");
    }));

  test("an Upgrade (WebSocket) is passed through both ways", () =>
    withController(async (h) => {
      h.controller.upsertIngress(
        ingress("ws", {
          rules: [{ host: "a.example.com", http: { paths: [prefix("/", "a", { number: 80 })] } }],
        }),
      );
      const socket = net.connect({ host: h.ip, port: h.http });
      await once(socket, "connect");
      socket.write(
        "GET /chat HTTP/1.1\r\nHost: a.example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
      );
      const [head] = (await once(socket, "data")) as [Buffer];
      assert.match(head.toString(), /^HTTP\/1\.1 101 Switching Protocols\r\n/);
      assert.match(head.toString(), /X-Seen-Host: a\.example\.com/);
      socket.write("ping");
      const [echo] = (await once(socket, "data")) as [Buffer];
      assert.equal(echo.toString(), "PING");
      socket.destroy();
    }));

  test("an Upgrade reaches an endpoint the host cannot connect to through `dial`", async () => {
    const unreachable = freshIp("127.244");
    const dialled: string[] = [];
    await withController(
      async (h) => {
        h.controller.upsertService(
          service("pod", { clusterIP: "None", ports: [{ name: "http", port: 80 }] }),
        );
        h.controller.upsertEndpointSlice(
          slice("pod-1", "pod", [{ name: "http", port: 8080 }], [endpoint(unreachable)]),
        );
        h.controller.upsertIngress(
          ingress("ws", { defaultBackend: { service: { name: "pod", port: { number: 80 } } } }),
        );
        const socket = net.connect({ host: h.ip, port: h.http });
        await once(socket, "connect");
        socket.write(
          "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        );
        const [head] = (await once(socket, "data")) as [Buffer];
        assert.match(head.toString(), /^HTTP\/1\.1 101 Switching Protocols\r\n/);
        socket.write("ping");
        const [echo] = (await once(socket, "data")) as [Buffer];
        assert.equal(echo.toString(), "PING");
        socket.destroy();
        assert.deepEqual(dialled, [`${unreachable}:8080`]);
      },
      {
        // As rootless pod networks do: the socket is connected elsewhere (here: to server a).
        dial: (ip, port) => {
          if (ip !== unreachable) return undefined;
          dialled.push(`${ip}:${port}`);
          const s = net.connect({ host: a.ip, port: a.port });
          return once(s, "connect").then(() => s);
        },
      },
    );
  });

  test("a refused connection is tried on the next endpoint", () =>
    withController(async (h) => {
      const dead = freshIp("127.244");
      h.controller.upsertService(
        service("pair", { clusterIP: "None", ports: [{ name: "http", port: 80 }] }),
      );
      h.controller.upsertEndpointSlice(
        slice("pair-1", "pair", [{ name: "http", port: a.port }], [endpoint(dead), endpoint(a.ip)]),
      );
      h.controller.upsertIngress(
        ingress("web", { defaultBackend: { service: { name: "pair", port: { number: 80 } } } }),
      );
      for (let i = 0; i < 4; i++) assert.equal((await get(h.ip, h.http, "x")).json?.name, "a");
    }));

  test("Sync is reported when an Ingress is first served and when its spec changes", () =>
    withController(async (h) => {
      const spec = { defaultBackend: { service: { name: "a", port: { number: 80 } } } };
      h.controller.upsertIngress(ingress("web", spec));
      h.controller.upsertIngress(ingress("web", spec));
      h.controller.upsertIngress(ingress("web", spec, { generation: 2 }));
      assert.deepEqual(
        h.events.filter((e) => e.includes("Sync")),
        ["web Normal Sync Scheduled for sync", "web Normal Sync Scheduled for sync"],
      );
    }));

  test("an address outside 127.0.0.0/8 is refused", () => {
    for (const ip of ["10.0.0.1", "0.0.0.0", "::1", "not-an-ip"]) {
      assert.throws(
        () => new IngressController({ controllerName: CONTROLLER, ip, defaultCertificate: fake }),
        /is not in 127\.0\.0\.0\/8/,
      );
    }
  });

  test("listeners take the next port of their list when one is taken", async () => {
    const ip = freshIp("127.99");
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, ip, resolve));
    const taken = (blocker.address() as net.AddressInfo).port;
    const controller = new IngressController({
      controllerName: CONTROLLER,
      ip,
      httpPorts: [taken, 0],
      httpsPorts: [0],
    });
    try {
      await controller.settled();
      const [h] = controller.listeners();
      assert.equal(h?.state, "open");
      assert.notEqual(h?.port, taken);
    } finally {
      await controller.close();
      blocker.close();
    }
  });
});
