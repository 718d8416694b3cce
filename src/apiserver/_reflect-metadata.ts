/**
 * The slice of the Reflect metadata API that `tsyringe` (a dependency of `@peculiar/x509`) checks
 * for at load time and calls when resolving injected classes: `defineMetadata`, `getOwnMetadata`,
 * `getMetadata` (own, then up the prototype chain) and `metadata` (the decorator form).
 *
 * Why here: x509 refuses to load without a Reflect polyfill and the project has none installed;
 * this module must be imported before `@peculiar/x509`. It installs nothing when a real polyfill
 * (such as `reflect-metadata`) is already present.
 *
 * @module
 */

type Key = string | symbol | undefined;

interface ReflectMetadata {
  defineMetadata(metadataKey: unknown, value: unknown, target: object, property?: Key): void;
  getOwnMetadata(metadataKey: unknown, target: object, property?: Key): unknown;
  getMetadata(metadataKey: unknown, target: object, property?: Key): unknown;
  metadata(metadataKey: unknown, value: unknown): (target: object, property?: Key) => void;
}

const store = new WeakMap<object, Map<Key, Map<unknown, unknown>>>();

function own(target: object, property: Key, create: boolean): Map<unknown, unknown> | undefined {
  let byProperty = store.get(target);
  if (byProperty === undefined) {
    if (!create) return undefined;
    byProperty = new Map();
    store.set(target, byProperty);
  }
  let entries = byProperty.get(property);
  if (entries === undefined && create) {
    entries = new Map();
    byProperty.set(property, entries);
  }
  return entries;
}

const polyfill: ReflectMetadata = {
  defineMetadata(metadataKey, value, target, property) {
    own(target, property, true)?.set(metadataKey, value);
  },
  getOwnMetadata(metadataKey, target, property) {
    return own(target, property, false)?.get(metadataKey);
  },
  getMetadata(metadataKey, target, property) {
    for (let t: object | null = target; t !== null; t = Object.getPrototypeOf(t)) {
      const entries = own(t, property, false);
      if (entries?.has(metadataKey)) return entries.get(metadataKey);
    }
    return undefined;
  },
  metadata(metadataKey, value) {
    return (target, property) => polyfill.defineMetadata(metadataKey, value, target, property);
  },
};

const reflect = Reflect as unknown as Partial<ReflectMetadata>;
if (typeof reflect.getMetadata !== "function") Object.assign(Reflect, polyfill);
