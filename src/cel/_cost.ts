/**
 * kube's wording for an estimated cost over a limit (`getCostErrorMessage` in the CRD validation):
 * the factor with six decimals under 1.5, one decimal up to 100, then "more than 100x".
 *
 * @module
 */

export function costExceedsMessage(costName: string, cost: number, limit: number): string {
  const factor = cost / limit;
  const text =
    factor > 100
      ? "more than 100x"
      : factor < 1.5
        ? `${factor.toFixed(6)}x`
        : `${factor.toFixed(1)}x`;
  return `${costName} exceeds budget by factor of ${text} (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)`;
}
