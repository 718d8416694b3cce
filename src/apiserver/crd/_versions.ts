/**
 * Kubernetes' version priority (`k8s.io/apimachinery/pkg/version.CompareKubeAwareVersionStrings`):
 * GA versions first (higher first), then betas, then alphas, then anything else alphabetically.
 *
 * @module
 */

const KUBE_VERSION = /^v(\d+)(?:(alpha|beta)(\d+))?$/;

function rank(name: string): [number, number, number] | undefined {
  const m = KUBE_VERSION.exec(name);
  if (!m) return undefined;
  const stage = m[2] === undefined ? 3 : m[2] === "beta" ? 2 : 1;
  return [stage, Number(m[1]), m[3] === undefined ? 0 : Number(m[3])];
}

/** Negative when `a` comes first (has higher priority). */
export function compareVersions(a: string, b: string): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra && rb) {
    for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return rb[i]! - ra[i]!;
    return 0;
  }
  if (ra) return -1;
  if (rb) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
