/**
 * Column definitions shared by every kind's printer: NAME and AGE with the descriptions
 * kube-apiserver takes from ObjectMeta's swagger docs.
 *
 * @module
 */
import type { TableColumn } from "./types.ts";

export function column(
  name: string,
  type: TableColumn["type"],
  description: string,
  priority = 0,
): TableColumn {
  return { name, type, format: "", description, priority };
}

export const NAME: TableColumn = {
  name: "Name",
  type: "string",
  format: "name",
  description:
    "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
  priority: 0,
};

export const AGE: TableColumn = column(
  "Age",
  "string",
  "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
);

export const CONTAINERS = column(
  "Containers",
  "string",
  "Names of each container in the template.",
  1,
);
export const IMAGES = column(
  "Images",
  "string",
  "Images referenced by each container in the template.",
  1,
);
