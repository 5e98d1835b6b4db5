/**
 * The DingTalk adapter: configuration, the Sender for the outbox, and the Stream connection that feeds the
 * pipeline. src/index.ts builds it when DINGTALK_CLIENT_ID and DINGTALK_CLIENT_SECRET are set.
 */
import { errInfo } from "../../lib/errors.js";
import { countStream } from "../../lib/metrics.js";
import { BotNameWatch } from "../bot-name.js";
import type { Logger } from "pino";
import type { PipelineDeps } from "../pipeline.js";
import type { Sender } from "../../workflows/delivery.js";
import type { MediaFetcher } from "../../workflows/media/job.js";
import { DingTalkApi } from "./api.js";
import { dingtalkMediaFetcher } from "./media.js";
import { onCardFrame, onRobotFrame } from "./inbound.js";
import { createDingTalkSender } from "./sender.js";
import { SessionWebhooks } from "./sessions.js";
import { StreamConnection, type StreamState } from "./stream.js";
import type { DingTalkConfig } from "./config.js";
import { TOPIC_CARD, TOPIC_ROBOT } from "./types.js";

export { type DingTalkConfig, dingtalkConfig } from "./config.js";

export type DingTalkReadiness = { name: "dingtalk"; ok: boolean; detail: Record<string, unknown> };

/** A connection down for longer than this makes /readyz say not ready. */
const READY_GRACE_MS = 60_000;

export class DingTalkBot {
  readonly api: DingTalkApi;
  readonly sender: Sender;
  /** The photo job's way to DingTalk's message files. */
  readonly mediaFetcher: MediaFetcher;
  private stream: StreamConnection | null = null;
  private readonly inflight = new Set<Promise<void>>();
  private uncount: (() => void) | null = null;
  private readonly names: BotNameWatch;
  /** Each group's freshest session webhook: lets a text fallback for an undelivered card still @ the leaders. */
  readonly sessions = new SessionWebhooks();

  constructor(
    readonly config: DingTalkConfig,
    private readonly logger: Logger,
  ) {
    this.logger = logger.child({ platform: "dingtalk" });
    this.names = new BotNameWatch("dingtalk", config.botNames, this.logger);
    this.api = new DingTalkApi(config, this.logger);
    this.sender = createDingTalkSender({ api: this.api, logger: this.logger, cardTemplateId: config.cardTemplateId, sessions: this.sessions });
    this.mediaFetcher = dingtalkMediaFetcher(this.api);
  }

  /** Open the Stream connection; frames are acked at once and then run through the pipeline. */
  start(pipeline: PipelineDeps): void {
    const deps = { pipeline, api: this.api, logger: this.logger, botNames: this.config.botNames, sessions: this.sessions, names: this.names };
    const later = (work: () => Promise<void>, what: string) => {
      const p = work()
        .catch((err) => this.logger.error(errInfo(err), `dingtalk: ${what} failed`))
        .finally(() => this.inflight.delete(p));
      this.inflight.add(p);
    };
    this.stream = new StreamConnection({
      clientId: this.config.clientId,
      clientSecret: this.config.clientSecret,
      gatewayUrl: this.config.gatewayUrl,
      logger: this.logger,
      watchdog: this.config.watchdog,
      callbacks: {
        [TOPIC_ROBOT]: (frame, ack) => {
          ack(null);
          later(() => onRobotFrame(deps, frame), "robot message");
        },
        [TOPIC_CARD]: (frame, ack) => {
          // An empty update: the real one follows once the command has run (PUT card/instances).
          ack({ cardUpdateOptions: { updateCardDataByKey: true }, cardData: { cardParamMap: {} } });
          later(() => onCardFrame(deps, frame), "card tap");
        },
      },
    });
    this.stream.start();
    this.uncount = countStream(() => this.stream?.state().status === "connected");
  }

  state(): StreamState | null {
    return this.stream?.state() ?? null;
  }

  readiness(): DingTalkReadiness {
    const s = this.stream?.state();
    if (!s) return { name: "dingtalk", ok: false, detail: { status: "not started" } };
    const down = s.status !== "connected";
    const ok = !down || Date.now() - s.since.getTime() < READY_GRACE_MS;
    return {
      name: "dingtalk",
      ok,
      detail: {
        // Each replica holds its own connection and DingTalk gives every message to one of them: false here means
        // this replica receives nothing until it reconnects (the others still do).
        live: !down,
        status: s.status,
        since: s.since.toISOString(),
        lastFrameAt: s.lastFrameAt?.toISOString() ?? null,
        connects: s.connects,
        reconnects: s.reconnects,
        ...(s.lastError ? { lastError: s.lastError } : {}),
        // Names the robot was @-mentioned by that DINGTALK_BOT_NAMES lacks (accepted; fix the setting).
        otherBotNamesSeen: this.names.readiness().detail.otherNamesSeen,
      },
    };
  }

  /** Close the connection and let frames already acked finish. */
  async stop(): Promise<void> {
    this.uncount?.();
    this.uncount = null;
    await this.stream?.stop();
    await Promise.allSettled([...this.inflight]);
  }
}
