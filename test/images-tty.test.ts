/**
 * Issue 18's debugging habits with image pods (oci runtime), with the real kubectl on a real
 * terminal (util-linux `script`, driven expect-style by test/_tty.ts): a busybox-static image
 * pushed with skopeo to a `docker-registry` on a free loopback port, a cluster whose pods run
 * their images.
 *
 * - `kubectl run -it --rm t --image=… -- sh`: an interactive shell on /dev/pts/N, the terminal's
 *   size from kubectl's (the resize channel), a command's answer, and the pod deleted at the end;
 * - `kubectl attach -it` to a `tty: true` pod, and `kubectl logs` of what its terminal showed;
 * - `kubectl debug -it pod --image=… --target=app`: an ephemeral container in the target's PID
 *   namespace (it sees the target's processes) and the pod's network;
 * - `nslookup kubernetes.default` from inside a busybox pod, answered as kube's "Debugging DNS
 *   Resolution" page shows.
 *
 * Needs root, crun (or runc), docker-registry, skopeo, busybox-static and `script`; skips visibly
 * else.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { waitFor } from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import { resizeTerminal } from "../src/kubelet/streaming/tty.ts";
import { imageCluster, imagesSkip } from "./_images.ts";
import { NO_SCRIPT, ttySession } from "./_tty.ts";

const SKIP = imagesSkip("images-tty.test.ts", ["docker-registry", "skopeo"], [NO_SCRIPT]);

describe("interactive debugging of image pods (oci runtime)", { skip: SKIP }, () => {
  const f = imageCluster("images-tty", {
    images: { "busybox:1": { tag: "1", cmd: ["sh"] } },
    cluster: { runtime: "oci" },
  });
  const { ok, kubectlArgv } = f;
  const pod = f.pod;
  const image = () => f.ref("busybox:1");
  const running = (name: string) =>
    waitFor(async () => ((await pod(name)).status?.phase === "Running" ? true : undefined), {
      what: `${name} Running`,
      retryErrors: true,
      timeoutMs: 60_000,
    });

  test("kubectl run -it --rm gives a shell on a tty, sized as kubectl's terminal, and deletes the pod", async () => {
    const t = ttySession(
      kubectlArgv(["run", "-it", "--rm", "t", `--image=${image()}`, "--restart=Never", "--", "sh"]),
    );
    // kubectl attaches once the container runs; a prompt printed before that is not shown (kubectl
    // says so), so Enter asks for a new one.
    await t.expect(/If you don't see a command prompt, try pressing enter\./);
    t.send("\n");
    await t.expect(/\/ # /);
    t.send("tty; stty size; echo round-$((40+2))\n");
    const pts = await t.expect(/^(\/dev\/pts\/\d+)\r$/m);
    assert.match(pts[1] ?? "", /^\/dev\/pts\/\d+$/);
    await t.expect(/^33 91\r$/m);
    await t.expect(/^round-42\r$/m);
    t.send("exit\n");
    assert.equal(await t.done(), 0, t.output);
    assert.match(t.output, /pod "t" deleted/);
    await waitFor(async () => ((await pod("t").catch(() => undefined)) ? undefined : true), {
      what: "pod t gone",
    });
  });

  test("kubectl attach -it talks to a tty: true container; kubectl logs shows its terminal's output", async () => {
    await ok(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "shell" },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: "app", image: image(), stdin: true, tty: true, command: ["sh"] }],
        },
      }),
    );
    await running("shell");
    const t = ttySession(kubectlArgv(["attach", "-it", "shell"]), { cols: 120, rows: 40 });
    await t.expect(/If you don't see a command prompt, try pressing enter\./);
    t.send("\n");
    await t.expect(/\/ # /);
    t.send("stty size; echo attached-$((6*7))\n");
    await t.expect(/^40 120\r$/m);
    await t.expect(/^attached-42\r$/m);
    // The user's window changes: kubectl gets SIGWINCH and sends the new size on channel 4.
    resizeTerminal(t.pid, 100, 30);
    await waitFor(
      async () => {
        t.send("stty size\n");
        return (await t.expect(/^(\d+ \d+)\r$/m, 5000))[1] === "30 100" ? true : undefined;
      },
      { what: "the container's terminal resized to 30×100" },
    );
    // Leave without ending the shell (kubectl has no detach keys: its terminal goes away); the
    // container runs on, in the same run.
    await t.done(1000);
    assert.equal((await pod("shell")).status?.containerStatuses?.[0]?.restartCount, 0);
    const logs = await ok(["logs", "shell"]);
    assert.match(logs, /attached-42\r?\n/);
  });

  test("kubectl exec -it runs a shell on the container's terminal, resized as kubectl's", async () => {
    const t = ttySession(kubectlArgv(["exec", "-it", "shell", "--", "sh"]), { cols: 81, rows: 21 });
    await t.expect(/\/ # /);
    t.send("tty; stty size\n");
    await t.expect(/^\/dev\/pts\/\d+\r$/m);
    await t.expect(/^21 81\r$/m);
    resizeTerminal(t.pid, 101, 31);
    await waitFor(
      async () => {
        t.send("stty size\n");
        return (await t.expect(/^(\d+ \d+)\r$/m, 5000))[1] === "31 101" ? true : undefined;
      },
      { what: "the exec's terminal resized to 31×101" },
    );
    t.send("exit\n");
    assert.equal(await t.done(), 0, t.output);
  });

  test("kubectl debug -it --target runs an ephemeral container in the target's PID namespace", async () => {
    await ok(["run", "app", `--image=${image()}`, "--restart=Never", "--", "sleep", "3600"]);
    await running("app");
    const t = ttySession(
      kubectlArgv([
        "debug",
        "-it",
        "app",
        `--image=${image()}`,
        "--target=app",
        "-c",
        "dbg",
        "--",
        "sh",
      ]),
    );
    await t.expect(/Targeting container "app"/);
    await t.expect(/If you don't see a command prompt, try pressing enter\./);
    t.send("\n");
    await t.expect(/\/ # /);
    // The target's `sleep 3600` is pid 1 of the namespace the debug shell joined.
    t.send("tty; ps -o pid,args | grep -v grep | grep 'sleep 3600'; hostname\n");
    await t.expect(/^\/dev\/pts\/\d+\r$/m);
    await t.expect(/^\s*1 sleep 3600\r$/m);
    await t.expect(/^app\r$/m);
    t.send("exit\n");
    await t.done();
    const s = await waitFor(
      async () =>
        (await pod("app")).status?.ephemeralContainerStatuses?.find(
          (x) => x.name === "dbg" && x.state?.terminated,
        ),
      { what: "dbg terminated" },
    );
    assert.equal(s.state?.terminated?.exitCode, 0);
  });

  test("nslookup in a busybox pod answers as kube's DNS debugging page shows", async () => {
    const svc = await f.cluster.client.get(REFS.services, "default", "kubernetes");
    const dns = await f.cluster.client.get(REFS.services, "kube-system", "kube-dns");
    const apiIP = (svc as { spec?: { clusterIP?: string } }).spec?.clusterIP ?? "";
    const dnsIP = (dns as { spec?: { clusterIP?: string } }).spec?.clusterIP ?? "";
    const dots = (ip: string) => ip.replace(/\./g, "\\.");
    await ok(["run", "dns", `--image=${image()}`, "--restart=Never", "--", "sleep", "3600"]);
    await running("dns");
    const exec = (args: string[]) => f.kubectl(["exec", "dns", "--", ...args]);
    const resolv = await ok(["exec", "dns", "--", "cat", "/etc/resolv.conf"]);
    assert.equal(
      resolv,
      `nameserver ${dnsIP}\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n`,
    );
    const answer = (out: string) => {
      assert.match(out, new RegExp(`^Server:\\s+${dots(dnsIP)}$`, "m"), out);
      assert.match(out, /^Name:\s+kubernetes\.default\.svc\.cluster\.local$/m, out);
      assert.match(out, new RegExp(`^Address:\\s+${dots(apiIP)}$`, "m"), out);
    };
    answer((await exec(["nslookup", "kubernetes.default.svc.cluster.local"])).stdout);
    // A name without a dot goes through the search list (busybox asks each domain and exits 1 for
    // those that have no such name, on any cluster).
    answer((await exec(["nslookup", "kubernetes"])).stdout);
    // busybox 1.29 and later never apply the search list to a name with a dot (its
    // add_query_with_search): `kubernetes.default` is asked as is, and every cluster's DNS
    // answers NXDOMAIN, as CoreDNS does (kube's page uses a dnsutils image for this reason).
    const dotted = await exec(["nslookup", "kubernetes.default"]);
    assert.match(dotted.stdout, /can't find kubernetes\.default: NXDOMAIN/, dotted.stdout);
  });
});
