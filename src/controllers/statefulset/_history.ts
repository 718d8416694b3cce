/**
 * The current and update revisions of a set (kube's getStatefulSetRevisions):
 *
 * - the update revision is the set's template: reused when it equals the newest revision; when it
 *   equals an older one (a rollback), that one is renumbered to be the newest; otherwise a new
 *   revision is created, bumping the collision count while its name is taken by different data;
 * - the current revision is the one named by `status.currentRevision`, or the update revision
 *   when there is none yet.
 *
 * @module
 */
import type { ControllerRevision, StatefulSet } from "kubernetes-types/apps/v1.js";
import {
  equalRevisions,
  newRevision,
  nextRevisionNumber,
  revisionHash,
  revisionName,
  sortRevisions,
} from "./_revision.ts";

export interface HistoryDeps {
  /** Creates the revision; resolves to the stored object, or undefined when the name is taken. */
  createRevision(revision: ControllerRevision): Promise<ControllerRevision | undefined>;
  /** Reads a revision by name (after a create found the name taken). */
  getRevision(name: string): Promise<ControllerRevision | undefined>;
  /** Sets `revision` on an existing revision and resolves to the stored object. */
  renumberRevision(revision: ControllerRevision, to: number): Promise<ControllerRevision>;
}

export interface Revisions {
  current: ControllerRevision;
  update: ControllerRevision;
  collisionCount: number;
  /** Every revision of the set, ascending, including any created here. */
  all: ControllerRevision[];
}

export async function resolveRevisions(
  set: StatefulSet,
  owned: readonly ControllerRevision[],
  deps: HistoryDeps,
): Promise<Revisions> {
  const sorted = sortRevisions(owned);
  let collisionCount = set.status?.collisionCount ?? 0;
  const wanted = newRevision(set, nextRevisionNumber(sorted), collisionCount);
  const equal = sorted.filter((r) => equalRevisions(r, wanted));
  const newest = sorted.at(-1);
  const lastEqual = equal.at(-1);
  let update: ControllerRevision;
  let all = sorted;
  if (lastEqual && newest && lastEqual === newest) {
    update = newest;
  } else if (lastEqual) {
    update = await deps.renumberRevision(lastEqual, wanted.revision);
    all = sortRevisions(sorted.map((r) => (r === lastEqual ? update : r)));
  } else {
    for (;;) {
      const candidate = newRevision(set, wanted.revision, collisionCount);
      const created = await deps.createRevision(candidate);
      if (created) {
        update = created;
        break;
      }
      const name = revisionName(set, revisionHash(candidate.data, collisionCount));
      const existing = await deps.getRevision(name);
      if (existing && equalRevisions(existing, candidate)) {
        update = existing;
        break;
      }
      collisionCount++;
    }
    all = sortRevisions([
      ...sorted.filter((r) => r.metadata?.name !== update.metadata?.name),
      update,
    ]);
  }
  const currentName = set.status?.currentRevision;
  const current = all.find((r) => r.metadata?.name === currentName) ?? update;
  return { current, update, collisionCount, all };
}
