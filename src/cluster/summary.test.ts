import assert from "node:assert/strict";
import { test } from "node:test";
import { rangeSlot } from "../api/addressplan.ts";
import { describeRanges, formatServiceTable, suggestedCommands } from "./summary.ts";

const rows = [
  {
    namespace: "default",
    name: "nginx",
    type: "ClusterIP",
    clusterIP: "None",
    dnsNames: ["nginx.default.svc.cluster.local", "web-0.nginx.default.svc.cluster.local"],
    endpoints: [
      { pod: "web-0", ip: "127.244.0.2", ready: true },
      { pod: "web-1", ip: "127.244.0.3", ready: false },
    ],
  },
  {
    namespace: "default",
    name: "api",
    type: "ClusterIP",
    clusterIP: "127.96.0.20",
    dnsNames: ["api.default.svc.cluster.local"],
    endpoints: [],
  },
];

test("formatServiceTable aligns columns and gives a Service as many lines as it needs", () => {
  assert.equal(
    formatServiceTable(rows),
    [
      "SERVICE         TYPE        CLUSTER-IP    DNS NAMES                               ENDPOINTS (POD IP READY)",
      "default/nginx   ClusterIP   None          nginx.default.svc.cluster.local         web-0 127.244.0.2 ready",
      "                                          web-0.nginx.default.svc.cluster.local   web-1 127.244.0.3 not-ready",
      "default/api     ClusterIP   127.96.0.20   api.default.svc.cluster.local           <none>",
    ].join("\n"),
  );
});

test("suggestedCommands points kubectl at the kubeconfig and dig at the DNS address", () => {
  const cmds = suggestedCommands(rows, {
    kubeconfigPath: "/d/kubeconfig",
    dns: { host: "127.0.0.1", port: 5353 },
  });
  assert.equal(cmds[0], "kubectl --kubeconfig /d/kubeconfig get pods -o wide");
  assert.ok(cmds.includes("dig @127.0.0.1 -p 5353 +short nginx.default.svc.cluster.local"));
});

test("describeRanges prints each range the cluster holds on an aligned line", () => {
  assert.deepEqual(describeRanges(rangeSlot(1)), [
    "pods:        127.245.0.0/16",
    "services:    127.97.0.0/16",
    "LB ingress:  127.100.1.0/24",
    "node IP:     127.100.255.1 (NodePorts listen here)",
  ]);
  assert.deepEqual(describeRanges({}), []);
});
