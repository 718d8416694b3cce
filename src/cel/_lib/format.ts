/**
 * Kubernetes' format library (`library/format.go`, 1.31+): `format.dns1123Label()` and the other
 * named formats, `format.named(name)` (an optional), and `<format>.validate(s)`: none when `s`
 * is valid, else an optional list of kube's validation messages.
 *
 * @module
 */
import { type CelFunc, CelScalar, celFunc, celMethod } from "@bufbuild/cel";
import {
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
} from "../../api/validation.ts";
import { FORMAT, OPTIONAL, opaque, optionalOf, textOf } from "../_opaque.ts";

const prefix = (check: (s: string) => string[]) => (s: string) =>
  check(s.endsWith("-") ? `${s.slice(0, -1)}a` : s);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const FORMATS: Record<string, (s: string) => string[]> = {
  dns1123Label: isDNS1123Label,
  dns1123Subdomain: isDNS1123Subdomain,
  dns1035Label: isDNS1035Label,
  qualifiedName: isQualifiedName,
  dns1123LabelPrefix: prefix(isDNS1123Label),
  dns1123SubdomainPrefix: prefix(isDNS1123Subdomain),
  dns1035LabelPrefix: prefix(isDNS1035Label),
  labelValue: isValidLabelValue,
  uri: (s) =>
    /^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s]*$/.test(s) || s.startsWith("/") ? [] : ["invalid URI"],
  uuid: (s) => (UUID.test(s) ? [] : ["does not match the UUID format"]),
  byte: (s) =>
    /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s)
      ? []
      : ["invalid base64"],
  date: (s) =>
    /^\d{4}-\d\d-\d\d$/.test(s) && !Number.isNaN(Date.parse(s)) ? [] : ["invalid date"],
  datetime: (s) =>
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(s) &&
    !Number.isNaN(Date.parse(s))
      ? []
      : ["invalid datetime"],
};

export const FORMAT_FUNCS: CelFunc[] = [
  ...Object.keys(FORMATS).map((name) =>
    celFunc(`format.${name}`, [], FORMAT, () => opaque(FORMAT, name)),
  ),
  celFunc("format.named", [CelScalar.STRING], OPTIONAL, (name) =>
    optionalOf(name in FORMATS ? (opaque(FORMAT, name) as never) : undefined),
  ),
  celMethod("validate", FORMAT, [CelScalar.STRING], OPTIONAL, function (s) {
    const errs = FORMATS[textOf(this)]?.(s) ?? [];
    return optionalOf(errs.length ? (errs as never) : undefined);
  }),
];
