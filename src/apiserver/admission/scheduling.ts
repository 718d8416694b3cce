/**
 * The admission plugins that fill a pod's scheduling fields, in kube-apiserver's order:
 * Priority, DefaultTolerationSeconds, RuntimeClass.
 *
 * @module
 */
import type { Store } from "../../store/types.ts";
import type { Admission } from "../registry/index.ts";
import { priorityAdmission } from "./priority.ts";
import { runtimeClassAdmission } from "./runtimeclass.ts";
import { defaultTolerationSecondsAdmission } from "./tolerationseconds.ts";

export function schedulingAdmission(store: Store): Admission[] {
  return [
    priorityAdmission(store),
    defaultTolerationSecondsAdmission(),
    runtimeClassAdmission(store),
  ];
}
