/**
 * User impersonation (`kubectl --as`, `--as-group`, `--as-uid`), as kube-apiserver's filter does
 * it: the `Impersonate-User`, `Impersonate-Group`, `Impersonate-Uid` and `Impersonate-Extra-<key>`
 * headers are each checked with the verb `impersonate` against the requester's permissions —
 * `users`, `groups`, `serviceaccounts` (namespaced, for `system:serviceaccount:<ns>:<name>`),
 * `uids` and `userextras/<key>` (group `authentication.k8s.io`) — and the request then runs as
 * that user: its groups are the requested ones (a service account without requested groups gets
 * its own), plus `system:authenticated` (`system:unauthenticated` for `system:anonymous`).
 * Without `Impersonate-User` the other headers are a 400, as in kube.
 *
 * @module
 */
import type { IncomingMessage } from "node:http";
import { badRequest, type StatusError } from "../../api/errors.ts";
import { serviceAccountGroups } from "../../api/serviceaccount.ts";
import type { UserInfo } from "../authn.ts";
import type { Attributes } from "./_rules.ts";
import type { Authorizer } from "./authorizer.ts";
import { forbidden } from "./forbidden.ts";

const SA_PREFIX = "system:serviceaccount:";
const EXTRA_PREFIX = "impersonate-extra-";

function headerValues(req: IncomingMessage, name: string): string[] {
  const v = req.headers[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v])
    .flatMap((s) => s.split(","))
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

function attributes(over: Partial<Attributes>): Attributes {
  return {
    verb: "impersonate",
    resourceRequest: true,
    path: "",
    apiGroup: "",
    apiVersion: "",
    resource: "",
    subresource: "",
    namespace: "",
    name: "",
    ...over,
  };
}

/** The user a request acts as: `requester`, or whom it impersonates; a StatusError when refused. */
export function impersonate(
  req: IncomingMessage,
  requester: UserInfo,
  authorizer: Authorizer,
): UserInfo | StatusError {
  const userHeader = req.headers["impersonate-user"];
  const groups = headerValues(req, "impersonate-group");
  const uidHeader = req.headers["impersonate-uid"];
  const extraKeys = Object.keys(req.headers).filter((h) => h.startsWith(EXTRA_PREFIX));
  if (userHeader === undefined) {
    if (groups.length > 0 || uidHeader !== undefined || extraKeys.length > 0) {
      return badRequest(
        `requested [${[...groups.map((g) => `{Group ${g}}`), ...(uidHeader !== undefined ? [`{UID ${String(uidHeader)}}`] : [])].join(" ")}] without impersonating a user`,
      );
    }
    return requester;
  }
  const name = String(userHeader);
  const checks: Attributes[] = [];
  let serviceAccount: { namespace: string; name: string } | undefined;
  if (name.startsWith(SA_PREFIX)) {
    const [namespace = "", account = ""] = name.slice(SA_PREFIX.length).split(":");
    serviceAccount = { namespace, name: account };
    checks.push(attributes({ resource: "serviceaccounts", namespace, name: account }));
  } else checks.push(attributes({ resource: "users", name }));
  for (const group of groups) checks.push(attributes({ resource: "groups", name: group }));
  const extra: Record<string, string[]> = {};
  for (const header of extraKeys) {
    const key = decodeURIComponent(header.slice(EXTRA_PREFIX.length));
    const values = headerValues(req, header);
    extra[key] = values;
    for (const value of values) {
      checks.push(
        attributes({
          apiGroup: "authentication.k8s.io",
          resource: "userextras",
          subresource: key,
          name: value,
        }),
      );
    }
  }
  const uid = uidHeader === undefined ? undefined : String(uidHeader);
  if (uid !== undefined)
    checks.push(attributes({ apiGroup: "authentication.k8s.io", resource: "uids", name: uid }));
  for (const check of checks) {
    const decision = authorizer.authorize(requester, check);
    if (!decision.allowed) return forbidden(requester.name, check, decision.reason);
  }
  const asGroups = [...groups];
  if (serviceAccount && groups.length === 0)
    asGroups.push(...serviceAccountGroups(serviceAccount.namespace));
  const implicit = name === "system:anonymous" ? "system:unauthenticated" : "system:authenticated";
  if (!asGroups.includes(implicit)) asGroups.push(implicit);
  const user: UserInfo = { name, groups: asGroups };
  if (uid !== undefined) user.uid = uid;
  if (extraKeys.length > 0) user.extra = extra;
  return user;
}
