/**
 * The fuzz body generator shared by `apiserver-fuzz.test.ts` and `bench/api/hostile.bench.ts`:
 * deterministic (seeded) mutated requests for every served kind.
 *
 * @module
 */
import jsyaml from "js-yaml";
import type { ResourceInfo } from "../src/apiserver/resources.ts";

export const NS = "fuzz";

/** mulberry32: small, fast, good enough to pick mutations. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rng = () => number;
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;

function nested(levels: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = [v];
  return v;
}

const ODD_KEYS = [
  "constructor",
  "__proto__",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "",
  "a.b",
  "Spec",
];

function randomValue(rng: Rng, depth = 0): unknown {
  switch (Math.floor(rng() * 16)) {
    case 0:
      return "ten";
    case 1:
      return pick(rng, [1.5, -1, 0, 1e20, -1e300, 2 ** 31, 2 ** 53 + 1]);
    case 2:
      return pick(rng, [true, false]);
    case 3:
      return null;
    case 4:
      return [];
    case 5:
      return {};
    case 6:
      return ["a", 1, null, {}];
    case 7:
      return { [pick(rng, ODD_KEYS)]: "x" };
    case 8:
      return "x".repeat(pick(rng, [64, 254, 70_000]));
    case 9:
      return nested(pick(rng, [50, 600, 3000]));
    case 10:
      return pick(rng, ["1Gi", "100m", "lots", "1e3", ".5", "1.2.3", ""]);
    case 11:
      return pick(rng, ["2024-01-01T00:00:00Z", "yesterday", "2024-13-45T99:99:99Z"]);
    case 12:
      return depth < 2 ? { a: randomValue(rng, depth + 1), b: randomValue(rng, depth + 1) } : 7;
    case 13:
      return depth < 2 ? [randomValue(rng, depth + 1)] : "z";
    case 14:
      return Math.floor(rng() * 100);
    default:
      return pick(rng, ["web", "a-b", "UPPER", "with space", "ünï", "default"]);
  }
}

/** A small valid object of each kind that has a strategy with required fields. */
function base(info: ResourceInfo, name: string): Record<string, unknown> {
  const podSpec = { containers: [{ name: "c", image: "busybox" }] };
  const template = { metadata: { labels: { app: name } }, spec: podSpec };
  const selector = { matchLabels: { app: name } };
  const specs: Record<string, object> = {
    Pod: { spec: podSpec },
    Deployment: { spec: { selector, template } },
    ReplicaSet: { spec: { selector, template } },
    StatefulSet: { spec: { selector, template, serviceName: name } },
    Service: { spec: { ports: [{ port: 80 }] } },
    ConfigMap: { data: { a: "b" } },
    Secret: { stringData: { a: "b" } },
    ControllerRevision: { revision: 1, data: { a: 1 } },
    Lease: { spec: { holderIdentity: "x" } },
    Event: { involvedObject: { kind: "Pod", name: "x", namespace: NS }, reason: "R", message: "m" },
    PersistentVolumeClaim: {
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    },
    PersistentVolume: {
      spec: {
        capacity: { storage: "1Gi" },
        accessModes: ["ReadWriteOnce"],
        hostPath: { path: "/tmp/x" },
      },
    },
    StorageClass: { provisioner: "example.com/x" },
    EndpointSlice: { addressType: "IPv4", endpoints: [] },
  };
  return {
    apiVersion: info.group ? `${info.group}/${info.version}` : info.version,
    kind: info.kind,
    metadata: { name, labels: { fuzz: "yes" } },
    ...structuredClone(specs[info.kind] ?? {}),
  };
}

/** Slots deeper than this are not mutated: a deep value stays as deep as `nested` made it. */
const MAX_SLOT_DEPTH = 50;

/**
 * Every object and list node of a value down to {@link MAX_SLOT_DEPTH}, with a setter, to
 * mutate one at random. (Without the bound, a second mutation could nest a 3,000-level value
 * inside the first one's, and the test's own JSON.stringify would overflow its stack.)
 */
function slots(
  obj: unknown,
): Array<{ parent: Record<string, unknown> | unknown[]; key: string | number }> {
  const out: Array<{ parent: Record<string, unknown> | unknown[]; key: string | number }> = [];
  const stack: Array<[unknown, number]> = [[obj, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (depth > MAX_SLOT_DEPTH) continue;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) out.push({ parent: v, key: i });
      for (const x of v) stack.push([x, depth + 1]);
    } else if (v !== null && typeof v === "object") {
      for (const k of Object.keys(v)) out.push({ parent: v as Record<string, unknown>, key: k });
      for (const x of Object.values(v)) stack.push([x, depth + 1]);
    }
  }
  return out;
}

function mutate(obj: Record<string, unknown>, rng: Rng): void {
  const n = 1 + Math.floor(rng() * 3);
  for (let i = 0; i < n; i++) {
    const all = slots(obj);
    const choice = Math.floor(rng() * 4);
    if (choice === 0 || all.length === 0) {
      // A field the kind may know (spec.x, metadata.x) or not, with any value.
      const parent = pick(rng, [obj, obj["metadata"], obj["spec"], obj]) as Record<string, unknown>;
      if (parent && typeof parent === "object" && !Array.isArray(parent)) {
        const key = pick(rng, [
          ...ODD_KEYS,
          "labels",
          "annotations",
          "generateName",
          "replicas",
          "terminationGracePeriodSeconds",
          "containers",
          "selector",
          "ports",
          "finalizers",
          "ownerReferences",
          "managedFields",
          "status",
        ]);
        Object.defineProperty(parent, key, {
          value: randomValue(rng),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
    } else {
      const slot = pick(rng, all);
      (slot.parent as Record<string | number, unknown>)[slot.key] = randomValue(rng);
    }
  }
}

export interface FuzzRequest {
  method: string;
  path: string;
  body: string | Buffer;
  contentType: string;
}

export function shown(req: FuzzRequest): string {
  return Buffer.isBuffer(req.body) ? `<${req.body.length} random bytes>` : req.body.slice(0, 200);
}

function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rng() * 256);
  return b;
}

export function collection(info: ResourceInfo): string {
  const root = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  return info.namespaced ? `${root}/namespaces/${NS}/${info.resource}` : `${root}/${info.resource}`;
}

export function generate(rng: Rng, kinds: ResourceInfo[], i: number): FuzzRequest {
  const info = pick(rng, kinds);
  const name = `f${i % 40}`;
  const obj = base(info, name);
  if (rng() < 0.8) mutate(obj, rng);
  const path = collection(info);
  const roll = rng();
  const json = () => JSON.stringify(obj);
  if (roll < 0.4) return { method: "POST", path, body: json(), contentType: "application/json" };
  if (roll < 0.5) {
    let yaml: string;
    try {
      yaml = jsyaml.dump(obj, { noRefs: true });
    } catch {
      yaml = json();
    }
    return { method: "POST", path, body: yaml, contentType: "application/yaml" };
  }
  if (roll < 0.6)
    return {
      method: "PUT",
      path: `${path}/${name}`,
      body: json(),
      contentType: "application/json",
    };
  if (roll < 0.8) {
    const type = pick(rng, [
      "application/merge-patch+json",
      "application/strategic-merge-patch+json",
      "application/apply-patch+yaml",
      "application/json-patch+json",
    ]);
    const sub = info.subresources.some((s) => s.name === "status") && rng() < 0.2 ? "/status" : "";
    const query = type.includes("apply") ? "?fieldManager=fuzz" : "";
    const body =
      type === "application/json-patch+json"
        ? JSON.stringify([
            {
              op: pick(rng, ["add", "replace", "remove", "test", "move", "bogus"]),
              path: pick(rng, ["/metadata/labels/x", "/spec", "/x", "", "/metadata/name"]),
              value: randomValue(rng),
            },
          ])
        : json();
    return { method: "PATCH", path: `${path}/${name}${sub}${query}`, body, contentType: type };
  }
  if (roll < 0.93) {
    const contentType = pick(rng, [
      "application/json",
      "application/yaml",
      "application/vnd.kubernetes.protobuf",
    ]);
    const bytes = randomBytes(rng, 1 + Math.floor(rng() * 2048));
    if (contentType.includes("protobuf") && rng() < 0.5) bytes.write("k8s\u0000", 0, "latin1");
    return {
      method: pick(rng, ["POST", "PUT", "PATCH"]),
      path: `${path}${rng() < 0.5 ? `/${name}` : ""}`,
      body: bytes,
      contentType,
    };
  }
  return {
    method: "POST",
    path,
    body: json(),
    contentType: pick(rng, [
      "text/plain",
      "application/xml",
      "",
      "application/json; charset=utf-16",
      "multipart/form-data",
    ]),
  };
}
