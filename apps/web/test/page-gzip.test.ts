import { randomBytes } from 'node:crypto';
import { crc32, gunzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { SafeHtml } from '../src/html.js';
import { crc32Combine, gzipPieces } from '../src/page-gzip.js';

describe('crc32Combine', () => {
  test('when two byte runs are joined, then their CRCs combine to the CRC of the whole', () => {
    const lengths = [0, 1, 7, 8, 255, 4096, 65_537, 200_000];
    for (const first of lengths) {
      for (const second of lengths) {
        const a = randomBytes(first);
        const b = randomBytes(second);
        expect(crc32Combine(crc32(a), crc32(b), b.length)).toBe(crc32(Buffer.concat([a, b])));
      }
    }
  });
});

describe('gzipPieces', () => {
  const pieces = (...texts: string[]) => texts.map((text) => new SafeHtml(text));

  test('when pieces are gzipped, then any gunzip reads back exactly the joined page', () => {
    const page = pieces(
      '<!doctype html><p>“Goals” — naïve café 🎯</p>',
      '',
      '<li class="goal">Read a book</li>'.repeat(5_000),
      'x',
      randomBytes(70_000).toString('base64'),
    );
    const zipped = gzipPieces(page);
    expect(gunzipSync(zipped).toString()).toBe(page.join(''));
    // The gzip trailer holds the whole page's CRC and length, which gunzip checks.
    expect(zipped.readUInt32LE(zipped.length - 8)).toBe(crc32(page.join('')));
    expect(zipped.readUInt32LE(zipped.length - 4)).toBe(Buffer.byteLength(page.join('')));
  });

  test('when two pages share a piece, then each reads back whole and stays small', () => {
    const shared = new SafeHtml('<ul>' + '<li>Run 5 km</li>'.repeat(2_000) + '</ul>');
    const first = gzipPieces([new SafeHtml('<h1>One</h1>'), shared]);
    const second = gzipPieces([new SafeHtml('<h1>Two</h1>'), shared, new SafeHtml('<footer>')]);
    expect(gunzipSync(first).toString()).toBe(`<h1>One</h1>${shared.value}`);
    expect(gunzipSync(second).toString()).toBe(`<h1>Two</h1>${shared.value}<footer>`);
    expect(second.length).toBeLessThan(shared.bytes.length / 10);
  });

  test('when pieces are small, then they go stored, not compressed, and still read back', () => {
    const small = pieces('<nav>Signed in as <strong>ada@example.com</strong></nav>', '', 'é');
    const zipped = gzipPieces(small);
    expect(gunzipSync(zipped).toString()).toBe(small.join(''));
    expect(zipped.includes(Buffer.from('ada@example.com'))).toBe(true);
  });

  test('when there are no pieces, then it is the empty page', () => {
    expect(gunzipSync(gzipPieces([])).toString()).toBe('');
  });
});
