/** An image the bot posts (the 好邻 poster): its bytes from the `media` table, for the senders and the simulator. */
import { eq } from "drizzle-orm";
import type { Db } from "../../db/client.js";
import { media } from "../../db/schema/index.js";

export async function postedImage(db: Db, sha256: string): Promise<{ data: Buffer; mime: string } | null> {
  const [img] = await db.select({ mime: media.mime, data: media.data }).from(media).where(eq(media.sha256, sha256));
  return img ?? null;
}
