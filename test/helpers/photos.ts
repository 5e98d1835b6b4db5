/**
 * Test photos (and a signed-in dashboard to look at them). A camera JPEG carries an EXIF block (APP1 "Exif\0\0") with a GPS IFD (tag 0x8825) and, here, a
 * description naming the place; the checks below read the raw bytes, independently of the code that cleans them.
 */
import sharp from "sharp";
import { createApp } from "../../src/app.js";
import type { Runtime } from "../../src/runtime.js";
import { silent } from "./harness.js";

export const PLACE_MARK = "WHERE-30.2741N-120.1551E";

/** A small JPEG with GPS coordinates and a place in its EXIF, as a phone camera writes it. */
export async function gpsPhoto(width = 64, height = 48, color = "#c0392b"): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: color } })
    .jpeg({ quality: 90 })
    .withExif({
      IFD0: { ImageDescription: PLACE_MARK, Make: "TestPhone" },
      IFD3: { GPSLatitudeRef: "N", GPSLatitude: "30/1 16/1 2676/100", GPSLongitudeRef: "E", GPSLongitude: "120/1 9/1 1836/100" },
    })
    .toBuffer();
}

/** A PNG (no EXIF). */
export const plainPng = (width = 20, height = 20) =>
  sharp({ create: { width, height, channels: 3, background: "#2e86de" } }).png().toBuffer();

/** Does this file still carry EXIF, a GPS IFD pointer or the place written into the photo? */
export function metadataLeft(b: Buffer): { exif: boolean; gps: boolean; place: boolean } {
  return {
    exif: b.includes(Buffer.from("Exif\0\0", "latin1")),
    // The GPS IFD pointer tag 0x8825 in either byte order (TIFF headers are II or MM).
    gps: b.includes(Buffer.from([0x25, 0x88, 0x04, 0x00])) || b.includes(Buffer.from([0x88, 0x25, 0x00, 0x04])),
    place: b.includes(Buffer.from(PLACE_MARK, "latin1")),
  };
}

/** Width and height of a JPEG or PNG, read from its header (SOFn marker / IHDR). */
export function imageSize(b: Buffer): { width: number; height: number } | null {
  if (b[0] === 0x89 && b.toString("latin1", 12, 16) === "IHDR") return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  if (b[0] !== 0xff || b[1] !== 0xd8) return null;
  for (let i = 2; i + 9 < b.length; ) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1] as number;
    const len = b.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
    i += 2 + len;
  }
  return null;
}

/** A dashboard app over a runtime, signed in as the admin: the app and the session cookie. */
export async function adminDashboard(runtime: Runtime, token = "test-admin-token-0123456789") {
  const app = createApp({ runtime, logger: silent, sim: false, dashboard: { adminToken: token, sessionSecret: "s".repeat(40) } });
  const res = await app.request("/dashboard/login", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token }).toString(),
  });
  return { app, cookie: (res.headers.get("set-cookie") ?? "").split(";")[0] as string };
}
