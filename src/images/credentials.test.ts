import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  credentialFor,
  dockerConfigCredentials,
  normalizeHost,
  secretCredentials,
} from "./credentials.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");

test("secretCredentials reads dockerconfigjson and the legacy dockercfg", () => {
  const json = secretCredentials({
    type: "kubernetes.io/dockerconfigjson",
    data: {
      ".dockerconfigjson": b64(
        JSON.stringify({ auths: { "127.0.0.1:5000": { auth: b64("alice:s3:cret") } } }),
      ),
    },
  });
  assert.deepEqual(credentialFor(json, "127.0.0.1:5000"), {
    username: "alice",
    password: "s3:cret",
  });
  const cfg = secretCredentials({
    type: "kubernetes.io/dockercfg",
    data: {
      ".dockercfg": b64(
        JSON.stringify({ "https://index.docker.io/v1/": { username: "bob", password: "pw" } }),
      ),
    },
  });
  assert.deepEqual(credentialFor(cfg, "docker.io"), { username: "bob", password: "pw" });
  assert.deepEqual(secretCredentials({ type: "Opaque", data: {} }), []);
  assert.deepEqual(
    secretCredentials({
      type: "kubernetes.io/dockerconfigjson",
      data: { ".dockerconfigjson": "!!" },
    }),
    [],
  );
});

test("normalizeHost drops scheme and path and folds Docker Hub's names", () => {
  const cases: [string, string][] = [
    ["https://index.docker.io/v1/", "docker.io"],
    ["registry-1.docker.io", "docker.io"],
    ["http://127.0.0.1:5000/v2/", "127.0.0.1:5000"],
    ["Quay.IO", "quay.io"],
  ];
  for (const [key, want] of cases) assert.equal(normalizeHost(key), want, key);
});

test("credentialFor matches exact hosts and one-label globs, ports included", () => {
  const creds = [
    { host: "*.example.com", credential: { username: "g", password: "1" } },
    { host: "reg.test:5000", credential: { username: "p", password: "2" } },
  ];
  assert.equal(credentialFor(creds, "a.example.com")?.username, "g");
  assert.equal(credentialFor(creds, "a.b.example.com"), undefined);
  assert.equal(credentialFor(creds, "reg.test:5000")?.username, "p");
  assert.equal(credentialFor(creds, "reg.test"), undefined);
});

test("dockerConfigCredentials reads DOCKER_CONFIG's config.json and survives its absence", () => {
  const dir = mkdtempSync(join(tmpdir(), "dockercfg-"));
  try {
    assert.deepEqual(dockerConfigCredentials({ DOCKER_CONFIG: dir }), []);
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify({ auths: { "localhost:5000": { auth: b64("u:p") } }, credsStore: "x" }),
    );
    assert.deepEqual(
      credentialFor(dockerConfigCredentials({ DOCKER_CONFIG: dir }), "localhost:5000"),
      {
        username: "u",
        password: "p",
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
