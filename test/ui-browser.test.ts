/**
 * The web view in a real browser (issue #19's acceptance), with the quickstart applied: the page
 * shows `my-headless-service` with its ready pods and DNS names; `kubectl scale` to 4 replicas
 * brings a fourth endpoint; a readiness failure (the pod's process stopped, so its probe times
 * out) greys one out and "Ask the DNS" then answers one address fewer; 200 requests through
 * `my-service` show a spread over the pods in the traffic chart. Screenshots of each state go to
 * test-artifacts/ui/ (ignored by git).
 */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { waitFor } from "../src/_testing/index.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { type Browser, launchBrowser, NO_BROWSER } from "./_browser.ts";
import { KUBECTL, NO_KUBECTL, run } from "./_kubectl.ts";

const ROOT = join(import.meta.dirname, "..");
const ARTIFACTS = join(ROOT, "test-artifacts", "ui");

/**
 * The pid of a quickstart pod's server process: `node …server.js` whose environment names the
 * pod (the shell that supervises it has the same environment).
 */
function pidOfPod(pod: string): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, "latin1").split("\0");
      if (
        env.includes(`POD_NAME=${pod}`) &&
        /^node\0.*server\.js/.test(readFileSync(`/proc/${entry}/cmdline`, "latin1"))
      )
        return Number(entry);
    } catch {
      // gone, or not ours to read
    }
  }
  return undefined;
}

function get(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: "/", agent: false }, (res) => {
      let body = "";
      res.on("data", (d) => {
        body += String(d);
      });
      res.on("end", () => resolve(body));
    });
    req.on("error", reject);
    req.end();
  });
}

const endpointRows = (page: Page, ready?: boolean) =>
  page.locator(
    ready === undefined ? "#endpoints tr.endpoint" : `#endpoints tr[data-ready=${ready}]`,
  );

describe("the web view in a browser, with the quickstart applied", {
  skip: NO_BROWSER || NO_KUBECTL,
}, () => {
  let c: Cluster;
  let browser: Browser;
  let page: Page;
  let stopped: number | undefined;
  const kubectl = (...args: string[]) =>
    run(KUBECTL ?? "kubectl", ["--kubeconfig", c.kubeconfigPath, ...args]);

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    c = await startCluster({
      runtime: "process",
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      ui: { port: 0 },
    });
    const applied = await c.apply(join(ROOT, "examples", "quickstart"));
    await c.waitReady(applied, { timeoutMs: 60_000 });
    browser = await launchBrowser();
    page = await browser.context.newPage();
  });
  after(async () => {
    if (stopped !== undefined) {
      try {
        process.kill(stopped, "SIGCONT");
      } catch {}
    }
    await browser?.close();
    await c?.stop();
  });

  test("the page shows my-headless-service with three ready pods and their DNS names", async () => {
    assert.ok(c.uiUrl, "the cluster serves the web view");
    // Without the token: refused.
    const bare = new URL(c.uiUrl);
    bare.search = "";
    const refused = await page.goto(bare.href);
    assert.equal(refused?.status(), 401);
    await page.goto(c.uiUrl);
    await page.locator('#list [data-key="default/my-headless-service"]').click();
    await page.locator("#title", { hasText: "my-headless-service" }).waitFor();
    await waitFor(async () => (await endpointRows(page, true).count()) === 3, {
      what: "three ready endpoints on the page",
      timeoutMs: 10_000,
    });
    const names = await page
      .locator("#dns-names tr[data-name]")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-name")));
    assert.ok(names.includes("my-headless-service.default.svc.cluster.local"), String(names));
    assert.ok(
      names.includes("_http._tcp.my-headless-service.default.svc.cluster.local") ||
        names.length >= 4,
      String(names),
    );
    // One name per ready pod (their dashed IPs), as the DNS answers them.
    const ips = await endpointRows(page, true).evaluateAll((rows) =>
      rows.map((r) => r.getAttribute("data-ip")),
    );
    for (const ip of ips)
      assert.ok(
        names.includes(`${ip?.replaceAll(".", "-")}.my-headless-service.default.svc.cluster.local`),
        `${ip} in ${names}`,
      );
    await page.screenshot({ path: join(ARTIFACTS, "1-headless-three-pods.png"), fullPage: true });
  });

  test("kubectl scale deploy/my-app --replicas=4 brings a fourth endpoint to the page", async () => {
    const t0 = Date.now();
    const r = await kubectl("scale", "deploy/my-app", "--replicas=4");
    assert.equal(r.code, 0, r.stderr);
    await waitFor(async () => (await endpointRows(page, true).count()) === 4, {
      what: "a fourth ready endpoint on the page",
      timeoutMs: 60_000,
    });
    console.log(`# fourth endpoint ready on the page ${Date.now() - t0} ms after kubectl scale`);
    await page.screenshot({ path: join(ARTIFACTS, "2-scaled-to-four.png"), fullPage: true });
  });

  test("a readiness failure greys one endpoint out, and the DNS box answers one address fewer", async () => {
    const first = await endpointRows(page, true).first().locator("td").first().textContent();
    assert.ok(first, "a pod behind the first endpoint");
    const pid = pidOfPod(first);
    assert.ok(pid, `the process of ${first}`);
    process.kill(pid, "SIGSTOP"); // its readiness probe now times out
    stopped = pid;
    await waitFor(
      async () =>
        (await endpointRows(page, false).count()) === 1 &&
        (await endpointRows(page, true).count()) === 3,
      { what: "one endpoint greyed out", timeoutMs: 30_000 },
    );
    assert.equal(
      await page.locator(`#endpoints tr[data-ready=false] td`).first().textContent(),
      first,
    );
    await page.locator("#dig-name").fill("my-headless-service.default.svc.cluster.local");
    await page.locator("#dig-type").selectOption("A");
    await page.locator("#dig button[type=submit]").click();
    await page.locator("#dig-out[data-answers]").waitFor();
    const text = (await page.locator("#dig-out").textContent()) ?? "";
    assert.match(text, /status: NOERROR/);
    assert.match(text, /flags: qr aa rd/);
    const answers = text.split("\n").filter((l) => /\tIN\tA\t/.test(l));
    assert.equal(answers.length, 3, text);
    assert.match(
      answers[0]!,
      /^my-headless-service\.default\.svc\.cluster\.local\.\s+\d+\s+IN\s+A\s+127\./,
    );
    // The query shows up in the live log.
    await page
      .locator('#log tr[data-name="my-headless-service.default.svc.cluster.local"]')
      .first()
      .waitFor({ timeout: 10_000 });
    await page.screenshot({ path: join(ARTIFACTS, "3-one-unready-dns.png"), fullPage: true });
    process.kill(pid, "SIGCONT");
    stopped = undefined;
  });

  test("200 requests through my-service show a spread over the pods in the traffic chart", async () => {
    const svc = await c.client.get(
      { group: "", version: "v1", resource: "services" },
      "default",
      "my-service",
    );
    const ip = (svc.spec as { clusterIP: string }).clusterIP;
    await waitFor(async () => (await endpointRows(page, true).count()) === 4, {
      what: "all four ready again",
      timeoutMs: 30_000,
    });
    for (let i = 0; i < 200; i++) await get(ip, 80);
    await page.locator('#list [data-key="default/my-service"]').click();
    await page.locator("#title", { hasText: "my-service" }).waitFor();
    const counts = await waitFor(
      async () => {
        const n = await page
          .locator("#traffic .bar")
          .evaluateAll((bars) => bars.map((b) => Number(b.getAttribute("data-count"))));
        return n.reduce((a, b) => a + b, 0) >= 200 ? n : undefined;
      },
      { what: "200 connections in the traffic chart", timeoutMs: 15_000 },
    );
    assert.ok(counts.length >= 2, `spread over several pods: ${counts}`);
    await page.screenshot({ path: join(ARTIFACTS, "4-traffic-spread.png"), fullPage: true });
  });
});
