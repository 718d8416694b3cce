/**
 * Builds the OpenAPI v3 document of one group-version (`/openapi/v3/apis/apps/v1`), shaped as
 * kube-apiserver's so that kubectl accepts it:
 * - per resource the collection and item paths (and the all-namespaces list for namespaced ones),
 *   each operation with an `operationId`, `x-kubernetes-action` and, on every operation that acts on
 *   a kind, `x-kubernetes-group-version-kind`;
 * - every PATCH/POST/PUT declares the `fieldValidation` query parameter inline: kubectl looks for it
 *   on the PATCH operation of the kind and, when present, leaves validation to the server and sends
 *   `fieldValidation=Strict`;
 * - PATCH request bodies list JSON patch, merge patch and apply patch but not strategic merge
 *   patch: the generated schemas carry no patch merge keys, and without that content type kubectl
 *   computes strategic patches from its compiled-in types instead of from this document;
 * - `components.schemas` holds every schema reachable from the kinds, their lists and the meta
 *   types the operations use.
 *
 * @module
 */

import type { GroupVersionKind } from "../../api/types.ts";
import { closure, refTo, type Schema, schemaNamed, schemaNameOf } from "./_schemas.ts";

/** One served resource, as the API server's registry knows it. */
export interface OpenApiResource {
  group: string;
  version: string;
  kind: string;
  /** Plural resource name (`deployments`). */
  resource: string;
  namespaced: boolean;
  /** Subresource names (`status`, `scale`, `log`, …). */
  subresources: string[];
  /** The kind's schema when not generated (a CRD version's `openAPIV3Schema`). */
  schema?: Schema;
}

type PathItem = Record<string, unknown>;

const META = "io.k8s.apimachinery.pkg.apis.meta.v1";
const STATUS = `${META}.Status`;
const DELETE_OPTIONS = `${META}.DeleteOptions`;
const WATCH_EVENT = `${META}.WatchEvent`;
const PATCH = `${META}.Patch`;
const SCALE_GVK: GroupVersionKind = { group: "autoscaling", version: "v1", kind: "Scale" };

const PATCH_TYPES = [
  "application/json-patch+json",
  "application/merge-patch+json",
  "application/apply-patch+yaml",
];

function query(name: string, type: "string" | "boolean" | "integer", description: string) {
  return { name, in: "query", description, schema: { type, uniqueItems: true } };
}

const PARAM = {
  pretty: query(
    "pretty",
    "string",
    "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget).",
  ),
  dryRun: query(
    "dryRun",
    "string",
    "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed",
  ),
  fieldManager: query(
    "fieldManager",
    "string",
    "fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.",
  ),
  fieldValidation: query(
    "fieldValidation",
    "string",
    "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. The request will still succeed if there are no other errors, and will only persist the last of any duplicate fields. - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered.",
  ),
  force: query(
    "force",
    "boolean",
    'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.',
  ),
  gracePeriodSeconds: query(
    "gracePeriodSeconds",
    "integer",
    "The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero indicates delete immediately.",
  ),
  propagationPolicy: query(
    "propagationPolicy",
    "string",
    "Whether and how garbage collection will be performed. Acceptable values are: 'Orphan', 'Background' and 'Foreground'.",
  ),
  labelSelector: query(
    "labelSelector",
    "string",
    "A selector to restrict the list of returned objects by their labels. Defaults to everything.",
  ),
  fieldSelector: query(
    "fieldSelector",
    "string",
    "A selector to restrict the list of returned objects by their fields. Defaults to everything.",
  ),
  limit: query(
    "limit",
    "integer",
    "limit is a maximum number of responses to return for a list call.",
  ),
  continue: query(
    "continue",
    "string",
    "The continue option should be set when retrieving more results from the server.",
  ),
  resourceVersion: query(
    "resourceVersion",
    "string",
    "resourceVersion sets a constraint on what resource versions a request may be served from.",
  ),
  watch: query(
    "watch",
    "boolean",
    "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.",
  ),
  allowWatchBookmarks: query(
    "allowWatchBookmarks",
    "boolean",
    'allowWatchBookmarks requests watch events with type "BOOKMARK".',
  ),
  timeoutSeconds: query(
    "timeoutSeconds",
    "integer",
    "Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity.",
  ),
};

const LIST_PARAMS = [
  PARAM.allowWatchBookmarks,
  PARAM.continue,
  PARAM.fieldSelector,
  PARAM.labelSelector,
  PARAM.limit,
  PARAM.resourceVersion,
  PARAM.timeoutSeconds,
  PARAM.watch,
];

const WRITE_PARAMS = [PARAM.dryRun, PARAM.fieldManager, PARAM.fieldValidation];

function pathParam(name: string, description: string) {
  return {
    name,
    in: "path",
    description,
    required: true,
    schema: { type: "string", uniqueItems: true },
  };
}

/** `discovery.k8s.io` → `Discovery`, `` → `Core`, `rbac.authorization.k8s.io` → `RbacAuthorization`. */
function groupWord(group: string): string {
  if (group === "") return "Core";
  const parts = group.replace(/\.k8s\.io$/, "").split(/[.-]/);
  return parts.map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join("");
}

function jsonContent(schema: Schema) {
  return {
    "application/json": { schema },
    "application/yaml": { schema },
    "application/vnd.kubernetes.protobuf": { schema },
  };
}

function responses(codes: Record<string, { description: string; schema: Schema }>) {
  const out: Record<string, unknown> = {};
  for (const [code, r] of Object.entries(codes)) {
    out[code] = { description: r.description, content: jsonContent(r.schema) };
  }
  out["401"] = { description: "Unauthorized" };
  return out;
}

/** A schema name for a kind the generator does not know (a custom resource): any fields allowed. */
function fallbackSchemaName(gvk: GroupVersionKind): string {
  const reversed = gvk.group.split(".").reverse().join(".");
  return `${reversed === "" ? "io.k8s.api.core" : reversed}.${gvk.version}.${gvk.kind}`;
}

function fallbackSchema(gvk: GroupVersionKind, list: boolean, given?: Schema): Schema {
  if (given && !list) {
    // A CRD's schema, with the type and object metadata kube-apiserver adds to it.
    return {
      ...given,
      properties: {
        ...(given.properties ?? {}),
        apiVersion: { type: "string" },
        kind: { type: "string" },
        metadata: { allOf: [refTo(`${META}.ObjectMeta`)] },
      },
      "x-kubernetes-group-version-kind": [gvk],
    };
  }
  const properties: Record<string, Schema> = {
    apiVersion: { type: "string" },
    kind: { type: "string" },
    metadata: { allOf: [refTo(list ? `${META}.ListMeta` : `${META}.ObjectMeta`)] },
  };
  if (list) {
    properties["items"] = {
      type: "array",
      items: {
        allOf: [refTo(fallbackSchemaName({ ...gvk, kind: gvk.kind.replace(/List$/, "") }))],
      },
    };
  }
  return {
    type: "object",
    properties,
    ...(list ? { required: ["items"] } : { "x-kubernetes-preserve-unknown-fields": true }),
    "x-kubernetes-group-version-kind": [gvk],
  };
}

/** Builds the document of one group-version from the resources it serves. */
export function buildGroupVersionDocument(
  group: string,
  version: string,
  resources: OpenApiResource[],
): object {
  const extra = new Map<string, Schema>();
  const lookup = (name: string) => schemaNamed(name) ?? extra.get(name);
  const schemaFor = (gvk: GroupVersionKind, list = false, given?: Schema): string => {
    const known = given ? undefined : schemaNameOf(gvk);
    if (known !== undefined) return known;
    const name = fallbackSchemaName(gvk);
    if (!extra.has(name)) extra.set(name, fallbackSchema(gvk, list, given));
    return name;
  };

  const prefix = group === "" ? `/api/${version}` : `/apis/${group}/${version}`;
  const gw = `${groupWord(group)}${version.charAt(0).toUpperCase()}${version.slice(1)}`;
  const paths: Record<string, PathItem> = {};
  const roots = new Set([STATUS, DELETE_OPTIONS, WATCH_EVENT, PATCH]);

  const sorted = [...resources].sort((a, b) => a.resource.localeCompare(b.resource, "en"));
  for (const r of sorted) {
    const gvk = { group, version, kind: r.kind };
    const kindSchema = schemaFor(gvk, false, r.schema);
    const listSchema = schemaFor({ ...gvk, kind: `${r.kind}List` }, true);
    roots.add(kindSchema);
    roots.add(listSchema);
    const ns = r.namespaced ? "Namespaced" : "";
    const base = r.namespaced
      ? `${prefix}/namespaces/{namespace}/${r.resource}`
      : `${prefix}/${r.resource}`;
    const common = r.namespaced
      ? [
          pathParam("namespace", "object name and auth scope, such as for teams and projects"),
          PARAM.pretty,
        ]
      : [PARAM.pretty];
    const itemCommon = [pathParam("name", `name of the ${r.kind}`), ...common];
    const ext = (action: string, g: GroupVersionKind = gvk) => ({
      "x-kubernetes-action": action,
      "x-kubernetes-group-version-kind": { group: g.group, kind: g.kind, version: g.version },
    });

    paths[base] = {
      parameters: common,
      get: {
        operationId: `list${gw}${ns}${r.kind}`,
        parameters: LIST_PARAMS,
        responses: responses({ "200": { description: "OK", schema: refTo(listSchema) } }),
        ...ext("list"),
      },
      post: {
        operationId: `create${gw}${ns}${r.kind}`,
        parameters: WRITE_PARAMS,
        requestBody: { content: { "*/*": { schema: refTo(kindSchema) } }, required: true },
        responses: responses({
          "200": { description: "OK", schema: refTo(kindSchema) },
          "201": { description: "Created", schema: refTo(kindSchema) },
          "202": { description: "Accepted", schema: refTo(kindSchema) },
        }),
        ...ext("post"),
      },
      delete: {
        operationId: `deletecollection${gw}${ns}${r.kind}`,
        parameters: [
          ...LIST_PARAMS.filter((p) => p.name !== "watch"),
          PARAM.dryRun,
          PARAM.gracePeriodSeconds,
          PARAM.propagationPolicy,
        ],
        responses: responses({ "200": { description: "OK", schema: refTo(STATUS) } }),
        ...ext("deletecollection"),
      },
    };
    if (r.namespaced) {
      paths[`${prefix}/${r.resource}`] = {
        parameters: [PARAM.pretty],
        get: {
          operationId: `list${gw}${r.kind}ForAllNamespaces`,
          parameters: LIST_PARAMS,
          responses: responses({ "200": { description: "OK", schema: refTo(listSchema) } }),
          ...ext("list"),
        },
      };
    }
    paths[`${base}/{name}`] = itemPath({
      kindSchema,
      opSuffix: `${gw}${ns}${r.kind}`,
      parameters: itemCommon,
      ext,
      gvk,
      deletable: true,
    });
    for (const sub of [...r.subresources].sort()) {
      const subPath = `${base}/{name}/${sub}`;
      const subWord = sub.charAt(0).toUpperCase() + sub.slice(1);
      if (sub === "status" || sub === "ephemeralcontainers") {
        paths[subPath] = itemPath({
          kindSchema,
          opSuffix: `${gw}${ns}${r.kind}${subWord}`,
          parameters: itemCommon,
          ext,
          gvk,
          deletable: false,
        });
      } else if (sub === "scale") {
        const scale = schemaFor(SCALE_GVK);
        roots.add(scale);
        paths[subPath] = itemPath({
          kindSchema: scale,
          opSuffix: `${gw}${ns}${r.kind}Scale`,
          parameters: itemCommon,
          ext,
          gvk: SCALE_GVK,
          deletable: false,
        });
      } else if (sub === "log") {
        paths[subPath] = {
          parameters: itemCommon,
          get: {
            operationId: `read${gw}${ns}${r.kind}Log`,
            responses: {
              "200": {
                description: "OK",
                content: { "text/plain": { schema: { type: "string" } } },
              },
              "401": { description: "Unauthorized" },
            },
            ...ext("get"),
          },
        };
      } else {
        paths[subPath] = {
          parameters: itemCommon,
          post: {
            operationId: `connect${gw}${ns}${r.kind}${subWord}`,
            responses: { "200": { description: "OK" }, "401": { description: "Unauthorized" } },
            "x-kubernetes-action": "connect",
          },
        };
      }
    }
  }

  const schemas: Record<string, Schema> = {};
  for (const name of closure(roots, lookup)) schemas[name] = lookup(name)!;
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "unversioned" },
    paths,
    components: {
      schemas,
      securitySchemes: {
        BearerToken: {
          type: "apiKey",
          description: "Bearer Token authentication",
          name: "authorization",
          in: "header",
        },
      },
    },
    security: [{ BearerToken: [] }],
  };
}

interface ItemSpec {
  kindSchema: string;
  opSuffix: string;
  parameters: unknown[];
  ext: (action: string, g?: GroupVersionKind) => object;
  gvk: GroupVersionKind;
  deletable: boolean;
}

function itemPath(spec: ItemSpec): PathItem {
  const ok = (code = "200", description = "OK") => ({
    [code]: { description, schema: refTo(spec.kindSchema) },
  });
  const item: PathItem = {
    parameters: spec.parameters,
    get: {
      operationId: `read${spec.opSuffix}`,
      responses: responses(ok()),
      ...spec.ext("get", spec.gvk),
    },
    put: {
      operationId: `replace${spec.opSuffix}`,
      parameters: WRITE_PARAMS,
      requestBody: { content: { "*/*": { schema: refTo(spec.kindSchema) } }, required: true },
      responses: responses({ ...ok(), ...ok("201", "Created") }),
      ...spec.ext("put", spec.gvk),
    },
    patch: {
      operationId: `patch${spec.opSuffix}`,
      parameters: [...WRITE_PARAMS, PARAM.force],
      requestBody: {
        content: Object.fromEntries(PATCH_TYPES.map((t) => [t, { schema: refTo(PATCH) }])),
        required: true,
      },
      responses: responses({ ...ok(), ...ok("201", "Created") }),
      ...spec.ext("patch", spec.gvk),
    },
  };
  if (spec.deletable) {
    item["delete"] = {
      operationId: `delete${spec.opSuffix}`,
      parameters: [PARAM.dryRun, PARAM.gracePeriodSeconds, PARAM.propagationPolicy],
      requestBody: { content: { "*/*": { schema: refTo(DELETE_OPTIONS) } } },
      responses: responses({
        "200": { description: "OK", schema: refTo(STATUS) },
        "202": { description: "Accepted", schema: refTo(STATUS) },
      }),
      ...spec.ext("delete", spec.gvk),
    };
  }
  return item;
}
