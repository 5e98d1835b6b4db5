/**
 * Downloading a photo's bytes over HTTP for the photo job, shared by the platform fetchers: a time limit, a size
 * limit read as the body arrives (a file over it is refused without being held), and the answer sorted into what
 * the job should do — an expired or refused link is never retried, a server error or a dropped connection is.
 */
import { withTimeout } from "../../lib/timeout.js";
import { MAX_IMAGE_BYTES } from "../../workflows/media/image.js";
import { MediaError } from "../../workflows/media/job.js";

export class TransientDownloadError extends Error {}

/** GET a file; at most `maxBytes` (the image limit plus a cipher block). */
export async function download(url: string, opts: { timeoutMs?: number; maxBytes?: number } = {}): Promise<Buffer> {
  const max = opts.maxBytes ?? MAX_IMAGE_BYTES + 32;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MediaError("refused", "not a URL");
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new MediaError("refused", "not an http(s) URL");
  return withTimeout(opts.timeoutMs ?? 30_000, async (signal) => {
    let res: Response;
    try {
      res = await fetch(parsed, { signal, redirect: "follow" });
    } catch (err) {
      throw new TransientDownloadError(`download failed: ${(err as Error).name}`);
    }
    if (res.status >= 500 || res.status === 429) {
      await res.body?.cancel().catch(() => {});
      throw new TransientDownloadError(`download answered HTTP ${res.status}`);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      // A lapsed link answers 403/404/410 on the platforms' storage; any other 4xx will not change either.
      throw new MediaError([403, 404, 410].includes(res.status) ? "expired" : "refused", `HTTP ${res.status}`);
    }
    if (Number(res.headers.get("content-length") ?? 0) > max) {
      await res.body?.cancel().catch(() => {});
      throw new MediaError("too_large", "content-length over the limit");
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body ?? []) {
        size += chunk.byteLength;
        if (size > max) throw new MediaError("too_large", "body over the limit");
        chunks.push(chunk);
      }
    } catch (err) {
      if (err instanceof MediaError) throw err;
      throw new TransientDownloadError(`download cut short: ${(err as Error).name}`);
    }
    const body = Buffer.concat(chunks);
    // An API error document instead of a file ({"errcode": …}): the platform will not give this file.
    if (/json/i.test(res.headers.get("content-type") ?? "") && body.length < 4096) throw new MediaError("refused", "an error answer instead of the file");
    return body;
  });
}
