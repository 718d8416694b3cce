/**
 * get and list. Lists are served from the store's current state; `limit` pages with an opaque
 * continue token (base64 JSON of the revision and the key to resume after, as kube-apiserver's
 * etcd3 storage encodes it). Selectors filter before the limit counts, so a page never comes
 * back short while more matching items remain.
 *
 * @module
 */
import { badRequest, expired, notFound } from "../../api/errors.ts";
import { apiVersionOf, type KubeList, type KubeObject } from "../../api/types.ts";
import type { ListOptions } from "../../api/verbs.ts";
import { type ResourceInfo, storeKey, storePrefix } from "../resources.ts";
import type { RegistryContext } from "./_context.ts";
import { compileSelectors } from "./_select.ts";

function keyOf(info: ResourceInfo, obj: KubeObject): string {
  return storeKey(info, obj.metadata.namespace ?? "", obj.metadata.name ?? "");
}

export function get(
  ctx: RegistryContext,
  info: ResourceInfo,
  namespace: string,
  name: string,
): KubeObject {
  const obj = ctx.store.get(storeKey(info, namespace, name));
  if (!obj) throw notFound(info.resource, info.group, name);
  return fromStore(ctx, info, obj);
}

/** An object as read from the store: the strategy's read-time defaults (custom resources). */
export function fromStore(ctx: RegistryContext, info: ResourceInfo, obj: KubeObject): KubeObject {
  const read = ctx.strategy(info).fromStore;
  return read ? read(obj) : obj;
}

interface ContinueToken {
  v: "meta.k8s.io/v1";
  rv: number;
  start: string;
}

function encodeContinue(rv: number, lastKey: string): string {
  const token: ContinueToken = { v: "meta.k8s.io/v1", rv, start: lastKey };
  return Buffer.from(JSON.stringify(token)).toString("base64url");
}

function decodeContinue(ctx: RegistryContext, token: string): ContinueToken {
  let parsed: ContinueToken;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as ContinueToken;
  } catch {
    throw badRequest("continue key is not valid: illegal base64 data");
  }
  if (
    parsed?.v !== "meta.k8s.io/v1" ||
    typeof parsed.start !== "string" ||
    typeof parsed.rv !== "number"
  ) {
    throw badRequest(
      "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
    );
  }
  if (parsed.rv < ctx.store.oldestWatchableRevision()) {
    throw expired(
      "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
    );
  }
  return parsed;
}

export function list(
  ctx: RegistryContext,
  info: ResourceInfo,
  namespace: string,
  options: ListOptions = {},
): KubeList {
  const strategy = ctx.strategy(info);
  const predicate = compileSelectors(strategy, options);
  const prefix = storePrefix(info, namespace);
  const limit = options.limit && options.limit > 0 ? options.limit : 0;
  let continueKey = options.continue ? decodeContinue(ctx, options.continue).start : undefined;

  const items: KubeObject[] = [];
  let revision = ctx.store.revision();
  let nextContinue: string | undefined;
  let remaining: number | undefined;
  if (!predicate) {
    const page = ctx.store.list(prefix, {
      ...(limit ? { limit } : {}),
      ...(continueKey ? { continueKey } : {}),
    });
    // Not `push(...page.items)`: a spread of 150,000 arguments overflows the call stack.
    for (const obj of page.items) items.push(obj);
    revision = page.revision;
    if (page.continueKey) {
      nextContinue = encodeContinue(revision, page.continueKey);
      remaining = page.remaining;
    }
  } else {
    // Page through the store until the limit is filled with matching items.
    const chunk = Math.max(limit * 2, 500);
    for (;;) {
      const page = ctx.store.list(prefix, {
        limit: chunk,
        ...(continueKey ? { continueKey } : {}),
      });
      revision = page.revision;
      let filledAt = -1;
      for (let i = 0; i < page.items.length; i++) {
        const obj = page.items[i]!;
        if (!predicate(obj)) continue;
        items.push(obj);
        if (limit && items.length === limit) {
          filledAt = i;
          break;
        }
      }
      if (filledAt >= 0) {
        const more = filledAt < page.items.length - 1 || page.continueKey !== undefined;
        const last = page.items[filledAt]!;
        if (more) nextContinue = encodeContinue(revision, keyOf(info, last));
        break;
      }
      if (!page.continueKey) break;
      continueKey = page.continueKey;
    }
  }

  const read = strategy.fromStore;
  if (read) for (let i = 0; i < items.length; i++) items[i] = read(items[i]!);
  const metadata: KubeList["metadata"] = { resourceVersion: String(revision) };
  if (nextContinue) {
    metadata.continue = nextContinue;
    if (remaining !== undefined) metadata.remainingItemCount = remaining;
  }
  return {
    apiVersion: apiVersionOf(info.group, info.version),
    kind: info.listKind,
    metadata,
    items,
  };
}
