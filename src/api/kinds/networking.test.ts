import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { KubeObject } from "../types.ts";
import { ingressStrategy } from "./ingress.ts";
import { ingressClassStrategy } from "./ingressclass.ts";
import { networkPolicyStrategy } from "./networkpolicy.ts";
import type { KindStrategy } from "./types.ts";

const svc = (name: string, port: object = { number: 80 }) => ({ service: { name, port } });

function ingress(spec: object, annotations?: Record<string, string>): KubeObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "web", namespace: "default", ...(annotations ? { annotations } : {}) },
    spec,
  } as KubeObject;
}

function rule(host: string | undefined, ...paths: object[]): object {
  return { ...(host === undefined ? {} : { host }), http: { paths } };
}

function messages(s: KindStrategy, obj: KubeObject): string[] {
  const o = structuredClone(obj);
  s.applyDefaults(o);
  return s.validate(o).map((e) => `${e.field}: ${e.message}`);
}

const DNS1035 =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const WILDCARD =
  "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const SUBDOMAIN =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

describe("Ingress validation", () => {
  const cases: Array<[string, KubeObject, string[]]> = [
    ["a default backend alone is valid", ingress({ defaultBackend: svc("web") }), []],
    [
      "neither rules nor a default backend is refused, rendering the nil slice as Go does",
      ingress({}),
      [
        "spec: Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified",
      ],
    ],
    [
      "an empty rules list renders as an empty slice",
      ingress({ rules: [] }),
      [
        "spec: Invalid value: []networking.IngressRule{}: either `defaultBackend` or `rules` must be specified",
      ],
    ],
    [
      "pathType is required, and nothing else of that path is checked",
      ingress({ rules: [rule("a.com", { path: "foo", backend: {} })] }),
      ["spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"],
    ],
    [
      "Exact and Prefix paths must be absolute and clean",
      ingress({
        rules: [
          rule(
            "a.com",
            { path: "foo", pathType: "Prefix", backend: svc("a") },
            { path: "/a//b/..", pathType: "Exact", backend: svc("a") },
            { path: "/x/%2F/.", pathType: "Prefix", backend: svc("a") },
          ),
        ],
      }),
      [
        'spec.rules[0].http.paths[0].path: Invalid value: "foo": must be an absolute path',
        "spec.rules[0].http.paths[1].path: Invalid value: \"/a//b/..\": must not contain '//'",
        "spec.rules[0].http.paths[1].path: Invalid value: \"/a//b/..\": cannot end with '/..'",
        "spec.rules[0].http.paths[2].path: Invalid value: \"/x/%2F/.\": must not contain '%2F'",
        "spec.rules[0].http.paths[2].path: Invalid value: \"/x/%2F/.\": cannot end with '/.'",
      ],
    ],
    [
      "ImplementationSpecific allows an empty path and a regex, but not a relative one",
      ingress({
        rules: [
          rule(
            undefined,
            { pathType: "ImplementationSpecific", backend: svc("a") },
            { path: "/tf(/|$)(.*)", pathType: "ImplementationSpecific", backend: svc("a") },
            { path: "x", pathType: "ImplementationSpecific", backend: svc("a") },
          ),
        ],
      }),
      ['spec.rules[0].http.paths[2].path: Invalid value: "x": must be an absolute path'],
    ],
    [
      "an unknown pathType lists the supported ones",
      ingress({ rules: [rule("a.com", { path: "/", pathType: "Regex", backend: svc("a") })] }),
      [
        'spec.rules[0].http.paths[0].pathType: Unsupported value: "Regex": supported values: "Exact", "ImplementationSpecific", "Prefix"',
      ],
    ],
    [
      "a backend is a service or a resource, not both and not neither",
      ingress({
        rules: [
          rule(
            "a.com",
            {
              path: "/",
              pathType: "Prefix",
              backend: { ...svc("a"), resource: { kind: "Bucket", name: "b" } },
            },
            { path: "/b", pathType: "Prefix", backend: {} },
            { path: "/c", pathType: "Prefix", backend: { resource: { kind: "", name: "a/b" } } },
          ),
        ],
      }),
      [
        'spec.rules[0].http.paths[0].backend: Invalid value: "": cannot set both resource and service backends',
        'spec.rules[0].http.paths[1].backend: Invalid value: "": resource or service backend is required',
        "spec.rules[0].http.paths[2].backend.resource.kind: Required value",
        "spec.rules[0].http.paths[2].backend.resource.name: Invalid value: \"a/b\": may not contain '/'",
      ],
    ],
    [
      "a service backend needs a DNS-1035 name and a port name or number, not both",
      ingress({
        defaultBackend: svc("Web", { name: "http", number: 80 }),
        rules: [
          rule(
            "a.com",
            { path: "/", pathType: "Prefix", backend: svc("a", {}) },
            { path: "/b", pathType: "Prefix", backend: svc("1a", { number: 70000 }) },
            { path: "/c", pathType: "Prefix", backend: svc("a", { name: "HTTP" }) },
          ),
        ],
      }),
      [
        `spec.defaultBackend.service.name: Invalid value: "Web": ${DNS1035}`,
        'spec.defaultBackend: Invalid value: "": cannot set both port name & port number',
        "spec.rules[0].http.paths[0].backend: Required value: port name or number is required",
        `spec.rules[0].http.paths[1].backend.service.name: Invalid value: "1a": ${DNS1035}`,
        "spec.rules[0].http.paths[1].backend.service.port.number: Invalid value: 70000: must be between 1 and 65535, inclusive",
        'spec.rules[0].http.paths[2].backend.service.port.name: Invalid value: "HTTP": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
        'spec.rules[0].http.paths[2].backend.service.port.name: Invalid value: "HTTP": must contain at least one letter (a-z)',
      ],
    ],
    [
      "hosts are DNS names or one leading wildcard label, never IP addresses",
      ingress({
        rules: [
          rule("*.example.com", { path: "/", pathType: "Prefix", backend: svc("a") }),
          rule("a.*.com", { path: "/", pathType: "Prefix", backend: svc("a") }),
          rule("127.0.0.1", { path: "/", pathType: "Prefix", backend: svc("a") }),
          { host: "b.com" },
        ],
      }),
      [
        `spec.rules[1].host: Invalid value: "a.*.com": ${WILDCARD}`,
        'spec.rules[2].host: Invalid value: "127.0.0.1": must be a DNS name, not an IP address',
      ],
    ],
    [
      "an http rule needs paths",
      ingress({ rules: [{ host: "a.com", http: { paths: [] } }] }),
      ["spec.rules[0].http.paths: Required value"],
    ],
    [
      "TLS hosts and secret names are checked",
      ingress({
        defaultBackend: svc("web"),
        tls: [{ hosts: ["*.a.com", "B.com"], secretName: "Bad_Name" }, { secretName: "" }],
        ingressClassName: "No",
      }),
      [
        `spec.tls[0].hosts[1]: Invalid value: "B.com": ${SUBDOMAIN}`,
        `spec.tls[0].secretName: Invalid value: "Bad_Name": ${SUBDOMAIN}`,
        `spec.ingressClassName: Invalid value: "No": ${SUBDOMAIN}`,
      ],
    ],
    [
      "the class annotation must agree with ingressClassName on create",
      ingress(
        { defaultBackend: svc("web"), ingressClassName: "loopkube" },
        { "kubernetes.io/ingress.class": "nginx" },
      ),
      [
        'annotations.kubernetes.io/ingress.class: Invalid value: "nginx": must match `ingressClassName` when both are specified',
      ],
    ],
  ];
  for (const [name, obj, want] of cases) {
    test(name, () => assert.deepEqual(messages(ingressStrategy, obj), want));
  }

  test("an update keeps accepting an invalid secret name an older server stored", () => {
    const old = ingress({ defaultBackend: svc("web"), tls: [{ secretName: "Old_Name" }] });
    const next = structuredClone(old);
    (next.spec as { tls: unknown[] }).tls.push({ secretName: "New_Name" });
    assert.deepEqual(ingressStrategy.validateUpdate(next, old), []);
    const clean = ingress({ defaultBackend: svc("web") });
    assert.equal(ingressStrategy.validateUpdate(next, clean).length, 2);
  });

  test("an update does not compare the class annotation with ingressClassName", () => {
    const old = ingress({ defaultBackend: svc("web") }, { "kubernetes.io/ingress.class": "a" });
    const next = structuredClone(old);
    (next.spec as Record<string, unknown>).ingressClassName = "b";
    assert.deepEqual(ingressStrategy.validateUpdate(next, old), []);
  });

  test("a status write must carry IP addresses in ip and DNS names in hostname", () => {
    const old = ingress({ defaultBackend: svc("web") });
    const next = structuredClone(old);
    next.status = {
      loadBalancer: { ingress: [{ ip: "127.100.0.254" }, { ip: "nope" }, { hostname: "1.2.3.4" }] },
    };
    assert.deepEqual(
      ingressStrategy.validateUpdate(next, old).map((e) => `${e.field}: ${e.message}`),
      [
        'status.loadBalancer.ingress[1].ip: Invalid value: "nope": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
        'status.loadBalancer.ingress[2].hostname: Invalid value: "1.2.3.4": must be a DNS name, not an IP address',
      ],
    );
  });

  test("create clears any status the client sent", () => {
    const obj = ingress({ defaultBackend: svc("web") });
    obj.status = { loadBalancer: { ingress: [{ ip: "1.2.3.4" }] } };
    ingressStrategy.prepareForCreate?.(obj);
    assert.deepEqual(obj.status, { loadBalancer: {} });
  });
});

describe("Ingress printer", () => {
  const now = Date.parse("2026-01-01T00:10:00Z");
  const cases: Array<[string, KubeObject, string[]]> = [
    [
      "no host and no class print * and <none>; PORTS is 80 without TLS",
      ingress({ defaultBackend: svc("web") }),
      ["web", "<none>", "*", "", "80", "10m"],
    ],
    [
      "TLS makes PORTS 80, 443; ADDRESS joins distinct addresses, sorted",
      {
        ...ingress({
          ingressClassName: "loopkube",
          rules: [rule("a.com"), rule("b.com")],
          tls: [{ hosts: ["a.com"] }],
        }),
        status: {
          loadBalancer: {
            ingress: [{ ip: "127.100.0.254" }, { hostname: "lb.example" }, { ip: "127.100.0.254" }],
          },
        },
      },
      ["web", "loopkube", "a.com,b.com", "127.100.0.254,lb.example", "80, 443", "10m"],
    ],
    [
      "more than three rules print + N more..., counting rules without a host",
      ingress({
        rules: [rule("a.com"), rule(undefined), rule("b.com"), rule("c.com"), rule("d.com")],
      }),
      ["web", "<none>", "a.com,b.com,c.com + 2 more...", "", "80", "10m"],
    ],
    [
      "ports the controller wrote in the status replace 80 and 443",
      {
        ...ingress({ defaultBackend: svc("web"), tls: [{ hosts: ["a.com"] }] }),
        status: {
          loadBalancer: {
            ingress: [
              {
                ip: "127.100.0.254",
                ports: [
                  { port: 8080, protocol: "TCP" },
                  { port: 8443, protocol: "TCP" },
                ],
              },
            ],
          },
        },
      },
      ["web", "<none>", "*", "127.100.0.254", "8080, 8443", "10m"],
    ],
  ];
  for (const [name, obj, want] of cases) {
    test(name, () => {
      const o = structuredClone(obj);
      o.metadata.creationTimestamp = "2026-01-01T00:00:00Z";
      assert.deepEqual(ingressStrategy.row(o, now), want);
    });
  }
});

function ingressClass(spec: object, annotations?: Record<string, string>): KubeObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "IngressClass",
    metadata: { name: "loopkube", ...(annotations ? { annotations } : {}) },
    spec,
  } as KubeObject;
}

describe("IngressClass", () => {
  const cases: Array<[string, KubeObject, string[]]> = [
    [
      "a domain-prefixed controller is valid",
      ingressClass({ controller: "loopkube.dev/ingress" }),
      [],
    ],
    ["the controller is required", ingressClass({}), ["spec.controller: Required value"]],
    [
      "the controller must be a domain-prefixed path",
      ingressClass({ controller: "nginx" }),
      [
        'spec.controller: Invalid value: "nginx": must be a domain-prefixed path (such as "acme.io/foo")',
      ],
    ],
    [
      "the controller's path part is checked",
      ingressClass({ controller: "acme.io/a b" }),
      [
        "spec.controller: Invalid value: \"a b\": Invalid path (regex used for validation is '[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+')",
      ],
    ],
    [
      "the controller is at most 250 characters",
      ingressClass({ controller: `acme.io/${"x".repeat(250)}` }),
      ["spec.controller: Too long: may not be more than 250 bytes"],
    ],
    [
      "parameters default to the Cluster scope, which forbids a namespace",
      ingressClass({
        controller: "acme.io/x",
        parameters: { kind: "Config", name: "c", namespace: "default" },
      }),
      ["spec.parameters.namespace: Forbidden: `parameters.scope` is set to 'Cluster'"],
    ],
    [
      "the Namespace scope needs a namespace; kind and name are required",
      ingressClass({ controller: "acme.io/x", parameters: { scope: "Namespace" } }),
      [
        "spec.parameters.kind: Required value",
        "spec.parameters.name: Required value",
        "spec.parameters.namespace: Required value: `parameters.scope` is set to 'Namespace'",
      ],
    ],
    [
      "an unknown scope lists the supported ones",
      ingressClass({ controller: "acme.io/x", parameters: { kind: "C", name: "c", scope: "All" } }),
      ['spec.parameters.scope: Unsupported value: "All": supported values: "Cluster", "Namespace"'],
    ],
  ];
  for (const [name, obj, want] of cases) {
    test(name, () => assert.deepEqual(messages(ingressClassStrategy, obj), want));
  }

  test("the controller is immutable", () => {
    const old = ingressClass({ controller: "acme.io/a" });
    const next = ingressClass({ controller: "acme.io/b" });
    assert.deepEqual(
      ingressClassStrategy.validateUpdate(next, old).map((e) => `${e.field}: ${e.message}`),
      ['spec.controller: Invalid value: "acme.io/b": field is immutable'],
    );
  });

  test("the printer shows Kind.group/name for parameters and no default marker", () => {
    const now = Date.parse("2026-01-01T00:00:05Z");
    const plain = ingressClass(
      { controller: "loopkube.dev/ingress" },
      { "ingressclass.kubernetes.io/is-default-class": "true" },
    );
    plain.metadata.creationTimestamp = "2026-01-01T00:00:00Z";
    assert.deepEqual(ingressClassStrategy.row(plain, now), [
      "loopkube",
      "loopkube.dev/ingress",
      "<none>",
      "5s",
    ]);
    const withParams = ingressClass({
      controller: "k8s.io/ingress-nginx",
      parameters: { apiGroup: "k8s.example.com", kind: "IngressParameters", name: "cfg" },
    });
    assert.equal(
      ingressClassStrategy.row(withParams, now)[2],
      "IngressParameters.k8s.example.com/cfg",
    );
  });
});

function policy(spec: object): KubeObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "np", namespace: "default" },
    spec,
  } as KubeObject;
}

describe("NetworkPolicy", () => {
  test("defaults: ports are TCP, policyTypes Ingress plus Egress when egress rules exist", () => {
    const obj = policy({
      podSelector: {},
      ingress: [{ ports: [{ port: 80 }] }],
      egress: [{ ports: [{ port: 53, protocol: "UDP" }, { port: 53 }] }],
    });
    networkPolicyStrategy.applyDefaults(obj);
    assert.deepEqual(obj.spec, {
      podSelector: {},
      ingress: [{ ports: [{ port: 80, protocol: "TCP" }] }],
      egress: [
        {
          ports: [
            { port: 53, protocol: "UDP" },
            { port: 53, protocol: "TCP" },
          ],
        },
      ],
      policyTypes: ["Ingress", "Egress"],
    });
    const ingressOnly = policy({ podSelector: {} });
    networkPolicyStrategy.applyDefaults(ingressOnly);
    assert.deepEqual((ingressOnly.spec as { policyTypes: string[] }).policyTypes, ["Ingress"]);
  });

  const cases: Array<[string, KubeObject, string[]]> = [
    [
      "a peer needs a selector or an IP block, and an IP block stands alone",
      policy({
        podSelector: {},
        ingress: [{ from: [{}, { podSelector: {}, ipBlock: { cidr: "10.0.0.0/8" } }] }],
      }),
      [
        "spec.ingress[0].from[0]: Required value: must specify a peer",
        "spec.ingress[0].from[1]: Forbidden: may not specify both ipBlock and another peer",
      ],
    ],
    [
      "IP blocks need a CIDR, and except entries strictly inside it",
      policy({
        podSelector: {},
        egress: [
          {
            to: [
              { ipBlock: { cidr: "" } },
              { ipBlock: { cidr: "10.0.0.0/33" } },
              {
                ipBlock: {
                  cidr: "10.0.0.0/8",
                  except: ["10.1.0.0/16", "11.0.0.0/16", "10.0.0.0/8"],
                },
              },
              { ipBlock: { cidr: "fd00::/8", except: ["fd00:1::/32"] } },
            ],
          },
        ],
      }),
      [
        "spec.egress[0].to[0].ipBlock.cidr: Required value",
        'spec.egress[0].to[1].ipBlock.cidr: Invalid value: "10.0.0.0/33": not a valid CIDR',
        'spec.egress[0].to[2].ipBlock.except[1]: Invalid value: "11.0.0.0/16": must be a strict subset of `cidr`',
        'spec.egress[0].to[2].ipBlock.except[2]: Invalid value: "10.0.0.0/8": must be a strict subset of `cidr`',
      ],
    ],
    [
      "ports: protocol, number, name and endPort rules",
      policy({
        podSelector: {},
        ingress: [
          {
            ports: [
              { protocol: "ICMP", port: 0 },
              { port: 90, endPort: 80 },
              { port: "http", endPort: 90 },
              { endPort: 90 },
            ],
          },
        ],
      }),
      [
        'spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"',
        "spec.ingress[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
        "spec.ingress[0].ports[1].endPort: Invalid value: 80: must be greater than or equal to `port`",
        "spec.ingress[0].ports[2].endPort: Invalid value: 90: may not be specified when `port` is non-numeric",
        "spec.ingress[0].ports[3].endPort: Invalid value: 90: may not be specified when `port` is not specified",
      ],
    ],
    [
      "policy types are Ingress and Egress, at most two",
      policy({ podSelector: {}, policyTypes: ["Ingress", "Sideways"] }),
      ['spec.policyTypes[1]: Unsupported value: "Sideways": supported values: "Ingress", "Egress"'],
    ],
    [
      "three policy types are rendered as Go prints the slice",
      policy({ podSelector: {}, policyTypes: ["Ingress", "Egress", "Ingress"] }),
      [
        'spec.policyTypes: Invalid value: []networking.PolicyType{"Ingress", "Egress", "Ingress"}: may not specify more than two policyTypes',
      ],
    ],
    [
      "the pod selector is a label selector",
      policy({ podSelector: { matchExpressions: [{ key: "app", operator: "In" }] } }),
      [
        "spec.podSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
      ],
    ],
  ];
  for (const [name, obj, want] of cases) {
    test(name, () => assert.deepEqual(messages(networkPolicyStrategy, obj), want));
  }

  test("the printer shows the pod selector, <none> when it selects every pod", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    const all = policy({ podSelector: {} });
    const some = policy({
      podSelector: {
        matchLabels: { app: "web" },
        matchExpressions: [{ key: "tier", operator: "In", values: ["b", "a"] }],
      },
    });
    assert.equal(networkPolicyStrategy.row(all, now)[1], "<none>");
    assert.equal(networkPolicyStrategy.row(some, now)[1], "app=web,tier in (a,b)");
  });
});
