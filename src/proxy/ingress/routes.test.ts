import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { HTTPIngressPath, Ingress, IngressRule } from "kubernetes-types/networking/v1.js";
import { normalizeHost, normalizePath, RouteTable } from "./routes.ts";

function path(p: string | undefined, pathType: string, service: string): HTTPIngressPath {
  return {
    ...(p === undefined ? {} : { path: p }),
    pathType,
    backend: { service: { name: service, port: { number: 80 } } },
  };
}

function ing(
  name: string,
  rules: IngressRule[],
  extra: { created?: string; defaultBackend?: string } = {},
): Ingress {
  return {
    metadata: {
      name,
      namespace: "default",
      creationTimestamp: extra.created ?? "2026-01-01T00:00:00Z",
    },
    spec: {
      rules,
      ...(extra.defaultBackend
        ? { defaultBackend: { service: { name: extra.defaultBackend, port: { name: "http" } } } }
        : {}),
    },
  };
}

function serviceOf(table: RouteTable, host: string, p: string): string {
  const m = table.match(host, p);
  if (m === undefined) return "404";
  return m.backend.kind === "service" ? m.backend.name : `resource ${m.backend.ref}`;
}

describe("RouteTable.match", () => {
  // The Ingress documentation's examples table (concepts/services-networking/ingress).
  const docs: Array<[string, string, string, boolean]> = [
    ["Prefix", "/", "(all paths)", true],
    ["Exact", "/foo", "/foo", true],
    ["Exact", "/foo", "/bar", false],
    ["Exact", "/foo", "/foo/", false],
    ["Exact", "/foo/", "/foo", false],
    ["Prefix", "/foo", "/foo", true],
    ["Prefix", "/foo", "/foo/", true],
    ["Prefix", "/foo/", "/foo", true],
    ["Prefix", "/foo/", "/foo/", true],
    ["Prefix", "/aaa/bb", "/aaa/bbb", false],
    ["Prefix", "/aaa/bbb", "/aaa/bbb", true],
    ["Prefix", "/aaa/bbb/", "/aaa/bbb", true],
    ["Prefix", "/aaa/bbb", "/aaa/bbb/", true],
    ["Prefix", "/aaa/bbb", "/aaa/bbb/ccc", true],
    ["Prefix", "/aaa/bbb", "/aaa/bbbxyz", false],
    ["ImplementationSpecific", "/foo", "/foo/bar", true],
    ["ImplementationSpecific", "/foo", "/foobar", false],
  ];
  for (const [type, rulePath, request, matches] of docs) {
    test(`${type} ${rulePath} ${matches ? "matches" : "does not match"} ${request}`, () => {
      const table = RouteTable.build([
        ing("a", [{ http: { paths: [path(rulePath, type, "svc")] } }]),
      ]);
      const target = request === "(all paths)" ? "/any/thing" : request;
      assert.equal(serviceOf(table, "x", target), matches ? "svc" : "404");
    });
  }

  test("the longest path wins, and Exact over Prefix at equal length", () => {
    const table = RouteTable.build([
      ing("a", [
        {
          http: {
            paths: [
              path("/", "Prefix", "root"),
              path("/aaa", "Prefix", "aaa"),
              path("/aaa/bbb", "Prefix", "bbb"),
              path("/aaa/bbb", "Exact", "exact"),
            ],
          },
        },
      ]),
    ]);
    assert.equal(serviceOf(table, "x", "/aaa/ccc"), "aaa");
    assert.equal(serviceOf(table, "x", "/aaa/bbb/c"), "bbb");
    assert.equal(serviceOf(table, "x", "/aaa/bbb"), "exact");
    assert.equal(serviceOf(table, "x", "/ccc"), "root");
  });

  test("an empty ImplementationSpecific path matches every path", () => {
    const table = RouteTable.build([
      ing("a", [{ http: { paths: [path(undefined, "ImplementationSpecific", "all")] } }]),
    ]);
    assert.equal(serviceOf(table, "x", "/anything/at/all"), "all");
  });

  const hosts = RouteTable.build([
    ing("a", [
      { host: "foo.bar.com", http: { paths: [path("/", "Prefix", "exact-host")] } },
      { host: "*.foo.com", http: { paths: [path("/", "Prefix", "wildcard")] } },
      { host: "api.example.com", http: { paths: [path("/v1", "Prefix", "api-v1")] } },
      { http: { paths: [path("/", "Prefix", "any-host"), path("/v2", "Prefix", "any-v2")] } },
    ]),
  ]);
  const hostCases: Array<[string, string, string, string]> = [
    ["an exact host", "foo.bar.com", "/", "exact-host"],
    ["a host in another case", "FOO.bar.COM", "/", "exact-host"],
    ["a wildcard host, one label", "bar.foo.com", "/", "wildcard"],
    [
      "a wildcard host, two labels: falls to the hostless rules",
      "baz.bar.foo.com",
      "/",
      "any-host",
    ],
    ["a wildcard host's own domain: falls to the hostless rules", "foo.com", "/", "any-host"],
    ["a host-specific path first", "api.example.com", "/v1/users", "api-v1"],
    ["a hostless rule when the host's paths do not match", "api.example.com", "/v2", "any-v2"],
    ["an unknown host", "other.org", "/x", "any-host"],
  ];
  for (const [name, host, p, want] of hostCases) {
    test(`hosts: ${name}`, () => assert.equal(serviceOf(hosts, normalizeHost(host), p), want));
  }

  test("requests matching no rule get their host's default backend, else the oldest one's", () => {
    const table = RouteTable.build([
      ing("b", [{ host: "b.com", http: { paths: [path("/b", "Exact", "b")] } }], {
        created: "2026-01-02T00:00:00Z",
        defaultBackend: "b-default",
      }),
      ing("a", [{ host: "a.com", http: { paths: [path("/a", "Exact", "a")] } }], {
        created: "2026-01-01T00:00:00Z",
        defaultBackend: "a-default",
      }),
      ing("c", [{ host: "c.com", http: { paths: [path("/c", "Exact", "c")] } }], {
        created: "2026-01-03T00:00:00Z",
      }),
    ]);
    assert.equal(serviceOf(table, "b.com", "/nope"), "b-default");
    assert.equal(serviceOf(table, "a.com", "/nope"), "a-default");
    assert.equal(serviceOf(table, "c.com", "/nope"), "a-default");
    assert.equal(serviceOf(table, "unknown.com", "/"), "a-default");
  });

  test("without any default backend a request matching nothing finds no backend", () => {
    const table = RouteTable.build([
      ing("a", [{ host: "a.com", http: { paths: [path("/a", "Prefix", "a")] } }]),
    ]);
    assert.equal(table.match("a.com", "/b"), undefined);
    assert.equal(table.match("b.com", "/a"), undefined);
  });

  test("the same host and path in two Ingresses go to the oldest", () => {
    const rules = (svc: string) => [{ host: "a.com", http: { paths: [path("/", "Prefix", svc)] } }];
    const table = RouteTable.build([
      ing("new", rules("new"), { created: "2026-01-02T00:00:00Z" }),
      ing("old", rules("old"), { created: "2026-01-01T00:00:00Z" }),
    ]);
    assert.equal(serviceOf(table, "a.com", "/"), "old");
    const m = table.match("a.com", "/");
    assert.equal(m?.ingress, "default/old");
  });

  test("a resource backend is matched and named Kind.group/name", () => {
    const table = RouteTable.build([
      {
        metadata: { name: "r", namespace: "default" },
        spec: {
          defaultBackend: {
            resource: { apiGroup: "k8s.example.com", kind: "StorageBucket", name: "static" },
          },
        },
      },
    ]);
    assert.equal(serviceOf(table, "x", "/"), "resource StorageBucket.k8s.example.com/static");
  });

  test("a path rule cannot be bypassed with dot segments or doubled slashes", () => {
    const table = RouteTable.build([
      ing("a", [
        {
          http: { paths: [path("/public", "Prefix", "public"), path("/admin", "Prefix", "admin")] },
        },
      ]),
    ]);
    assert.equal(serviceOf(table, "x", normalizePath("/public/../admin/x")), "admin");
    assert.equal(serviceOf(table, "x", normalizePath("/public/%2e%2e/admin")), "admin");
    assert.equal(serviceOf(table, "x", normalizePath("//admin")), "admin");
  });
});

describe("normalizeHost and normalizePath", () => {
  const hostCases: Array<[string, string]> = [
    ["Example.COM", "example.com"],
    ["example.com:8080", "example.com"],
    ["example.com.", "example.com"],
    ["[::1]:80", "[::1]"],
    ["", ""],
  ];
  for (const [input, want] of hostCases) {
    test(`normalizeHost(${JSON.stringify(input)}) is ${JSON.stringify(want)}`, () =>
      assert.equal(normalizeHost(input), want));
  }
  const pathCases: Array<[string, string]> = [
    ["/", "/"],
    ["/a/b?x=1#f", "/a/b"],
    ["/a//b/", "/a/b/"],
    ["/a/./b/../c", "/a/c"],
    ["/../../etc", "/etc"],
    ["/a/..", "/"],
    ["http://host:80/x/y?z", "/x/y"],
    ["*", "/*"],
  ];
  for (const [input, want] of pathCases) {
    test(`normalizePath(${JSON.stringify(input)}) is ${JSON.stringify(want)}`, () =>
      assert.equal(normalizePath(input), want));
  }
});
