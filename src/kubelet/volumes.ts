/**
 * Pod volumes materialized under the pod directory (`<podDir>/volumes/<kind>/<name>`), as the
 * kubelet's volume plugins set them up: emptyDir (a directory), configMap and secret (one file
 * per key or per `items` entry, with `defaultMode`/`mode`; rewritten in place by `refresh` so
 * that a change of the object reaches running containers),
 * downwardAPI (fieldRef/resourceFieldRef files), hostPath (the host path itself, never created),
 * persistentVolumeClaim (the bound PersistentVolume's `hostPath`/`local` path). Projected volumes
 * combine configMap, secret and downwardAPI sources.
 *
 * Nothing outside `podDir` is written, except inside a PV's own directory when it lies under the
 * agent's data dir (created if missing). Errors are `VolumeError`, with kube's MountVolume wording.
 *
 * @module
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import type {
  Container,
  DownwardAPIVolumeFile,
  KeyToPath,
  Pod,
  Volume,
} from "kubernetes-types/core/v1.js";
import { isStatusError } from "../api/errors.ts";
import { REFS } from "../api/refs.ts";
import type { ApiVerbs } from "../api/verbs.ts";
import { fieldValue, resourceValue } from "./env.ts";

export class VolumeError extends Error {
  override name = "VolumeError";
}

export interface VolumeSources {
  client: ApiVerbs;
  getConfigMap(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  getSecret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  podIP: string;
  hostIP: string;
  allocatable: { cpu: number; memory: number };
  dataDir: string;
}

/**
 * Makes `dir` hold exactly `files`. The directory itself is kept (a running container has it
 * bind-mounted), unchanged files are not rewritten, stale ones are removed.
 */
const writeFiles = (dir: string, files: { path: string; content: string; mode: number }[]) => {
  mkdirSync(dir, { recursive: true });
  const root = resolve(dir);
  const keep = new Set<string>();
  for (const f of files) {
    const p = resolve(dir, f.path);
    if (!p.startsWith(`${root}/`)) throw new VolumeError(`invalid path ${f.path}`);
    keep.add(p);
    mkdirSync(dirname(p), { recursive: true });
    const same = existsSync(p) && readFileSync(p, "utf8") === f.content;
    if (!same) writeFileSync(p, f.content);
    chmodSync(p, f.mode);
  }
  const prune = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) prune(p);
      else if (!keep.has(p)) rmSync(p, { force: true });
    }
  };
  prune(root);
};

function keyFiles(
  data: Record<string, string>,
  items: KeyToPath[] | undefined,
  mode: number,
  what: string,
): { path: string; content: string; mode: number }[] {
  if (!items?.length) return Object.entries(data).map(([k, v]) => ({ path: k, content: v, mode }));
  return items.map((i) => {
    const v = data[i.key];
    if (v === undefined) throw new VolumeError(`configuration of ${what}: key ${i.key} not found`);
    return { path: i.path, content: v, mode: i.mode ?? mode };
  });
}

function downwardFiles(
  pod: Pod,
  items: DownwardAPIVolumeFile[],
  mode: number,
  src: VolumeSources,
): { path: string; content: string; mode: number }[] {
  return items.map((i) => {
    let content = "";
    if (i.fieldRef) {
      const path = i.fieldRef.fieldPath;
      if (path === "metadata.labels" || path === "metadata.annotations") {
        const m =
          (path === "metadata.labels" ? pod.metadata?.labels : pod.metadata?.annotations) ?? {};
        content = Object.keys(m)
          .sort()
          .map((k) => `${k}=${JSON.stringify(m[k])}`)
          .join("\n");
      } else content = fieldValue(pod, path, src);
    } else if (i.resourceFieldRef) {
      const c =
        pod.spec?.containers.find((x) => x.name === i.resourceFieldRef?.containerName) ??
        ({ name: "" } as Container);
      content = resourceValue(
        c,
        i.resourceFieldRef.resource,
        i.resourceFieldRef.divisor,
        src.allocatable,
      );
    }
    return { path: i.path, content, mode: i.mode ?? mode };
  });
}

async function pvcPath(pod: Pod, claim: string, src: VolumeSources): Promise<string> {
  const ns = pod.metadata?.namespace ?? "default";
  let pvc: { spec?: { volumeName?: string }; status?: { phase?: string } };
  try {
    pvc = (await src.client.get(REFS.persistentvolumeclaims, ns, claim)) as typeof pvc;
  } catch (e) {
    if (isStatusError(e, "NotFound")) {
      throw new VolumeError(`persistentvolumeclaim "${claim}" not found`);
    }
    throw e;
  }
  const pvName = pvc.spec?.volumeName;
  if (!pvName) throw new VolumeError(`persistentvolumeclaim "${claim}" is not bound`);
  const pv = (await src.client.get(REFS.persistentvolumes, "", pvName)) as {
    spec?: { hostPath?: { path: string }; local?: { path: string } };
  };
  const path = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
  if (!path) throw new VolumeError(`persistentvolume "${pvName}" has no hostPath or local path`);
  if (!existsSync(path)) {
    // Only directories of our own data dir are created; the rest of the host is never touched.
    if (!resolve(path).startsWith(`${resolve(src.dataDir)}/`)) {
      throw new VolumeError(`persistentvolume "${pvName}": path ${path} does not exist`);
    }
    mkdirSync(path, { recursive: true });
  }
  return path;
}

/** Sets up every volume of the pod; returns name → host directory (or file). */
export async function materializeVolumes(
  pod: Pod,
  podDir: string,
  src: VolumeSources,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const v of pod.spec?.volumes ?? []) {
    try {
      const p = await setUp(pod, podDir, v, src);
      if (p) out.set(v.name, p);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      throw new VolumeError(`MountVolume.SetUp failed for volume "${v.name}" : ${message}`);
    }
  }
  return out;
}

async function setUp(
  pod: Pod,
  podDir: string,
  v: Volume,
  src: VolumeSources,
): Promise<string | undefined> {
  const ns = pod.metadata?.namespace ?? "default";
  const base = (kind: string) => join(podDir, "volumes", kind, v.name);
  if (v.emptyDir) {
    mkdirSync(base("empty-dir"), { recursive: true });
    return base("empty-dir");
  }
  if (v.hostPath) {
    if (!existsSync(v.hostPath.path)) {
      throw new VolumeError(`hostPath type check failed: ${v.hostPath.path} does not exist`);
    }
    return v.hostPath.path;
  }
  if (v.persistentVolumeClaim) return pvcPath(pod, v.persistentVolumeClaim.claimName, src);
  if (v.configMap || v.secret) {
    const isCm = Boolean(v.configMap);
    const name = (isCm ? v.configMap?.name : v.secret?.secretName) ?? "";
    const data = isCm ? await src.getConfigMap(ns, name) : await src.getSecret(ns, name);
    const optional = (isCm ? v.configMap?.optional : v.secret?.optional) ?? false;
    if (!data && !optional)
      throw new VolumeError(`${isCm ? "configmap" : "secret"} "${name}" not found`);
    const mode = (isCm ? v.configMap?.defaultMode : v.secret?.defaultMode) ?? 0o644;
    const dir = base(isCm ? "configmap" : "secret");
    const items = isCm ? v.configMap?.items : v.secret?.items;
    writeFiles(dir, keyFiles(data ?? {}, items, mode, name));
    return dir;
  }
  if (v.downwardAPI) {
    const dir = base("downward-api");
    const mode = v.downwardAPI.defaultMode ?? 0o644;
    writeFiles(dir, downwardFiles(pod, v.downwardAPI.items ?? [], mode, src));
    return dir;
  }
  if (v.projected) {
    const dir = base("projected");
    const mode = v.projected.defaultMode ?? 0o644;
    const files: { path: string; content: string; mode: number }[] = [];
    for (const s of v.projected.sources ?? []) {
      if (s.configMap) {
        const data = await src.getConfigMap(ns, s.configMap.name ?? "");
        if (!data && !s.configMap.optional)
          throw new VolumeError(`configmap "${s.configMap.name}" not found`);
        files.push(...keyFiles(data ?? {}, s.configMap.items, mode, s.configMap.name ?? ""));
      } else if (s.secret) {
        const data = await src.getSecret(ns, s.secret.name ?? "");
        if (!data && !s.secret.optional)
          throw new VolumeError(`secret "${s.secret.name}" not found`);
        files.push(...keyFiles(data ?? {}, s.secret.items, mode, s.secret.name ?? ""));
      } else if (s.downwardAPI) {
        files.push(...downwardFiles(pod, s.downwardAPI.items ?? [], mode, src));
      }
    }
    writeFiles(dir, files);
    return dir;
  }
  return undefined;
}
