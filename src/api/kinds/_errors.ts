/**
 * Field error shapes missing from `../errors.ts` (TooLong, TooMany, NotFound) and a raw Invalid
 * whose value is already rendered (Go `%#v` output), worded as apimachinery's field.Error.
 *
 * @module
 */
import type { FieldError } from "../errors.ts";

export function invalidRaw(field: string, rendered: string, detail: string): FieldError {
  return { type: "FieldValueInvalid", field, message: `Invalid value: ${rendered}: ${detail}` };
}

export function duplicateRaw(field: string, rendered: string): FieldError {
  return { type: "FieldValueDuplicate", field, message: `Duplicate value: ${rendered}` };
}

/** field.TooLong: `Too long: may not be more than 262144 bytes`. */
export function fieldTooLong(field: string, maxBytes: number): FieldError {
  return {
    type: "FieldValueTooLong",
    field,
    message: `Too long: may not be more than ${maxBytes} bytes`,
  };
}

/** field.TooMany: `Too many: 1001: must have at most 1000 items`. */
export function fieldTooMany(field: string, actual: number, max: number): FieldError {
  return {
    type: "FieldValueTooMany",
    field,
    message: `Too many: ${actual}: must have at most ${max} items`,
  };
}

/** field.NotFound: `Not found: "x"`. */
export function fieldNotFound(field: string, value: string): FieldError {
  // FieldError's type union has no NotFound; Invalid is the closest reason a client can act on.
  return { type: "FieldValueInvalid", field, message: `Not found: ${JSON.stringify(value)}` };
}
