/**
 * The freshest session webhook each group has given us (a robot message carries one, valid about 90 minutes,
 * dingtalk.md §3). The proactive APIs cannot @ anyone; a live session webhook can, so it is the way a text
 * fallback for an undelivered escalation card still pings the leaders. In memory, per replica: losing it only
 * means the fallback goes without a real @.
 */
const MAX_GROUPS = 10_000;

export class SessionWebhooks {
  private readonly byConversation = new Map<string, { url: string; expiresAt: number }>();

  remember(conversationId: string, url: string, expiresAt: number): void {
    const known = this.byConversation.get(conversationId);
    if (known && known.expiresAt >= expiresAt) return;
    this.byConversation.delete(conversationId);
    this.byConversation.set(conversationId, { url, expiresAt });
    if (this.byConversation.size > MAX_GROUPS) {
      const oldest = this.byConversation.keys().next().value;
      if (oldest !== undefined) this.byConversation.delete(oldest);
    }
  }

  /** A webhook of this group still good for at least `marginMs`, or null. */
  live(conversationId: string, now: number, marginMs: number): string | null {
    const s = this.byConversation.get(conversationId);
    return s && s.expiresAt - marginMs > now ? s.url : null;
  }
}
