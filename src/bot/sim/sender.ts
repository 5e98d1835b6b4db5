/** The simulator's way out: a proactive message becomes a line in the chat log the browser polls. */
import type { Db } from "../../db/client.js";
import { simMessages } from "../../db/schema/index.js";
import type { Destination, Sender } from "../../workflows/delivery.js";

export const dmChatId = (personId: string) => `dm-${personId}`;

export const simSender: Sender = {
  platform: "sim",
  direct: true,
  async send(to: Destination, payload, db: Db) {
    await db.insert(simMessages).values({
      chatId: to.kind === "chat" ? to.chat.id : dmChatId(to.person.id),
      fromId: "bot",
      text: payload.text,
      mentions: payload.mentions,
    });
  },
};
