/**
 * Private messages waiting for the person to come and get them. On a WeCom deployment without a 自建应用 nothing
 * can push a message to one member, so delivery records such rows as "skipped"; the 智能机器人 may still answer
 * the member's own single chat (enter_chat or a message), and that passive reply carries what waits for them.
 * Taking rows is one UPDATE … WHERE status = 'skipped', so two callbacks never carry the same row; a redelivered
 * callback (same msgid) carries again exactly the rows its first copy took.
 */
import { and, asc, eq, gt, inArray, isNull } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { identities, outbox, type Platform } from "../db/schema/index.js";

/** Reminders and notices go stale in a week; a monthly report is worth reading for a month. */
const FRESH_MS = { short: 7 * 86_400_000, report: 31 * 86_400_000 };

export type HeldMessage = { id: number; text: string };

/**
 * Take the person's waiting messages, oldest first, as many as fit in `maxBytes` together, marking them sent by
 * `platform` through `msgid`. Returns them and how many still wait.
 */
export async function takeHeldMessages(
	db: Db,
	a: {
		personId: string;
		msgid: string;
		platform: Platform;
		now: Date;
		maxBytes: number;
	},
): Promise<{ messages: HeldMessage[]; remaining: number }> {
	const again = await db
		.select({ id: outbox.id, payload: outbox.payload })
		.from(outbox)
		.where(and(eq(outbox.personId, a.personId), eq(outbox.pulledBy, a.msgid)))
		.orderBy(asc(outbox.id));
	if (again.length)
		return {
			messages: again.map((r) => ({ id: r.id, text: r.payload.text })),
			remaining: 0,
		};

	const waiting = await db
		.select({
			id: outbox.id,
			payload: outbox.payload,
			kind: outbox.kind,
			createdAt: outbox.createdAt,
		})
		.from(outbox)
		.where(
			and(
				eq(outbox.personId, a.personId),
				eq(outbox.status, "skipped"),
				isNull(outbox.pulledBy),
				gt(outbox.createdAt, new Date(a.now.getTime() - FRESH_MS.report)),
			),
		)
		.orderBy(asc(outbox.id));
	const fresh = waiting.filter(
		(r) =>
			r.kind === "report" ||
			r.createdAt.getTime() > a.now.getTime() - FRESH_MS.short,
	);
	const picked: typeof fresh = [];
	let bytes = 0;
	for (const r of fresh) {
		const size = Buffer.byteLength(r.payload.text) + 2;
		if (bytes + size > a.maxBytes) break;
		picked.push(r);
		bytes += size;
	}
	if (picked.length === 0) return { messages: [], remaining: fresh.length };
	const taken = await db
		.update(outbox)
		.set({
			status: "sent",
			pulledBy: a.msgid,
			platform: a.platform,
			sentAt: a.now,
			lastError: null,
		})
		.where(
			and(
				inArray(
					outbox.id,
					picked.map((r) => r.id),
				),
				eq(outbox.status, "skipped"),
				isNull(outbox.pulledBy),
			),
		)
		.returning({ id: outbox.id });
	const ids = new Set(taken.map((t) => t.id));
	return {
		messages: picked
			.filter((r) => ids.has(r.id))
			.map((r) => ({ id: r.id, text: r.payload.text })),
		remaining: fresh.length - picked.length,
	};
}

/** The waiting messages of whoever has this platform account (any kind of id), as one text block; null when none. */
export async function heldMessagesFor(
	db: Db,
	a: {
		platform: Platform;
		externalId: string;
		msgid: string;
		now: Date;
		maxBytes: number;
	},
): Promise<string | null> {
	const [who] = await db
		.select({ personId: identities.personId })
		.from(identities)
		.where(
			and(
				eq(identities.platform, a.platform),
				eq(identities.externalId, a.externalId),
			),
		);
	if (!who) return null;
	const head = "📬 给你的消息：";
	const tail = "还有更多消息，再发一条任意消息查看。";
	const budget =
		a.maxBytes - Buffer.byteLength(head) - Buffer.byteLength(tail) - 8;
	const { messages, remaining } = await takeHeldMessages(db, {
		...a,
		personId: who.personId,
		maxBytes: budget,
	});
	if (messages.length === 0)
		return remaining > 0
			? `📬 有 ${remaining} 条给你的消息，发一条任意消息查看。`
			: null;
	return [
		head,
		...messages.map((m) => m.text),
		...(remaining > 0 ? [tail] : []),
	].join("\n\n");
}
