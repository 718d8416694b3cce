/**
 * Renders values as Go's `%#v` prints them, for the few validation messages where kube-apiserver
 * shows a Go struct or map (`map[string]string{"app":"x"}`, `v1.LabelSelector{…}`). Users copy
 * these messages into searches; matching them byte for byte keeps the search useful.
 *
 * @module
 */
import { isObj, num, objs, str, strMap } from "./_util.ts";

/** `map[string]string{"a":"b", "c":"d"}` (keys sorted), `map[string]string(nil)` when absent. */
export function goStringMap(v: unknown): string {
  if (!isObj(v)) return "map[string]string(nil)";
  const m = strMap(v);
  const body = Object.keys(m)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(m[k])}`)
    .join(", ");
  return `map[string]string{${body}}`;
}

function goStringSlice(v: unknown): string {
  if (!Array.isArray(v)) return "[]string(nil)";
  return `[]string{${v.map((x) => JSON.stringify(str(x))).join(", ")}}`;
}

/** A metav1.LabelSelector as `%#v` prints the value behind the pointer. */
export function goLabelSelector(v: unknown): string {
  if (!isObj(v)) return "null";
  const exprs = Array.isArray(v.matchExpressions)
    ? `[]v1.LabelSelectorRequirement{${objs(v.matchExpressions)
        .map(
          (e) =>
            `v1.LabelSelectorRequirement{Key:${JSON.stringify(str(e.key))}, Operator:${JSON.stringify(str(e.operator))}, Values:${goStringSlice(e.values)}}`,
        )
        .join(", ")}}`
    : "[]v1.LabelSelectorRequirement(nil)";
  return `v1.LabelSelector{MatchLabels:${goStringMap(v.matchLabels)}, MatchExpressions:${exprs}}`;
}

/** An intstr.IntOrString value: `intstr.IntOrString{Type:1, IntVal:0, StrVal:"25%"}`. */
export function goIntOrString(v: unknown): string {
  if (typeof v === "string")
    return `intstr.IntOrString{Type:1, IntVal:0, StrVal:${JSON.stringify(v)}}`;
  return `intstr.IntOrString{Type:0, IntVal:${num(v)}, StrVal:""}`;
}

/** The `core.ServicePort` key kube reports for a duplicate (protocol, port) pair. */
export function goServicePortKey(protocol: string, port: number): string {
  return `core.ServicePort{Name:"", Protocol:${JSON.stringify(protocol)}, AppProtocol:(*string)(nil), Port:${port}, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}`;
}
