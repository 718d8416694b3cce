/**
 * Boolean query parameters as kube-apiserver (and the kubelet) read them: apimachinery converts
 * the first value of a parameter to false only when it is `0` or `false` in any letter case, and
 * to true for anything else — `true`, `True` (what the official Python client sends), `1`, `yes`,
 * and the empty value of `?watch` or `?watch=`. An absent parameter is false, or unset for the
 * optional ones (`sendInitialEvents`). Every boolean query parameter goes through here.
 *
 * @module
 */

/** The parameter as a bool: absent → false. */
export function queryFlag(query: URLSearchParams, name: string): boolean {
  return optionalQueryFlag(query, name) ?? false;
}

/** The parameter as a bool, or undefined when it is absent (kube's `*bool` fields). */
export function optionalQueryFlag(query: URLSearchParams, name: string): boolean | undefined {
  const value = query.get(name);
  if (value === null) return undefined;
  return !(value === "0" || value.toLowerCase() === "false");
}
