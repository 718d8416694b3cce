/**
 * Kubernetes' URL library (`library/urls.go`): `url(s)`, `isURL(s)` and the getters
 * `getScheme`, `getHost`, `getHostname`, `getPort`, `getEscapedPath`, `getQuery`. As Go's
 * `url.ParseRequestURI`, a URL must be absolute or an absolute path.
 *
 * @module
 */
import { type CelFunc, CelScalar, celFunc, celMethod, listType, mapType } from "@bufbuild/cel";
import { opaque, textOf, URL_TYPE } from "../_opaque.ts";

interface Parts {
  scheme: string;
  host: string;
  path: string;
  query: string;
}

const URI = /^([a-zA-Z][a-zA-Z0-9+.-]*):(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#.*)?$/;

function parse(s: string): Parts | undefined {
  if (s.startsWith("/")) {
    const [path = "", query = ""] = s.split("?", 2);
    return { scheme: "", host: "", path, query };
  }
  const m = URI.exec(s);
  if (!m || /\s/.test(s)) return undefined;
  return { scheme: m[1] ?? "", host: m[2] ?? "", path: m[3] ?? "", query: m[4] ?? "" };
}

function parts(u: unknown): Parts {
  return parse(textOf(u)) ?? { scheme: "", host: "", path: "", query: "" };
}

function hostname(host: string): string {
  if (host.startsWith("[")) return host.slice(1, host.indexOf("]"));
  const colon = host.lastIndexOf(":");
  return colon >= 0 ? host.slice(0, colon) : host;
}

function port(host: string): string {
  const end = host.startsWith("[") ? host.indexOf("]") + 1 : 0;
  const colon = host.indexOf(":", end);
  return colon >= 0 ? host.slice(colon + 1) : "";
}

function query(q: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!q) return out;
  for (const [k, v] of new URLSearchParams(q)) out.set(k, [...(out.get(k) ?? []), v]);
  return out;
}

export const URLS: CelFunc[] = [
  celFunc("url", [CelScalar.STRING], URL_TYPE, (s) => {
    if (!parse(s))
      throw new Error(
        `URL parse error during conversion from string: parse ${JSON.stringify(s)}: invalid URI for request`,
      );
    return opaque(URL_TYPE, s);
  }),
  celFunc("isURL", [CelScalar.STRING], CelScalar.BOOL, (s) => parse(s) !== undefined),
  celMethod("getScheme", URL_TYPE, [], CelScalar.STRING, function () {
    return parts(this).scheme;
  }),
  celMethod("getHost", URL_TYPE, [], CelScalar.STRING, function () {
    return parts(this).host;
  }),
  celMethod("getHostname", URL_TYPE, [], CelScalar.STRING, function () {
    return hostname(parts(this).host);
  }),
  celMethod("getPort", URL_TYPE, [], CelScalar.STRING, function () {
    return port(parts(this).host);
  }),
  celMethod("getEscapedPath", URL_TYPE, [], CelScalar.STRING, function () {
    return parts(this).path;
  }),
  celMethod(
    "getQuery",
    URL_TYPE,
    [],
    mapType(CelScalar.STRING, listType(CelScalar.STRING)),
    function () {
      return query(parts(this).query);
    },
  ),
];
