/**
 * The roles and bindings the authorizer reads, kept from the store: indexed on first use, and
 * rebuilt on the next use after any write under `rbac.authorization.k8s.io` (one store watch marks
 * the index stale; store watches deliver before the next I/O turn, so a request that follows a
 * write sees it). Requests between writes pay a map lookup.
 *
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import type { Store, StoreWatch } from "../../store/types.ts";
import type { PolicySource } from "./authorizer.ts";

const PREFIX = "/rbac.authorization.k8s.io/";

/** Bindings of one scope by subject: `u:<user>` (service accounts as their user) and `g:<group>`. */
type BySubject = Map<string, KubeObject[]>;

function bySubject(bindings: readonly KubeObject[], namespace: string): BySubject {
  const out: BySubject = new Map();
  const add = (key: string, b: KubeObject) => {
    const at = out.get(key);
    if (!at) out.set(key, [b]);
    else if (at[at.length - 1] !== b) at.push(b);
  };
  for (const b of bindings) {
    const subjects = Array.isArray(b.subjects)
      ? (b.subjects as Array<Record<string, unknown>>)
      : [];
    for (const s of subjects) {
      if (!s || typeof s.name !== "string") continue;
      if (s.kind === "User") add(`u:${s.name}`, b);
      else if (s.kind === "Group") add(`g:${s.name}`, b);
      else if (s.kind === "ServiceAccount") {
        const ns = typeof s.namespace === "string" && s.namespace ? s.namespace : namespace;
        if (ns) add(`u:system:serviceaccount:${ns}:${s.name}`, b);
      }
    }
  }
  return out;
}

interface Index {
  clusterRoleBindings: KubeObject[];
  roleBindings: Map<string, KubeObject[]>;
  subjects: Map<string, BySubject>;
  order: Map<KubeObject, number>;
  clusterRoles: Map<string, KubeObject>;
  roles: Map<string, KubeObject>;
}

const NONE: readonly KubeObject[] = [];

export class PolicyCache implements PolicySource {
  private index: Index | undefined;
  private watch: StoreWatch | undefined;

  constructor(private readonly store: Store) {}

  private current(): Index {
    if (this.index && this.watch) return this.index;
    this.watch?.stop();
    this.watch = this.store.watch(PREFIX, {
      fromRevision: this.store.revision(),
      onEvent: () => {
        this.index = undefined;
      },
      onClose: () => {
        this.index = undefined;
        this.watch = undefined;
      },
    });
    // Plain copies: objects read from the store may be lazily decoded views, slower to walk.
    const list = (resource: string) =>
      this.store
        .list(`${PREFIX}${resource}/`)
        .items.map((o) => JSON.parse(JSON.stringify(o)) as KubeObject);
    const roleBindings = new Map<string, KubeObject[]>();
    for (const rb of list("rolebindings")) {
      const ns = rb.metadata.namespace ?? "";
      const at = roleBindings.get(ns);
      if (at) at.push(rb);
      else roleBindings.set(ns, [rb]);
    }
    const clusterRoleBindings = list("clusterrolebindings");
    const subjects = new Map<string, BySubject>([["", bySubject(clusterRoleBindings, "")]]);
    for (const [ns, bindings] of roleBindings) subjects.set(ns, bySubject(bindings, ns));
    const order = new Map<KubeObject, number>();
    for (const b of clusterRoleBindings) order.set(b, order.size);
    for (const bindings of roleBindings.values())
      for (const b of bindings) order.set(b, order.size);
    this.index = {
      clusterRoleBindings,
      roleBindings,
      subjects,
      order,
      clusterRoles: new Map(list("clusterroles").map((r) => [r.metadata.name ?? "", r])),
      roles: new Map(list("roles").map((r) => [`${r.metadata.namespace}/${r.metadata.name}`, r])),
    };
    return this.index;
  }

  clusterRoleBindings(): readonly KubeObject[] {
    return this.current().clusterRoleBindings;
  }
  roleBindings(namespace: string): readonly KubeObject[] {
    return this.current().roleBindings.get(namespace) ?? NONE;
  }
  bindingsFor(
    namespace: string,
    user: { name: string; groups: readonly string[] },
  ): readonly KubeObject[] {
    const index = this.current();
    const scope = index.subjects.get(namespace);
    if (!scope) return NONE;
    const byUser = scope.get(`u:${user.name}`);
    let found: KubeObject[] | undefined;
    let merged = false;
    if (byUser) found = byUser;
    for (const group of user.groups) {
      const byGroup = scope.get(`g:${group}`);
      if (!byGroup) continue;
      if (!found) found = byGroup;
      else {
        found = [...found, ...byGroup];
        merged = true;
      }
    }
    if (!found) return NONE;
    if (!merged) return found;
    // kube walks bindings in list order; the first that allows names the reason.
    return [...new Set(found)].sort(
      (a, b) => (index.order.get(a) ?? 0) - (index.order.get(b) ?? 0),
    );
  }
  clusterRole(name: string): KubeObject | undefined {
    return this.current().clusterRoles.get(name);
  }
  role(namespace: string, name: string): KubeObject | undefined {
    return this.current().roles.get(`${namespace}/${name}`);
  }

  stop(): void {
    this.watch?.stop();
    this.watch = undefined;
  }
}
