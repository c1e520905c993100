import type { FastifyReply, FastifyRequest } from 'fastify';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { chooseEncoding } from './assets.js';
import { markupBytes, SafeHtml, type Markup } from './html.js';
import { gzipPieces } from './page-gzip.js';

/**
 * Below about one TCP segment, compressing saves no round trip and only costs CPU. (Redirects,
 * problem documents and /health stay under it; a page of goals is tens of kilobytes and
 * shrinks about tenfold.)
 */
export const COMPRESS_MIN_BYTES = 1400;

// The fastest settings: a page compresses to about a tenth either way, and the CPU it costs
// (some 0.1 ms for a page of 50 goals at brotli quality 1, four times that at quality 4) is
// paid on every request, since each page carries its own form key.
const BROTLI_OPTIONS = { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } };
const GZIP_OPTIONS = { level: 1 };

/**
 * Sends a response made for this request (a page, an answer from the API), compressed when
 * the client takes brotli or gzip and the body is big enough for that to pay.
 */
export function sendCompressible(
  request: FastifyRequest,
  reply: FastifyReply,
  body: string | Buffer,
): FastifyReply {
  return sendEncoded(reply, body, chooseEncoding(request.headers['accept-encoding']));
}

/** The body compressed with the encoding chosen for the request, when that pays. */
function sendEncoded(
  reply: FastifyReply,
  body: string | Buffer,
  encoding: 'br' | 'gzip' | undefined,
): FastifyReply {
  reply.header('vary', 'accept-encoding');
  if (encoding === undefined) return reply.send(body);
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  if (bytes.length < COMPRESS_MIN_BYTES) return reply.send(bytes);
  return reply
    .header('content-encoding', encoding)
    .send(
      encoding === 'br' ? brotliCompressSync(bytes, BROTLI_OPTIONS) : gzipSync(bytes, GZIP_OPTIONS),
    );
}

const PAGE_ENCODINGS = { br: true, gzip: true };
// Gzip first: a page's pieces are compressed once (see page-gzip.ts); brotli would compress
// the whole page on every request.
const PAGE_PREFERENCE = ['gzip', 'br'] as const;

/**
 * An HTML page, never stored by shared caches and never used without asking again (it shows
 * one person's live data), unless the route asked for stricter (no-store).
 */
export function sendHtml(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  page: Markup,
): FastifyReply {
  reply.code(status).type('text/html; charset=utf-8');
  if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'private, no-cache');
  const pieces = page instanceof SafeHtml ? [page] : page;
  const accepted = request.headers['accept-encoding'];
  const encoding = chooseEncoding(accepted, PAGE_ENCODINGS, PAGE_PREFERENCE);
  if (encoding !== 'gzip') return sendEncoded(reply, markupBytes(pieces), encoding);
  return reply
    .header('vary', 'accept-encoding')
    .header('content-encoding', 'gzip')
    .send(gzipPieces(pieces));
}
