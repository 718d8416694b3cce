/**
 * The main thread's side of a big body (over {@link OFFLOAD_BYTES}): sends it to the body pool
 * with a snapshot of the objects the request names (its namespace, the object in the URL), and
 * turns the verdict into what the write takes or the Status it answers (see `_bodyjob.ts`).
 *
 * A rejection is answered only if every object the dry run read is still as it was; otherwise
 * the job goes again with those objects (at most {@link ATTEMPTS} times), then once more as a
 * plain parse, after which the main thread decides as it does for small bodies. When no worker
 * thread can start at all (a broken install), the body is parsed on this thread, as a small one.
 *
 * @module
 */
import { internalError, StatusError, serviceUnavailable } from "../../api/errors.ts";
import type { Store } from "../../store/types.ts";
import { markDecoded, type Registry } from "../registry/index.ts";
import { findResource, storeKey } from "../resources.ts";
import { type BodyJob, type BodyVerdict, verdictError } from "./_bodyjob.ts";
import { type BodyAnswer, type BodyPool, BodyWorkerFailed } from "./bodypool.ts";

export { OFFLOAD_BYTES } from "./bodypool.ts";

const ATTEMPTS = 3;
const NAMESPACES = findResource("", "namespaces")!;

/** kube-apiserver's answer for a request that ran past its timeout. */
function timeout(): StatusError {
  return new StatusError(
    504,
    "Timeout",
    "Timeout: request did not complete within the allotted timeout",
  );
}

/** The pool's answer; undefined when no worker thread can start (parse on this thread). */
async function ask(pool: Pick<BodyPool, "run">, job: BodyJob): Promise<BodyAnswer | undefined> {
  try {
    return await pool.run(job);
  } catch (e) {
    if (!(e instanceof BodyWorkerFailed)) throw e;
    switch (e.why) {
      case "unavailable":
        return undefined;
      case "timeout":
        throw timeout();
      case "closed":
        throw serviceUnavailable("the API server is shutting down");
      default:
        throw internalError(`the request body could not be decoded: ${e.message}`);
    }
  }
}

function snapshot(store: Store, keys: Iterable<string>): BodyJob["snapshot"] {
  const out: BodyJob["snapshot"] = [];
  for (const key of keys) {
    const obj = store.get(key);
    if (obj) out.push([key, obj]);
  }
  return out;
}

/**
 * What a write takes from a big body: the decoded object (marked, so it is not decoded again) or
 * the parsed body; throws the Status the request answers.
 */
export async function offloadBody(
  pool: Pick<BodyPool, "run">,
  registry: Registry,
  job: Omit<BodyJob, "snapshot">,
  local: { parse: () => unknown; warn?: ((message: string) => void) | undefined },
): Promise<unknown> {
  const warn = local.warn;
  const store = registry.ctx.store;
  const keys = new Set<string>();
  if (job.verb !== "parse") {
    const info = registry.resolve(job.ref);
    if (info.namespaced && job.namespace) keys.add(storeKey(NAMESPACES, "", job.namespace));
    if (job.name) keys.add(storeKey(info, info.namespaced ? job.namespace : "", job.name));
  }
  let body = job.body;
  for (let attempt = 0; attempt <= ATTEMPTS; attempt++) {
    const check = attempt < ATTEMPTS;
    const answer = await ask(pool, {
      ...job,
      body,
      check,
      snapshot: check ? snapshot(store, keys) : [],
    });
    if (!answer) return local.parse();
    const verdict: BodyVerdict = answer.verdict;
    body = answer.body;
    if (verdict.ok) {
      if (!verdict.decoded) return verdict.body;
      for (const w of verdict.warnings) warn?.(w);
      return markDecoded(verdict.body as object);
    }
    const stale = verdict.reads.filter(
      ([key, rv]) => (store.get(key)?.metadata.resourceVersion ?? null) !== rv,
    );
    if (stale.length === 0) {
      for (const w of verdict.warnings) warn?.(w);
      throw verdictError(verdict.status);
    }
    for (const [key] of stale) keys.add(key);
  }
  throw internalError("the request body could not be decoded");
}
