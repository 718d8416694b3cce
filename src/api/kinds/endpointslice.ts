/**
 * discovery.k8s.io/v1 endpointslices: port name/protocol defaults, validation (address type
 * supported and immutable, at most 1000 endpoints of 1–100 addresses, at most 20000 ports),
 * and the `kubectl get endpointslices` columns.
 *
 * @module
 */

import { sinceTimestamp } from "../duration.ts";
import { type FieldError, fieldInvalid, fieldNotSupported, fieldRequired } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { isDNS1123Label } from "../validation.ts";
import { AGE, column, NAME } from "./_columns.ts";
import { fieldTooMany } from "./_errors.ts";
import { simpleValidators } from "./_simple.ts";
import { arr, objs, semanticEqual, setDefault, str } from "./_util.ts";
import { nameIsDNSSubdomain } from "./meta.ts";
import { PROTOCOLS } from "./pod_validation.ts";
import type { KindStrategy } from "./types.ts";

const ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"];
const MAX_ENDPOINTS = 1000;
const MAX_ADDRESSES = 100;
const MAX_PORTS = 20000;

function listWithMore(list: string[], more: boolean, count: number, max: number): string {
  const joined = list.join(",");
  if (more) return `${joined} + ${count - max} more...`;
  return joined === "" ? "<unset>" : joined;
}

function formatPorts(slice: KubeObject): string {
  const list: string[] = [];
  let more = false;
  let count = 0;
  for (const p of objs(slice.ports)) {
    if (list.length < 3) {
      list.push(
        typeof p.port === "number"
          ? String(p.port)
          : typeof p.name === "string" && p.name !== ""
            ? p.name
            : "*",
      );
    } else more = true;
    count++;
  }
  return listWithMore(list, more, count, 3);
}

function formatEndpoints(slice: KubeObject): string {
  const list: string[] = [];
  let more = false;
  let count = 0;
  for (const e of objs(slice.endpoints)) {
    for (const a of arr(e.addresses)) {
      if (list.length < 3) list.push(str(a));
      else more = true;
      count++;
    }
  }
  return listWithMore(list, more, count, 3);
}

function validateSlice(slice: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const addressType = str(slice.addressType);
  if (addressType === "") errs.push(fieldRequired("addressType"));
  else if (!ADDRESS_TYPES.includes(addressType))
    errs.push(fieldNotSupported("addressType", addressType, ADDRESS_TYPES));
  const endpoints = objs(slice.endpoints);
  if (endpoints.length > MAX_ENDPOINTS)
    errs.push(fieldTooMany("endpoints", endpoints.length, MAX_ENDPOINTS));
  endpoints.forEach((e, i) => {
    const ep = `endpoints[${i}]`;
    const addresses = arr(e.addresses);
    if (addresses.length === 0)
      errs.push(fieldRequired(`${ep}.addresses`, "must contain at least 1 address"));
    else if (addresses.length > MAX_ADDRESSES)
      errs.push(fieldTooMany(`${ep}.addresses`, addresses.length, MAX_ADDRESSES));
    addresses.forEach((a, j) => {
      const addr = str(a);
      const ap = `${ep}.addresses[${j}]`;
      if (addressType === "IPv4" && !/^(\d{1,3}\.){3}\d{1,3}$/.test(addr)) {
        errs.push(fieldInvalid(ap, addr, "must be a valid IPv4 address"));
      } else if (addressType === "IPv6" && !addr.includes(":")) {
        errs.push(fieldInvalid(ap, addr, "must be a valid IPv6 address"));
      }
    });
    const hostname = str(e.hostname);
    if (hostname !== "")
      for (const m of isDNS1123Label(hostname))
        errs.push(fieldInvalid(`${ep}.hostname`, hostname, m));
  });
  const ports = objs(slice.ports);
  if (ports.length > MAX_PORTS) errs.push(fieldTooMany("ports", ports.length, MAX_PORTS));
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const pp = `ports[${i}]`;
    const name = str(p.name);
    if (name !== "") {
      for (const m of isDNS1123Label(name)) errs.push(fieldInvalid(`${pp}.name`, name, m));
    }
    if (names.has(name))
      errs.push({
        type: "FieldValueDuplicate",
        field: `${pp}.name`,
        message: `Duplicate value: ${JSON.stringify(name)}`,
      });
    names.add(name);
    const protocol = str(p.protocol);
    if (protocol === "") errs.push(fieldRequired(`${pp}.protocol`));
    else if (!PROTOCOLS.includes(protocol))
      errs.push(fieldNotSupported(`${pp}.protocol`, protocol, PROTOCOLS));
    if (
      p.port !== undefined &&
      p.port !== null &&
      (typeof p.port !== "number" || p.port < 1 || p.port > 65535)
    ) {
      errs.push(fieldInvalid(`${pp}.port`, p.port, "must be between 1 and 65535, inclusive"));
    }
  });
  return errs;
}

export const endpointSliceStrategy: KindStrategy = {
  group: "discovery.k8s.io",
  version: "v1",
  kind: "EndpointSlice",
  resource: "endpointslices",
  singular: "endpointslice",
  namespaced: true,
  hasGeneration: true,
  hasStatus: false,
  applyDefaults(obj) {
    for (const p of objs(obj.ports)) {
      if (p.name === undefined || p.name === null) p.name = "";
      setDefault(p, "protocol", "TCP");
    }
  },
  generationChanged(obj, old) {
    const { metadata: m1, ...rest1 } = obj;
    const { metadata: m2, ...rest2 } = old;
    return !semanticEqual(rest1, rest2) || !semanticEqual(m1.labels, m2.labels);
  },
  ...simpleValidators({
    namespaced: true,
    nameRule: nameIsDNSSubdomain,
    spec: validateSlice,
    update: (obj, old) =>
      obj.addressType !== old.addressType
        ? [fieldInvalid("addressType", obj.addressType ?? "", "field is immutable")]
        : [],
  }),
  columns: [
    NAME,
    column(
      "AddressType",
      "string",
      "addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation. The following address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name.",
    ),
    column(
      "Ports",
      "string",
      'ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a unique name. When ports is empty, it indicates that there are no defined ports. When a port is defined with a nil port value, it indicates "all ports". Each slice may include a maximum of 100 ports.',
    ),
    column(
      "Endpoints",
      "string",
      "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints.",
    ),
    AGE,
  ],
  row(obj, now) {
    return [
      obj.metadata.name ?? "",
      str(obj.addressType),
      formatPorts(obj),
      formatEndpoints(obj),
      sinceTimestamp(obj.metadata.creationTimestamp, now),
    ];
  },
};
