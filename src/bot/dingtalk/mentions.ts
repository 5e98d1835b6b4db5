/**
 * DingTalk @-mentions, as its webhook text rules have them: every id in `at.atUserIds` must also appear in the
 * content as `@<userId>` (dingtalk.md §3: "在content里添加@人的…"); the client renders that token as the person's
 * name and notifies them. Our replies name people (`@张组长`), so each mentioned person's `@name` becomes
 * `@<userId>`, and anyone not named in the text gets `@<userId>` appended. Text and markdown alike.
 */
import { escapeRegExp } from "../../lib/regexp.js";
import { markdownTitle } from "./api.js";

export type MentionedUser = { userId: string; name: string };

/** The content with `@<userId>` for every mentioned user (in place of their `@name` where the text has one). */
export function withUserIdMentions(text: string, users: MentionedUser[]): string {
  let out = text;
  const missing: string[] = [];
  // Longest names first, so 李一鸣's @ is not taken for 李一's.
  for (const u of [...users].sort((a, b) => b.name.length - a.name.length)) {
    const named = new RegExp(`[@＠]${escapeRegExp(u.name)}(?=$|[\\s\\p{P}])`, "gu");
    const replaced = out.replace(named, `@${u.userId}`);
    if (replaced === out && !out.includes(`@${u.userId}`)) missing.push(u.userId);
    out = replaced;
  }
  const order = users.map((u) => u.userId).filter((id) => missing.includes(id));
  return order.length ? `${out}\n${order.map((id) => `@${id}`).join(" ")}` : out;
}

/** A session-webhook body (custom-robot format) that really @-mentions the users: content tokens and `at`. */
export function mentionBody(text: string, users: MentionedUser[], format: "text" | "markdown" = "text") {
  const content = withUserIdMentions(text, users);
  const at = { atUserIds: [...new Set(users.map((u) => u.userId))], isAtAll: false };
  if (format === "markdown") return { msgtype: "markdown", markdown: { title: markdownTitle(text), text: content }, at };
  return { msgtype: "text", text: { content }, at };
}
