import { constants, crc32, deflateRawSync } from 'node:zlib';
import type { SafeHtml } from './html.js';

/**
 * Gzip for pages made of pieces (see `Markup`), each piece compressed once: the pieces a page
 * shares with others (its start and end, the rendered list kept while the API's ETag holds)
 * are not compressed again, so a page costs the compression of only what is new in it.
 *
 * Each piece is a raw deflate stream of its own that ends on a sync flush (byte-aligned, not
 * final), so the pieces' blocks follow each other as one valid deflate stream (RFC 1951); no
 * back-reference crosses from one piece into another, which costs some bytes, not validity.
 * The gzip member (RFC 1952) then needs the CRC-32 of the whole page: each piece's CRC is kept
 * with it and the page's is combined from them, never computed over the page's bytes.
 */

interface CompressedPiece {
  deflated: Buffer;
  crc: number;
  length: number;
}

// Level 1: a page shrinks about tenfold either way; a 8 KiB window still reaches the goal
// above, which is what a list repeats.
const DEFLATE_OPTIONS = { level: 1, windowBits: 13, finishFlush: constants.Z_SYNC_FLUSH };

// ID1 ID2, CM = deflate, no flags, no modification time, no extra flags, OS unknown.
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff]);
/** An empty final block with fixed codes: the stream's end, after the last sync flush. */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

/**
 * Below this a piece goes as a stored (uncompressed) block: setting up zlib costs some 25 µs
 * whatever the size, and a few hundred bytes (the header naming who is signed in) would save
 * less than one TCP segment.
 */
const STORE_BELOW_BYTES = 1024;

const compressedPieces = new WeakMap<SafeHtml, CompressedPiece>();

function compressed(piece: SafeHtml): CompressedPiece {
  let known = compressedPieces.get(piece);
  if (!known) {
    const bytes = piece.bytes;
    known = {
      deflated:
        bytes.length < STORE_BELOW_BYTES
          ? storedBlock(bytes)
          : deflateRawSync(bytes, DEFLATE_OPTIONS),
      crc: crc32(bytes),
      length: bytes.length,
    };
    compressedPieces.set(piece, known);
  }
  return known;
}

/** A non-final stored block (RFC 1951 3.2.4), byte-aligned as a sync flush leaves the stream. */
function storedBlock(bytes: Buffer): Buffer {
  const header = Buffer.alloc(5);
  // BFINAL 0 and BTYPE 00 in the first three bits; the rest of the byte is padding.
  header.writeUInt16LE(bytes.length, 1);
  header.writeUInt16LE(~bytes.length & 0xffff, 3);
  return Buffer.concat([header, bytes]);
}

/** The page as one gzip member, from its pieces' compressed forms. */
export function gzipPieces(pieces: readonly SafeHtml[]): Buffer {
  let crc = 0;
  let length = 0;
  const parts: Buffer[] = [GZIP_HEADER];
  for (const piece of pieces) {
    const part = compressed(piece);
    crc = crc32Combine(crc, part.crc, part.length);
    length += part.length;
    parts.push(part.deflated);
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc, 0);
  // ISIZE is the length modulo 2^32.
  trailer.writeUInt32LE(length % 2 ** 32, 4);
  parts.push(FINAL_BLOCK, trailer);
  return Buffer.concat(parts);
}

// CRC-32 arithmetic in GF(2), bit-reflected as gzip uses it (zlib's crc32_combine).
const POLYNOMIAL = 0xedb88320;

/** a(x) · b(x) modulo the CRC polynomial. */
function multiplyModP(a: number, b: number): number {
  let product = 0;
  let factor = b;
  for (let bit = 0x80000000; bit !== 0; bit >>>= 1) {
    if ((a & bit) !== 0) product ^= factor;
    factor = factor & 1 ? (factor >>> 1) ^ POLYNOMIAL : factor >>> 1;
  }
  return product >>> 0;
}

/** x^(2^k) modulo the polynomial, for k = 0..31. */
const X_TO_2_TO_K: number[] = [];
for (let k = 0, power = 0x40000000; k < 32; k += 1) {
  X_TO_2_TO_K.push(power);
  power = multiplyModP(power, power);
}

/** x^(n · 2^k) modulo the polynomial. */
function xToNModP(n: number, k: number): number {
  let result = 0x80000000;
  for (let rest = n, index = k; rest > 0; rest = Math.floor(rest / 2), index += 1) {
    if (rest % 2 === 1) result = multiplyModP(X_TO_2_TO_K[index % 32]!, result);
  }
  return result;
}

/** The CRC-32 of A followed by B, from the CRCs of A and B and B's length in bytes. */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return (multiplyModP(xToNModP(lengthB, 3), crcA) ^ crcB) >>> 0;
}
