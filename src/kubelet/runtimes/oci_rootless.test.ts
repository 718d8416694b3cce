import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Container, Pod } from "kubernetes-types/core/v1.js";
import { describeSupport } from "./oci_detect.ts";
import { type HostShares, rootlessSpec, rootlessUser, usernsPrefix } from "./oci_rootless.ts";
import { type OciMount, ociSpec, SpecError } from "./oci_spec.ts";

const container: Container = {
  name: "app",
  image: "x",
  resources: { limits: { memory: "64Mi", cpu: "500m" } },
};
const pod: Pod = { metadata: { name: "p", namespace: "default" }, spec: { containers: [] } };

/** The root runtime's spec for the container, then its rootless form. */
function specs(shares: Partial<HostShares> = {}) {
  const root = ociSpec({
    pod,
    container,
    image: {},
    args: ["httpd"],
    env: {},
    rootfs: "/b/rootfs",
    user: { uid: 0, gid: 0 },
    hostname: "p",
    etc: { hosts: "/e/hosts", hostname: "/e/hostname", resolvConf: "/e/resolv.conf" },
    volumes: [],
    netnsPath: shares.ownNetwork === false ? undefined : "/proc/9/root/run/netns/p",
    cgroupsPath: "/loopkube-x/c",
  });
  const rootless = rootlessSpec(root, {
    ownNetwork: true,
    hostPID: false,
    hostIPC: false,
    ...shares,
  });
  return { root, rootless };
}
const linuxOf = (s: Record<string, unknown>) => s.linux as Record<string, unknown>;
const mountAt = (s: Record<string, unknown>, at: string) =>
  (s.mounts as OciMount[]).find((m) => m.destination === at);

describe("rootlessSpec", () => {
  test("drops the cgroup path and resources (no limits without root), keeps the rest of linux", () => {
    const { root, rootless } = specs();
    assert.ok(linuxOf(root).resources, "the root spec has the limits");
    assert.equal(linuxOf(rootless).cgroupsPath, undefined);
    assert.equal(linuxOf(rootless).resources, undefined);
    assert.deepEqual(linuxOf(rootless).maskedPaths, linuxOf(root).maskedPaths);
    assert.deepEqual(rootless.process, root.process);
    assert.deepEqual(rootless.root, root.root);
  });

  test("asks for no user namespace: the container lives in crun's, which maps uid 0 to the user", () => {
    const { rootless } = specs();
    const types = (linuxOf(rootless).namespaces as Array<{ type: string; path?: string }>).map(
      (n) => n.type,
    );
    assert.deepEqual(types, ["mount", "uts", "pid", "ipc", "network"]);
    assert.equal(linuxOf(rootless).uidMappings, undefined);
    assert.equal(linuxOf(rootless).gidMappings, undefined);
  });

  test("mounts devpts without gid=5 (gid 5 is not mapped)", () => {
    const { root, rootless } = specs();
    assert.ok(mountAt(root, "/dev/pts")?.options?.includes("gid=5"));
    assert.deepEqual(
      mountAt(rootless, "/dev/pts")?.options,
      mountAt(root, "/dev/pts")?.options?.filter((o) => o !== "gid=5"),
    );
  });

  const cases: Array<[string, Partial<HostShares>, string, string]> = [
    ["the pod's own network: sysfs is mounted", {}, "/sys", "sysfs"],
    [
      "the host's network: /sys is the host's, bound read-only",
      { ownNetwork: false },
      "/sys",
      "bind",
    ],
    ["own PID namespace: proc is mounted", {}, "/proc", "proc"],
    ["hostPID: /proc is the host's, bound", { hostPID: true }, "/proc", "bind"],
    ["own IPC namespace: mqueue is mounted", {}, "/dev/mqueue", "mqueue"],
    ["hostIPC: /dev/mqueue is the host's, bound", { hostIPC: true }, "/dev/mqueue", "bind"],
  ];
  for (const [name, shares, at, type] of cases) {
    test(name, () => {
      const m = mountAt(specs(shares).rootless, at);
      assert.equal(m?.type, type);
      if (type === "bind") {
        assert.equal(m?.source, at);
        assert.ok(m?.options?.includes("rbind"));
      }
    });
  }

  test("a bound /sys is read-only", () => {
    assert.ok(mountAt(specs({ ownNetwork: false }).rootless, "/sys")?.options?.includes("ro"));
  });
});

describe("rootlessUser", () => {
  test("keeps uid and gid 0 and drops additional gids (setgroups is denied)", () => {
    assert.deepEqual(rootlessUser({ uid: 0, gid: 0, additionalGids: [5, 2000] }), {
      uid: 0,
      gid: 0,
    });
  });
  const refused: Array<[string, { uid: number; gid: number }, RegExp]> = [
    ["another uid", { uid: 101, gid: 0 }, /as user 101, but without root loopkube maps only/],
    ["another gid", { uid: 0, gid: 33 }, /as group 33, but without root/],
  ];
  for (const [name, user, message] of refused) {
    test(`refuses ${name}, saying why`, () => {
      assert.throws(
        () => rootlessUser(user),
        (e: unknown) => e instanceof SpecError && message.test(e.message),
      );
    });
  }
});

describe("usernsPrefix", () => {
  test("enters the node helper's user namespace keeping its uid 0, then a private mount namespace", () => {
    assert.deepEqual(usernsPrefix({ pid: 42 }), [
      "nsenter",
      "-t",
      "42",
      "-U",
      "--preserve-credentials",
      "--",
      "unshare",
      "--mount",
      "--propagation",
      "private",
      "--",
    ]);
  });
  test("or makes its own, uid 0 mapped to the user", () => {
    assert.deepEqual(usernsPrefix("own").slice(0, 3), ["unshare", "--map-root-user", "--mount"]);
  });
});

test("describeSupport says rootless image pods have no resource limits", () => {
  assert.equal(
    describeSupport({
      binary: "/usr/bin/crun",
      kind: "crun",
      version: "1.8.1",
      cgroups: "hybrid",
      overlay: true,
      rootless: true,
    }),
    "crun 1.8.1, rootless (a user namespace, its uid 0 the user running loopkube), no cgroups: no resource limits, writable roots by overlayfs",
  );
});
