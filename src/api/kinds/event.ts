/**
 * core/v1 events: the involved-object namespace rule, the `kubectl get events` columns (LAST
 * SEEN, TYPE, REASON, OBJECT, MESSAGE; wide adds SUBOBJECT, SOURCE, FIRST SEEN, COUNT, NAME) and
 * the `involvedObject.*`, `reason`, `type`, `source` field selectors `kubectl describe` uses.
 *
 * @module
 */

import { sinceTimestamp } from "../duration.ts";
import { type FieldError, fieldInvalid, fieldRequired } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { column, NAME } from "./_columns.ts";
import { simpleValidators } from "./_simple.ts";
import { at, num, str } from "./_util.ts";
import { nameIsDNSSubdomain } from "./meta.ts";
import type { KindStrategy } from "./types.ts";

function validateEvent(ev: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const ns = str(ev.metadata.namespace);
  const involvedNs = str(at(ev, "involvedObject", "namespace"));
  if (involvedNs !== "" && involvedNs !== ns) {
    errs.push(
      fieldInvalid("involvedObject.namespace", involvedNs, "does not match event.namespace"),
    );
  }
  if (
    str(at(ev, "involvedObject", "kind")) === "" &&
    str(at(ev, "involvedObject", "name")) === ""
  ) {
    errs.push(fieldRequired("involvedObject", "must have kind or name"));
  }
  return errs;
}

function eventSource(ev: KubeObject): string {
  const component = str(at(ev, "source", "component")) || str(ev.reportingComponent);
  const host = str(at(ev, "source", "host")) || str(ev.reportingInstance);
  return host === "" ? component : `${component}, ${host}`;
}

export const eventStrategy: KindStrategy = {
  group: "",
  version: "v1",
  kind: "Event",
  resource: "events",
  singular: "event",
  shortNames: ["ev"],
  namespaced: true,
  hasGeneration: false,
  hasStatus: false,
  applyDefaults() {},
  ...simpleValidators({ namespaced: true, nameRule: nameIsDNSSubdomain, spec: validateEvent }),
  columns: [
    column(
      "Last Seen",
      "string",
      "The time at which the most recent occurrence of this event was recorded.",
    ),
    column(
      "Type",
      "string",
      "Type of this event (Normal, Warning), new types could be added in the future",
    ),
    column(
      "Reason",
      "string",
      "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
    ),
    column("Object", "string", "The object that this event is about."),
    column(
      "Subobject",
      "string",
      'If the reference is to a container within a pod, this would take on a value like: "spec.containers{name}" (where "name" refers to the name of the container that triggered the event) or if no container name is specified "spec.containers[2]" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.',
      1,
    ),
    column(
      "Source",
      "string",
      "The component reporting this event. Should be a short machine understandable string.",
      1,
    ),
    column("Message", "string", "A human-readable description of the status of this operation."),
    column(
      "First Seen",
      "string",
      "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
      1,
    ),
    column("Count", "string", "The number of times this event has occurred.", 1),
    { ...NAME, priority: 1 },
  ],
  row(ev, now) {
    let first = sinceTimestamp(ev.firstTimestamp, now);
    if (!ev.firstTimestamp) first = sinceTimestamp(ev.eventTime, now);
    let last = ev.lastTimestamp ? sinceTimestamp(ev.lastTimestamp, now) : first;
    let count = num(ev.count);
    if (at(ev, "series") !== undefined && at(ev, "series") !== null) {
      last = sinceTimestamp(at(ev, "series", "lastObservedTime"), now);
      count = num(at(ev, "series", "count"));
    } else if (count === 0) count = 1;
    const kind = str(at(ev, "involvedObject", "kind")).toLowerCase();
    const name = str(at(ev, "involvedObject", "name"));
    const target = name !== "" ? `${kind}/${name}` : kind;
    return [
      last,
      str(ev.type),
      str(ev.reason),
      target,
      str(at(ev, "involvedObject", "fieldPath")),
      eventSource(ev),
      str(ev.message).trim(),
      first,
      count,
      ev.metadata.name ?? "",
    ];
  },
  selectableFields(ev) {
    return {
      "involvedObject.kind": str(at(ev, "involvedObject", "kind")),
      "involvedObject.namespace": str(at(ev, "involvedObject", "namespace")),
      "involvedObject.name": str(at(ev, "involvedObject", "name")),
      "involvedObject.uid": str(at(ev, "involvedObject", "uid")),
      "involvedObject.apiVersion": str(at(ev, "involvedObject", "apiVersion")),
      "involvedObject.resourceVersion": str(at(ev, "involvedObject", "resourceVersion")),
      "involvedObject.fieldPath": str(at(ev, "involvedObject", "fieldPath")),
      reason: str(ev.reason),
      reportingComponent: str(ev.reportingComponent),
      source: str(at(ev, "source", "component")),
      type: str(ev.type),
    };
  },
};
