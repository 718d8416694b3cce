import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { answerHealth, type HealthCheck } from "./health.ts";

const ALL_OK: HealthCheck[] = [
  { name: "ping", ok: true },
  { name: "dns", ok: true },
];
const DNS_DOWN: HealthCheck[] = [
  { name: "ping", ok: true },
  { name: "dns", ok: false, reason: "informers not synced" },
];

describe("health endpoints answer as kube-apiserver's", () => {
  const cases: {
    name: string;
    checks: HealthCheck[];
    path: string;
    query?: string;
    status: number;
    body: string;
  }[] = [
    { name: "all pass: ok", checks: ALL_OK, path: "/readyz", status: 200, body: "ok" },
    {
      name: "verbose lists every check and says passed",
      checks: ALL_OK,
      path: "/readyz",
      query: "verbose",
      status: 200,
      body: "[+]ping ok\n[+]dns ok\nreadyz check passed\n",
    },
    {
      name: "a failing check makes it 500 and names the check, verbose or not",
      checks: DNS_DOWN,
      path: "/readyz",
      status: 500,
      body: "[+]ping ok\n[-]dns failed: informers not synced\nreadyz check failed\n",
    },
    {
      name: "an excluded failing check no longer fails it",
      checks: DNS_DOWN,
      path: "/readyz",
      query: "exclude=dns",
      status: 200,
      body: "ok",
    },
    {
      name: "verbose shows what was excluded",
      checks: DNS_DOWN,
      path: "/livez",
      query: "verbose&exclude=dns",
      status: 200,
      body: "[+]ping ok\n[+]dns excluded: ok\nlivez check passed\n",
    },
    { name: "one check by path", checks: ALL_OK, path: "/readyz/dns", status: 200, body: "ok" },
    {
      name: "one failing check by path",
      checks: DNS_DOWN,
      path: "/readyz/dns",
      status: 500,
      body: "internal server error: informers not synced\n",
    },
    {
      name: "an unknown check is not found",
      checks: ALL_OK,
      path: "/readyz/etcd",
      status: 404,
      body: "404 page not found\n",
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const endpoint = c.path.split("/")[1] as "readyz" | "livez";
      const got = answerHealth(endpoint, c.checks, {
        path: c.path,
        query: new URLSearchParams(c.query ?? ""),
      });
      assert.deepEqual(got, { status: c.status, body: c.body });
    });
  }
});
