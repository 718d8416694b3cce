/**
 * `MemoryStore`: the store contract with nothing persisted (tests, `--ephemeral` clusters).
 * Same engine, index and watch window as the SQLite backend; its journal does nothing, so every
 * write is as cheap as the JSON copy of the object.
 *
 * @module
 */
import { type Journal, type StoreTuning, VersionedStore } from "./_engine.ts";

const noJournal: Journal = {
  put() {},
  remove() {},
  close() {},
};

export class MemoryStore extends VersionedStore {
  constructor(tuning: StoreTuning = {}) {
    super(noJournal, { revision: 0, objects: [] }, tuning);
  }
}
