/**
 * What an incoming file must pass to be kept: a size limit, an image type recognised from its first bytes (never
 * from a name or a header the sender chose), and a full decode by sharp (libvips), which re-encodes it without EXIF
 * or any other metadata — GPS above all — and makes the thumbnail. A corrupt or truncated file fails the decode.
 */
import { createHash } from "node:crypto";

/** Largest file kept (WeCom's own limit for images in a reply is 10 MB too). */
export const MAX_IMAGE_BYTES = 10 * 1024 * 1024;
/** A decompression bomb (a small file of a huge picture) is refused before it is decoded. */
const MAX_PIXELS = 40_000_000;
const THUMB_PX = 320;

export type ImageType = "image/jpeg" | "image/png" | "image/webp" | "image/gif";

export type Rejection = "too_large" | "not_image" | "corrupt";

export type CleanImage = { sha256: string; mime: ImageType; width: number; height: number; data: Buffer; thumb: Buffer };

const startsWith = (b: Buffer, sig: number[], at = 0) => sig.every((x, i) => b[at + i] === x);

/** The image type of these bytes by their magic numbers, or null. */
export function sniffImage(b: Buffer): ImageType | null {
  if (startsWith(b, [0xff, 0xd8, 0xff])) return "image/jpeg";
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (startsWith(b, [0x52, 0x49, 0x46, 0x46]) && startsWith(b, [0x57, 0x45, 0x42, 0x50], 8)) return "image/webp";
  if (startsWith(b, [0x47, 0x49, 0x46, 0x38])) return "image/gif";
  return null;
}

/**
 * sharp (libvips) is loaded on the first photo, not at start: tens of MB a process without photos never needs. Its
 * operation cache is off: every photo is new, and the cache (up to 50 MB and 100 operations) kept ~60 MB of RSS after
 * ten photos for nothing (docs/performance.md, `npm run bench:embedded`).
 */
let sharpModule: Promise<typeof import("sharp")["default"]> | undefined;
export const loadSharp = () =>
  (sharpModule ??= import("sharp").then(({ default: sharp }) => {
    sharp.cache(false);
    return sharp;
  }));

export const sha256Hex = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Check and clean one file. Never throws for bad input: the reason comes back instead. */
export async function cleanImage(input: Buffer): Promise<CleanImage | { rejected: Rejection }> {
  if (input.length > MAX_IMAGE_BYTES) return { rejected: "too_large" };
  const type = sniffImage(input);
  if (!type) return { rejected: "not_image" };
  try {
    const sharp = await loadSharp();
    // failOn "warning": a truncated JPEG or a broken PNG chunk is an error, not a half-grey picture.
    const base = sharp(input, { failOn: "warning", limitInputPixels: MAX_PIXELS, animated: false }).rotate();
    // Re-encoded in its own format (a GIF becomes a PNG of its first frame); sharp writes no metadata unless asked.
    const out =
      type === "image/jpeg"
        ? base.jpeg({ quality: 85, mozjpeg: true })
        : type === "image/webp"
          ? base.webp({ quality: 85 })
          : base.png();
    const { data, info } = await out.toBuffer({ resolveWithObject: true });
    const thumb = await sharp(data).resize(THUMB_PX, THUMB_PX, { fit: "inside", withoutEnlargement: true }).jpeg({ quality: 70 }).toBuffer();
    const mime: ImageType = type === "image/gif" ? "image/png" : type;
    return { sha256: sha256Hex(input), mime, width: info.width, height: info.height, data, thumb };
  } catch {
    return { rejected: "corrupt" };
  }
}
