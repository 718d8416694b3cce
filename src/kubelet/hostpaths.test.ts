import assert from "node:assert/strict";
import { test } from "node:test";
import type { VolumeMount } from "kubernetes-types/core/v1.js";
import { hostPath } from "./hostpaths.ts";

const volumes = new Map([
  ["code", "/data/pod/volumes/code"],
  ["data", "/data/pod/volumes/data"],
  ["conf", "/data/pod/volumes/conf"],
]);
const mounts: VolumeMount[] = [
  { name: "code", mountPath: "/app" },
  { name: "data", mountPath: "/app/data/" },
  { name: "conf", mountPath: "/etc/app/app.conf", subPath: "app.conf" },
  { name: "gone", mountPath: "/srv" },
];

test("hostPath points paths under a mountPath at the volume's directory", () => {
  const cases: [string, string][] = [
    ["/app/server.js", "/data/pod/volumes/code/server.js"],
    ["/app", "/data/pod/volumes/code"],
    ["/app/", "/data/pod/volumes/code"],
    ["/app/data/x.log", "/data/pod/volumes/data/x.log"],
    ["/etc/app/app.conf", "/data/pod/volumes/conf/app.conf"],
    ["/application/x", "/application/x"],
    ["/srv/x", "/srv/x"],
    ["server.js", "server.js"],
    ["--port=8080", "--port=8080"],
    ["node", "node"],
  ];
  for (const [path, want] of cases) assert.equal(hostPath(path, mounts, volumes), want, path);
});
