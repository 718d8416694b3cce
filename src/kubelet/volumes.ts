/**
 * Pod volumes materialized under the pod directory (`<podDir>/volumes/<kind>/<name>`), as the
 * kubelet's volume plugins set them up: emptyDir (a directory), configMap and secret (one file
 * per key or per `items` entry, with `defaultMode`/`mode`), downwardAPI (fieldRef/
 * resourceFieldRef files), hostPath (the host path itself, never created),
 * persistentVolumeClaim (the bound PersistentVolume's `hostPath`/`local` path). Projected volumes
 * combine configMap, secret, downwardAPI and serviceAccountToken sources; the token comes from
 * the TokenRequest API through the token manager (`tokens.ts`), bound to the pod. ConfigMap,
 * secret, downward API and projected volumes are written by the atomic writer
 * (`atomicwriter.ts`) and rewritten on every refresh pass, so that a changed object or a renewed
 * token reaches running containers without a reader ever seeing half of an update.
 *
 * Nothing outside `podDir` is written, except inside a PV's own directory when it lies under the
 * agent's data dir (created if missing). Errors are `VolumeError`, with kube's MountVolume wording.
 *
 * @module
 */
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type {
  Container,
  DownwardAPIVolumeFile,
  KeyToPath,
  Pod,
  ServiceAccountTokenProjection,
  Volume,
} from "kubernetes-types/core/v1.js";
import { isStatusError } from "../api/errors.ts";
import { REFS } from "../api/refs.ts";
import type { ApiVerbs } from "../api/verbs.ts";
import { type FileProjection, PayloadError, writeAtomically } from "./atomicwriter.ts";
import { fieldValue, resourceValue } from "./env.ts";
import type { TokenManager } from "./tokens.ts";

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
  /** Service-account tokens for projected `serviceAccountToken` sources. */
  tokens?: TokenManager;
  /** The clock of the atomic writer's directory names. */
  now?: () => Date;
}

/** Writes a volume's payload atomically; a bad path is the pod's error, as kube reports it. */
function writeFiles(dir: string, files: FileProjection[], src: VolumeSources): void {
  try {
    writeAtomically(dir, files, src.now?.() ?? new Date());
  } catch (e) {
    if (e instanceof PayloadError) throw new VolumeError(e.message);
    throw e;
  }
}

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

/** The pod-bound token of a projected `serviceAccountToken` source. */
async function serviceAccountToken(
  pod: Pod,
  projection: ServiceAccountTokenProjection,
  src: VolumeSources,
): Promise<string> {
  if (!src.tokens) throw new VolumeError("failed to fetch token: no token manager");
  try {
    return await src.tokens.get(
      pod.metadata?.namespace ?? "default",
      pod.spec?.serviceAccountName || "default",
      {
        ...(projection.audience ? { audiences: [projection.audience] } : {}),
        expirationSeconds: projection.expirationSeconds ?? 3600,
        boundObjectRef: {
          apiVersion: "v1",
          kind: "Pod",
          name: pod.metadata?.name ?? "",
          uid: pod.metadata?.uid ?? "",
        },
      },
    );
  } catch (e) {
    throw new VolumeError(`failed to fetch token: ${e instanceof Error ? e.message : String(e)}`);
  }
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
    writeFiles(dir, keyFiles(data ?? {}, items, mode, name), src);
    return dir;
  }
  if (v.downwardAPI) {
    const dir = base("downward-api");
    const mode = v.downwardAPI.defaultMode ?? 0o644;
    writeFiles(dir, downwardFiles(pod, v.downwardAPI.items ?? [], mode, src), src);
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
      } else if (s.serviceAccountToken) {
        const token = await serviceAccountToken(pod, s.serviceAccountToken, src);
        // The kubelet narrows the token to its owner when the pod sets a user or group.
        const ctx = pod.spec?.securityContext;
        const own = ctx?.runAsUser !== undefined || ctx?.fsGroup !== undefined;
        files.push({ path: s.serviceAccountToken.path, content: token, mode: own ? 0o600 : mode });
      }
    }
    writeFiles(dir, files, src);
    return dir;
  }
  return undefined;
}
