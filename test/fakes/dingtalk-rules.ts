/**
 * What the fake DingTalk insists on in bodies sent to it, each rule from a document (docs/platforms.md):
 * - webhook @-mentions (custom-robot / session-webhook text rules, dingtalk.md §3): every id in `at.atUserIds`
 *   must appear in the content as `@<userId>`. The real server is not documented to refuse such a body (the @
 *   just does not render or notify); the fake refuses it, so a test cannot pass with a mention nobody sees.
 * - interactive cards (card_1_0 CreateAndDeliverRequest): callbackType STREAM, every cardParamMap value a string,
 *   atUserIds an object of userId → name.
 */

/** Why a session-webhook body breaks the mention rule, or null when it keeps it. */
export function mentionViolation(body: Record<string, unknown>): string | null {
  const at = body.at as { atUserIds?: unknown } | undefined;
  const ids = Array.isArray(at?.atUserIds) ? (at.atUserIds as unknown[]) : [];
  if (ids.length === 0) return null;
  const type = body.msgtype;
  const content =
    type === "text" ? (body.text as { content?: unknown } | undefined)?.content : type === "markdown" ? (body.markdown as { text?: unknown } | undefined)?.text : undefined;
  if (typeof content !== "string") return `at.atUserIds with msgtype ${String(type)} has no content to carry the @`;
  const missing = ids.filter((id) => typeof id !== "string" || !content.includes(`@${id}`));
  return missing.length ? `content lacks @<userId> for ${missing.join(", ")}` : null;
}

/** Why a createAndDeliver body is not one DingTalk takes, or null. */
export function cardViolation(body: Record<string, unknown>): string | null {
  if (body.callbackType !== "STREAM") return "callbackType must be STREAM for Stream callbacks";
  const params = (body.cardData as { cardParamMap?: Record<string, unknown> } | undefined)?.cardParamMap ?? {};
  const bad = Object.entries(params).filter(([, v]) => typeof v !== "string");
  if (bad.length) return `cardParamMap values must be strings: ${bad.map(([k]) => k).join(", ")}`;
  const at = (body.imGroupOpenDeliverModel as { atUserIds?: unknown } | undefined)?.atUserIds;
  if (at !== undefined && (typeof at !== "object" || at === null || Array.isArray(at))) return "atUserIds must be an object userId → name";
  return null;
}
