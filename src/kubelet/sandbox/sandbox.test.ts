import assert from "node:assert/strict";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { existingPrefix, sandboxPrefix } from "./sandbox.ts";

function withTree(fn: (root: string) => void): void {
  const root = realpathSync(mkdtempSync(join(tmpdir(), "sandbox-")));
  try {
    mkdirSync(join(root, "run", "lock"), { recursive: true });
    chmodSync(join(root, "run"), 0o755);
    writeFileSync(join(root, "run", "utmp"), "");
    symlinkSync("/dev/shm", join(root, "run", "shm"));
    mkdirSync(join(root, "var"));
    symlinkSync("../run", join(root, "var", "run"));
    fn(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test("existingPrefix finds the deepest existing directory, through symlinks, and the missing rest", () => {
  withTree((root) => {
    assert.deepEqual(existingPrefix(join(root, "var", "run", "secrets", "k8s.io", "sa")), {
      anchor: join(root, "run"),
      rest: ["secrets", "k8s.io", "sa"],
    });
    assert.deepEqual(existingPrefix(join(root, "run", "lock")), {
      anchor: join(root, "run", "lock"),
      rest: [],
    });
  });
});

test("a mount point missing inside a host directory is made under a tmpfs shadow of it", () => {
  withTree((root) => {
    const podDir = join(root, "pod");
    const mountPath = join(root, "var", "run", "secrets", "kubernetes.io", "serviceaccount");
    const skipped: string[] = [];
    sandboxPrefix(
      { metadata: { name: "p", namespace: "default" }, spec: { containers: [] } },
      {
        name: "c",
        volumeMounts: [{ name: "token", mountPath, readOnly: true }],
      },
      {
        podDir,
        podIP: "127.244.0.2",
        clusterDns: "127.96.0.10",
        clusterDomain: "cluster.local",
        volumes: new Map([["token", join(podDir, "volumes", "token")]]),
        onSkip: (m) => skipped.push(m),
        workingDir: "/",
      },
    );
    assert.deepEqual(skipped, []);
    const script = readFileSync(join(podDir, "sandbox", "c.sh"), "utf8");
    const run = join(root, "run");
    const keep = join(podDir, "sandbox", "shadow", "c", "0");
    const target = join(run, "secrets", "kubernetes.io", "serviceaccount");
    const expected = [
      `mount --rbind '${run}' '${keep}'`,
      `mount -t tmpfs -o mode=0755,uid=${process.getuid?.()},gid=${process.getgid?.()} tmpfs '${run}'`,
      `ln -s '/dev/shm' '${run}'/'shm'`,
      `mkdir -p '${run}'/'lock'`,
      `touch '${run}'/'utmp'`,
      `mount --rbind '${join(keep, "lock")}' '${run}'/'lock'`,
      `mount --bind '${join(keep, "utmp")}' '${run}'/'utmp'`,
      `mkdir -p '${target}'`,
      `mount --bind '${join(podDir, "volumes", "token")}' '${target}'`,
      `mount -o remount,bind,ro '${target}'`,
    ];
    let at = -1;
    for (const line of expected) {
      const i = script.indexOf(`${line}\n`);
      assert.ok(i > at, `${line}\nin order in:\n${script}`);
      at = i;
    }
  });
});
