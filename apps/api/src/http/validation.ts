import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';

const shared: Options = {
  useDefaults: true,
  // Unknown keys are an error (400), never silently dropped.
  removeAdditional: false,
  allErrors: false,
  // The same TypeBox schema (with its $id) may be compiled for several routes.
  addUsedSchema: false,
};

/** A plain decimal integer: no exponent, hex, sign-plus, spaces or leading zeros. */
const DECIMAL_INTEGER = /^(0|-?[1-9][0-9]*)$/;

type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

/**
 * Ajv coerces any string Number() accepts ("1e3", "0x10", " 7"), so an id of 1e3 would
 * fetch goal 1000. Text that is meant to be an integer must be written as one.
 */
function withStrictIntegers(schema: object, validate: ValidateFunction): Validator {
  const properties =
    (schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {};
  const integerKeys = Object.keys(properties).filter((key) => properties[key]?.type === 'integer');
  if (integerKeys.length === 0) return validate;
  const strict: Validator = (data) => {
    for (const key of integerKeys) {
      const value = (data as Record<string, unknown> | null | undefined)?.[key];
      if (typeof value === 'string' && !DECIMAL_INTEGER.test(value)) {
        strict.errors = [
          {
            instancePath: `/${key}`,
            schemaPath: `#/properties/${key}/type`,
            keyword: 'type',
            params: { type: 'integer' },
            message: 'must be a decimal integer',
          },
        ];
        return false;
      }
    }
    const valid = validate(data);
    strict.errors = validate.errors;
    return valid;
  };
  return strict;
}

/**
 * Fastify's default validator coerces types everywhere, which would turn a JSON body's
 * `"name": 123` into "123". JSON bodies are checked exactly as sent; only the query string,
 * path parameters and headers, which are text by nature, are coerced ("5" to 5).
 */
export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const body = new Ajv({ ...shared, coerceTypes: false });
  const text = new Ajv({ ...shared, coerceTypes: true });
  return ({ schema, httpPart }) =>
    httpPart === 'body'
      ? body.compile(schema as object)
      : withStrictIntegers(schema as object, text.compile(schema as object));
}
