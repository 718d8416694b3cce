/**
 * Image pods without root (issue 18, oci_rootless.ts), end to end: a root test starts `loopkube
 * up` as an unprivileged user (`runuser`; `$LOOPKUBE_ROOTLESS_USER`, default `nobody`) with the
 * default runtime (`auto`) and pod network (`auto`), a `docker-registry` on a free loopback port
 * holding a busybox `httpd` image pushed with skopeo; then, with the real kubectl:
 *
 * - `/readyz?verbose` and `loopkube status` say the oci runtime runs rootless, without limits;
 * - a Deployment of the image (two replicas, an http readiness probe and an exec liveness probe)
 *   becomes Ready and serves on port 80 through its ClusterIP, from another pod (the host's proxy
 *   cannot listen below 1024 without root); `kubectl port-forward` reaches it from the host;
 *   `kubectl exec ls /` lists the image's root, run as uid 0 of the user namespace;
 * - `kubectl logs` of a pod that runs a command of the image;
 * - a container asking for another uid waits in CreateContainerConfigError, saying why;
 * - deleting the Deployment leaves none of its processes; `kill -9` of loopkube leaves no process
 *   of its tree (each container's supervisor kills it on its parent's death), and the next start
 *   runs the pod again;
 * - with `--pod-network host`, a container's user namespace is its own (uid 0 → the user).
 *
 * Skips, naming why, when not run as root on Linux, when the user cannot make user namespaces or
 * run this checkout, or without crun, kubectl, docker-registry, skopeo or busybox-static.
 * Network safety: the registry and every address used are loopback ones; pod addresses are in
 * the user's own node namespace.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { get as httpGet } from "node:http";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  buildBusyboxLayout,
  imageToolsMissing,
  skopeoCopy,
  startRegistry,
  type TestRegistry,
  waitFor,
} from "../src/_testing/index.ts";
import { ROOT } from "./_cli.ts";
import { KUBECTL, run } from "./_kubectl.ts";
import { asUser, rootlessSkip, USER, upAsUser, userHome } from "./_rootless.ts";

const SKIP = rootlessSkip("images-rootless.test.ts", {
  needs: () => {
    if (spawnSync("sh", ["-c", "command -v crun"]).status !== 0) {
      return "crun is not installed (apt-get install crun)";
    }
    const missing = imageToolsMissing(["docker-registry", "skopeo"]);
    return missing.length > 0
      ? `needs ${missing.join(", ")} (apt-get install ${missing.join(" ")})`
      : undefined;
  },
  unshareFlags: ["-r", "-n", "-m"],
});

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    httpGet(url, { agent: false, timeout: 5000 }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => {
        body += d;
      });
      res.on("end", () => resolve(body));
    })
      .on("error", reject)
      .on("timeout", function (this: { destroy(e: Error): void }) {
        this.destroy(new Error("timeout"));
      });
  });
}

/** The pids of `pid`'s descendants (through /proc's children lists). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const walk = (p: number) => {
    let kids: number[] = [];
    try {
      kids = readdirSync(`/proc/${p}/task`).flatMap((t) =>
        readFileSync(`/proc/${p}/task/${t}/children`, "utf8")
          .split(/\s+/)
          .filter(Boolean)
          .map(Number),
      );
    } catch {
      return;
    }
    for (const k of kids) {
      out.push(k);
      walk(k);
    }
  };
  walk(pid);
  return out;
}

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return undefined;
  }
};
const alive = (pids: number[]) => pids.filter((p) => cmdline(p) !== undefined);

describe("image pods without root (loopkube up as an unprivileged user)", { skip: SKIP }, () => {
  let home = "";
  let registry: TestRegistry | undefined;
  let image = "";
  let up: ChildProcess | undefined;
  let out = "";
  let env: NodeJS.ProcessEnv = {};
  const kubectl = async (...args: string[]) => {
    const r = await run(KUBECTL as string, args, { env });
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  /** The pids of the processes running `pattern` under loopkube. */
  const running = (pattern: RegExp) =>
    descendants(up?.pid as number).filter((p) => pattern.test(cmdline(p) ?? ""));

  before(async () => {
    ({ home, env } = userHome("loopkube-images-rootless-"));
    registry = await startRegistry();
    const layout = await buildBusyboxLayout(join(home, "layout"), { tag: "1" });
    image = `${registry.host}/demo/httpd:1`;
    await skopeoCopy(`oci:${layout.dir}:1`, `docker://${image}`);
    await startUp();
  });

  /** Starts `loopkube up` as the user (again on the same data dir after the first time). */
  const startUp = async (extra: string[] = []) => {
    out = "";
    up = await upAsUser(env, [...extra, "--api-port", "0", "--dns-port", "0"], (d) => {
      out += d;
    });
  };

  after(async () => {
    if (up?.exitCode === null) up.kill("SIGKILL");
    await registry?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  test("/readyz?verbose and loopkube status say image pods run rootless, without limits", async () => {
    assert.doesNotMatch(out, /not their images/, out);
    assert.doesNotMatch(out, /pods share the host's network namespace/, out);
    const ready = await kubectl("get", "--raw", "/readyz?verbose");
    assert.match(
      ready,
      /\[\+\]oci-runtime ok: crun .*, rootless \(.*\), no cgroups: no resource limits/,
    );
    const status = spawnSync("runuser", asUser(env, ["status"]), { cwd: ROOT, encoding: "utf8" });
    assert.match(status.stdout, /images: +crun .*rootless/, status.stdout + status.stderr);
  });

  test("a Deployment of the image is Ready with http and exec probes, serves through its ClusterIP and port-forward; exec sees the image's root", async () => {
    const manifest = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: {
            terminationGracePeriodSeconds: 2,
            containers: [
              {
                name: "httpd",
                image,
                ports: [{ containerPort: 80 }],
                readinessProbe: { httpGet: { path: "/", port: 80 }, periodSeconds: 1 },
                livenessProbe: {
                  exec: { command: ["cat", "/www/index.html"] },
                  periodSeconds: 2,
                },
              },
            ],
          },
        },
      },
    };
    const applied = await run(KUBECTL as string, ["apply", "-f", "-"], {
      env,
      input: JSON.stringify(manifest),
    });
    assert.equal(applied.code, 0, applied.stderr);
    await kubectl("expose", "deployment", "web", "--port=80");
    type PodJson = {
      metadata: { name: string };
      status: {
        podIP?: string;
        conditions?: { type: string; status: string }[];
        containerStatuses?: { restartCount: number; containerID?: string }[];
      };
    };
    const pods = await waitFor(
      async () => {
        const r = await run(KUBECTL as string, ["get", "pods", "-l", "app=web", "-o", "json"], {
          env,
        });
        const items = (JSON.parse(r.stdout || "{}") as { items?: PodJson[] }).items ?? [];
        const ready = items.filter((p) =>
          p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
        );
        return ready.length === 2 ? ready : undefined;
      },
      { what: "two ready replicas of the image", timeoutMs: 120_000 },
    );
    for (const p of pods) {
      assert.match(p.status.containerStatuses?.[0]?.containerID ?? "", /^crun:\/\//);
    }
    const [first, second] = pods.map((p) => p.metadata.name) as [string, string];
    const clusterIP = (
      await kubectl("get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}")
    ).trim();

    // From a pod: the ClusterIP on port 80 and the other pod's IP.
    const viaService = await kubectl(
      "exec",
      first,
      "--",
      "wget",
      "-q",
      "-O",
      "-",
      `http://${clusterIP}/`,
    );
    assert.equal(viaService, "hello from 1\n");
    const viaPod = await kubectl(
      "exec",
      first,
      "--",
      "wget",
      "-q",
      "-O",
      "-",
      `http://${pods[1]?.status.podIP}/`,
    );
    assert.equal(viaPod, "hello from 1\n");

    // exec: the image's root, as uid 0 of the container's user namespace.
    const root = (await kubectl("exec", second, "--", "ls", "/")).trim().split(/\s+/);
    assert.ok(root.includes("www"), `the image's /www in ${root.join(" ")}`);
    assert.ok(!root.includes("work") && !root.includes("home"), "not the host's root");
    assert.equal((await kubectl("exec", second, "--", "id", "-u")).trim(), "0");

    // port-forward from the host into the pod's network namespace.
    const forward = spawn(KUBECTL as string, ["port-forward", `pod/${second}`, ":80"], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let forwarded = "";
    forward.stdout.on("data", (d: Buffer) => {
      forwarded += String(d);
    });
    try {
      const port = await waitFor(
        () => Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(forwarded)?.[1]) || undefined,
        { what: "kubectl port-forward listening" },
      );
      assert.equal(await get(`http://127.0.0.1:${port}/`), "hello from 1\n");
    } finally {
      forward.kill("SIGTERM");
    }

    // The exec liveness probe keeps passing: no restart.
    const restarts = await kubectl(
      "get",
      "pods",
      "-l",
      "app=web",
      "-o",
      "jsonpath={.items[*].status.containerStatuses[0].restartCount}",
    );
    assert.deepEqual(restarts.trim().split(" "), ["0", "0"]);
  });

  test("kubectl logs shows what a command of the image wrote", async () => {
    await kubectl(
      "run",
      "hello",
      `--image=${image}`,
      "--restart=Never",
      "--",
      "sh",
      "-c",
      "echo hello from $(hostname) as $(id -u); cat /www/index.html",
    );
    await waitFor(
      async () =>
        (await kubectl("get", "pod", "hello", "-o", "jsonpath={.status.phase}")) === "Succeeded"
          ? true
          : undefined,
      { what: "the hello pod Succeeded", timeoutMs: 60_000 },
    );
    assert.equal(await kubectl("logs", "hello"), "hello from hello as 0\nhello from 1\n");
  });

  test("a container that would run as another uid waits in CreateContainerConfigError saying why", async () => {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "as1000" },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{ name: "app", image, securityContext: { runAsUser: 1000 } }],
      },
    };
    const applied = await run(KUBECTL as string, ["apply", "-f", "-"], {
      env,
      input: JSON.stringify(pod),
    });
    assert.equal(applied.code, 0, applied.stderr);
    const waiting = await waitFor(
      async () => {
        const r = await kubectl(
          "get",
          "pod",
          "as1000",
          "-o",
          "jsonpath={.status.containerStatuses[0].state.waiting}",
        );
        const w = r ? (JSON.parse(r) as { reason?: string; message?: string }) : undefined;
        return w?.reason === "CreateContainerConfigError" ? w : undefined;
      },
      { what: "CreateContainerConfigError", timeoutMs: 60_000 },
    );
    assert.match(waiting.message ?? "", /as user 1000, but without root loopkube maps only uid/);
    await kubectl("delete", "pod", "as1000", "--wait=true");
  });

  test("deleting the Deployment leaves none of its processes; kill -9 of loopkube leaves none at all, and the next start runs the pod again", async () => {
    const servers = running(/httpd -f -p 80/);
    assert.equal(servers.length, 2, "two httpd processes under loopkube");
    await kubectl("delete", "deployment", "web", "--wait=true");
    await waitFor(
      async () =>
        (await kubectl("get", "pods", "-l", "app=web", "-o", "name")).trim() === ""
          ? true
          : undefined,
      { what: "the web pods gone", timeoutMs: 60_000 },
    );
    await waitFor(() => (alive(servers).length === 0 ? true : undefined), {
      what: "the web pods' processes gone",
    });

    await kubectl("run", "sleeper", `--image=${image}`, "--", "sleep", "3600");
    const sleeper = await waitFor(() => running(/^sleep 3600/)[0], {
      what: "the sleeper container running",
      timeoutMs: 60_000,
    });
    const tree = descendants(up?.pid as number);
    assert.ok(tree.includes(sleeper));
    const main = tree.find((p) => /src\/cli\/main\.ts up/.test(cmdline(p) ?? ""));
    assert.ok(main, "the loopkube process");
    const exited = new Promise((r) => up?.once("exit", r));
    process.kill(main, "SIGKILL");
    await exited;
    await waitFor(() => (alive(tree).length === 0 ? true : undefined), {
      what: "every process of the cluster gone after kill -9",
      timeoutMs: 30_000,
    }).catch(() => {
      assert.deepEqual(
        alive(tree).map((p) => `${p} ${cmdline(p)}`),
        [],
        "processes left after kill -9",
      );
    });

    // The next start on the same data dir clears what the killed run left (crun's state, the
    // bundle) and runs the pod again; Ctrl-C then leaves nothing.
    await startUp();
    assert.match(out, /removed \d+ containers or bundles left by an earlier run/, out);
    const again = await waitFor(() => running(/^sleep 3600/)[0], {
      what: "the sleeper running again",
      timeoutMs: 60_000,
    });
    assert.notEqual(again, sleeper);
    assert.equal(
      (await kubectl("exec", "sleeper", "--", "cat", "/www/index.html")).trim(),
      "hello from 1",
    );
    const last = descendants(up?.pid as number);
    const stopped = new Promise((r) => up?.once("exit", r));
    const second = last.find((p) => /src\/cli\/main\.ts up/.test(cmdline(p) ?? ""));
    process.kill(second as number, "SIGINT");
    await stopped;
    assert.deepEqual(alive(last), [], "processes left after Ctrl-C");
  });

  test("without a rootless pod network (--pod-network host), each container gets a user namespace of its own", async () => {
    await startUp(["--pod-network", "host"]);
    const port = await freePort();
    await kubectl(
      "run",
      "hostnet",
      `--image=${image}`,
      "--",
      "httpd",
      "-f",
      "-p",
      `127.0.0.1:${port}`,
      "-h",
      "/www",
    );
    const body = await waitFor(() => get(`http://127.0.0.1:${port}/`).catch(() => undefined), {
      what: "the pod serving on the host's loopback",
      timeoutMs: 60_000,
    });
    assert.equal(body, "hello from 1\n");
    const root = (await kubectl("exec", "hostnet", "--", "ls", "/")).trim().split(/\s+/);
    assert.ok(root.includes("www"), `the image's /www in ${root.join(" ")}`);
    // uid 0 inside is the user outside: one mapping, made by `unshare --map-root-user`.
    const uid = Number(spawnSync("id", ["-u", USER]).stdout.toString().trim());
    const map = (await kubectl("exec", "hostnet", "--", "cat", "/proc/self/uid_map")).trim();
    assert.deepEqual(map.split(/\s+/), ["0", String(uid), "1"]);
    const last = descendants(up?.pid as number);
    const stopped = new Promise((r) => up?.once("exit", r));
    const main = last.find((p) => /src\/cli\/main\.ts up/.test(cmdline(p) ?? ""));
    process.kill(main as number, "SIGINT");
    await stopped;
    assert.deepEqual(alive(last), [], "processes left after Ctrl-C");
  });
});

/** A loopback port free now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
