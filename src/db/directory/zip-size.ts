/**
 * How large a workbook (a zip) says it is once unpacked, read from its central directory without unpacking it:
 * an upload that would unpack to hundreds of megabytes (a "zip bomb") is refused before the XLSX library holds it
 * all in memory. The sizes are the archive's own declarations; they bound what an honest file can cost.
 */
const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;

/** The sum of the entries' declared uncompressed sizes, or null when this is not a readable zip (or is ZIP64). */
export function declaredUnzippedSize(data: Buffer): number | null {
  // The end-of-central-directory record is in the last 22 bytes plus at most a 65,535-byte comment.
  const floor = Math.max(0, data.length - 22 - 0xffff);
  let eocd = -1;
  for (let i = data.length - 22; i >= floor; i--) {
    if (data.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return null;
  const entries = data.readUInt16LE(eocd + 10);
  let at = data.readUInt32LE(eocd + 16);
  let total = 0;
  for (let n = 0; n < entries; n++) {
    if (at + 46 > data.length || data.readUInt32LE(at) !== CENTRAL) return null;
    const size = data.readUInt32LE(at + 24);
    if (size === 0xffffffff) return null; // ZIP64: no workbook a town keeps needs it
    total += size;
    at += 46 + data.readUInt16LE(at + 28) + data.readUInt16LE(at + 30) + data.readUInt16LE(at + 32);
  }
  return total;
}
