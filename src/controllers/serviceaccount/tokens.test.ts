import assert from "node:assert/strict";
import { test } from "node:test";
import type { Secret, ServiceAccount } from "kubernetes-types/core/v1.js";
import { reconcileTokenSecret } from "./tokens.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const sa: ServiceAccount = { metadata: { name: "bot", namespace: "team", uid: "sa-1" } };

function tokenSecret(extra: Partial<Secret> = {}, annotations: Record<string, string> = {}) {
  return {
    type: "kubernetes.io/service-account-token",
    metadata: {
      name: "bot-token",
      namespace: "team",
      uid: "sec-1",
      annotations: { "kubernetes.io/service-account.name": "bot", ...annotations },
    },
    ...extra,
  } as Secret;
}

function run(secret: Secret | undefined, account: ServiceAccount | undefined, live = account) {
  const writes: string[] = [];
  let updated: Secret | undefined;
  return reconcileTokenSecret("team/bot-token", {
    sign: (s) =>
      `signed:${s.namespace}/${s.secretName}/${s.serviceAccountName}/${s.serviceAccountUid}`,
    rootCA: "CA",
    getSecret: () => secret,
    getServiceAccount: () => account,
    fetchServiceAccount: async () => live,
    updateSecret: async (s) => {
      writes.push("update");
      updated = s;
    },
    deleteSecret: async (_ns, _n, uid) => {
      writes.push(`delete ${uid}`);
    },
  }).then(() => ({ writes, updated }));
}

const filled = {
  token: b64("signed:team/bot-token/bot/sa-1"),
  "ca.crt": b64("CA"),
  namespace: b64("team"),
};

test("the token controller fills, keeps or deletes token Secrets as kube's does", async () => {
  const cases: Array<{
    name: string;
    secret: Secret | undefined;
    account?: ServiceAccount;
    live?: ServiceAccount;
    writes: string[];
    data?: Record<string, string>;
  }> = [
    {
      name: "a new token Secret gets token, ca.crt, namespace and the uid",
      secret: tokenSecret(),
      account: sa,
      writes: ["update"],
      data: filled,
    },
    {
      name: "a filled Secret is left alone",
      secret: tokenSecret({ data: filled }, { "kubernetes.io/service-account.uid": "sa-1" }),
      account: sa,
      writes: [],
    },
    {
      name: "an existing token is kept; a wrong ca.crt is put right",
      secret: tokenSecret(
        { data: { ...filled, token: b64("mine"), "ca.crt": b64("old") } },
        { "kubernetes.io/service-account.uid": "sa-1" },
      ),
      account: sa,
      writes: ["update"],
      data: { ...filled, token: b64("mine") },
    },
    {
      name: "a Secret whose ServiceAccount does not exist is deleted",
      secret: tokenSecret(),
      writes: ["delete sec-1"],
    },
    {
      name: "a Secret naming another uid of the account is deleted",
      secret: tokenSecret({}, { "kubernetes.io/service-account.uid": "old-uid" }),
      account: sa,
      writes: ["delete sec-1"],
    },
    {
      name: "an account the cache lacks but the API has is used",
      secret: tokenSecret(),
      live: sa,
      writes: ["update"],
      data: filled,
    },
    {
      name: "an Opaque Secret is not the controller's",
      secret: { ...tokenSecret(), type: "Opaque" },
      writes: [],
    },
    { name: "a Secret gone is nothing to do", secret: undefined, account: sa, writes: [] },
  ];
  for (const c of cases) {
    const { writes, updated } = await run(c.secret, c.account, c.live ?? c.account);
    assert.deepEqual(writes, c.writes, c.name);
    if (c.data) {
      assert.deepEqual(updated?.data, c.data, c.name);
      assert.equal(
        updated?.metadata?.annotations?.["kubernetes.io/service-account.uid"],
        "sa-1",
        c.name,
      );
    }
  }
});
