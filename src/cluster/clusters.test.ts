import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { clustersBaseDir, collectClusters, readClusterRecord } from "./clusters.ts";

const LIVE_PID = 4242;
const isAlive = (pid: number) => pid === LIVE_PID;

function runInfo(dir: string, info: Record<string, unknown>, pid: number): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "cluster.json"), JSON.stringify({ pid, ...info }));
  writeFileSync(join(dir, "loopkube.pid"), `${pid}\n`);
  writeFileSync(join(dir, "kubeconfig"), "apiVersion: v1\n");
}

describe("collectClusters", () => {
  let home: string;
  let env: NodeJS.ProcessEnv;
  before(() => {
    home = mkdtempSync(join(tmpdir(), "loopkube-clusters-"));
    env = { XDG_DATA_HOME: home };
    const base = clustersBaseDir(env);
    const common = {
      apiUrl: "https://127.0.0.1:6443",
      kubeconfigPath: "/k",
      dns: { host: "127.0.0.1", port: 53 },
      nodeAgent: true,
    };
    runInfo(join(base, "alpha"), { ...common, name: "alpha", podCidr: "127.244.0.0/16" }, LIVE_PID);
    runInfo(join(base, "crashed"), { ...common, name: "crashed", nodes: 3 }, 999_999);
    mkdirSync(join(base, "idle"), { recursive: true });
    writeFileSync(join(base, "idle", "state.db"), "");
    mkdirSync(join(base, "not-a-cluster"), { recursive: true });
    writeFileSync(join(base, "stray-file"), "");
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  test("finds every data dir under the base, sorted by name, with its state", () => {
    const records = collectClusters({ env, isAlive });
    assert.deepEqual(
      records.map((r) => [r.name, r.state, r.pid]),
      [
        ["alpha", "running", LIVE_PID],
        ["crashed", "stale", 999_999],
        ["idle", "stopped", null],
      ],
    );
  });

  const cases: Array<[string, Record<string, unknown>]> = [
    [
      "alpha",
      {
        apiUrl: "https://127.0.0.1:6443",
        dns: { host: "127.0.0.1", port: 53 },
        podCidr: "127.244.0.0/16",
        serviceCidr: null,
        nodes: null,
      },
    ],
    ["crashed", { apiUrl: "https://127.0.0.1:6443", nodes: 3, podCidr: null }],
    ["idle", { apiUrl: null, dns: null, kubeconfigPath: null, nodes: null, podCidr: null }],
  ];
  for (const [name, want] of cases) {
    test(`the record of "${name}" carries what its data dir says, null for the rest`, () => {
      const dir = join(clustersBaseDir(env), name);
      const r = readClusterRecord(dir, { isAlive });
      assert.ok(r);
      assert.equal(r.dataDir, dir);
      for (const [key, value] of Object.entries(want)) {
        assert.deepEqual(r[key as keyof typeof r], value, key);
      }
      assert.match(r.createdAt ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    });
  }

  test("every record has the same keys, whatever is known", () => {
    const keys = collectClusters({ env, isAlive }).map((r) => Object.keys(r).join(","));
    assert.equal(new Set(keys).size, 1);
  });

  test("merges running clusters registered elsewhere, by data dir, wherever it is", () => {
    const ephemeral = join(home, "tmp-cluster");
    mkdirSync(ephemeral, { recursive: true });
    writeFileSync(
      join(ephemeral, "kubeconfig"),
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: c",
        "  cluster:",
        "    server: https://127.0.0.1:7443",
        "contexts:",
        "- name: c",
        "  context:",
        "    cluster: c",
        "    user: u",
        "current-context: c",
        "users:",
        "- name: u",
        "  user: {}",
        "",
      ].join("\n"),
    );
    const base = clustersBaseDir(env);
    const registered = () => [
      // alpha's own record wins; the registry lends it the service range it lacks.
      { pid: LIVE_PID, name: "alpha", dataDir: join(base, "alpha"), serviceCidr: "127.96.0.0/16" },
      { pid: LIVE_PID, name: "eph", dataDir: ephemeral, podCidr: "127.1.0.0/16" },
      // A registration whose process is gone is no cluster.
      { pid: 999_998, name: "gone", dataDir: join(home, "gone") },
    ];
    const records = collectClusters({ env, isAlive, registered });
    assert.deepEqual(
      records.map((r) => [r.name, r.state, r.podCidr, r.serviceCidr, r.apiUrl]),
      [
        ["alpha", "running", "127.244.0.0/16", "127.96.0.0/16", "https://127.0.0.1:6443"],
        ["crashed", "stale", null, null, "https://127.0.0.1:6443"],
        ["eph", "running", "127.1.0.0/16", null, "https://127.0.0.1:7443"],
        ["idle", "stopped", null, null, null],
      ],
    );
  });

  test("a base folder that does not exist yet means no clusters", () => {
    assert.deepEqual(collectClusters({ env: { XDG_DATA_HOME: join(home, "nowhere") } }), []);
  });
});
