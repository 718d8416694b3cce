/**
 * Where the memory of a heap snapshot goes: builds the dominator tree of the V8 heap graph (each
 * object's retained size = what would be freed with it) and prints the retained size summed by
 * constructor, and the largest single objects with the path of edges that holds each. Used on the
 * scale run's snapshots (`scale.bench.ts --heap-snapshot DIR`) to find per-pod costs.
 *
 * Usage: `node --import tsx bench/scale/heap-summary.ts FILE.heapsnapshot [top=40]`
 *
 * Weak edges do not retain (as in DevTools). The dominator tree uses the iterative algorithm of
 * Cooper, Harvey and Kennedy over a reverse postorder from the snapshot's root.
 *
 * @module
 */
import { readFileSync } from "node:fs";

interface Meta {
  node_fields: string[];
  node_types: [string[], ...unknown[]];
  edge_fields: string[];
  edge_types: [string[], ...unknown[]];
}

const file = process.argv[2];
const top = Number(process.argv[3]?.startsWith("--") ? 40 : (process.argv[3] ?? 40));
if (!file) {
  console.error("usage: heap-summary.ts FILE.heapsnapshot [top]");
  process.exit(2);
}

/**
 * Reads the snapshot without one string of it all (V8 strings stop at 512 MiB, a scale run's
 * snapshot is larger): the number arrays are parsed from the bytes, the rest with JSON.parse.
 */
function readSnapshot(path: string): {
  snapshot: { meta: Meta };
  nodes: Float64Array;
  edges: Float64Array;
  strings: string[];
} {
  const buf = readFileSync(path);
  const find = (key: string, from = 0) => {
    const at = buf.indexOf(`"${key}":`, from);
    if (at < 0) throw new Error(`${path}: no "${key}"`);
    return at + key.length + 3;
  };
  const numbers = (key: string): Float64Array => {
    let i = buf.indexOf(0x5b /* [ */, find(key));
    const out: number[] = [];
    let v = 0;
    let inNumber = false;
    for (i++; i < buf.length; i++) {
      const c = buf[i] as number;
      if (c >= 0x30 && c <= 0x39) {
        v = v * 10 + (c - 0x30);
        inNumber = true;
      } else {
        if (inNumber) out.push(v);
        v = 0;
        inNumber = false;
        if (c === 0x5d /* ] */) break;
      }
    }
    return Float64Array.from(out);
  };
  const headEnd = buf.indexOf('"nodes":');
  const head = JSON.parse(`${buf.subarray(0, headEnd).toString().replace(/,\s*$/, "")}}`) as {
    snapshot: { meta: Meta };
  };
  const stringsAt = buf.indexOf(0x5b, find("strings"));
  const stringsEnd = buf.lastIndexOf(0x5d);
  const strings = JSON.parse(buf.subarray(stringsAt, stringsEnd + 1).toString()) as string[];
  return { snapshot: head.snapshot, nodes: numbers("nodes"), edges: numbers("edges"), strings };
}

const snap = readSnapshot(file);
const meta = snap.snapshot.meta;
const NF = meta.node_fields.length;
const EF = meta.edge_fields.length;
const fType = meta.node_fields.indexOf("type");
const fName = meta.node_fields.indexOf("name");
const fSelf = meta.node_fields.indexOf("self_size");
const fEdges = meta.node_fields.indexOf("edge_count");
const eType = meta.edge_fields.indexOf("type");
const eName = meta.edge_fields.indexOf("name_or_index");
const eTo = meta.edge_fields.indexOf("to_node");
const nodeTypes = meta.node_types[0];
const edgeTypes = meta.edge_types[0];
const weak = edgeTypes.indexOf("weak");
const shortcut = edgeTypes.indexOf("shortcut");
const elementOrHidden = new Set([edgeTypes.indexOf("element"), edgeTypes.indexOf("hidden")]);

const n = snap.nodes.length / NF;
const nodes = snap.nodes;
const edges = snap.edges;
const firstEdge = new Uint32Array(n + 1);
for (let i = 0, e = 0; i < n; i++) {
  firstEdge[i] = e;
  e += (nodes[i * NF + fEdges] as number) * EF;
  firstEdge[i + 1] = e;
}
const retains = (e: number) => {
  const t = edges[e + eType] as number;
  return t !== weak && t !== shortcut;
};

// Reverse postorder from the root (node 0), iteratively.
const order = new Int32Array(n).fill(-1); // node → postorder number
const post: number[] = [];
{
  const stack: number[] = [0];
  const cursor = new Uint32Array(n);
  const seen = new Uint8Array(n);
  seen[0] = 1;
  for (let i = 0; i < n; i++) cursor[i] = firstEdge[i] as number;
  while (stack.length > 0) {
    const v = stack[stack.length - 1] as number;
    let pushed = false;
    while ((cursor[v] as number) < (firstEdge[v + 1] as number)) {
      const e = cursor[v] as number;
      cursor[v] = e + EF;
      if (!retains(e)) continue;
      const w = (edges[e + eTo] as number) / NF;
      if (!seen[w]) {
        seen[w] = 1;
        stack.push(w);
        pushed = true;
        break;
      }
    }
    if (!pushed) {
      stack.pop();
      order[v] = post.length;
      post.push(v);
    }
  }
}
// Predecessors of the reachable nodes.
const predCount = new Uint32Array(n + 1);
for (let v = 0; v < n; v++) {
  if (order[v] === -1) continue;
  for (let e = firstEdge[v] as number; e < (firstEdge[v + 1] as number); e += EF)
    if (retains(e)) {
      const w = (edges[e + eTo] as number) / NF;
      predCount[w] = (predCount[w] as number) + 1;
    }
}
const predStart = new Uint32Array(n + 1);
for (let i = 0; i < n; i++) predStart[i + 1] = (predStart[i] as number) + (predCount[i] as number);
const preds = new Uint32Array(predStart[n] as number);
const fill = predStart.slice();
for (let v = 0; v < n; v++) {
  if (order[v] === -1) continue;
  for (let e = firstEdge[v] as number; e < (firstEdge[v + 1] as number); e += EF)
    if (retains(e)) {
      const w = (edges[e + eTo] as number) / NF;
      const at = fill[w] as number;
      preds[at] = v;
      fill[w] = at + 1;
    }
}
// Cooper–Harvey–Kennedy.
const idom = new Int32Array(n).fill(-1);
idom[0] = 0;
const intersect = (a: number, b: number) => {
  while (a !== b) {
    while ((order[a] as number) < (order[b] as number)) a = idom[a] as number;
    while ((order[b] as number) < (order[a] as number)) b = idom[b] as number;
  }
  return a;
};
for (let changed = true, pass = 0; changed; pass++) {
  changed = false;
  for (let i = post.length - 2; i >= 0; i--) {
    const v = post[i] as number;
    let d = -1;
    for (let p = predStart[v] as number; p < (predStart[v + 1] as number); p++) {
      const u = preds[p] as number;
      if (idom[u] === -1) continue;
      d = d === -1 ? u : intersect(u, d);
    }
    if (d !== -1 && idom[v] !== d) {
      idom[v] = d;
      changed = true;
    }
  }
  process.stderr.write(`dominators: pass ${pass + 1}\n`);
}
// Retained sizes: children before their dominator (postorder).
const retained = new Float64Array(n);
for (const v of post) retained[v] = nodes[v * NF + fSelf] as number;
for (const v of post) {
  if (v === 0) continue;
  const d = idom[v] as number;
  retained[d] = (retained[d] as number) + (retained[v] as number);
}

const typeOf = (v: number) => nodeTypes[nodes[v * NF + fType] as number] ?? "?";
const nameOf = (v: number) => snap.strings[nodes[v * NF + fName] as number] ?? "";
const label = (v: number) => {
  const t = typeOf(v);
  if (t === "object" || t === "closure") return `${nameOf(v)}`;
  return `(${t})`;
};
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1).padStart(8)} MiB`;

// Retained by constructor, counting only objects whose dominator is of another constructor (so
// a Map inside a Map is not counted twice).
const byClass = new Map<string, { bytes: number; count: number }>();
for (const v of post) {
  if (v === 0) continue;
  const l = label(v);
  const parent = idom[v] as number;
  if (parent !== 0 && label(parent) === l) continue;
  const s = byClass.get(l) ?? { bytes: 0, count: 0 };
  s.bytes += retained[v] as number;
  s.count++;
  byClass.set(l, s);
}
const total = retained[0] as number;
console.log(`${file}: ${n} nodes, ${mib(total)} reachable`);
console.log("\nretained by constructor (outermost of each kind)");
for (const [l, s] of [...byClass].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top))
  console.log(`${mib(s.bytes)}  ${String(s.count).padStart(9)}  ${l}`);

// The path of edge names from the root's children down the dominator tree to v.
const edgeNameTo = (from: number, to: number): string => {
  for (let e = firstEdge[from] as number; e < (firstEdge[from + 1] as number); e += EF) {
    if ((edges[e + eTo] as number) / NF !== to) continue;
    const t = edges[e + eType] as number;
    const nm = edges[e + eName] as number;
    return elementOrHidden.has(t) || edgeTypes[t] === "element"
      ? `[${nm}]`
      : String(snap.strings[nm]);
  }
  return "?";
};
const pathOf = (v: number): string => {
  const parts: string[] = [];
  for (let x = v, i = 0; x !== 0 && i < 12; x = idom[x] as number, i++)
    parts.unshift(`${edgeNameTo(idom[x] as number, x)}:${label(x)}`);
  return parts.join(" → ");
};
console.log("\nlargest objects by retained size");
const biggest = post
  .filter((v) => v !== 0 && typeOf(v) !== "synthetic")
  .sort((a, b) => (retained[b] as number) - (retained[a] as number))
  .slice(0, top);
for (const v of biggest) console.log(`${mib(retained[v] as number)}  ${pathOf(v)}`);

// `--expand Name`: what one instance of a constructor holds, two levels down the dominator tree.
const expandAt = process.argv.indexOf("--expand");
const expandName = expandAt > 0 ? process.argv[expandAt + 1] : undefined;
if (expandName) {
  const children = new Map<number, number[]>();
  for (const v of post) {
    if (v === 0) continue;
    const d = idom[v] as number;
    const list = children.get(d) ?? [];
    list.push(v);
    children.set(d, list);
  }
  // A typical instance: the median by retained size.
  const all = post
    .filter((v) => typeOf(v) === "object" && nameOf(v) === expandName)
    .sort((a, b) => (retained[a] as number) - (retained[b] as number));
  const one = all[Math.floor(all.length / 2)];
  const show = (v: number, depth: number) => {
    const kids = (children.get(v) ?? []).sort(
      (a, b) => (retained[b] as number) - (retained[a] as number),
    );
    for (const k of kids.slice(0, 12)) {
      console.log(
        `${"  ".repeat(depth)}${String(retained[k]).padStart(8)} B  ${edgeNameTo(v, k)}:${label(k)}`,
      );
      if (depth < 3) show(k, depth + 1);
    }
  };
  if (one !== undefined) {
    console.log(`\none ${expandName}: ${retained[one]} B retained`);
    show(one, 1);
  }
}

// `--strings`: the string values held most often, by total size (candidates for sharing).
if (process.argv.includes("--strings")) {
  const byValue = new Map<string, { count: number; bytes: number }>();
  for (const v of post) {
    if (typeOf(v) !== "string") continue;
    const key = nameOf(v).slice(0, 60);
    const s = byValue.get(key) ?? { count: 0, bytes: 0 };
    s.count++;
    s.bytes += nodes[v * NF + fSelf] as number;
    byValue.set(key, s);
  }
  console.log("\nstrings by total size (value, first 60 characters)");
  for (const [value, s] of [...byValue].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top))
    console.log(`${mib(s.bytes)}  ${String(s.count).padStart(9)}  ${JSON.stringify(value)}`);
}
