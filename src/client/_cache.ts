/**
 * The informer's local cache: objects by `ns/name` key (`objectKey`), plus named indexes that map
 * an index value to the keys of the objects producing it. Index functions run on every write, so
 * an index is always consistent with the objects. The built-in `byNamespace` index serves
 * `list(ns)`.
 *
 * Cached objects are shared, not copied: callers must not mutate them (as with client-go's
 * listers).
 *
 * @module
 */
import { type KubeObject, objectKey } from "../api/types.ts";

export type IndexFunc<T> = (obj: T) => string[];

/** The built-in index of objects by namespace (`""` for cluster-scoped objects). */
export const NAMESPACE_INDEX = "byNamespace";

interface Index<T> {
  fn: IndexFunc<T>;
  /** The function as registered (before any wrapping), to recognise a repeated registration. */
  original: IndexFunc<T>;
  byValue: Map<string, Set<string>>;
  /** The values each key was last indexed under, to unindex it without the old object. */
  byKey: Map<string, string[]>;
}

export class IndexedCache<T extends KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly indexes = new Map<string, Index<T>>();

  constructor() {
    this.addIndex(NAMESPACE_INDEX, (o) => [o.metadata.namespace ?? ""]);
  }

  /** Adds an index; the same name with the same `original` function again is a no-op. */
  addIndex(name: string, fn: IndexFunc<T>, original: IndexFunc<T> = fn): void {
    const existing = this.indexes.get(name);
    if (existing) {
      if (existing.original === original) return;
      throw new Error(`index ${JSON.stringify(name)} already exists with another function`);
    }
    const index: Index<T> = { fn, original, byValue: new Map(), byKey: new Map() };
    this.indexes.set(name, index);
    for (const [key, obj] of this.items) this.indexOne(index, key, obj);
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  set(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.items.get(key);
    this.items.set(key, obj);
    for (const index of this.indexes.values()) {
      this.unindexOne(index, key);
      this.indexOne(index, key, obj);
    }
    return old;
  }

  delete(key: string): T | undefined {
    const old = this.items.get(key);
    if (!old) return undefined;
    this.items.delete(key);
    for (const index of this.indexes.values()) this.unindexOne(index, key);
    return old;
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  values(): T[] {
    return [...this.items.values()];
  }

  size(): number {
    return this.items.size;
  }

  byIndex(name: string, value: string): T[] {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`no index named ${JSON.stringify(name)}`);
    const keys = index.byValue.get(value);
    if (!keys) return [];
    return [...keys].map((k) => this.items.get(k)!);
  }

  private indexOne(index: Index<T>, key: string, obj: T): void {
    const values = [...new Set(index.fn(obj))];
    index.byKey.set(key, values);
    for (const v of values) {
      let keys = index.byValue.get(v);
      if (!keys) {
        keys = new Set();
        index.byValue.set(v, keys);
      }
      keys.add(key);
    }
  }

  private unindexOne(index: Index<T>, key: string): void {
    for (const v of index.byKey.get(key) ?? []) {
      const keys = index.byValue.get(v);
      keys?.delete(key);
      if (keys?.size === 0) index.byValue.delete(v);
    }
    index.byKey.delete(key);
  }
}

/** An index of objects by the value of one label (objects without the label are not indexed). */
export function labelIndex<T extends KubeObject>(label: string): IndexFunc<T> {
  return (obj) => {
    const v = obj.metadata.labels?.[label];
    return v === undefined ? [] : [v];
  };
}
