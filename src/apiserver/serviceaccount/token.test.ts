import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { test } from "node:test";
import { createLocalJWKSet, jwtVerify } from "jose";
import { isStatusError } from "../../api/errors.ts";
import { REFS, sub } from "../../api/refs.ts";
import type { KubeObject } from "../../api/types.ts";
import { openStore } from "../../store/index.ts";
import { createRegistry } from "../index.ts";
import { issuerDiscovery, JWKS_PATH } from "./index.ts";

const NOW = new Date("2025-03-04T05:06:07Z");
const T = Math.floor(NOW.getTime() / 1000);
const ISSUER = "https://kubernetes.default.svc.cluster.local";
const TOKEN = sub(REFS.serviceaccounts, "token");

function setup(options: { signingKey?: string } = {}) {
  let n = 0;
  const { registry, issuer } = createRegistry(openStore({ backend: "memory" }), {
    now: () => NOW,
    serviceAccounts: {
      issuer: ISSUER,
      uuid: () => `00000000-0000-4000-8000-00000000000${n++}`,
      ...options,
    },
  });
  const make = (ref: typeof REFS.pods, ns: string, obj: Record<string, unknown>) =>
    registry.createSync(ref, ns, obj as KubeObject);
  make(REFS.serviceaccounts, "default", { metadata: { name: "builder" } });
  make(REFS.serviceaccounts, "default", { metadata: { name: "default" } });
  make(REFS.nodes, "", { metadata: { name: "node-1" } });
  make(REFS.pods, "default", {
    metadata: { name: "web" },
    spec: {
      serviceAccountName: "builder",
      nodeName: "node-1",
      containers: [{ name: "c", image: "x" }],
    },
  });
  make(REFS.secrets, "default", { metadata: { name: "s" } });
  const request = (spec: Record<string, unknown> = {}, name = "builder") =>
    registry.createSync(TOKEN, "default", {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      metadata: { name },
      spec,
    } as KubeObject);
  const uid = (ref: typeof REFS.pods, ns: string, name: string) =>
    registry.getSync(ref, ns, name).metadata.uid ?? "";
  return { registry, issuer, request, uid };
}

function decode(token: string): { header: unknown; claims: Record<string, unknown>; raw: string } {
  const [h = "", p = ""] = token.split(".");
  const raw = Buffer.from(p, "base64url").toString();
  return {
    header: JSON.parse(Buffer.from(h, "base64url").toString()),
    claims: JSON.parse(raw),
    raw,
  };
}

test("a TokenRequest answers with a token whose claims read as kube's, for the API's audiences and an hour", () => {
  const { request, uid, issuer } = setup();
  const answer = request() as KubeObject & {
    spec: Record<string, unknown>;
    status: { token: string; expirationTimestamp: string };
  };
  assert.equal(answer.kind, "TokenRequest");
  assert.equal(answer.apiVersion, "authentication.k8s.io/v1");
  assert.deepEqual(answer.metadata, {
    name: "builder",
    namespace: "default",
    uid: uid(REFS.serviceaccounts, "default", "builder"),
    creationTimestamp: "2025-03-04T05:06:07Z",
  });
  assert.deepEqual(answer.spec, {
    audiences: [ISSUER],
    expirationSeconds: 3600,
    boundObjectRef: null,
  });
  assert.equal(answer.status.expirationTimestamp, "2025-03-04T06:06:07Z");
  const { header, claims, raw } = decode(answer.status.token);
  assert.deepEqual(header, { alg: "ES256", kid: issuer.key.kid });
  assert.deepEqual(claims, {
    aud: [ISSUER],
    exp: T + 3600,
    iat: T,
    iss: ISSUER,
    jti: "00000000-0000-4000-8000-000000000000",
    "kubernetes.io": {
      namespace: "default",
      serviceaccount: { name: "builder", uid: uid(REFS.serviceaccounts, "default", "builder") },
    },
    nbf: T,
    sub: "system:serviceaccount:default:builder",
  });
  // Keys in go-jose's (sorted) order, so a decoded token reads like a kube one.
  assert.match(raw, /^\{"aud":.*"exp":.*"iat":.*"iss":.*"jti":.*"kubernetes\.io":.*"nbf":.*"sub":/);
});

test("a pod-bound token names the pod and its node; asked for 3607 s it lasts a year with warnafter", () => {
  const { request, uid } = setup();
  const podUid = uid(REFS.pods, "default", "web");
  const answer = request({
    expirationSeconds: 3607,
    boundObjectRef: { apiVersion: "v1", kind: "Pod", name: "web", uid: podUid },
  }) as KubeObject & { status: { token: string; expirationTimestamp: string } };
  assert.equal(answer.status.expirationTimestamp, "2025-03-04T06:06:14Z", "the requested expiry");
  const { claims } = decode(answer.status.token);
  assert.equal(claims.exp, T + 365 * 24 * 3600);
  assert.deepEqual(claims["kubernetes.io"], {
    namespace: "default",
    node: { name: "node-1", uid: uid(REFS.nodes, "", "node-1") },
    pod: { name: "web", uid: podUid },
    serviceaccount: { name: "builder", uid: uid(REFS.serviceaccounts, "default", "builder") },
    warnafter: T + 3607,
  });
  const other = request({
    expirationSeconds: 3607,
    audiences: ["vault"],
    boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "web" },
  }) as KubeObject & { status: { token: string } };
  const c = decode(other.status.token).claims;
  assert.equal(c.exp, T + 3607, "not extended for a foreign audience");
  assert.deepEqual(c.aud, ["vault"]);
  assert.equal((c["kubernetes.io"] as { warnafter?: number }).warnafter, undefined);
});

test("a token may be bound to a Secret or a Node of the account", () => {
  const { request, uid } = setup();
  const s = decode(
    (
      request({ boundObjectRef: { kind: "Secret", apiVersion: "v1", name: "s" } }) as KubeObject & {
        status: { token: string };
      }
    ).status.token,
  ).claims["kubernetes.io"] as Record<string, unknown>;
  assert.deepEqual(s.secret, { name: "s", uid: uid(REFS.secrets, "default", "s") });
  const n = decode(
    (
      request({
        boundObjectRef: { kind: "Node", apiVersion: "v1", name: "node-1" },
      }) as KubeObject & {
        status: { token: string };
      }
    ).status.token,
  ).claims["kubernetes.io"] as Record<string, unknown>;
  assert.deepEqual(n.node, { name: "node-1", uid: uid(REFS.nodes, "", "node-1") });
});

test("TokenRequest refusals carry kube's reasons and messages", () => {
  const { request } = setup();
  const cases: Array<[string, () => unknown, string, string | RegExp]> = [
    [
      "too short",
      () => request({ expirationSeconds: 599 }),
      "Invalid",
      'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes',
    ],
    [
      "too long",
      () => request({ expirationSeconds: 2 ** 32 + 1 }),
      "Invalid",
      /spec\.expirationSeconds: Invalid value: 4294967297: may not specify a duration larger than 2\^32 seconds$/,
    ],
    [
      "no such account",
      () => request({}, "ghost"),
      "NotFound",
      'serviceaccounts "ghost" not found',
    ],
    [
      "no such pod",
      () => request({ boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "gone" } }),
      "NotFound",
      'pods "gone" not found',
    ],
    [
      "a pod of another account",
      () => request({ boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "web" } }, "default"),
      "BadRequest",
      'cannot bind token for serviceaccount "default" to pod running with different serviceaccount name.',
    ],
    [
      "an unsupported kind",
      () => request({ boundObjectRef: { kind: "ConfigMap", apiVersion: "v1", name: "x" } }),
      "BadRequest",
      "cannot bind token to object of type /v1, Kind=ConfigMap",
    ],
    [
      "a stale uid",
      () => request({ boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "web", uid: "old" } }),
      "Conflict",
      'Operation cannot be fulfilled on Pod "web": the UID in the bound object reference (old) does not match the UID in record. The object might have been deleted and then recreated',
    ],
  ];
  for (const [what, call, reason, message] of cases) {
    assert.throws(
      call,
      (e) => {
        assert.ok(isStatusError(e), what);
        assert.equal(e.reason, reason, what);
        if (typeof message === "string") assert.equal(e.message, message, what);
        else assert.match(e.message, message, what);
        return true;
      },
      what,
    );
  }
});

test("tokens verify with a third-party JOSE library against the served key set", async () => {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 })
    .privateKey.export({ type: "pkcs8", format: "pem" })
    .toString();
  for (const signingKey of [undefined, rsa]) {
    const { request, issuer } = setup(signingKey ? { signingKey } : {});
    const token = (request() as KubeObject & { status: { token: string } }).status.token;
    const jwks = JSON.parse(issuerDiscovery(issuer, JWKS_PATH, () => "https://x")?.body ?? "{}");
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: ISSUER,
      audience: ISSUER,
      currentDate: NOW,
    });
    assert.equal(protectedHeader.alg, signingKey ? "RS256" : "ES256");
    assert.equal(payload.sub, "system:serviceaccount:default:builder");
  }
});
