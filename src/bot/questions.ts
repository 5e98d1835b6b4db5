/**
 * The question table: the one way a pending question is answered. Each kind of question the bot asks one person
 * (src/workflows/questions.ts keeps them) has a row here: which answer it takes (是 / 不用, or a number), whether it
 * may be answered in the person's direct chat too, and what the answer does. A new kind of confirmation is a new row.
 *
 * Which question an answer is for: the newest one waiting for this person here that takes that kind of answer. A
 * number only ever picks from a list; a 是 answers the latest yes-or-no question, and when another one still waits the
 * reply says which was answered and that the other is still open (a second 是 answers it) — nothing is guessed.
 */
import { openVoiceReport } from "./voice-report.js";
import type { QuestionKind } from "../db/schema/index.js";
import type { Ctx } from "../workflows/context.js";
import { claimHeld, dropHeld } from "../workflows/media/attach.js";
import { photoEvent } from "../workflows/media/job.js";
import { type Question, take, waitingFor } from "../workflows/questions.js";
import { type Actor, openTicket } from "../workflows/ticket-commands.js";
import { pickHousehold } from "../workflows/visits/log.js";
import { mediaReplies } from "./media-replies.js";
import { replies } from "./replies.js";
import type { Reply } from "./types.js";
import { present } from "./visit-dispatch.js";
import { visitReplies } from "./visit-replies.js";

export type Answer = { kind: "yes" } | { kind: "no" } | { kind: "number"; n: number };

const YES = /^(?:是|是的|是啊|对|对的|要|确认|登记|好|好的)[\s。.！!～~]*$/u;
const NO = /^(?:不用|不要|不是|否|算了)[\s。.！!～~]*$/u;
const NUMBER = /^[0-9０-９]{1,2}$/u;

/** What a message (the bot's @name already removed) answers, if it is an answer at all. */
export function readAnswer(bare: string): Answer | null {
  if (YES.test(bare)) return { kind: "yes" };
  if (NO.test(bare)) return { kind: "no" };
  if (NUMBER.test(bare)) return { kind: "number", n: Number(bare.replace(/[０-９]/gu, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0))) };
  return null;
}

type Call<K extends QuestionKind> = { ctx: Ctx; actor: Actor; q: Question<K>; answer: Answer };

type QuestionType<K extends QuestionKind> = {
  takes: "yesNo" | "number";
  /** May also be answered in the person's direct chat (a list sent to a leader privately). */
  privately: boolean;
  /** The question in a few words, for a reply that says which of two was answered (never a person's words). */
  asked: string;
  /** A refusal that leaves the question waiting (a number not on the list), or null to go ahead. */
  check?: (call: Call<K>) => Reply[] | null;
  run: (call: Call<K>) => Promise<Reply[]>;
};

const say = (text: string): Reply => ({ text, mentions: [] });

export const QUESTIONS: { readonly [K in QuestionKind]: QuestionType<K> } = {
  // 要把这件事登记为报事吗？ (src/bot/commands.ts answerChat asks it)
  report: {
    takes: "yesNo",
    privately: false,
    asked: "要把刚才说的事登记为报事吗？",
    run: async ({ ctx, actor, q, answer }) => {
      if (answer.kind !== "yes") return [say("好的，这件事不登记。")];
      // Asked after a voice message in a single chat: it opens in the home group it named (voice-report.ts).
      if (q.about.voiceHome) return openVoiceReport(ctx, actor, q.about.voiceHome, q.about.text);
      return [replies.opened(await openTicket(ctx, actor, q.about.text), ctx.now)];
    },
  },
  // 要用这张照片报事吗？ (src/bot/media-dispatch.ts rule 5)
  photo: {
    takes: "yesNo",
    privately: false,
    asked: "要用刚才的照片报事吗？",
    run: async ({ ctx, actor, q, answer }) => {
      if (answer.kind !== "yes") {
        await dropHeld(ctx, q.about.mediaIds);
        return [mediaReplies.dropped()];
      }
      const done = await openTicket(ctx, actor, q.about.caption || "（见照片）");
      const rows = await claimHeld(ctx, q.about.mediaIds, done.ticket.id);
      // Photos fetched while the question waited go into the new ticket's 台账 now; the rest when they arrive.
      for (const r of rows) if (r.status !== "pending") await photoEvent(ctx, r);
      return [joined(replies.opened(done, ctx.now), mediaReplies.received(rows.length))];
    },
  },
  // 找到 N 户符合… 请回复序号 (走访 / 电联 / 代报 with several matching households)
  pick: {
    takes: "number",
    privately: true,
    asked: "请回复序号选择住户",
    check: ({ q, answer }) => {
      const count = q.about.candidates.length;
      return answer.kind === "number" && answer.n >= 1 && answer.n <= count ? null : [visitReplies.outOfRange(count)];
    },
    run: async ({ ctx, actor, q, answer }) => {
      const r = answer.kind === "number" ? await pickHousehold(ctx, actor, q, answer.n) : null;
      return r ? present(ctx, actor, r) : [];
    },
  },
};

const KINDS = Object.keys(QUESTIONS) as QuestionKind[];

/**
 * Answer the question waiting for this person here, if `bare` is an answer and one waits for it: its replies, or null
 * (then the message is ordinary chat). Taking the question is the claim, so a repeated answer acts once.
 */
export async function answerQuestion(ctx: Ctx, actor: Actor, bare: string): Promise<Reply[] | null> {
  const answer = readAnswer(bare);
  if (!answer) return null;
  const takes = answer.kind === "number" ? "number" : "yesNo";
  const kinds = KINDS.filter((k) => QUESTIONS[k].takes === takes);
  const waiting = await waitingFor(
    ctx,
    actor,
    kinds,
    kinds.filter((k) => QUESTIONS[k].privately),
  );
  const q = waiting[0];
  if (!q) return null;
  const type = QUESTIONS[q.kind] as unknown as QuestionType<QuestionKind>;
  const call = { ctx, actor, q, answer };
  const refused = type.check?.(call);
  if (refused) return refused;
  if (!(await take(ctx, q))) return null;
  const out = await type.run(call);
  const other = waiting.find((w) => w.id !== q.id);
  if (!other || takes !== "yesNo") return out;
  // Two questions were open: say which one this answered, and that the other still waits.
  const note = say(`（这条回复答的是“${type.asked}”；“${QUESTIONS[other.kind].asked}”还在等你回复。）`);
  return out.length ? [joined(out[0] as Reply, note), ...out.slice(1)] : [note];
}

/** One message: the first reply (its ticket buttons kept) with more lines under it. */
function joined(first: Reply, ...more: Reply[]): Reply {
  return { ...first, text: [first.text, ...more.map((m) => m.text)].join("\n") };
}
