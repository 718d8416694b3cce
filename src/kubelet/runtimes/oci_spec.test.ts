import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Container, Pod } from "kubernetes-types/core/v1.js";
import { cgroupLayout } from "./oci_detect.ts";
import {
  ALL_CAPABILITIES,
  capabilities,
  DEFAULT_CAPABILITIES,
  DEFAULT_PATH,
  mergeEnv,
  ociSpec,
  processArgs,
  resolveUser,
  resources,
  SpecError,
} from "./oci_spec.ts";

describe("processArgs follows kube's Entrypoint/Cmd against command/args table", () => {
  const image = { entrypoint: ["/ep", "e1"], cmd: ["c1", "c2"] };
  const cases: Array<[string, Pick<Container, "command" | "args">, string[]]> = [
    ["neither: Entrypoint + Cmd", {}, ["/ep", "e1", "c1", "c2"]],
    ["command only: command, image ignored", { command: ["/cmd"] }, ["/cmd"]],
    ["args only: Entrypoint + args", { args: ["a1"] }, ["/ep", "e1", "a1"]],
    ["both: command + args", { command: ["/cmd"], args: ["a1"] }, ["/cmd", "a1"]],
    ["empty lists count as absent", { command: [], args: [] }, ["/ep", "e1", "c1", "c2"]],
  ];
  for (const [name, c, want] of cases) {
    test(name, () => assert.deepEqual(processArgs(image, c), want));
  }
  test("an image with Cmd only runs Cmd; args replace it", () => {
    assert.deepEqual(processArgs({ cmd: ["sh"] }, {}), ["sh"]);
    assert.deepEqual(processArgs({ cmd: ["sh"] }, { args: ["ls"] }), ["ls"]);
  });
});

test("mergeEnv puts the container's env over the image's over the defaults", () => {
  assert.deepEqual(mergeEnv(["PATH=/bin", "A=image", "B=image"], { B: "pod", C: "pod" }, "h"), [
    "PATH=/bin",
    "HOSTNAME=h",
    "A=image",
    "B=pod",
    "C=pod",
  ]);
  assert.deepEqual(mergeEnv(undefined, {}, "h"), [`PATH=${DEFAULT_PATH}`, "HOSTNAME=h"]);
});

describe("resolveUser", () => {
  const files = {
    passwd: "root:x:0:0::/root:/bin/sh\nwww:x:33:33::/var/www:/bin/sh\n",
    group: "root:x:0:\nwww:x:33:\nstaff:x:50:www\n",
  };
  const cases: Array<[string, string | undefined, Parameters<typeof resolveUser>[1], object]> = [
    ["no user: root", undefined, {}, { uid: 0, gid: 0 }],
    [
      "a name from the image's passwd, with its groups",
      "www",
      {},
      { uid: 33, gid: 33, additionalGids: [50] },
    ],
    [
      "a number known to passwd takes its gid",
      "33",
      {},
      { uid: 33, gid: 33, additionalGids: [50] },
    ],
    ["an unknown number: gid 0", "1234", {}, { uid: 1234, gid: 0 }],
    ["uid:gid", "1234:99", {}, { uid: 1234, gid: 99 }],
    ["name:group", "www:staff", {}, { uid: 33, gid: 50 }],
    ["runAsUser wins over the image", "www", { runAsUser: 1000 }, { uid: 1000, gid: 0 }],
    [
      "runAsGroup wins over the image",
      "www",
      { runAsGroup: 7 },
      { uid: 33, gid: 7, additionalGids: [50] },
    ],
    [
      "supplementalGroups and fsGroup are added",
      undefined,
      { supplementalGroups: [5, 6], fsGroup: 2000 },
      { uid: 0, gid: 0, additionalGids: [5, 6, 2000] },
    ],
  ];
  for (const [name, user, sc, want] of cases) {
    test(name, () => assert.deepEqual(resolveUser(user, sc, files), want));
  }
  test("a name the image does not know is containerd's error", () => {
    assert.throws(() => resolveUser("nobody", {}, files), SpecError);
    assert.throws(() => resolveUser("www:nogroup", {}, files), /unable to find group nogroup/);
  });
});

describe("capabilities", () => {
  test("default: containerd's set", () => {
    assert.deepEqual(new Set(capabilities(undefined, false)), new Set(DEFAULT_CAPABILITIES));
  });
  test("drop ALL then add NET_ADMIN leaves only that", () => {
    assert.deepEqual(capabilities({ drop: ["ALL"], add: ["NET_ADMIN"] }, false), ["CAP_NET_ADMIN"]);
  });
  test("drop one, add one (with or without CAP_)", () => {
    const caps = capabilities({ drop: ["CHOWN"], add: ["CAP_SYS_TIME"] }, false);
    assert.ok(!caps.includes("CAP_CHOWN") && caps.includes("CAP_SYS_TIME"));
  });
  test("privileged: all the host allows", () => {
    assert.deepEqual(capabilities(undefined, true), ALL_CAPABILITIES);
    assert.deepEqual(capabilities(undefined, true, ["CAP_KILL", "CAP_CHOWN"]), [
      "CAP_CHOWN",
      "CAP_KILL",
    ]);
  });
});

test("resources: CPU limit as quota, request as shares, memory limit", () => {
  assert.deepEqual(
    resources({
      name: "c",
      resources: { limits: { cpu: "500m", memory: "64Mi" }, requests: { cpu: "250m" } },
    }),
    { memory: { limit: 67108864 }, cpu: { period: 100000, quota: 50000, shares: 256 } },
  );
  assert.equal(resources({ name: "c" }), undefined);
});

describe("ociSpec", () => {
  const pod: Pod = { metadata: { name: "p", namespace: "default" }, spec: { containers: [] } };
  const base = {
    pod,
    image: { workingDir: "/srv", env: ["PATH=/bin"] },
    args: ["sh"],
    env: { A: "1" },
    rootfs: "/b/rootfs",
    user: { uid: 0, gid: 0 },
    hostname: "p",
    etc: { hosts: "/e/hosts", hostname: "/e/hostname", resolvConf: "/e/resolv.conf" },
    volumes: [{ source: "/v/data", destination: "/data", readOnly: true }],
    netnsPath: "/run/netns/x",
    cgroupsPath: "/loopkube-x/id",
  };
  const spec = (c: Partial<Container> = {}) =>
    ociSpec({ ...base, container: { name: "c", ...c } }) as {
      process: { cwd: string; env: string[]; noNewPrivileges: boolean };
      root: { readonly: boolean };
      mounts: Array<{ destination: string; options?: string[] }>;
      linux: { namespaces: Array<{ type: string; path?: string }>; maskedPaths?: string[] };
    };
  test("own mount, UTS, PID and IPC namespaces; the pod's network namespace by path", () => {
    assert.deepEqual(spec().linux.namespaces, [
      { type: "mount" },
      { type: "uts" },
      { type: "pid" },
      { type: "ipc" },
      { type: "network", path: "/run/netns/x" },
    ]);
  });
  test("a target's PID namespace is joined by path; a terminal only when asked", () => {
    const joined = ociSpec({
      ...base,
      container: { name: "dbg" },
      pidNamespacePath: "/proc/42/ns/pid",
      terminal: true,
    }) as { process: { terminal: boolean }; linux: { namespaces: unknown[] } };
    assert.deepEqual(joined.linux.namespaces[2], { type: "pid", path: "/proc/42/ns/pid" });
    assert.equal(joined.process.terminal, true);
    assert.equal((spec() as unknown as { process: { terminal: boolean } }).process.terminal, false);
  });
  test("mounts /proc, /dev, /dev/shm, /sys read-only, the pod's /etc files and the volumes", () => {
    const m = spec().mounts;
    const at = (d: string) => m.find((x) => x.destination === d);
    for (const d of [
      "/proc",
      "/dev",
      "/dev/shm",
      "/etc/hosts",
      "/etc/hostname",
      "/etc/resolv.conf",
    ])
      assert.ok(at(d), d);
    assert.ok(at("/sys")?.options?.includes("ro"));
    assert.ok(at("/data")?.options?.includes("ro"));
  });
  test("workingDir: the container's, else the image's; readOnlyRootFilesystem; no escalation", () => {
    assert.equal(spec().process.cwd, "/srv");
    assert.equal(spec({ workingDir: "/w" }).process.cwd, "/w");
    const s = spec({
      securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
    });
    assert.equal(s.root.readonly, true);
    assert.equal(s.process.noNewPrivileges, true);
  });
  test("privileged: no masked paths, /sys writable", () => {
    const s = spec({ securityContext: { privileged: true } });
    assert.equal(s.linux.maskedPaths, undefined);
    assert.ok(s.mounts.find((x) => x.destination === "/sys")?.options?.includes("rw"));
  });
});

describe("cgroupLayout reads /proc/self/mountinfo", () => {
  const v1 = "30 25 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory";
  const v2 = "31 25 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw";
  const pure = "31 25 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw";
  const cases: Array<[string, string, object]> = [
    [
      "hybrid: v1 and a v2 mount",
      `${v1}\n${v2}`,
      { cgroups: "hybrid", v2At: "/sys/fs/cgroup/unified" },
    ],
    ["v1 only", v1, { cgroups: "v1" }],
    ["v2 only", pure, { cgroups: "v2", v2At: "/sys/fs/cgroup" }],
    ["none", "", { cgroups: "none" }],
  ];
  for (const [name, text, want] of cases)
    test(name, () => assert.deepEqual(cgroupLayout(text), want));
});
