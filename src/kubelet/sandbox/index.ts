/**
 * The pod sandbox: what a pod's containers share and run in. Its network (a network namespace
 * per pod, as root `podnet.ts` with its long-lived helpers `podnet_fast.ts`/`podnet_longlived.ts`
 * and the cluster's tag `podnet_owner.ts`; without root inside a per-cluster user namespace,
 * `podnet_rootless.ts` with its node helper `podnet_helper.ts`, and its pods' IPs answering from
 * the host through `hostreach.ts`), its IP (`ipam.ts` over the
 * journal `ipjournal.ts`), the NetworkPolicies enforced on it (`netpol.ts` builds the nftables
 * script, `netpol_nft.ts` keeps the table), and its mounts (`sandbox.ts`: private mount and UTS
 * namespaces with the pod's hostname, /etc/hosts, /etc/resolv.conf and volumes).
 *
 * @module
 */
export { reachableOf, startHostReach } from "./hostreach.ts";
export { entriesByCidr, type Ipam, openIpam } from "./ipam.ts";
export { openIpJournal } from "./ipjournal.ts";
export { startPolicyEnforcer } from "./netpol_nft.ts";
export {
  gatewayOf,
  nftTableOf,
  openPodNetworks,
  type PodNetwork,
  type PodNetworks,
  podNetworkUnsupported,
  routeDevice,
} from "./podnet.ts";
export { DEFAULT_OWNER_DIR } from "./podnet_owner.ts";
export {
  type NodeListener,
  openRootlessPodNetworks,
  type RootlessPodNetworks,
  rootlessUnsupported,
} from "./podnet_rootless.ts";
export {
  hostsFile,
  resolvConf,
  rootlessSandboxSupported,
  sandboxPrefix,
  sandboxSupported,
} from "./sandbox.ts";
