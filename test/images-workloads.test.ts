/**
 * Issue 18's acceptance for workloads that run images, with the real kubectl against one cluster
 * (runtime `auto`, so `oci` as root) and one `docker-registry` on a free loopback port holding
 * busybox images pushed with skopeo:
 *
 * - a Deployment of two `httpd` replicas behind a headless Service: from inside a pod, the
 *   Service's name resolves through the cluster DNS to both pod IPs and each one answers;
 * - the StatefulSet pattern of kube's "StatefulSet Basics" tutorial with an image: `web-0` and
 *   `web-1` get their hostname written into their volume (a PVC from volumeClaimTemplates) at
 *   `/usr/share/nginx/html`, serve it, still serve it after their pods are deleted and made
 *   again, and answer as `web-N.nginx.default.svc.cluster.local` from inside a pod;
 * - `kubectl set image deployment/web app=…:2` rolls to tag 2: the new pods serve tag 2's page,
 *   their imageID is tag 2's digest, the old ReplicaSet is scaled to 0.
 *
 * Needs root, crun (or runc), docker-registry, skopeo and busybox-static; skips visibly else.
 * Network safety: `ip route get` shows where each address goes before anything is sent to it.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { ReplicaSet } from "kubernetes-types/apps/v1.js";
import { waitFor } from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import { routeDevice } from "../src/kubelet/index.ts";
import { imageCluster, imagesSkip, nginxStatefulSet, serves } from "./_images.ts";

const SKIP = imagesSkip("images-workloads.test.ts");

/** The addresses busybox's nslookup printed for the name asked (the server's own line is apart). */
function addressesOf(out: string): string[] {
  const answers = out
    .split(/^Name:/m)
    .slice(1)
    .join("\n");
  return [...answers.matchAll(/^Address(?: \d+)?:\s+(\S+)$/gm)].map((m) => m[1] ?? "").sort();
}

describe("workloads run their images: headless Service, StatefulSet volumes, set image", {
  skip: SKIP,
  // The Deployment's steps (in order) and the StatefulSet's run side by side.
  concurrency: true,
}, () => {
  const f = imageCluster("images-workloads", {
    images: {
      "httpd:1": { tag: "1" },
      "httpd:2": { tag: "2" },
      // An "nginx" whose server serves /usr/share/nginx/html, as the tutorial's image does.
      "nginx:1": { tag: "1", cmd: ["httpd", "-f", "-p", "80", "-h", "/usr/share/nginx/html"] },
    },
  });
  const { ok, kubectl, podsOf, readyPods, ref } = f;
  /** nslookup from inside the client pod (busybox exits 1 for search domains without the name). */
  const lookup = async (name: string) =>
    addressesOf((await kubectl(["exec", "client", "--", "nslookup", name])).stdout);
  /** A page fetched from inside the client pod. */
  const fetchFromClient = (url: string) =>
    ok(["exec", "client", "--", "wget", "-q", "-O", "-", url]);

  before(async () => {
    // The pod the tests look from (`sleep` as pid 1 ignores SIGTERM: a short grace period).
    await ok(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "client", labels: { run: "client" } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: "client", image: ref("httpd:1"), command: ["sleep", "3600"] }],
        },
      }),
    );
    await readyPods("run=client", 1);
  });

  describe("a Deployment of the image, then its rollout", { concurrency: 1 }, () => {
    test("both replicas of a Deployment answer by the headless Service's name from inside a pod", async () => {
      await ok(
        ["apply", "-f", "-"],
        JSON.stringify({
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name: "web", labels: { app: "web" } },
          spec: {
            replicas: 2,
            selector: { matchLabels: { app: "web" } },
            template: {
              metadata: { labels: { app: "web" } },
              spec: {
                terminationGracePeriodSeconds: 1,
                containers: [
                  { name: "app", image: ref("httpd:1"), ports: [{ containerPort: 80 }] },
                ],
              },
            },
          },
        }),
      );
      await ok(["create", "service", "clusterip", "web", "--clusterip=None", "--tcp=80:80"]);
      const pods = await readyPods("app=web", 2);
      const ips = pods.map((p) => p.status?.podIP ?? "").sort();
      await waitFor(
        async () => {
          const found = await lookup("web.default.svc.cluster.local");
          return found.join() === ips.join() || undefined;
        },
        { what: `web.default.svc.cluster.local → ${ips.join(", ")}` },
      );
      // The short name, through the pod's search list.
      assert.deepEqual(await lookup("web"), ips);
      for (const ip of ips) {
        assert.match(await routeDevice(ip), /^lk/);
        assert.equal(await fetchFromClient(`http://${ip}/`), "hello from 1\n");
      }
      assert.equal(
        await fetchFromClient("http://web.default.svc.cluster.local/"),
        "hello from 1\n",
      );
    });

    test("kubectl set image rolls the Deployment to tag 2", async () => {
      const before = await podsOf("app=web");
      await ok(["set", "image", "deployment/web", `app=${ref("httpd:2")}`]);
      await ok(["rollout", "status", "deployment/web", "--timeout=90s"]);
      const digest2 = f.layouts["httpd:2"]?.manifestDigest ?? "";
      const pods = await readyPods(
        "app=web",
        2,
        (p) => p.status?.containerStatuses?.[0]?.image === ref("httpd:2"),
      );
      const old = new Set(before.map((p) => p.metadata?.name));
      for (const p of pods) {
        assert.ok(!old.has(p.metadata?.name), `${p.metadata?.name} is a new pod`);
        assert.equal(
          p.status?.containerStatuses?.[0]?.imageID,
          `${f.registry.host}/demo/httpd@${digest2}`,
        );
        await serves(p.status?.podIP ?? "", "hello from 2\n");
      }
      const sets = (
        await f.cluster.client.list(REFS.replicasets, "default", { labelSelector: "app=web" })
      ).items as ReplicaSet[];
      assert.equal(sets.length, 2, "the old and the new ReplicaSet");
      const image = (rs: ReplicaSet) => rs.spec?.template?.spec?.containers?.[0]?.image;
      const oldSet = sets.find((rs) => image(rs) === ref("httpd:1"));
      const newSet = sets.find((rs) => image(rs) === ref("httpd:2"));
      assert.equal(oldSet?.spec?.replicas, 0, "the old ReplicaSet is scaled to 0");
      assert.equal(newSet?.spec?.replicas, 2);
      const table = await ok(["get", "rs", "-l", "app=web", "--no-headers"]);
      assert.match(table, /^web-\S+\s+0\s+0\s+0\s/m, table);
      // The headless name follows: it now resolves to the new pods only.
      const ips = pods.map((p) => p.status?.podIP ?? "").sort();
      await waitFor(
        async () =>
          (await lookup("web.default.svc.cluster.local")).join() === ips.join() || undefined,
        { what: `web.default.svc.cluster.local → the new pods ${ips.join(", ")}` },
      );
    });
  });

  test("a StatefulSet's pods keep what they wrote in their volumes across pod deletion", async () => {
    await ok(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [
          {
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: "nginx", labels: { app: "nginx" } },
            spec: {
              clusterIP: "None",
              selector: { app: "nginx" },
              ports: [{ name: "web", port: 80 }],
            },
          },
          nginxStatefulSet(ref("nginx:1"), 2),
        ],
      }),
    );
    const first = await readyPods("app=nginx", 2);
    assert.deepEqual(first.map((p) => p.metadata?.name).sort(), ["web-0", "web-1"]);
    const pvcs = await ok(["get", "pvc", "-o", "name"]);
    assert.match(pvcs, /persistentvolumeclaim\/www-web-0/);
    assert.match(pvcs, /persistentvolumeclaim\/www-web-1/);
    // As the tutorial does: each pod writes its hostname into its own volume.
    for (const i of [0, 1]) {
      await ok([
        "exec",
        `web-${i}`,
        "--",
        "sh",
        "-c",
        'echo "$(hostname)" > /usr/share/nginx/html/index.html',
      ]);
    }
    for (const p of first) await serves(p.status?.podIP ?? "", `${p.metadata?.name}\n`);

    await ok(["delete", "pod", "-l", "app=nginx", "--wait=true"]);
    const uids = new Set(first.map((p) => p.metadata?.uid));
    const again = await readyPods("app=nginx", 2, (p) => !uids.has(p.metadata?.uid));
    for (const p of again) await serves(p.status?.podIP ?? "", `${p.metadata?.name}\n`);
    for (const p of again) {
      const name = p.metadata?.name ?? "";
      const fqdn = `${name}.nginx.default.svc.cluster.local`;
      const ip = p.status?.podIP ?? "";
      await waitFor(async () => (await lookup(fqdn)).join() === ip || undefined, {
        what: `${fqdn} → ${ip}`,
      });
      assert.equal(await fetchFromClient(`http://${fqdn}/`), `${name}\n`);
      // The pod's own view of its name, as the kubelet writes it for a pod with a subdomain.
      assert.equal(await ok(["exec", name, "--", "hostname"]), `${name}\n`);
      const hosts = await ok(["exec", name, "--", "cat", "/etc/hosts"]);
      assert.ok(hosts.split("\n").includes(`${ip}\t${fqdn}\t${name}`), hosts);
    }
  });
});
