/**
 * A WeCom town without a 自建应用: private messages cannot be pushed, so they wait, and the member gets them as the
 * passive reply when they open the bot's single chat (enter_chat) or write to it. Real callback over HTTP.
 */
import { fileURLToPath } from "node:url";
import { eq, isNotNull } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outbox } from "../src/db/schema/index.js";
import { queueMessage } from "../src/workflows/outbox.js";
import { runVisitReminders } from "../src/workflows/visits/reminders.js";
import { BOT_ID, startWecomBot } from "./fakes/wecom-bot.js";
import { newMsgId } from "./fakes/wecom.js";
import { waitFor } from "./helpers/harness.js";

const TOWN = fileURLToPath(
	new URL("./fixtures/wecom-town.yaml", import.meta.url),
);
const now = new Date("2025-06-08T09:00:00+08:00");

/** 101027: enter_chat carries no chattype and no chatid. */
const enterChat = (userid: string, msgid = newMsgId()) => ({
	msgid,
	create_time: Math.floor(now.getTime() / 1000),
	aibotid: BOT_ID,
	from: { userid },
	msgtype: "event",
	event: { eventtype: "enter_chat" },
});
const singleText = (userid: string, content: string, msgid = newMsgId()) => ({
	msgid,
	aibotid: BOT_ID,
	chattype: "single",
	from: { userid },
	response_url:
		"https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=FAKE",
	msgtype: "text",
	text: { content },
});

describe("pending private messages through the single chat", () => {
	let bot: Awaited<ReturnType<typeof startWecomBot>>;
	const privateRows = () =>
		bot.h.db.select().from(outbox).where(isNotNull(outbox.personId));
	beforeAll(async () => {
		bot = await startWecomBot({
			directory: TOWN,
			clock: () => now,
			sim: false,
		});
	});
	afterAll(async () => {
		await bot?.close();
	});

	it("reminders nobody could push wait; opening the single chat shows them, once", async () => {
		expect(
			(await bot.h.runtime.transact((ctx) => runVisitReminders(ctx))).contact,
		).toBe(2); // h4 and h5 → 王邻长
		const waiting = await waitFor(async () => {
			const rows = await privateRows();
			return (
				rows.length === 2 && rows.every((r) => r.status === "skipped") && rows
			);
		});
		expect(waiting.map((r) => r.personId)).toEqual(["nl1", "nl1"]);

		const enter = enterChat("WangLZ");
		const r = await bot.fake.callback(enter);
		const shown = String(
			(r.reply?.text as { content?: string } | undefined)?.content,
		);
		expect(r.reply?.msgtype).toBe("text");
		expect(shown).toContain("重点户 周四（4号）");
		expect(shown).toContain("重点户 王芳（5号）");
		expect(
			(await privateRows()).map((row) => [
				row.status,
				row.pulledBy,
				row.platform,
			]),
		).toEqual([
			["sent", enter.msgid, "wecom"],
			["sent", enter.msgid, "wecom"],
		]);
		// The same callback again (WeCom redelivers): the same answer; a new visit: nothing waits, the usual help.
		const again = await bot.fake.callback(enter);
		expect((again.reply?.text as { content?: string } | undefined)?.content).toBe(shown);
		const next = await bot.fake.callback(enterChat("WangLZ"));
		expect((next.reply?.text as { content?: string } | undefined)?.content).not.toContain(
			"重点户",
		);
		// Nothing private ever went to the group.
		for (const c of bot.fake.sent())
			expect(JSON.stringify(c.body)).not.toContain("重点户");
	});

	it("writing to the single chat: the command's answer, then what waits", async () => {
		await bot.h.runtime.transact((ctx) =>
			queueMessage(ctx, {
				dedupeKey: "held-esc-1",
				to: { personId: "gl1" },
				kind: "ping",
				payload: {
					text: "你有一条上报来的工单 #9：村口路灯坏了",
					mentions: [],
				},
			}),
		);
		await waitFor(
			async () =>
				(
					await bot.h.db
						.select()
						.from(outbox)
						.where(eq(outbox.dedupeKey, "held-esc-1"))
				)[0]?.status === "skipped",
		);
		const r = await bot.fake.callback(singleText("zhangzz", "帮助"));
		const content = String((r.reply?.stream as { content?: string } | undefined)?.content);
		expect(r.reply?.msgtype).toBe("stream");
		expect(content.indexOf("你有一条上报来的工单 #9")).toBeGreaterThan(0);
		expect(
			(
				await bot.h.db
					.select()
					.from(outbox)
					.where(eq(outbox.dedupeKey, "held-esc-1"))
			)[0]?.status,
		).toBe("sent");
		// Someone else's single chat carries none of it.
		const other = await bot.fake.callback(singleText("WangLZ", "帮助"));
		expect(
			String((other.reply?.stream as { content?: string } | undefined)?.content),
		).not.toContain("#9");
	});
});
