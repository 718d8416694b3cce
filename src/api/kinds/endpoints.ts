/**
 * core/v1 endpoints: port protocol default, address/port validation, and the ENDPOINTS column
 * (`ip:port` for the first three ready addresses, then ` + N more...`).
 *
 * @module
 */

import { sinceTimestamp } from "../duration.ts";
import { type FieldError, fieldInvalid, fieldNotSupported, fieldRequired } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { isDNS1123Label } from "../validation.ts";
import { AGE, column, NAME } from "./_columns.ts";
import { simpleValidators } from "./_simple.ts";
import { type Obj, objs, setDefault, str } from "./_util.ts";
import { nameIsDNSSubdomain } from "./meta.ts";
import { isValidPortNum, PROTOCOLS } from "./pod_validation.ts";
import type { KindStrategy } from "./types.ts";

function joinHostPort(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The ENDPOINTS cell: formatEndpoints in kube's printers. */
export function formatEndpoints(ep: KubeObject): string {
  const subsets = objs(ep.subsets);
  if (subsets.length === 0) return "<none>";
  const max = 3;
  const list: string[] = [];
  let more = false;
  let count = 0;
  for (const ss of subsets) {
    const addresses = objs(ss.addresses);
    const ports = objs(ss.ports);
    if (ports.length === 0) {
      count += addresses.length;
      for (const a of addresses) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(str(a.ip));
      }
      continue;
    }
    for (const p of ports) {
      count += addresses.length;
      for (const a of addresses) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(joinHostPort(str(a.ip), typeof p.port === "number" ? p.port : 0));
      }
    }
  }
  const joined = list.join(",");
  if (more) return `${joined} + ${count - max} more...`;
  return joined === "" ? "<none>" : joined;
}

function validateSubsets(ep: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  objs(ep.subsets).forEach((ss, i) => {
    const sp = `subsets[${i}]`;
    const checkAddr = (a: Obj, ap: string) => {
      if (str(a.ip) === "") errs.push(fieldRequired(`${ap}.ip`));
      const hostname = str(a.hostname);
      if (hostname !== "")
        for (const m of isDNS1123Label(hostname))
          errs.push(fieldInvalid(`${ap}.hostname`, hostname, m));
    };
    objs(ss.addresses).forEach((a, j) => {
      checkAddr(a, `${sp}.addresses[${j}]`);
    });
    objs(ss.notReadyAddresses).forEach((a, j) => {
      checkAddr(a, `${sp}.notReadyAddresses[${j}]`);
    });
    const ports = objs(ss.ports);
    ports.forEach((p, j) => {
      const pp = `${sp}.ports[${j}]`;
      const name = str(p.name);
      if (ports.length > 1 && name === "") errs.push(fieldRequired(`${pp}.name`));
      else if (name !== "")
        for (const m of isDNS1123Label(name)) errs.push(fieldInvalid(`${pp}.name`, name, m));
      for (const m of isValidPortNum(p.port)) errs.push(fieldInvalid(`${pp}.port`, p.port ?? 0, m));
      const protocol = str(p.protocol);
      if (protocol === "") errs.push(fieldRequired(`${pp}.protocol`));
      else if (!PROTOCOLS.includes(protocol))
        errs.push(fieldNotSupported(`${pp}.protocol`, protocol, PROTOCOLS));
    });
  });
  return errs;
}

export const endpointsStrategy: KindStrategy = {
  group: "",
  version: "v1",
  kind: "Endpoints",
  resource: "endpoints",
  singular: "endpoints",
  shortNames: ["ep"],
  namespaced: true,
  hasGeneration: false,
  hasStatus: false,
  applyDefaults(obj) {
    for (const ss of objs(obj.subsets))
      for (const p of objs(ss.ports)) setDefault(p, "protocol", "TCP");
  },
  ...simpleValidators({ namespaced: true, nameRule: nameIsDNSSubdomain, spec: validateSubsets }),
  columns: [
    NAME,
    column(
      "Endpoints",
      "string",
      "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.",
    ),
    AGE,
  ],
  row(obj, now) {
    return [
      obj.metadata.name ?? "",
      formatEndpoints(obj),
      sinceTimestamp(obj.metadata.creationTimestamp, now),
    ];
  },
};
