/**
 * A version served as a view of another (`autoscaling/v1` HorizontalPodAutoscalers, stored as
 * `autoscaling/v2`), as kube-apiserver serves every version of a kind from one stored version:
 * a request's body is decoded and type-checked in the version it names, then converted to the
 * stored version, which every verb works on (defaults, validation, admission and the store see
 * only that version); what goes back — objects, list items, watch events — is converted to the
 * request's version. Patches apply to the object as the request's version shows it.
 *
 * @module
 */
import { badRequest, StatusError } from "../../api/errors.ts";
import type { KubeObject } from "../../api/types.ts";
import type { WriteOptions } from "../../api/verbs.ts";
import { findResourceVersion, type ResourceInfo } from "../resources.ts";
import type { RegistryContext, ValidateAs } from "./_context.ts";
import { checkTypeMeta, decodeBody, kindOf } from "./_prepare.ts";

export interface VersionView {
  /** The version the request speaks. */
  info: ResourceInfo;
  /** The version objects are stored in. */
  storage: ResourceInfo;
  toStorage(obj: KubeObject): KubeObject;
  fromStorage(obj: KubeObject): KubeObject;
  /** A request body: decoded and checked as the request's version, then converted. */
  decodeIn(body: unknown, options: WriteOptions | undefined): KubeObject;
  /**
   * For custom resources: a write validated in the request's version, against that version's
   * schema and rules, as kube validates custom resources (built-in kinds are validated in the
   * stored version, as kube validates its internal version).
   */
  validateAs?: ValidateAs;
}

/** The view of `info`, or undefined for a version that is stored as itself. */
export function versionView(ctx: RegistryContext, info: ResourceInfo): VersionView | undefined {
  if (!info.storageVersion) return undefined;
  const storage =
    findResourceVersion(info.group, info.storageVersion, info.resource) ??
    ctx.custom?.find(info.group, info.storageVersion, info.resource);
  const convert = ctx.convert;
  if (!storage || !convert) return undefined;
  const convertTo = (target: ResourceInfo, obj: KubeObject) => {
    try {
      return convert(obj, kindOf(target));
    } catch (e) {
      if (e instanceof StatusError) throw e;
      const message = e instanceof Error ? e.message : String(e);
      throw badRequest(
        `${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: ${message}`,
      );
    }
  };
  // The object converted for validation: its body in the request's version with its own
  // metadata. What the server sets anew on each attempt (uid, timestamps, a generated name) is
  // left out of what is converted, so a webhook conversion fetched once serves the retry.
  const shown = (obj: KubeObject): KubeObject => {
    const { name, namespace, generateName, labels, annotations } = obj.metadata;
    const stable = {
      ...(name !== undefined && generateName === undefined ? { name } : {}),
      ...(namespace !== undefined ? { namespace } : {}),
      ...(labels !== undefined ? { labels } : {}),
      ...(annotations !== undefined ? { annotations } : {}),
    };
    return { ...convertTo(info, { ...obj, metadata: stable }), metadata: obj.metadata };
  };
  const validateAs: ValidateAs = (obj, old) => {
    const strategy = ctx.strategy(info);
    return old ? strategy.validateUpdate(shown(obj), shown(old)) : strategy.validate(shown(obj));
  };
  return {
    info,
    storage,
    ...(info.custom ? { validateAs } : {}),
    toStorage: (obj) => convertTo(storage, obj),
    fromStorage: (obj) => convertTo(info, obj),
    decodeIn(body, options) {
      const decoded = decodeBody(ctx, kindOf(info), body, options);
      checkTypeMeta(info, decoded);
      return convertTo(storage, decoded);
    },
  };
}
