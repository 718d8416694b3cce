/**
 * Which objects an owner claims, as kube's ControllerRefManager decides for the workload
 * controllers: an orphan that the owner's selector matches (and `fits`) is adopted; an owned one
 * that no longer matches is released; orphans being deleted are left alone, and an owner being
 * deleted adopts and releases nothing. {@link applyClaim} carries the decision out.
 *
 * @module
 */
import type {
  LabelSelector as ApiLabelSelector,
  ObjectMeta,
  OwnerReference,
} from "kubernetes-types/meta/v1.js";
import { isStatusError } from "../api/errors.ts";
import { matches, selectorFromLabelSelector } from "../api/labels.ts";

export interface Claimed<T> {
  /** Owned and matching: the owner's. */
  keep: T[];
  adopt: T[];
  release: T[];
}

/** An owner: its identity and its selector. */
export interface Selecting {
  metadata?: ObjectMeta | undefined;
  spec?: { selector?: ApiLabelSelector | undefined } | undefined;
}

function controllerUid(meta: ObjectMeta | undefined): string | undefined {
  return meta?.ownerReferences?.find((r) => r.controller === true)?.uid;
}

export function claim<T extends { metadata?: ObjectMeta | undefined }>(
  owner: Selecting,
  objects: readonly T[],
  fits: (o: T) => boolean = () => true,
): Claimed<T> {
  const out: Claimed<T> = { keep: [], adopt: [], release: [] };
  let selector: ReturnType<typeof selectorFromLabelSelector>;
  try {
    selector = selectorFromLabelSelector(owner.spec?.selector);
  } catch {
    return out;
  }
  const uid = owner.metadata?.uid;
  const deleting = Boolean(owner.metadata?.deletionTimestamp);
  for (const o of objects) {
    const controller = controllerUid(o.metadata);
    const match = matches(selector, o.metadata?.labels) && fits(o);
    if (controller === uid && uid !== undefined) {
      if (match || deleting) out.keep.push(o);
      else out.release.push(o);
    } else if (controller === undefined && match && !deleting && !o.metadata?.deletionTimestamp) {
      out.adopt.push(o);
    }
  }
  return out;
}

/**
 * Adopts (adding `ref`) and releases (removing the owner's references) as claimed, through
 * `setOwners`; an object gone meanwhile is skipped. Resolves to the objects the owner now owns.
 */
export async function applyClaim<T extends { metadata?: ObjectMeta | undefined }>(
  claimed: Claimed<T>,
  ref: OwnerReference,
  setOwners: (o: T, owners: OwnerReference[]) => Promise<T>,
): Promise<T[]> {
  const owned = [...claimed.keep];
  const gone = (e: unknown) => {
    if (!isStatusError(e, "NotFound")) throw e;
    return undefined;
  };
  for (const o of claimed.adopt) {
    const adopted = await setOwners(o, [...(o.metadata?.ownerReferences ?? []), ref]).catch(gone);
    if (adopted) owned.push(adopted);
  }
  for (const o of claimed.release) {
    const owners = (o.metadata?.ownerReferences ?? []).filter((r) => r.uid !== ref.uid);
    await setOwners(o, owners).catch(gone);
  }
  return owned;
}
