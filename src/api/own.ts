/**
 * Setting a key that came from a user's object. `out[key] = value` with the key `__proto__`
 * does not make a property: it calls `Object.prototype`'s `__proto__` setter, which sets the
 * prototype (an object value) or does nothing (any other value), and the key is lost. Yet
 * `__proto__` is a valid ConfigMap or Secret data key (`[-._a-zA-Z0-9]+`) and any key of a
 * free-form field, and JSON.parse, js-yaml, structuredClone and object spread all keep it as an
 * own property. Every copy or merge of user keys sets them through {@link setOwn}.
 *
 * @module
 */

/** `obj[key] = value` as an own, enumerable property, `__proto__` included. */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(obj, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else obj[key] = value;
}
