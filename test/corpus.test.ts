/**
 * Real manifests written by others (`../shared/corpus`, beside the repository: Kubernetes'
 * examples, Online Boutique, Argo CD's install bundle, cert-manager's CRDs) are accepted as a
 * stock Kubernetes 1.32 API server accepts them, applied one object at a time with the real
 * `kubectl apply -f`, as a user applies them.
 *
 * Counted: every object whose apiVersion a stock 1.32 API server serves (the generated OpenAPI's
 * group-versions), and custom resources whose CRD is in the corpus. CRDs go first, then the
 * namespaces are created: each file goes to a namespace of its own unless its objects name one,
 * as the same application often comes in several files (Online Boutique's release bundle and its
 * per-service files), which would otherwise update each other. Client-side apply, except for an
 * object too large for its last-applied annotation (256 KiB), which users must apply with
 * `--server-side` on any cluster (Argo CD's documentation says so for its CRDs).
 *
 * Kinds loopkube does not serve yet are listed in {@link NOT_YET_SERVED}: their objects must fail
 * with kubectl's `no matches for kind` (as on a cluster without that API), and an object of a
 * listed kind that is accepted fails the test, so whoever adds a kind removes it from the list.
 * Every object of any other kind must be accepted. The per-folder counts are printed.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { loadAll } from "js-yaml";
import { stockGroupVersions } from "../src/apiserver/openapi/index.ts";
import { startTestApiServer, type TestApiServer } from "./_apiserver.ts";
import { NO_KUBECTL } from "./_kubectl.ts";

const CORPUS = resolve(import.meta.dirname, "..", "..", "shared", "corpus");

/** `group/Kind` (core: `/Kind`) of the kinds loopkube does not serve yet. */
const NOT_YET_SERVED = new Set<string>([]);

/** The largest object client-side apply can record in its last-applied annotation. */
const MAX_ANNOTATIONS = 256 * 1024;

interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: {
    group?: string;
    names?: { kind?: string };
    versions?: { name?: string }[];
  };
  items?: Obj[];
}

interface Entry {
  folder: string;
  file: string;
  /** The namespace the file is applied to (`kubectl apply -n`) when an object names none. */
  namespace: string;
  obj: Obj;
}

function groupOf(apiVersion: string): string {
  return apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "";
}

function kindKey(obj: Obj): string {
  return `${groupOf(obj.apiVersion ?? "")}/${obj.kind ?? ""}`;
}

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
  return out;
}

/** Every object of the corpus, `List`s unpacked, in file order. */
function corpusObjects(): Entry[] {
  const out: Entry[] = [];
  for (const [i, file] of yamlFiles(CORPUS).entries()) {
    const rel = relative(CORPUS, file);
    const folder = rel.split("/")[0]!;
    const namespace = `corpus-${i}`;
    for (const doc of loadAll(readFileSync(file, "utf8"))) {
      if (doc === null || typeof doc !== "object") continue;
      const obj = doc as Obj;
      for (const item of obj.kind === "List" ? (obj.items ?? []) : [obj]) {
        out.push({ folder, file: rel, namespace, obj: item });
      }
    }
  }
  return out;
}

/** Objects a stock 1.32 API server serves, with the corpus's CRDs installed. */
function served(entries: Entry[]): Entry[] {
  const stock = new Set(stockGroupVersions());
  const custom = new Set<string>();
  for (const { obj } of entries) {
    if (kindKey(obj) !== "apiextensions.k8s.io/CustomResourceDefinition") continue;
    for (const v of obj.spec?.versions ?? []) {
      custom.add(`${obj.spec?.group}/${v.name} ${obj.spec?.names?.kind}`);
    }
  }
  return entries.filter(
    ({ obj }) => stock.has(obj.apiVersion ?? "") || custom.has(`${obj.apiVersion} ${obj.kind}`),
  );
}

function describeEntry({ file, obj }: Entry): string {
  return `${file}: ${obj.kind} ${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`;
}

const SKIP = !existsSync(CORPUS)
  ? `no corpus at ${CORPUS} (the shared folder beside the repository)`
  : NO_KUBECTL;

describe("the corpus of real manifests", { skip: SKIP }, () => {
  let api: TestApiServer;
  before(async () => {
    api = await startTestApiServer();
  });
  after(async () => {
    await api?.stop();
  });

  test("kubectl apply accepts every object of a served kind, and only those", async () => {
    const entries = served(corpusObjects());
    const crds = entries.filter((e) => e.obj.kind === "CustomResourceDefinition");
    const rest = entries.filter((e) => e.obj.kind !== "CustomResourceDefinition");
    const results = new Map<Entry, { ok: boolean; output: string }>();
    const apply = async (e: Entry) => {
      const json = JSON.stringify(e.obj);
      const args = ["apply", "-f", "-", "-o", "name"];
      if (e.obj.metadata?.namespace === undefined) args.push("-n", e.namespace);
      if (json.length > MAX_ANNOTATIONS) args.push("--server-side");
      const r = await api.kubectl(args, { input: json });
      results.set(e, { ok: r.code === 0, output: `${r.stdout}${r.stderr}`.trim() });
    };
    // A few kubectl processes at a time (the machine is shared): each object still goes through
    // a kubectl apply of its own.
    const applyAll = (list: Entry[]) => {
      const queue = [...list];
      return Promise.all(
        [1, 2, 3].map(async () => {
          for (let e = queue.shift(); e !== undefined; e = queue.shift()) await apply(e);
        }),
      );
    };
    // The CRDs one at a time: applied three at a time on a loaded machine, the large ones
    // (server-side apply) ran past kubectl's 30 s limit.
    for (const e of crds) await apply(e);
    if (crds.length > 0) {
      const r = await api.kubectl(["wait", "--for=condition=Established", "crd", "--all"]);
      assert.equal(r.code, 0, r.stderr);
    }

    // The namespaces are the test's set-up, not the corpus's: one kubectl apply of a List.
    const namespaces = [...new Set(rest.map((e) => e.obj.metadata?.namespace ?? e.namespace))];
    const list = {
      apiVersion: "v1",
      kind: "List",
      items: namespaces.sort().map((name) => ({
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name },
      })),
    };
    const created = await api.kubectl(["apply", "-f", "-", "-o", "name"], {
      input: JSON.stringify(list),
    });
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout.trim().split("\n").length, namespaces.length, created.stdout);
    await applyAll(rest);

    const folders = new Map<string, { accepted: number; total: number }>();
    const wrongly: string[] = [];
    const listedButAccepted = new Set<string>();
    for (const e of entries) {
      const { ok, output } = results.get(e)!;
      const counts = folders.get(e.folder) ?? { accepted: 0, total: 0 };
      counts.total++;
      if (ok) counts.accepted++;
      folders.set(e.folder, counts);
      const listed =
        NOT_YET_SERVED.has(kindKey(e.obj)) ||
        (NOT_YET_SERVED.has("apiextensions.k8s.io/CustomResourceDefinition") &&
          !stockGroupVersions().includes(e.obj.apiVersion ?? ""));
      if (listed && ok) listedButAccepted.add(kindKey(e.obj));
      else if (listed && !output.includes(`no matches for kind "${e.obj.kind}"`)) {
        wrongly.push(`${describeEntry(e)} (not served yet) failed otherwise:\n  ${output}`);
      } else if (!listed && !ok) wrongly.push(`${describeEntry(e)}:\n  ${output}`);
    }
    const summary = [...folders]
      .sort()
      .map(([f, c]) => `${f}: ${c.accepted}/${c.total}`)
      .join(", ");
    const accepted = [...folders.values()].reduce((n, c) => n + c.accepted, 0);
    console.log(`corpus: ${accepted}/${entries.length} objects accepted (${summary})`);

    assert.deepEqual(
      [...listedButAccepted].sort(),
      [],
      "kinds now served: remove them from NOT_YET_SERVED",
    );
    assert.deepEqual(wrongly, []);
  });
});
