import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/** One static file, fingerprinted by content and compressed once, at start. */
export interface Asset {
  /** `/assets/styles.1a2b3c4d5e.css` */
  url: string;
  type: string;
  body: Buffer;
  /** Compressed forms, when they are smaller (a tiny icon is not). */
  br: Buffer | undefined;
  gzip: Buffer | undefined;
  etag: string;
}

export interface Assets {
  styles: Asset;
  script: Asset;
  /** The passkey buttons' module (client/passkeys.ts), for the pages that offer passkeys. */
  passkeys: Asset;
  icon: Asset;
  byUrl: Map<string, Asset>;
}

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

// src/ and dist/ both sit directly in apps/web, so this resolves the same from either.
const WEB_ROOT = fileURLToPath(new URL('../', import.meta.url));

function load(path: string, name: string): Asset {
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: build the web tier first (npm run build)`);
  }
  const body = readFileSync(path);
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 10);
  const extension = extname(name);
  const smaller = (compressed: Buffer) =>
    compressed.length < body.length ? compressed : undefined;
  return {
    url: `/assets/${name.slice(0, -extension.length)}.${hash}${extension}`,
    type: TYPES[extension] ?? 'application/octet-stream',
    body,
    br: smaller(brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } })),
    gzip: smaller(gzipSync(body, { level: 9 })),
    etag: `"${hash}"`,
  };
}

export function loadAssets(root = WEB_ROOT): Assets {
  const styles = load(join(root, 'public', 'styles.css'), 'styles.css');
  const script = load(join(root, 'dist', 'client', 'app.js'), 'app.js');
  const passkeys = load(join(root, 'dist', 'client', 'passkeys.js'), 'passkeys.js');
  const icon = load(join(root, 'public', 'icon.svg'), 'icon.svg');
  return {
    styles,
    script,
    passkeys,
    icon,
    byUrl: new Map([styles, script, passkeys, icon].map((asset) => [asset.url, asset])),
  };
}

/**
 * The encoding to send for an Accept-Encoding header: of those available and accepted, the
 * first in `preferred` (brotli, then gzip, unless the caller knows better), or none.
 */
export function chooseEncoding(
  acceptEncoding: string | undefined,
  available: { br: unknown; gzip: unknown } = { br: true, gzip: true },
  preferred: readonly ('br' | 'gzip')[] = ['br', 'gzip'],
): 'br' | 'gzip' | undefined {
  const accepted = new Map<string, number>();
  for (const part of (acceptEncoding ?? '').toLowerCase().split(',')) {
    const [coding, ...params] = part.trim().split(';');
    if (!coding) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    accepted.set(coding, q ? Number(q.slice(2)) : 1);
  }
  const weight = (coding: string) => accepted.get(coding) ?? accepted.get('*') ?? 0;
  return preferred.find((coding) => available[coding] && weight(coding) > 0);
}
