/**
 * AdmissionReview v1 (and v1beta1, the same shape) as kube-apiserver sends and reads it: the
 * request built from a write's attributes, the response checked (apiVersion, kind, uid), a
 * refusal turned into kube's Status (`admission webhook "x" denied the request: …`, code at
 * least 400), a JSONPatch applied.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import { StatusError } from "../../api/errors.ts";
import { applyJsonPatch } from "../../api/patch/index.ts";
import type { KubeObject } from "../../api/types.ts";
import type { WriteAttributes } from "../registry/index.ts";
import type { Gvr, Webhook } from "./_match.ts";

export const SUPPORTED_REVIEW_VERSIONS = ["v1", "v1beta1"];

export interface ReviewInput {
  attrs: WriteAttributes;
  /** The version the webhook sees (the request's, or an equivalent one). */
  as: Gvr & { kind: string };
  obj: KubeObject | undefined;
  old: KubeObject | undefined;
}

/** The first AdmissionReview version the webhook accepts that kube speaks, or undefined. */
export function reviewVersion(hook: Webhook): string | undefined {
  return (hook.admissionReviewVersions ?? []).find((v) => SUPPORTED_REVIEW_VERSIONS.includes(v));
}

export function buildReview(version: string, input: ReviewInput): { uid: string; review: object } {
  const { attrs, as } = input;
  const uid = randomUUID();
  const info = attrs.info;
  const request: Record<string, unknown> = {
    uid,
    kind: { group: as.group, version: as.version, kind: as.kind },
    resource: { group: as.group, version: as.version, resource: as.resource },
    requestKind: { group: info.group, version: info.version, kind: info.kind },
    requestResource: { group: info.group, version: info.version, resource: info.resource },
    name: attrs.name,
    operation: attrs.operation,
    userInfo: attrs.user
      ? {
          username: attrs.user.name,
          ...(attrs.user.uid ? { uid: attrs.user.uid } : {}),
          groups: attrs.user.groups,
          ...(attrs.user.extra ? { extra: attrs.user.extra } : {}),
        }
      : { username: "system:apiserver", groups: ["system:masters", "system:authenticated"] },
    object: input.obj ?? null,
    oldObject: input.old ?? null,
    dryRun: attrs.dryRun,
    options: attrs.options,
  };
  if (attrs.subresource) {
    request.subResource = attrs.subresource;
    request.requestSubResource = attrs.subresource;
  }
  if (attrs.namespace) request.namespace = attrs.namespace;
  return {
    uid,
    review: { apiVersion: `admission.k8s.io/${version}`, kind: "AdmissionReview", request },
  };
}

export interface ReviewResponse {
  allowed: boolean;
  status?: { code?: number; message?: string; reason?: string; status?: string };
  patch?: string;
  patchType?: string;
  warnings?: string[];
}

/** The response of a review, or an Error saying what is wrong with it (a failed call). */
export function readResponse(version: string, uid: string, body: unknown): ReviewResponse {
  const review = (body ?? {}) as { apiVersion?: string; kind?: string; response?: unknown };
  if (review.apiVersion !== `admission.k8s.io/${version}` || review.kind !== "AdmissionReview") {
    const [g, v] = (review.apiVersion ?? "").includes("/")
      ? (review.apiVersion ?? "").split("/")
      : ["", review.apiVersion ?? ""];
    throw new Error(
      `received invalid webhook response: expected webhook response of admission.k8s.io/${version}, Kind=AdmissionReview, got ${g}/${v}, Kind=${review.kind ?? ""}`,
    );
  }
  const response = review.response as (ReviewResponse & { uid?: string }) | undefined;
  if (!response) throw new Error("received invalid webhook response: response was absent");
  if (response.uid !== uid) {
    throw new Error(
      `received invalid webhook response: expected response.uid="${uid}", got "${response.uid ?? ""}"`,
    );
  }
  if (version === "v1" && response.patch && response.patchType !== "JSONPatch") {
    throw new Error(
      response.patchType
        ? `received invalid webhook response: webhook returned invalid patchType: "${response.patchType}"`
        : "received invalid webhook response: webhook returned response.patch but not response.patchType",
    );
  }
  return response;
}

/** kube's ToStatusErr: the refusal a client sees. */
export function denial(name: string, status: ReviewResponse["status"]): StatusError {
  const by = `admission webhook "${name}" denied the request`;
  const code = status?.code && status.code >= 400 ? status.code : 400;
  const reason = (status?.reason ?? "") as ConstructorParameters<typeof StatusError>[1];
  let message = `${by} without explanation`;
  if (status?.message) message = `${by}: ${status.message}`;
  else if (status?.reason) message = `${by}: ${status.reason}`;
  return new StatusError(code, reason, message);
}

/** The object after a JSONPatch response (base64 RFC 6902 operations). */
export function patched(obj: KubeObject, patch: string): KubeObject {
  const ops = JSON.parse(Buffer.from(patch, "base64").toString("utf8")) as unknown;
  return applyJsonPatch(obj, ops);
}
