import { Type, type ObjectOptions, type TProperties } from '@sinclair/typebox';

/**
 * A named schema: a closed object under its $id, which names it among the OpenAPI document's
 * component schemas (Goal, Credentials…). Closed, so a field the contract does not name is a
 * 400 in a request, never quietly ignored.
 */
export function namedObject<Properties extends TProperties>(
  $id: string,
  properties: Properties,
  options: Omit<ObjectOptions, '$id' | 'additionalProperties'> = {},
) {
  return Type.Object(properties, { $id, ...options, additionalProperties: false });
}
