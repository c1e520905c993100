import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Representation } from '../caching/read-cache.js';

/**
 * RFC 9110 If-None-Match: `*`, or a list of entity tags compared weakly (W/ ignored), so a
 * validator a proxy weakened still matches.
 */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return true;
  const opaque = etag.replace(/^W\//, '');
  for (const candidate of header.split(',')) {
    const tag = candidate.trim();
    if (tag === '*' || tag.replace(/^W\//, '') === opaque) return false;
  }
  return true;
}

/**
 * Sends a JSON representation with its ETag, or 304 with no body when the client's copy is
 * current. `no-cache`: clients may keep it, but must ask again (cheaply) before using it.
 */
export function sendRepresentation(
  request: FastifyRequest,
  reply: FastifyReply,
  representation: Representation,
): FastifyReply {
  reply.header('etag', representation.etag).header('cache-control', 'no-cache');
  if (!noneMatch(request.headers['if-none-match'], representation.etag)) {
    return reply.code(304).send();
  }
  return reply.type('application/json; charset=utf-8').send(representation.body);
}
