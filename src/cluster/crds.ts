/**
 * CustomResourceDefinitions in manifests, for `startCluster({ crds, crdPaths })` (envtest's
 * `CRDInstallOptions`), `cluster.apply` and `loopkube up -f`:
 * - `readCrds` reads files and folders as envtest does: every document of kind
 *   CustomResourceDefinition, other documents skipped (a missing path is an error here; envtest
 *   ignores it unless `ErrorIfPathMissing`);
 * - `waitEstablished` waits until each CRD is Established, as envtest's `WaitForCRDs` does, and
 *   fails with the CRD's own condition message when its names are not accepted;
 * - `customTarget` finds the resource of a custom kind from the Established CRDs, so a file
 *   holding a CRD and its custom resources applies in one go (kubectl would fail on the custom
 *   resources until the CRD is served).
 *
 * @module
 */
import { REFS } from "../api/refs.ts";
import type { KubeObject } from "../api/types.ts";
import type { ApiVerbs, ResourceRef } from "../api/verbs.ts";
import { ClusterError } from "./errors.ts";

export const CRD_KIND = "CustomResourceDefinition";
const CRD_API_VERSION = "apiextensions.k8s.io/v1";

/** Where an object is written: its resource and whether it lives in a namespace. */
export interface Target {
  ref: ResourceRef;
  namespaced: boolean;
}

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

interface CrdShape {
  spec?: {
    group?: string;
    scope?: string;
    names?: { plural?: string; kind?: string };
    versions?: Array<{ name?: string; served?: boolean }>;
  };
  status?: { conditions?: Condition[] };
}

export function isCrd(obj: KubeObject): boolean {
  return obj.kind === CRD_KIND && obj.apiVersion === CRD_API_VERSION;
}

const condition = (crd: KubeObject, type: string): Condition | undefined =>
  (crd as KubeObject & CrdShape).status?.conditions?.find((c) => c.type === type);

/**
 * Waits until every named CRD is Established (re-reading it every `intervalMs`); throws a
 * `ClusterError` with the CRD's condition message when its names are refused, or on timeout.
 */
export async function waitEstablished(
  client: ApiVerbs,
  names: readonly string[],
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let pending = [...names];
  for (;;) {
    const still: string[] = [];
    for (const name of pending) {
      const crd = await client.get(REFS.customresourcedefinitions, "", name);
      if (condition(crd, "Established")?.status === "True") continue;
      const names = condition(crd, "NamesAccepted");
      if (names?.status === "False") {
        throw new ClusterError(
          `CustomResourceDefinition "${name}" is not established: ${names.reason ?? "NamesNotAccepted"}: ${names.message ?? ""}`,
        );
      }
      still.push(name);
    }
    pending = still;
    if (pending.length === 0) return;
    if (Date.now() >= deadline) {
      throw new ClusterError(
        `timed out waiting for CustomResourceDefinition ${pending.map((n) => `"${n}"`).join(", ")} to become Established`,
      );
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
  }
}

/** The custom resource an object's apiVersion and kind name among the Established CRDs. */
export async function customTarget(client: ApiVerbs, obj: KubeObject): Promise<Target | undefined> {
  const apiVersion = obj.apiVersion ?? "";
  const slash = apiVersion.indexOf("/");
  if (slash < 0) return undefined;
  const group = apiVersion.slice(0, slash);
  const version = apiVersion.slice(slash + 1);
  const crds = (await client.list(REFS.customresourcedefinitions, "")).items;
  for (const crd of crds as ReadonlyArray<KubeObject & CrdShape>) {
    const spec = crd.spec;
    const plural = spec?.names?.plural;
    if (!spec || spec.group !== group || spec.names?.kind !== obj.kind || !plural) continue;
    if (condition(crd, "Established")?.status !== "True") continue;
    if (!(spec.versions ?? []).some((v) => v.name === version && v.served)) continue;
    return {
      ref: { group, version, resource: plural },
      namespaced: spec.scope === "Namespaced",
    };
  }
  return undefined;
}
