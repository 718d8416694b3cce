/**
 * Writes through admission webhooks. The registry's verbs are synchronous between their read and
 * their write; webhooks are calls over the network. So a write that webhooks are interested in
 * runs its verb up to three times, each pass from a fresh copy of the request:
 *
 * 1. up to kube's mutating admission point (decoded and defaulted), where the object is taken
 *    and the pass stopped; the mutating webhooks run on it (in the request's version);
 * 2. with the mutated object put in at that point, through validation and built-in admission up
 *    to the write, where the object to store is taken and the pass stopped (what built-in
 *    admission took is given back); the validating webhooks run on it in parallel;
 * 3. the real write, with the mutated object put in again and the uid (and a generated name) of
 *    pass 2 kept, so the stored object is the one the validating webhooks approved.
 *
 * A pass that sees another stored object than pass 1 did (a concurrent write) starts over, as
 * kube-apiserver's update retries call admission again; a client's resourceVersion makes that a
 * Conflict instead, as on kube. Writes no webhook rule covers run once, as before.
 *
 * @module
 */
import { conflict } from "../../api/errors.ts";
import type { KubeObject } from "../../api/types.ts";
import type { AdmitHook, RegistryContext, WriteAttributes } from "./_context.ts";

/** Stops a pass at an admission point with what it saw there. */
class Stopped {
  constructor(
    readonly obj: KubeObject,
    readonly old: KubeObject | undefined,
  ) {}
}

/** The stored object changed between passes. */
class Moved {}

const MAX_ATTEMPTS = 5;

export interface VersionShift {
  /** Storage version → the request's version (what webhooks see). */
  toRequest(obj: KubeObject): KubeObject;
  /** The request's version → storage version. */
  toStorage(obj: KubeObject): KubeObject;
}

const SAME: VersionShift = { toRequest: (o) => o, toStorage: (o) => o };

function revisionOf(obj: KubeObject | undefined): string | undefined {
  return obj?.metadata.resourceVersion;
}

/**
 * Runs `run` (one synchronous verb, given an {@link AdmitHook}) with the webhooks of `attrs`
 * around it, as the module header describes.
 */
export async function admitted<T>(
  ctx: RegistryContext,
  attrs: WriteAttributes,
  run: (admit: AdmitHook | undefined, copy: boolean) => T,
  shift: VersionShift = SAME,
): Promise<T> {
  const webhooks = ctx.webhooks;
  // Run once, without webhooks: the verb may use the request's own body.
  if (!webhooks?.interested(attrs)) return run(undefined, false);
  for (let attempt = 1; ; attempt++) {
    // Pass 1: the object at the mutating admission point.
    let first: Stopped | undefined;
    try {
      run(
        {
          mutate: (obj, old) => {
            throw new Stopped(structuredClone(obj), old);
          },
        },
        true,
      );
    } catch (e) {
      if (!(e instanceof Stopped)) throw e;
      first = e;
    }
    // The verb ended before admission (nothing to write): that is its answer.
    if (!first) return run(undefined, true);
    const oldRevision = revisionOf(first.old);
    const oldShown = first.old && shift.toRequest(structuredClone(first.old));
    const named = { ...attrs, name: attrs.name || (first.obj.metadata.name ?? "") };
    const mutatedShown = await webhooks.mutate(named, shift.toRequest(first.obj), oldShown);
    const mutated = mutatedShown ? shift.toStorage(mutatedShown) : first.obj;
    const putIn = (name?: string) => (_obj: KubeObject, old: KubeObject | undefined) => {
      if (revisionOf(old) !== oldRevision) throw new Moved();
      const copy = structuredClone(mutated);
      if (name && !copy.metadata.name) copy.metadata.name = name;
      return copy;
    };
    try {
      // Pass 2: the object about to be stored.
      let final: Stopped | undefined;
      try {
        run(
          {
            mutate: putIn(),
            validate: (obj, old) => {
              throw new Stopped(structuredClone(obj), old);
            },
          },
          true,
        );
      } catch (e) {
        if (!(e instanceof Stopped)) throw e;
        final = e;
      }
      if (!final) return run({ mutate: putIn() }, true);
      const finalName = final.obj.metadata.name ?? "";
      await webhooks.validate(
        { ...named, name: named.name || finalName },
        shift.toRequest(final.obj),
        oldShown,
      );
      // Pass 3: the write.
      const hook: AdmitHook = { mutate: putIn(finalName) };
      if (attrs.operation === "CREATE" && final.obj.metadata.uid) hook.uid = final.obj.metadata.uid;
      return run(hook, true);
    } catch (e) {
      if (!(e instanceof Moved)) throw e;
      if (attempt >= MAX_ATTEMPTS) {
        const { resource, group } = attrs.info;
        throw conflict(resource, group, attrs.name, "the object keeps changing during admission");
      }
    }
  }
}
