import assert from "node:assert/strict";
import { test } from "node:test";
import { REFS } from "../../api/refs.ts";
import type { KubeObject } from "../../api/types.ts";
import { openStore } from "../../store/index.ts";
import { createRegistry } from "../index.ts";
import { signJws, unverifiedClaims } from "./_jwt.ts";
import { createIssuer, legacyServiceAccountTokens, legacyTokenSigner } from "./index.ts";

function setup() {
  let now = new Date("2025-03-04T05:06:07Z");
  const store = openStore({ backend: "memory" });
  const { registry, issuer } = createRegistry(store, { now: () => now });
  const make = (ref: typeof REFS.pods, ns: string, obj: Record<string, unknown>) =>
    registry.createSync(ref, ns, obj as KubeObject);
  make(REFS.namespaces, "", { metadata: { name: "team" } });
  const saUid = make(REFS.serviceaccounts, "team", { metadata: { name: "bot" } }).metadata.uid;
  const subject = {
    namespace: "team",
    secretName: "bot-token",
    serviceAccountName: "bot",
    serviceAccountUid: saUid ?? "",
  };
  const token = legacyTokenSigner(issuer)(subject);
  make(REFS.secrets, "team", {
    metadata: {
      name: "bot-token",
      annotations: {
        "kubernetes.io/service-account.name": "bot",
        "kubernetes.io/service-account.uid": saUid,
      },
    },
    type: "kubernetes.io/service-account-token",
    data: { token: Buffer.from(token).toString("base64") },
  });
  const authenticate = legacyServiceAccountTokens(issuer, store);
  const secret = () => registry.getSync(REFS.secrets, "team", "bot-token");
  const edit = (ref: typeof REFS.pods, name: string, change: (o: KubeObject) => void) => {
    const o = structuredClone(registry.getSync(ref, "team", name));
    change(o);
    registry.updateSync(ref, "team", o);
    return undefined;
  };
  return {
    registry,
    issuer,
    subject,
    token,
    authenticate,
    secret,
    edit,
    advanceDays: (d: number) => {
      now = new Date(now.getTime() + d * 86_400_000);
    },
  };
}

test("a legacy token carries kube's legacy claims and no audience or expiry", () => {
  const { token, subject } = setup();
  assert.deepEqual(unverifiedClaims(token), {
    iss: "kubernetes/serviceaccount",
    "kubernetes.io/serviceaccount/namespace": "team",
    "kubernetes.io/serviceaccount/secret.name": "bot-token",
    "kubernetes.io/serviceaccount/service-account.name": "bot",
    "kubernetes.io/serviceaccount/service-account.uid": subject.serviceAccountUid,
    sub: "system:serviceaccount:team:bot",
  });
});

test("a legacy token authenticates as its account and stamps the Secret at most daily", () => {
  const { token, authenticate, secret, subject, advanceDays } = setup();
  const result = authenticate(token);
  assert.deepEqual(result, {
    user: {
      name: "system:serviceaccount:team:bot",
      uid: subject.serviceAccountUid,
      groups: ["system:serviceaccounts", "system:serviceaccounts:team"],
    },
  });
  const stamped = secret();
  assert.equal(stamped.metadata.labels?.["kubernetes.io/legacy-token-last-used"], "2025-03-04");
  authenticate(token);
  assert.equal(secret().metadata.resourceVersion, stamped.metadata.resourceVersion);
  advanceDays(1);
  authenticate(token);
  assert.equal(secret().metadata.labels?.["kubernetes.io/legacy-token-last-used"], "2025-03-05");
});

test("a legacy token is refused once its Secret, its token or its account is not what it names", () => {
  const cases: Array<{
    name: string;
    change: (s: ReturnType<typeof setup>) => undefined | string;
    error: RegExp;
  }> = [
    {
      name: "the Secret is deleted",
      change: (s) => {
        s.registry.deleteSync(REFS.secrets, "team", "bot-token");
        return "";
      },
      error: /token has been invalidated/,
    },
    {
      name: "the Secret holds another token",
      change: (s) =>
        s.edit(REFS.secrets, "bot-token", (o) => {
          (o as KubeObject & { data: Record<string, string> }).data.token = "b3RoZXI=";
        }),
      error: /does not match server's copy/,
    },
    {
      name: "the ServiceAccount is deleted",
      change: (s) => {
        s.registry.deleteSync(REFS.serviceaccounts, "team", "bot");
        return "";
      },
      error: /serviceaccounts "bot" not found/,
    },
    {
      name: "the Secret is marked invalid",
      change: (s) =>
        s.edit(REFS.secrets, "bot-token", (o) => {
          o.metadata.labels = { "kubernetes.io/legacy-token-invalid-since": "2025-01-01" };
        }),
      error: /has been marked invalid/,
    },
    {
      name: "the token is signed by another key",
      change: (s) => signJws(createIssuer().key, unverifiedClaims(s.token) ?? {}),
      error: /invalid signature/,
    },
    {
      name: "a claim is missing",
      change: (s) =>
        signJws(s.issuer.key, {
          ...unverifiedClaims(s.token),
          "kubernetes.io/serviceaccount/secret.name": "",
        }),
      error: /secretName claim is missing/,
    },
  ];
  for (const c of cases) {
    const s = setup();
    const token = c.change(s) || s.token;
    const result = s.authenticate(token);
    assert.ok(result && "error" in result, c.name);
    assert.match(result.error, c.error, c.name);
  }
});

test("a bound token is not the legacy authenticator's", () => {
  const { authenticate, issuer } = setup();
  assert.equal(authenticate(signJws(issuer.key, { iss: issuer.issuer })), undefined);
});
