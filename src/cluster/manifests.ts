/**
 * Manifests as `kubectl apply -f` reads them: files or folders (`.yaml`, `.yml`, `.json`, not
 * recursive, in name order), multi-document YAML, `kind: List` expanded, empty documents skipped;
 * and applied as server-side apply (field manager `loopkube`, forced), so a second apply updates
 * what the first created. Namespaces are applied first so the objects inside them find them, then
 * CustomResourceDefinitions, waited for until Established, so custom resources in the same
 * manifests find their kind served (kubectl applies in file order and fails on those).
 *
 * Errors a user can make (unreadable file, bad YAML, unknown kind, an object the API rejects)
 * become one `ClusterError` sentence naming the file.
 *
 * @module
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { parseAllDocuments } from "yaml";
import { StatusError } from "../api/errors.ts";
import type { KubeObject } from "../api/types.ts";
import type { ApiVerbs, ResourceRef } from "../api/verbs.ts";
import { RESOURCES, type ResourceInfo } from "../apiserver/index.ts";
import { FIELD_MANAGER } from "./bootstrap.ts";
import { customTarget, isCrd, type Target, waitEstablished } from "./crds.ts";
import { ClusterError } from "./errors.ts";

const EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

export interface Manifest {
  object: KubeObject;
  /** File it came from (`<inline>` for objects passed in). */
  source: string;
}

/** Reads every manifest under the given files and folders, in order. */
export function readManifests(paths: readonly string[]): Manifest[] {
  const out: Manifest[] = [];
  for (const path of paths) {
    let files: string[];
    try {
      files = statSync(path).isDirectory()
        ? readdirSync(path)
            .filter((f) => EXTENSIONS.has(extname(f)))
            .sort()
            .map((f) => join(path, f))
        : [path];
    } catch {
      throw new ClusterError(`manifest ${path} does not exist or cannot be read`);
    }
    for (const file of files) out.push(...parseManifestFile(file));
  }
  return out;
}

/** The CRDs in these files and folders (other documents skipped, as envtest skips them). */
export function readCrds(paths: readonly string[]): Manifest[] {
  return readManifests(paths).filter((m) => isCrd(m.object));
}

function parseManifestFile(file: string): Manifest[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new ClusterError(`manifest ${file} cannot be read`);
  }
  return parseManifests(text, file);
}

export function parseManifests(text: string, source: string): Manifest[] {
  const out: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    const error = doc.errors[0];
    if (error) {
      throw new ClusterError(`manifest ${source} is not valid YAML: ${firstLine(error.message)}`);
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    for (const object of expandList(value, source)) out.push({ object, source });
  }
  return out;
}

function expandList(value: unknown, source: string): KubeObject[] {
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new ClusterError(`manifest ${source} holds something that is not a Kubernetes object`);
  }
  const obj = value as KubeObject & { items?: unknown[] };
  if (typeof obj.kind === "string" && obj.kind.endsWith("List") && Array.isArray(obj.items)) {
    return obj.items.flatMap((item) => expandList(item, source));
  }
  if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") {
    throw new ClusterError(`manifest ${source} has an object without apiVersion or kind`);
  }
  if (typeof obj.metadata?.name !== "string" || obj.metadata.name === "") {
    throw new ClusterError(`manifest ${source} has a ${obj.kind} without metadata.name`);
  }
  return [obj];
}

function firstLine(s: string): string {
  return s.split("\n")[0] ?? s;
}

/** The resource an object's apiVersion and kind name, or undefined if this server lacks it. */
export function resourceFor(obj: KubeObject): ResourceInfo | undefined {
  const apiVersion = obj.apiVersion ?? "";
  const [group, version] = apiVersion.includes("/")
    ? (apiVersion.split("/") as [string, string])
    : ["", apiVersion];
  return RESOURCES.find((r) => r.group === group && r.version === version && r.kind === obj.kind);
}

export function refOf(info: ResourceInfo): ResourceRef {
  return { group: info.group, version: info.version, resource: info.resource };
}

/** Where an object is written: a built-in resource, or a custom one of an Established CRD. */
export async function targetFor(client: ApiVerbs, obj: KubeObject): Promise<Target | undefined> {
  const info = resourceFor(obj);
  if (info) return { ref: refOf(info), namespaced: info.namespaced };
  return customTarget(client, obj);
}

/**
 * Applies the manifests (Namespaces first, then CRDs, which are waited for until Established) and
 * returns the objects as the server stored them.
 */
export async function applyManifests(
  client: ApiVerbs,
  manifests: readonly Manifest[],
): Promise<KubeObject[]> {
  const namespaces = manifests.filter((m) => m.object.kind === "Namespace");
  const crds = manifests.filter((m) => isCrd(m.object));
  const rest = manifests.filter((m) => m.object.kind !== "Namespace" && !isCrd(m.object));
  const applied = await applyInOrder(client, [...namespaces, ...crds]);
  if (crds.length > 0) {
    await waitEstablished(
      client,
      crds.map((m) => m.object.metadata.name ?? ""),
    );
  }
  applied.push(...(await applyInOrder(client, rest)));
  return applied;
}

async function applyInOrder(
  client: ApiVerbs,
  manifests: readonly Manifest[],
): Promise<KubeObject[]> {
  const applied: KubeObject[] = [];
  for (const { object, source } of manifests) {
    const target = await targetFor(client, object);
    const name = object.metadata.name ?? "";
    if (!target) {
      throw new ClusterError(
        `manifest ${source}: ${object.kind} "${name}" (${object.apiVersion}) is not a kind loopkube serves`,
      );
    }
    const namespace = target.namespaced ? (object.metadata.namespace ?? "default") : "";
    const body = structuredClone(object);
    if (target.namespaced) body.metadata.namespace = namespace;
    try {
      applied.push(
        await client.patch(target.ref, namespace, name, "apply", body, {
          fieldManager: FIELD_MANAGER,
          force: true,
        }),
      );
    } catch (err) {
      if (err instanceof StatusError) {
        throw new ClusterError(`manifest ${source}: ${firstLine(err.message)}`);
      }
      throw err;
    }
  }
  return applied;
}
