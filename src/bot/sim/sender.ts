/** The simulator's way out: a proactive message becomes a line in the chat log the browser polls. */
import type { Db } from "../../db/client.js";
import { simMessages } from "../../db/schema/index.js";
import type { Destination, Sender } from "../../workflows/delivery.js";

export const dmChatId = (personId: string) => `dm-${personId}`;
/** How a posted picture appears in the chat log: the page turns this line into the image. */
export const simImageLine = (sha256: string) => `[图片 ${sha256}]`;

export const simSender: Sender = {
  platform: "sim",
  direct: true,
  async send(to: Destination, payload, db: Db) {
    await db.insert(simMessages).values({
      // The chat log is kept by the simulator's own chat ids (the platform's), as messages are posted.
      chatId: to.kind === "chat" ? to.chat.externalId : dmChatId(to.person.id),
      fromId: "bot",
      // A picture shows as a line the simulator's page draws as the image (served by /sim/media/<sha256>).
      text: payload.image ? `${payload.text}\n${simImageLine(payload.image.sha256)}` : payload.text,
      mentions: payload.mentions,
    });
  },
};
