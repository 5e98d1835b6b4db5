/**
 * A second id for someone already in the directory. The WeCom 智能机器人 may report a member by an encrypted
 * open_userid rather than the userid the directory holds (doc 101521); the 自建应用 can turn one into the other.
 * The first time such an id writes, it is resolved once and kept as an identity of that kind, so from then on it
 * is recognised like any other account. An id that resolves to nobody in the directory changes nothing.
 */
import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { type IdentityKind, identities, type Platform } from "../db/schema/index.js";

export async function learnAlias(
  db: Db,
  a: { platform: Platform; id: string; kind: IdentityKind; resolve: () => Promise<string | null> },
): Promise<boolean> {
  const [known] = await db
    .select({ personId: identities.personId })
    .from(identities)
    .where(and(eq(identities.platform, a.platform), eq(identities.externalId, a.id)));
  if (known) return false;
  const userid = await a.resolve();
  if (!userid) return false;
  const [owner] = await db
    .select({ personId: identities.personId })
    .from(identities)
    .where(and(eq(identities.platform, a.platform), eq(identities.externalId, userid), eq(identities.kind, "userid")));
  if (!owner) return false;
  const added = await db
    .insert(identities)
    .values({ platform: a.platform, externalId: a.id, personId: owner.personId, kind: a.kind })
    .onConflictDoNothing()
    .returning();
  return added.length > 0;
}
