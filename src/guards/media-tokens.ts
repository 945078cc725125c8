// Token cost of image parts by OpenAI's published rule, never by tokenizing their bytes as text.
// detail "low": 85. "high"/"auto": fit within 2048×2048, then scale the shortest side down to 768,
// then 85 + 170 per 512-px tile. The size is read from the image header of a data: URL (PNG, GIF,
// JPEG); for remote URLs or unreadable headers a configured default is used.

export interface ImageSize {
  width: number;
  height: number;
}

export function imageTokensForSize(size: ImageSize): number {
  let { width, height } = size;
  if (width <= 0 || height <= 0) return 85;
  const fit = Math.min(1, 2048 / Math.max(width, height));
  width *= fit;
  height *= fit;
  const shortest = Math.min(width, height);
  if (shortest > 768) {
    width *= 768 / shortest;
    height *= 768 / shortest;
  }
  return 85 + 170 * Math.ceil(width / 512) * Math.ceil(height / 512);
}

// Decoding at most this much base64 bounds the work for any image; JPEG frame headers sit after the
// EXIF block, which is rarely larger than this.
const maxHeaderBase64Chars = 96 * 1024;

function headerBytes(url: string): Buffer | undefined {
  if (!url.startsWith('data:')) return undefined;
  const comma = url.indexOf(',');
  if (comma < 0 || !url.slice(0, comma).endsWith(';base64')) return undefined;
  let end = Math.min(url.length, comma + 1 + maxHeaderBase64Chars);
  end -= (end - comma - 1) % 4;
  return Buffer.from(url.slice(comma + 1, end), 'base64');
}

function jpegSize(b: Buffer): ImageSize | undefined {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1]!;
    // SOF0..SOF15 carry the frame size, except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
    }
    i += 2 + b.readUInt16BE(i + 2);
  }
  return undefined;
}

/** Width and height from the header of a base64 data: URL, or undefined. */
export function imageSizeFromDataUrl(url: string): ImageSize | undefined {
  const b = headerBytes(url);
  if (!b || b.length < 24) return undefined;
  if (b.readUInt32BE(0) === 0x89504e47) return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  if (b.toString('latin1', 0, 4) === 'GIF8') return { width: b.readUInt16LE(6), height: b.readUInt16LE(8) };
  if (b[0] === 0xff && b[1] === 0xd8) return jpegSize(b);
  return undefined;
}

export function imageTokens(url: string, detail: string | undefined, unknownSizeTokens: number): number {
  if (detail === 'low') return 85;
  const size = imageSizeFromDataUrl(url);
  return size ? imageTokensForSize(size) : unknownSizeTokens;
}
