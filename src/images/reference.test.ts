import assert from "node:assert/strict";
import { test } from "node:test";
import {
  defaultPullPolicy,
  formatReference,
  InvalidReferenceError,
  isLoopbackHost,
  parseReference,
} from "./reference.ts";

const D = `sha256:${"a".repeat(64)}`;

test("parseReference normalizes as Docker Hub does", () => {
  const cases: [string, string][] = [
    ["nginx", "docker.io/library/nginx:latest"],
    ["nginx:1.25", "docker.io/library/nginx:1.25"],
    ["library/nginx", "docker.io/library/nginx:latest"],
    ["user/app:v1", "docker.io/user/app:v1"],
    ["docker.io/nginx", "docker.io/library/nginx:latest"],
    ["index.docker.io/nginx", "docker.io/library/nginx:latest"],
    ["quay.io/org/app", "quay.io/org/app:latest"],
    ["127.0.0.1:5000/demo/httpd:1", "127.0.0.1:5000/demo/httpd:1"],
    ["localhost/app", "localhost/app:latest"],
    ["localhost:5000/app:2", "localhost:5000/app:2"],
    ["[::1]:5000/app", "[::1]:5000/app:latest"],
    ["Registry/app", "Registry/app:latest"],
    [`nginx@${D}`, `docker.io/library/nginx@${D}`],
    [`nginx:1@${D}`, `docker.io/library/nginx:1@${D}`],
    ["a/b/c/d:e_f.g-h", "docker.io/a/b/c/d:e_f.g-h"],
    ["my__app", "docker.io/library/my__app:latest"],
  ];
  for (const [input, want] of cases)
    assert.equal(formatReference(parseReference(input)), want, input);
});

test("parseReference rejects what the grammar rejects", () => {
  const bad = [
    "",
    " nginx",
    "Nginx",
    "nginx:",
    "nginx:-x",
    "nginx@sha256:abc",
    "nginx@sha256:" + "A".repeat(64),
    "a//b",
    "/a",
    "a/",
    "host:5000/",
    "UPPER/Case",
    "x:" + "t".repeat(129),
    "a-/b",
    "a".repeat(256),
  ];
  for (const input of bad)
    assert.throws(() => parseReference(input), InvalidReferenceError, JSON.stringify(input));
});

test("defaultPullPolicy follows kube: latest or no tag is Always, else IfNotPresent", () => {
  const cases: [string, string][] = [
    ["nginx", "Always"],
    ["nginx:latest", "Always"],
    ["nginx:1.25", "IfNotPresent"],
    [`nginx@${D}`, "IfNotPresent"],
    [`nginx:latest@${D}`, "Always"],
    ["127.0.0.1:5000/a:1", "IfNotPresent"],
  ];
  for (const [image, want] of cases) assert.equal(defaultPullPolicy(image), want, image);
});

test("isLoopbackHost names only hosts on this machine", () => {
  const cases: [string, boolean][] = [
    ["127.0.0.1:5000", true],
    ["127.9.8.7", true],
    ["localhost:80", true],
    ["[::1]:5000", true],
    ["docker.io", false],
    ["128.0.0.1:5000", false],
    ["localhost.example", false],
  ];
  for (const [host, want] of cases) assert.equal(isLoopbackHost(host), want, host);
});
