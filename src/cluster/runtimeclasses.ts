/**
 * loopkube's runtimes as `node.k8s.io/v1` RuntimeClasses, so that the portable
 * `spec.runtimeClassName` selects one (the `loopkube.dev/runtime` annotation still works):
 * `process` (containers are host processes), `simulated` (no process, as kwok) and `oci`
 * (containers from their images, run by crun or runc), each with the
 * handler of its own name, which the node agent maps to the runtime.
 *
 * Contract: idempotent; every start re-applies them (server-side apply, field manager
 * `loopkube`), so a deleted one comes back on the next start.
 *
 * @module
 */
import { REFS } from "../api/refs.ts";
import type { ApiVerbs } from "../api/verbs.ts";
import { FIELD_MANAGER } from "./bootstrap.ts";

export const BUILT_IN_RUNTIME_CLASSES = ["process", "simulated", "oci"] as const;

export async function ensureRuntimeClasses(client: ApiVerbs): Promise<void> {
  for (const name of BUILT_IN_RUNTIME_CLASSES) {
    await client.patch(
      REFS.runtimeclasses,
      "",
      name,
      "apply",
      {
        apiVersion: "node.k8s.io/v1",
        kind: "RuntimeClass",
        metadata: { name, labels: { "app.kubernetes.io/managed-by": "loopkube.io" } },
        handler: name,
      },
      { fieldManager: FIELD_MANAGER, force: true },
    );
  }
}
