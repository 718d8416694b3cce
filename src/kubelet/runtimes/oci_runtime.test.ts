import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Pod } from "kubernetes-types/core/v1.js";
import { busyboxImage, NO_OCI } from "../../../test/_busybox.ts";
import { waitFor } from "../../_testing/index.ts";
import { EnvError } from "../env.ts";
import type { ContainerLog } from "../logfile.ts";
import { startOciContainer } from "./oci_container.ts";
import { detectOci } from "./oci_detect.ts";
import { OciRuntime } from "./oci_runtime.ts";
import type { PreparedImage } from "./oci_spec.ts";

/** A log that keeps its lines in memory. */
function memoryLog(): ContainerLog & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    append: (text: string) => {
      lines.push(text);
      return true;
    },
    drained: async () => {},
    close: async () => {},
  } as unknown as ContainerLog & { lines: string[] };
}

const pod: Pod = {
  metadata: { name: "p", namespace: "default", uid: "u" },
  spec: { containers: [] },
};
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test("startOciContainer names what to install when the runtime cannot run here", async () => {
  const unavailable =
    "no OCI runtime found: install crun (apt-get install crun) or runc to run image pods";
  await assert.rejects(
    startOciContainer(
      { unavailable, clusterDns: "127.96.0.10", clusterDomain: "cluster.local" },
      {
        pod,
        container: { name: "c", image: "x" },
        env: {},
        log: memoryLog(),
        volumes: new Map(),
        podDir: "/nonexistent",
        podIP: "127.244.0.2",
        onSkip: () => {},
      },
    ),
    (e: unknown) => e instanceof EnvError && e.message === unavailable,
  );
});

describe("OciRuntime", { skip: NO_OCI }, () => {
  let dir: string;
  let runtime: OciRuntime;
  let image: PreparedImage;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "loopkube-ociruntime-"));
    const support = await detectOci(join(dir, "scratch"));
    assert.ok(support.binary, support.reason);
    runtime = new OciRuntime({ ...support, binary: support.binary }, join(dir, "data"));
    image = busyboxImage(join(dir, "image"), "busybox:test");
  });
  after(() => {
    runtime?.removeCgroups();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = (args: string[]) => {
    const log = memoryLog();
    const handle = runtime.start({
      pod,
      container: { name: "c", image: image.ref },
      image,
      args,
      env: { GREETING: "hi" },
      log,
      hostname: "p",
      etc: {
        hosts: "/etc/hosts",
        hostname: "/etc/hostname",
        resolvConf: "/etc/resolv.conf",
      },
      volumes: [],
    });
    return { handle, log };
  };

  test("a container's output goes to its log and its exit code comes back; its bundle goes", async () => {
    const { handle, log } = start(["sh", "-c", 'echo "$GREETING from $(cat /IMAGE-ROOT)"; exit 3']);
    assert.deepEqual(await handle.exited, { exitCode: 3 });
    assert.match(log.lines.join(""), / stdout F hi from busybox:test\n/);
    assert.deepEqual(readdirSync(join(runtime.base, "containers")), []);
  });

  test("created resolves once the container exists, so an exec right after it runs", async () => {
    const { handle } = start(["sleep", "600"]);
    await runtime.created(handle.id, handle.exited);
    const [bin, ...prefix] = handle.enter(false);
    const r = spawnSync(bin ?? "", [...prefix, "cat", "/IMAGE-ROOT"], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "busybox:test\n");
    handle.kill("SIGKILL");
    assert.equal((await handle.exited).exitCode, 137);
  });

  test("kill SIGKILL stops a container that ignores SIGTERM (exit 137)", async () => {
    const { handle } = start(["sleep", "600"]);
    await waitFor(() => handle.pid !== undefined && readdirSync(runtime.stateRoot).length > 0, {
      what: "the container running",
    });
    handle.kill("SIGKILL");
    assert.equal((await handle.exited).exitCode, 137);
  });

  test("reconcile kills and deletes a container whose supervisor died, and removes its bundle", async () => {
    const { handle } = start(["sleep", "600"]);
    const pidFile = () => {
      try {
        return Number(
          readFileSync(
            join(runtime.base, "containers", handle.containerID.split("://")[1] ?? "", "pid"),
            "utf8",
          ),
        );
      } catch {
        return 0;
      }
    };
    const pid = await waitFor(() => pidFile() || undefined, { what: "the container's pid" });
    assert.equal(handle.pid, pid, "the handle's pid is the container's first process");
    assert.equal(readdirSync(runtime.stateRoot).length, 1);
    // As after a crash that took the start's processes but not the container (its own session):
    // crun run, the container's parent, is killed; the container runs on.
    const crunPid = Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ")[1]);
    process.kill(crunPid, "SIGKILL");
    await waitFor(() => !alive(crunPid), { what: "crun gone" });
    assert.ok(alive(pid), "the container outlived crun");
    // Its state and its bundle are left; the container holds the log pipes, so the start has
    // not ended either.
    assert.ok((await runtime.reconcile()) >= 1);
    await waitFor(() => !alive(pid), { what: "the container gone" });
    await handle.exited;
    assert.deepEqual(readdirSync(runtime.stateRoot), []);
    assert.deepEqual(readdirSync(join(runtime.base, "containers")), []);
  });
});
