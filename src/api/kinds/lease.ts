/**
 * coordination.k8s.io/v1 leases: duration and transition checks and the `kubectl get leases`
 * columns (NAME, HOLDER, AGE).
 *
 * @module
 */

import { sinceTimestamp } from "../duration.ts";
import { type FieldError, fieldInvalid } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { AGE, column, NAME } from "./_columns.ts";
import { simpleValidators } from "./_simple.ts";
import { at, str } from "./_util.ts";
import { nameIsDNSSubdomain } from "./meta.ts";
import type { KindStrategy } from "./types.ts";

function validateLease(lease: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const duration = at(lease, "spec", "leaseDurationSeconds");
  if (typeof duration === "number" && duration <= 0) {
    errs.push(fieldInvalid("spec.leaseDurationSeconds", duration, "must be greater than 0"));
  }
  const transitions = at(lease, "spec", "leaseTransitions");
  if (typeof transitions === "number" && transitions < 0) {
    errs.push(
      fieldInvalid("spec.leaseTransitions", transitions, "must be greater than or equal to 0"),
    );
  }
  return errs;
}

export const leaseStrategy: KindStrategy = {
  group: "coordination.k8s.io",
  version: "v1",
  kind: "Lease",
  resource: "leases",
  singular: "lease",
  namespaced: true,
  hasGeneration: false,
  hasStatus: false,
  applyDefaults() {},
  ...simpleValidators({ namespaced: true, nameRule: nameIsDNSSubdomain, spec: validateLease }),
  columns: [
    NAME,
    column(
      "Holder",
      "string",
      "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.",
    ),
    AGE,
  ],
  row(lease, now) {
    return [
      lease.metadata.name ?? "",
      str(at(lease, "spec", "holderIdentity")),
      sinceTimestamp(lease.metadata.creationTimestamp, now),
    ];
  },
};
