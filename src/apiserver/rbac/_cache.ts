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

interface Index {
  clusterRoleBindings: KubeObject[];
  roleBindings: Map<string, KubeObject[]>;
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
    this.index = {
      clusterRoleBindings: list("clusterrolebindings"),
      roleBindings,
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
