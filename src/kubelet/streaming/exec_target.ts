/**
 * Which container a streaming request (exec, port-forward) is for, checked as kube-apiserver and
 * the kubelet check it before upgrading the connection, with their messages: an unknown pod is a
 * 404, a missing or unknown container name a 400 (`container X is not valid for pod Y`), a pod
 * without a node a 400, a container with no running process here a 500
 * (`container not found ("X")`, the kubelet's words).
 *
 * @module
 */
import type { Pod } from "kubernetes-types/core/v1.js";
import { isStatusError } from "../../api/errors.ts";
import { REFS } from "../../api/refs.ts";
import type { ApiVerbs } from "../../api/verbs.ts";
import { StreamRequestError } from "./exec_protocol.ts";

/** Finds a running container's process on this node (see `Kubelet.containerProcess`). */
export type LocateContainer = (
  namespace: string,
  name: string,
  container: string,
) => { pid: number; sandboxed: boolean; enter?: (tty: boolean) => string[] } | undefined;

export async function getPod(client: ApiVerbs, namespace: string, name: string): Promise<Pod> {
  try {
    return (await client.get(REFS.pods, namespace, name)) as Pod;
  } catch (e) {
    if (isStatusError(e, "NotFound")) {
      throw new StreamRequestError(404, "NotFound", `pods "${name}" not found`);
    }
    throw e;
  }
}

/** The container name to use: the one asked for, else the default, validated against the spec. */
export function chooseContainer(pod: Pod, asked: string): string {
  const name = pod.metadata?.name ?? "";
  const main = (pod.spec?.containers ?? []).map((c) => c.name);
  const init = (pod.spec?.initContainers ?? []).map((c) => c.name);
  const ephemeral = (pod.spec?.ephemeralContainers ?? []).map((c) => c.name);
  if (!pod.spec?.nodeName) {
    throw new StreamRequestError(400, "BadRequest", `pod ${name} does not have a host assigned`);
  }
  if (!asked) {
    if (main.length === 1) return main[0] ?? "";
    const more = init.length ? ` or one of the init containers: [${init.join(" ")}]` : "";
    throw new StreamRequestError(
      400,
      "BadRequest",
      `a container name must be specified for pod ${name}, choose one of: [${main.join(" ")}]${more}`,
    );
  }
  if (![...main, ...init, ...ephemeral].includes(asked)) {
    throw new StreamRequestError(
      400,
      "BadRequest",
      `container ${asked} is not valid for pod ${name}`,
    );
  }
  return asked;
}
