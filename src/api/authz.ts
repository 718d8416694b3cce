/**
 * What a request asks to do, as an authorizer sees it (kube's `authorizer.Attributes`): the one
 * shape that RBAC (`apiserver/rbac`) decides on and that CEL's authorizer library (`cel`) builds
 * its checks from, kept here because `cel` may not import the API server.
 *
 * @module
 */

export interface AuthzAttributes {
  verb: string;
  /** false for a non-resource URL (`/healthz`, `/api`, `/apis/apps/v1`). */
  resourceRequest: boolean;
  /** The URL path, for non-resource requests. */
  path: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}
