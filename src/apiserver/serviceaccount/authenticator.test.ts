import assert from "node:assert/strict";
import { test } from "node:test";
import { REFS, sub } from "../../api/refs.ts";
import type { KubeObject } from "../../api/types.ts";
import { openStore } from "../../store/index.ts";
import { createRegistry } from "../index.ts";
import { signJws } from "./_jwt.ts";
import { createIssuer, serviceAccountTokens } from "./index.ts";

const ISSUER = "https://kubernetes.default.svc.cluster.local";

function setup() {
  let now = new Date("2025-03-04T05:06:07Z");
  const store = openStore({ backend: "memory" });
  const { registry, issuer } = createRegistry(store, {
    now: () => now,
    serviceAccounts: { issuer: ISSUER },
  });
  const make = (ref: typeof REFS.pods, ns: string, obj: Record<string, unknown>) =>
    registry.createSync(ref, ns, obj as KubeObject);
  make(REFS.namespaces, "", { metadata: { name: "team" } });
  make(REFS.serviceaccounts, "team", { metadata: { name: "bot" } });
  make(REFS.pods, "team", {
    metadata: { name: "web" },
    spec: { serviceAccountName: "bot", nodeName: "n1", containers: [{ name: "c", image: "x" }] },
  });
  make(REFS.secrets, "team", { metadata: { name: "s" } });
  const token = (spec: Record<string, unknown> = {}) =>
    (
      registry.createSync(sub(REFS.serviceaccounts, "token"), "team", {
        metadata: { name: "bot" },
        spec,
      } as KubeObject) as KubeObject & { status: { token: string } }
    ).status.token;
  const authenticate = serviceAccountTokens(issuer, store);
  return {
    registry,
    issuer,
    token,
    authenticate,
    advance: (seconds: number) => {
      now = new Date(now.getTime() + seconds * 1000);
    },
  };
}

test("a service-account token authenticates as the account, with kube's groups and extra", () => {
  const { token, authenticate, registry } = setup();
  const podUid = registry.getSync(REFS.pods, "team", "web").metadata.uid ?? "";
  const result = authenticate(
    token({ boundObjectRef: { apiVersion: "v1", kind: "Pod", name: "web", uid: podUid } }),
  );
  assert.ok(result && "user" in result, JSON.stringify(result));
  const { user } = result;
  assert.equal(user.name, "system:serviceaccount:team:bot");
  assert.equal(user.uid, registry.getSync(REFS.serviceaccounts, "team", "bot").metadata.uid);
  assert.deepEqual(user.groups, ["system:serviceaccounts", "system:serviceaccounts:team"]);
  assert.deepEqual(user.extra?.["authentication.kubernetes.io/pod-name"], ["web"]);
  assert.deepEqual(user.extra?.["authentication.kubernetes.io/pod-uid"], [podUid]);
  assert.deepEqual(user.extra?.["authentication.kubernetes.io/node-name"], ["n1"]);
  assert.match(user.extra?.["authentication.kubernetes.io/credential-id"]?.[0] ?? "", /^JTI=/);
});

test("tokens that are not ours are left to the next authenticator", () => {
  const { authenticate } = setup();
  const foreign = createIssuer({ issuer: "https://elsewhere.example" });
  for (const t of [
    "admin-token",
    "a.b",
    signJws(foreign.key, { iss: "https://elsewhere.example", sub: "x" }),
  ]) {
    assert.equal(authenticate(t), undefined, t);
  }
});

test("a token of ours is refused, with kube's reason, when it fails a check", () => {
  const cases: Array<[string, (s: ReturnType<typeof setup>) => string, string | RegExp]> = [
    [
      "signed by another key",
      () => signJws(createIssuer().key, { iss: ISSUER, aud: [ISSUER] }),
      "invalid signature",
    ],
    [
      "tampered with",
      (s) => {
        const [h, , sig] = s.token().split(".");
        const body = Buffer.from(JSON.stringify({ iss: ISSUER, sub: "root" })).toString(
          "base64url",
        );
        return `${h}.${body}.${sig}`;
      },
      "invalid signature",
    ],
    [
      "for another audience",
      (s) => s.token({ audiences: ["vault"] }),
      'token audiences ["vault"] is invalid for the target audiences ["https://kubernetes.default.svc.cluster.local"]',
    ],
    [
      "expired (past the minute of leeway)",
      (s) => {
        const t = s.token({ expirationSeconds: 600 });
        s.advance(661);
        return t;
      },
      "service account token has expired",
    ],
    [
      "of a deleted account",
      (s) => {
        const t = s.token();
        s.registry.deleteSync(REFS.serviceaccounts, "team", "bot");
        return t;
      },
      'serviceaccounts "bot" not found',
    ],
    [
      "of an account deleted and created again",
      (s) => {
        const t = s.token();
        s.registry.deleteSync(REFS.serviceaccounts, "team", "bot");
        s.registry.createSync(REFS.serviceaccounts, "team", {
          metadata: { name: "bot" },
        } as KubeObject);
        return t;
      },
      /^service account UID \(.+\) does not match claim \(.+\)$/,
    ],
    [
      "bound to a pod that is gone",
      (s) => {
        const t = s.token({ boundObjectRef: { apiVersion: "v1", kind: "Pod", name: "web" } });
        s.registry.deleteSync(REFS.pods, "team", "web", { gracePeriodSeconds: 0 });
        return t;
      },
      "service account token has been invalidated",
    ],
    [
      "bound to a secret that is gone",
      (s) => {
        const t = s.token({ boundObjectRef: { apiVersion: "v1", kind: "Secret", name: "s" } });
        s.registry.deleteSync(REFS.secrets, "team", "s");
        return t;
      },
      "service account token has been invalidated",
    ],
  ];
  for (const [what, make, reason] of cases) {
    const s = setup();
    const result = s.authenticate(make(s));
    assert.ok(result && "error" in result, `${what}: ${JSON.stringify(result)}`);
    if (typeof reason === "string") assert.equal(result.error, reason, what);
    else assert.match(result.error, reason, what);
  }
});

test("a token stays good through the minute of leeway after exp", () => {
  const s = setup();
  const t = s.token({ expirationSeconds: 600 });
  s.advance(650);
  const result = s.authenticate(t);
  assert.ok(result && "user" in result, JSON.stringify(result));
});
