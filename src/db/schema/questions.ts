/**
 * Questions the bot asked one person and waits for them to answer: is this (a problem told without 报事, a photo
 * sent alone) to be reported, which of these households was meant. One store and one way of answering them
 * (src/bot/questions.ts): who was asked, where, what about, until when. A new kind of confirmation is a new `kind`
 * here and a row in the bot's question table, not a new mechanism.
 */
import { bigserial, index, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { chats } from "./directory.js";
import type { VisitChannel, VisitKind } from "./visits.js";

/** report — register a problem told without a command word; photo — report with photos sent alone; pick — a numbered choice of households. */
export type QuestionKind = "report" | "photo" | "pick";

/** What a question is about, by kind (stored as the row's `about`). */
export type QuestionAbout = {
  /**
   * The words to open the report with; `voiceHome`: told by voice in a single chat, it opens in this chat (the teller's
   * home group, src/bot/voice-report.ts).
   */
  report: { text: string; voiceHome?: string };
  /** The held photos (ticket_media ids, no ticket yet) and the words sent with them. */
  photo: { mediaIds: number[]; caption: string };
  /** Households listed in this order (choice 1 first); a visit to log, or a 代报 to open with `note` as its description. */
  pick: { purpose: "visit" | "report"; visitKind: VisitKind; channel: VisitChannel; query: string; note: string | null; candidates: string[] };
};

export const pendingQuestions = pgTable(
  "pending_questions",
  {
    id: bigserial({ mode: "number" }).primaryKey(),
    /** Who was asked: a person's id, or `ext:<platform id>` for someone the directory does not know. */
    personKey: text().notNull(),
    /** Where it was asked: a chats.id, or "direct" for a one-to-one chat. */
    scope: text().notNull(),
    /** The chat it was asked in (null in a direct chat): a pick answered privately still belongs there. */
    chatId: text().references(() => chats.id),
    kind: text().$type<QuestionKind>().notNull(),
    about: jsonb().$type<QuestionAbout[QuestionKind]>().notNull(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // One question of a kind per person and place: a newer one replaces (or, for photos, extends) the older.
    uniqueIndex().on(t.personKey, t.scope, t.kind),
    index().on(t.expiresAt),
  ],
);
