/**
 * Starts a real API server for a test: memory store (or, with `sqlite`, a SQLite store in the
 * temporary directory), fresh PKI in a temporary directory, any free port, and a kubeconfig for
 * kubectl. `kubectl(args)` runs the real kubectl against it with its
 * own discovery cache, so tests never share state.
 *
 * @module
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ApiServer, startApiServer } from "../src/apiserver/index.ts";
import { buildKubeconfig } from "../src/apiserver/kubeconfig.ts";
import { ensurePki, type Pki } from "../src/apiserver/pki.ts";
import { openStore } from "../src/store/index.ts";
import { KUBECTL, type RunResult, run } from "./_kubectl.ts";

export interface TestApiServer {
  server: ApiServer;
  pki: Pki;
  dir: string;
  kubeconfigPath: string;
  kubeconfig: string;
  kubectl(
    args: string[],
    options?: { bin?: string; input?: string; timeoutMs?: number },
  ): Promise<RunResult>;
  stop(): Promise<void>;
}

export async function startTestApiServer(
  options: {
    watchBookmarkMs?: number;
    eventWindow?: number;
    maxBacklog?: number;
    maxInFlight?: { readOnly: number; mutating: number };
    /** Body worker threads (0: every body parsed on the event loop). */
    bodyWorkers?: number;
    sqlite?: { quotaBytes?: number };
    /** How often service-backed APIServices are checked again. */
    apiServiceCheckMs?: number;
  } = {},
): Promise<TestApiServer> {
  const dir = mkdtempSync(join(tmpdir(), "loopkube-test-"));
  const pki = await ensurePki(join(dir, "pki"), {
    clusterName: "test",
    hosts: ["localhost", "127.0.0.1"],
  });
  // Frozen, as in the cluster under `npm test`: code that mutates a shared object fails here.
  const store = openStore(
    options.sqlite
      ? { backend: "sqlite", path: join(dir, "state.db"), ...options.sqlite }
      : { backend: "memory" },
    {
      freeze: true,
      ...(options.eventWindow ? { windowSize: options.eventWindow } : {}),
      ...(options.maxBacklog ? { maxBacklog: options.maxBacklog } : {}),
    },
  );
  const server = await startApiServer({
    store,
    port: 0,
    tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert },
    tokens: [pki.token],
    frontProxy: {
      caCert: pki.frontProxyCaCert,
      clientCert: pki.frontProxyClientCert,
      clientKey: pki.frontProxyClientKey,
    },
    ...(options.apiServiceCheckMs ? { apiServiceCheckMs: options.apiServiceCheckMs } : {}),
    ...(options.maxInFlight ? { maxInFlight: options.maxInFlight } : {}),
    ...(options.bodyWorkers !== undefined ? { bodyWorkers: options.bodyWorkers } : {}),
    ...(options.watchBookmarkMs
      ? { watchTuning: { bookmarkIntervalMs: options.watchBookmarkMs } }
      : {}),
  });
  const kubeconfig = buildKubeconfig({
    name: "test",
    server: server.url,
    caCert: pki.caCert,
    clientCert: pki.adminCert,
    clientKey: pki.adminKey,
  });
  const kubeconfigPath = join(dir, "kubeconfig");
  writeFileSync(kubeconfigPath, kubeconfig, { mode: 0o600 });
  const cacheDir = join(dir, "kube-cache");
  return {
    server,
    pki,
    dir,
    kubeconfigPath,
    kubeconfig,
    kubectl: (args, o = {}) => {
      const bin = o.bin ?? KUBECTL;
      if (!bin) throw new Error("kubectl is not installed");
      return run(bin, ["--kubeconfig", kubeconfigPath, "--cache-dir", cacheDir, ...args], {
        env: { ...process.env, KUBECONFIG: kubeconfigPath, HOME: dir },
        ...(o.input !== undefined ? { input: o.input } : {}),
        ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
      });
    },
    stop: async () => {
      await server.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * kubectl against the server `api()` returns (a getter: tests start it in `before()`): `kubectl`
 * gives the result with `out` (stdout and stderr together), `ok` also asserts it exited 0.
 */
export function kubectlFor(api: () => TestApiServer) {
  const kubectl = async (args: string[], input?: string) => {
    const r = await api().kubectl(args, input === undefined ? {} : { input });
    return { ...r, out: r.stdout + r.stderr };
  };
  const ok = async (args: string[], input?: string) => {
    const r = await kubectl(args, input);
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.out}`);
    return r;
  };
  return { kubectl, ok };
}
