/**
 * Protobuf field numbers of the authentication.k8s.io/v1 messages, in the notation of `_schema.ts`.
 * Same provenance and rules as `_schema_core.ts`.
 *
 * @module
 */
import type { SchemaTable } from "./_schema.ts";

export const AUTHENTICATION_V1: SchemaTable = {
  TokenRequest: {
    1: "metadata ObjectMeta",
    2: "spec TokenRequestSpec",
    3: "status TokenRequestStatus",
  },
  TokenReview: {
    1: "metadata ObjectMeta",
    2: "spec TokenReviewSpec",
    3: "status TokenReviewStatus",
  },
  SelfSubjectReview: {
    1: "metadata ObjectMeta",
    2: "status SelfSubjectReviewStatus",
  },
  TokenRequestSpec: {
    1: "audiences []string!",
    3: "boundObjectRef BoundObjectReference",
    4: "expirationSeconds int64?",
    5: "attestations map<StringList>",
  },
  TokenRequestStatus: {
    1: "token string!",
    2: "expirationTimestamp Time",
  },
  TokenReviewSpec: {
    1: "token string",
    2: "audiences []string",
  },
  TokenReviewStatus: {
    1: "authenticated bool",
    2: "user UserInfo",
    3: "error string",
    4: "audiences []string",
  },
  SelfSubjectReviewStatus: {
    1: "userInfo UserInfo",
  },
  BoundObjectReference: {
    1: "kind string",
    2: "apiVersion string",
    3: "name string",
    4: "uid string",
  },
  UserInfo: {
    1: "username string",
    2: "uid string",
    3: "groups []string",
    4: "extra map<StringList>",
  },
};
