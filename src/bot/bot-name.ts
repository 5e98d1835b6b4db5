/**
 * A renamed bot must not go deaf. WeCom puts the bot's display name into the text (`@青禾小助手 报事 …`), and DingTalk
 * can leave it in rich text; the adapters strip the names configured in BOT_NAMES / WECOM_BOT_NAMES /
 * DINGTALK_BOT_NAMES. Both platforms deliver a group message only when it @-mentions the bot, so a message that
 * still opens with an @-mention of nobody in the directory is addressed to the bot under a name the settings do
 * not know: that mention is dropped, the name is logged once, and /readyz shows it so an admin can fix the setting.
 */
import { eq } from "drizzle-orm";
import type { Logger } from "pino";
import { people } from "../db/schema/index.js";
import type { PipelineDeps } from "./pipeline.js";

/** A leading @-mention: `@` (or full-width `＠`), a name, then whitespace (WeCom puts U+2005 there) or the end. */
const LEADING_MENTION = /^[@＠]([^\s@＠]{1,32})(?:\s+|$)/u;
const MAX_NAMES = 20;

export class BotNameWatch {
  private readonly seen = new Set<string>();

  constructor(
    private readonly platform: "wecom" | "dingtalk",
    private readonly configured: string[],
    private readonly logger: Logger,
  ) {}

  /** The text without a leading @-mention of nobody we know (the bot's own under another name). */
  async strip(text: string, pipeline: PipelineDeps): Promise<string> {
    const m = LEADING_MENTION.exec(text);
    const name = m?.[1];
    if (!m || !name || this.configured.includes(name)) return text;
    const person = await pipeline.directory.memo(`person-named:${name}`, async () => {
      const [row] = await pipeline.db.select({ id: people.id }).from(people).where(eq(people.name, name)).limit(1);
      return row?.id ?? null;
    });
    if (person) return text;
    if (!this.seen.has(name) && this.seen.size < MAX_NAMES) {
      this.seen.add(name);
      // The bot's display name, never a person's (a person in the directory is not taken for the bot).
      this.logger.warn(
        { platform: this.platform, seen: name, configured: this.configured },
        "messages @-mention the bot by a name the settings do not list; accepted. Add it to the bot names setting",
      );
    }
    return text.slice(m[0].length);
  }

  /** For /readyz: names the bot was @-mentioned by that the settings lack (informational, never "not ready"). */
  readiness() {
    return {
      name: `${this.platform}-bot-names`,
      ok: true,
      detail: { configured: this.configured, otherNamesSeen: [...this.seen] },
    };
  }
}
