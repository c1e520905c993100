/**
 * The `code` that says what went wrong (ECONNREFUSED, ERR_MODULE_NOT_FOUND…): the error's
 * own, else its causes' (undici wraps socket errors, with the generic UND_ERR on top).
 */
export function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 3 && current instanceof Error; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR') return code;
    current = current.cause;
  }
  return undefined;
}
