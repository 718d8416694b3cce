/**
 * The scheduling fields of a pod spec, as kube-apiserver treats them:
 *
 * - on create, each pod (anti-)affinity term's `matchLabelKeys` and `mismatchLabelKeys` are
 *   merged into its `labelSelector` as `key In (value)` / `key NotIn (value)` with the pod's own
 *   label values (MatchLabelKeysInPodAffinity, beta and on in 1.32); keys the pod lacks are
 *   ignored, and a term without a selector is left alone (it matches nothing);
 * - on update, `priority` and `preemptionPolicy` (set by Priority admission at create) are kept
 *   when the update leaves them out, as that admission plugin does on update;
 * - validation of tolerations, `preemptionPolicy`, topology spread constraints and the
 *   affinity terms' `topologyKey`, in kube's words.
 *
 * @module
 */
import {
  type FieldError,
  fieldDuplicate,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
} from "../errors.ts";
import { validateLabelSelector } from "../labels.ts";
import { isQualifiedName } from "../validation.ts";
import { validateTolerations } from "./_taints.ts";
import { at, isObj, type Obj, objs, str, strMap } from "./_util.ts";
import { validatePreemptionPolicy } from "./priorityclass.ts";

const NOT_POSITIVE = "must be greater than zero";

/** Every PodAffinityTerm of a pod spec: required ones, and those inside weighted terms. */
function affinityTerms(spec: unknown): Array<{ term: Obj; path: string }> {
  const out: Array<{ term: Obj; path: string }> = [];
  for (const kind of ["podAffinity", "podAntiAffinity"]) {
    const base = `affinity.${kind}`;
    objs(at(spec, "affinity", kind, "requiredDuringSchedulingIgnoredDuringExecution")).forEach(
      (term, i) => {
        out.push({ term, path: `${base}.requiredDuringSchedulingIgnoredDuringExecution[${i}]` });
      },
    );
    objs(at(spec, "affinity", kind, "preferredDuringSchedulingIgnoredDuringExecution")).forEach(
      (w, i) => {
        if (isObj(w.podAffinityTerm))
          out.push({
            term: w.podAffinityTerm,
            path: `${base}.preferredDuringSchedulingIgnoredDuringExecution[${i}].podAffinityTerm`,
          });
      },
    );
  }
  return out;
}

/** kube's applyMatchLabelKeysAndMismatchLabelKeys over every affinity term, in place. */
export function mergeAffinityLabelKeys(pod: Obj): void {
  const labels = strMap(at(pod, "metadata", "labels"));
  for (const { term } of affinityTerms(pod.spec)) {
    const selector = term.labelSelector;
    if (!isObj(selector)) continue;
    const added: Obj[] = [];
    for (const [list, operator] of [
      ["matchLabelKeys", "In"],
      ["mismatchLabelKeys", "NotIn"],
    ] as const) {
      for (const key of Array.isArray(term[list]) ? (term[list] as unknown[]) : []) {
        const value = labels[str(key)];
        if (value !== undefined) added.push({ key: str(key), operator, values: [value] });
      }
    }
    if (added.length > 0)
      selector.matchExpressions = [...objs(selector.matchExpressions), ...added];
  }
}

/** What Priority admission does on update: the stored priority stays when the update omits it. */
export function keepPriority(spec: unknown, old: unknown): void {
  if (!isObj(spec) || !isObj(old)) return;
  for (const field of ["priority", "preemptionPolicy"]) {
    if ((spec[field] === undefined || spec[field] === null) && old[field] !== undefined)
      spec[field] = old[field];
  }
}

function validateSpreadConstraints(spec: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const constraints = objs(spec.topologySpreadConstraints);
  constraints.forEach((c, i) => {
    const cp = `${path}.topologySpreadConstraints[${i}]`;
    if (typeof c.maxSkew !== "number" || c.maxSkew <= 0)
      errs.push(fieldInvalid(`${cp}.maxSkew`, c.maxSkew ?? 0, NOT_POSITIVE));
    if (str(c.topologyKey) === "")
      errs.push(fieldRequired(`${cp}.topologyKey`, "can not be empty"));
    const action = str(c.whenUnsatisfiable);
    if (action !== "DoNotSchedule" && action !== "ScheduleAnyway")
      errs.push(
        fieldNotSupported(`${cp}.whenUnsatisfiable`, action, ["DoNotSchedule", "ScheduleAnyway"]),
      );
    const repeated = constraints
      .slice(i + 1)
      .some(
        (o) => str(o.topologyKey) === str(c.topologyKey) && str(o.whenUnsatisfiable) === action,
      );
    if (repeated)
      errs.push(
        fieldDuplicate(
          `${cp}.{topologyKey, whenUnsatisfiable}`,
          `{${str(c.topologyKey)}, ${action}}`,
        ),
      );
    if (c.minDomains !== undefined && c.minDomains !== null) {
      if (typeof c.minDomains !== "number" || c.minDomains <= 0)
        errs.push(fieldInvalid(`${cp}.minDomains`, c.minDomains, NOT_POSITIVE));
      if (action !== "DoNotSchedule")
        errs.push(
          fieldInvalid(
            `${cp}.minDomains`,
            c.minDomains,
            `can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ${action}`,
          ),
        );
    }
    for (const policy of ["nodeAffinityPolicy", "nodeTaintsPolicy"]) {
      const v = c[policy];
      if (v !== undefined && v !== null && v !== "Honor" && v !== "Ignore")
        errs.push(fieldNotSupported(`${cp}.${policy}`, v, ["Honor", "Ignore"]));
    }
    if (isObj(c.labelSelector))
      errs.push(...validateLabelSelector(c.labelSelector, `${cp}.labelSelector`));
  });
  return errs;
}

/** Validation of a pod spec's scheduling fields (`path` is the spec's, e.g. `spec`). */
export function validatePodScheduling(spec: unknown, path: string): FieldError[] {
  if (!isObj(spec)) return [];
  const errs = validateTolerations(spec.tolerations, `${path}.tolerations`);
  if (spec.preemptionPolicy !== undefined && spec.preemptionPolicy !== null)
    errs.push(...validatePreemptionPolicy(spec.preemptionPolicy, `${path}.preemptionPolicy`));
  errs.push(...validateSpreadConstraints(spec, path));
  for (const { term, path: tp } of affinityTerms(spec)) {
    const key = str(term.topologyKey);
    if (key === "") errs.push(fieldRequired(`${path}.${tp}.topologyKey`, "can not be empty"));
    else
      for (const m of isQualifiedName(key))
        errs.push(fieldInvalid(`${path}.${tp}.topologyKey`, key, m));
  }
  return errs;
}
