/**
 * API errors as Kubernetes `Status` objects. Every failure a client can see is a
 * {@link StatusError} with a stable `reason` and HTTP `code`, worded as kube-apiserver words it so
 * that kubectl prints `Error from server (NotFound): …` exactly as against a real cluster.
 *
 * @module
 */

export type StatusReason =
  | "NotFound"
  | "AlreadyExists"
  | "Conflict"
  | "Invalid"
  | "BadRequest"
  | "MethodNotAllowed"
  | "NotAcceptable"
  | "UnsupportedMediaType"
  | "Expired"
  | "Gone"
  | "Unauthorized"
  | "Forbidden"
  | "RequestEntityTooLarge"
  | "Timeout"
  | "TooManyRequests"
  | "InternalError"
  | "ServiceUnavailable"
  /** StatusReasonUnknown: kube sends no reason (an error its storage did not classify). */
  | "";

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure" | "Success";
  message?: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

/** An error that carries a Kubernetes Status; thrown by the store, the registry and the client. */
export class StatusError extends Error {
  readonly code: number;
  readonly reason: StatusReason;
  readonly details: StatusDetails | undefined;

  constructor(code: number, reason: StatusReason, message: string, details?: StatusDetails) {
    super(message);
    this.name = "StatusError";
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  toStatus(): Status {
    const s: Status = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.reason === "") delete s.reason;
    if (this.details) s.details = this.details;
    return s;
  }

  /** Rebuilds an error from a Status body received over HTTP. */
  static fromStatus(status: Partial<Status>, fallbackCode = 500): StatusError {
    return new StatusError(
      status.code ?? fallbackCode,
      status.reason ?? "InternalError",
      status.message ?? "unknown error",
      status.details,
    );
  }
}

export function isStatusError(e: unknown, reason?: StatusReason): e is StatusError {
  return e instanceof StatusError && (reason === undefined || e.reason === reason);
}

/** `deployments.apps` for a grouped resource, `pods` for the core group. */
export function qualifiedResource(resource: string, group: string): string {
  return group ? `${resource}.${group}` : resource;
}

function details(resource: string, group: string, name: string): StatusDetails {
  const d: StatusDetails = { kind: resource };
  if (name) d.name = name;
  if (group) d.group = group;
  return d;
}

export function notFound(resource: string, group: string, name: string): StatusError {
  return new StatusError(
    404,
    "NotFound",
    `${qualifiedResource(resource, group)} "${name}" not found`,
    details(resource, group, name),
  );
}

export function alreadyExists(resource: string, group: string, name: string): StatusError {
  return new StatusError(
    409,
    "AlreadyExists",
    `${qualifiedResource(resource, group)} "${name}" already exists`,
    details(resource, group, name),
  );
}

export function conflict(resource: string, group: string, name: string, why?: string): StatusError {
  const reason =
    why ??
    "the object has been modified; please apply your changes to the latest version and try again";
  return new StatusError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualifiedResource(resource, group)} "${name}": ${reason}`,
    details(resource, group, name),
  );
}

/** A field-level problem, worded as apimachinery's field.Error. */
export interface FieldError {
  type:
    | "FieldValueRequired"
    | "FieldValueInvalid"
    | "FieldValueNotSupported"
    | "FieldValueDuplicate"
    | "FieldValueForbidden"
    | "FieldValueTooLong"
    | "FieldValueTooMany"
    | "FieldValueTypeInvalid";
  field: string;
  message: string;
}

function quoteValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null || value === undefined) return "null";
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/** field.Invalid: `Invalid value: "x": detail`. */
export function fieldInvalid(field: string, value: unknown, detail: string): FieldError {
  return {
    type: "FieldValueInvalid",
    field,
    message: `Invalid value: ${quoteValue(value)}: ${detail}`,
  };
}

/** field.Required: `Required value` (optionally `: detail`). */
export function fieldRequired(field: string, detail?: string): FieldError {
  return {
    type: "FieldValueRequired",
    field,
    message: detail ? `Required value: ${detail}` : "Required value",
  };
}

/** field.NotSupported: `Unsupported value: "x": supported values: "a", "b"`. */
export function fieldNotSupported(field: string, value: unknown, supported: string[]): FieldError {
  const list = supported.map((s) => JSON.stringify(s)).join(", ");
  return {
    type: "FieldValueNotSupported",
    field,
    message: `Unsupported value: ${quoteValue(value)}: supported values: ${list}`,
  };
}

/** field.Duplicate: `Duplicate value: x`. */
export function fieldDuplicate(field: string, value: unknown): FieldError {
  return { type: "FieldValueDuplicate", field, message: `Duplicate value: ${quoteValue(value)}` };
}

/** field.Forbidden: `Forbidden: detail`. */
export function fieldForbidden(field: string, detail: string): FieldError {
  return { type: "FieldValueForbidden", field, message: `Forbidden: ${detail}` };
}

/**
 * 422 Invalid: `Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be …`
 * (kubectl rewords it from the details as `The Deployment "web" is invalid: …`),
 * one `field: message` per error joined by ", " (wrapped in [] when more than one), as
 * apimachinery's NewInvalid does.
 */
export function invalid(
  kind: string,
  group: string,
  name: string,
  errors: FieldError[],
): StatusError {
  const parts = errors.map((e) => `${e.field}: ${e.message}`);
  const summary = parts.length === 1 ? parts[0] : `[${parts.join(", ")}]`;
  const d: StatusDetails = {
    kind,
    name,
    causes: errors.map((e) => ({ reason: e.type, message: e.message, field: e.field })),
  };
  if (group) d.group = group;
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  return new StatusError(422, "Invalid", `${qualifiedKind} "${name}" is invalid: ${summary}`, d);
}

export function badRequest(message: string): StatusError {
  return new StatusError(400, "BadRequest", message);
}

export function methodNotAllowed(method: string, what: string): StatusError {
  return new StatusError(
    405,
    "MethodNotAllowed",
    `the server does not allow this method on the requested resource (${method} ${what})`,
  );
}

export function notAcceptable(message: string): StatusError {
  return new StatusError(406, "NotAcceptable", message);
}

export function unsupportedMediaType(contentType: string): StatusError {
  return new StatusError(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got ${JSON.stringify(contentType)})`,
  );
}

/** 410 Expired for a watch or list from a resourceVersion older than the watch window. */
export function expired(message: string): StatusError {
  return new StatusError(410, "Expired", message);
}

export function unauthorized(): StatusError {
  return new StatusError(401, "Unauthorized", "Unauthorized");
}

export function forbidden(message: string): StatusError {
  return new StatusError(403, "Forbidden", message);
}

/** kube-apiserver's answer to a body over its limit: `Request entity too large: limit is 3145728`. */
export function tooLarge(limitBytes: number): StatusError {
  return new StatusError(
    413,
    "RequestEntityTooLarge",
    `Request entity too large: limit is ${limitBytes}`,
  );
}

/**
 * What kube-apiserver answers when etcd refuses an object over its request limit (1.5 MiB by
 * default): the etcd error passed through as a 500 without a reason, as kubectl shows it
 * (`Error from server: etcdserver: request is too large`).
 */
export function objectTooLarge(): StatusError {
  return new StatusError(500, "", "etcdserver: request is too large");
}

export function internalError(message: string): StatusError {
  return new StatusError(500, "InternalError", `Internal error occurred: ${message}`);
}

export function serviceUnavailable(message: string): StatusError {
  return new StatusError(503, "ServiceUnavailable", message);
}
