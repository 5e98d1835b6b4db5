/**
 * The Stream-mode connection: dingtalk-stream's DWClient with its faults fenced off, plus a watchdog.
 *
 * Why a wrapper (protocol notes §1.7): 2.1.5 reconnects along two paths at once (a storm), leaks the old socket,
 * and cannot cancel a scheduled reconnect; its gateway URL is a constant; `debug` prints the client secret; its
 * subscriptions array is shared by every instance. So: the SDK's auto-reconnect is off and we never call its
 * connect(); we fetch the endpoint ourselves (configurable gateway URL, fresh ticket every time), let the SDK open
 * the socket and parse/answer frames, and own the lifecycle here — one connect at a time, the old socket torn down
 * before a new one opens (never more than one live socket), backoff with jitter, and a watchdog that pings the
 * socket and reconnects when pongs stop (a dead socket that never closes) or nothing arrives for too long.
 */
import { errInfo } from "../../lib/errors.js";
import { DWClient, type DWClientDownStream } from "dingtalk-stream";
import type { Logger } from "pino";
import type { StreamFrame } from "./types.js";

/** The parts of the `ws` socket we touch (the SDK keeps it in a TS-private field). */
type Socket = {
  readyState: number;
  ping(): void;
  terminate(): void;
  on(event: string, fn: (...args: unknown[]) => void): unknown;
  removeAllListeners(): unknown;
};
const OPEN = 1;
const CLOSED = 3;

export type WatchdogOptions = {
  /** How often the watchdog looks at the connection and pings it (default 10 s). */
  intervalMs: number;
  /** No pong this long after a ping: the socket is dead (default 20 s). */
  pongTimeoutMs: number;
  /** No frame from DingTalk (its pings included) this long: reconnect with a fresh ticket (default 15 min). */
  silenceMs: number;
  /** Opening the socket may take this long (default 15 s). */
  connectTimeoutMs: number;
  /** Reconnect backoff: base·2^n with jitter, capped (defaults 1 s, 60 s). */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** A connection that lasted this long resets the backoff (default 30 s). */
  stableMs: number;
};

export const defaultWatchdog: WatchdogOptions = {
  intervalMs: 10_000,
  pongTimeoutMs: 20_000,
  silenceMs: 15 * 60_000,
  connectTimeoutMs: 15_000,
  backoffBaseMs: 1000,
  backoffMaxMs: 60_000,
  stableMs: 30_000,
};

export type StreamStatus = "idle" | "connecting" | "connected" | "reconnecting" | "stopped";

export type StreamState = {
  status: StreamStatus;
  since: Date;
  lastFrameAt: Date | null;
  connects: number;
  reconnects: number;
  lastError: string | null;
};

export type StreamOptions = {
  clientId: string;
  clientSecret: string;
  /** https://api.dingtalk.com/v1.0/gateway/connections/open, or a fake's. */
  gatewayUrl: string;
  logger: Logger;
  /** Callback topics and their handlers, registered before the first connect (the gateway learns them then). */
  callbacks: Record<string, (frame: StreamFrame, ack: (response: unknown) => void) => void>;
  watchdog?: Partial<WatchdogOptions>;
  ua?: string;
};

/** DWClient with a configurable gateway, no shared subscriptions, no auto-reconnect, and hooks for the watchdog. */
class Client extends DWClient {
  constructor(
    private readonly conn: StreamConnection,
    private readonly gatewayUrl: string,
    opts: { clientId: string; clientSecret: string; ua: string },
  ) {
    // Never debug: the SDK's getEndpoint() would print the whole config, secret included.
    super({ ...opts, keepAlive: false, debug: false });
    this.config.autoReconnect = false;
    // The SDK shallow-copies a module-level default array (with EVENT "*"); give this client its own.
    this.config.subscriptions = [];
  }

  get ws(): Socket | undefined {
    return (this as unknown as { socket?: Socket }).socket;
  }

  override async getEndpoint(): Promise<this> {
    const res = await fetch(this.gatewayUrl, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({
        clientId: this.config.clientId,
        clientSecret: this.config.clientSecret,
        ua: this.config.ua,
        subscriptions: this.config.subscriptions,
      }),
      signal: AbortSignal.timeout(15_000),
    });
    if (!res.ok) throw new Error(`gateway answered HTTP ${res.status}`);
    const body = (await res.json().catch(() => ({}))) as { endpoint?: string; ticket?: string };
    if (!body.endpoint || !body.ticket) throw new Error("gateway gave no endpoint or ticket");
    // A ticket is good for one connection only, for 90 s: fetched afresh for every connect, never logged.
    (this as unknown as { dw_url: string }).dw_url = `${body.endpoint}?ticket=${encodeURIComponent(body.ticket)}`;
    return this;
  }

  override onDownStream(data: string): void {
    this.conn.activity();
    try {
      super.onDownStream(data);
    } catch (err) {
      // The SDK parses without a try/catch; a bad frame must not escape through the socket's handler.
      this.conn.logger.warn({ err: (err as Error).message, length: String(data).length }, "dingtalk: bad stream frame");
    }
  }

  override onSystem(downstream: DWClientDownStream): void {
    super.onSystem(downstream);
    // The server is about to close this connection (load balancing); move to a new one now, not ~10 s later.
    if (downstream.headers.topic === "disconnect") this.conn.reconnect("server asked to disconnect");
  }
}

export class StreamConnection {
  readonly logger: Logger;
  private readonly client: Client;
  private readonly wd: WatchdogOptions;
  private socket: Socket | null = null;
  private connecting = false;
  private stopped = true;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private attempt = 0;
  private openedAt = 0;
  private lastFrame = 0;
  private awaitingPongSince: number | null = null;
  private st: StreamState = { status: "idle", since: new Date(), lastFrameAt: null, connects: 0, reconnects: 0, lastError: null };

  constructor(opts: StreamOptions) {
    this.logger = opts.logger.child({ component: "dingtalk-stream" });
    this.wd = { ...defaultWatchdog, ...opts.watchdog };
    this.client = new Client(this, opts.gatewayUrl, { clientId: opts.clientId, clientSecret: opts.clientSecret, ua: opts.ua ?? "haolin/0.1" });
    for (const [topic, handler] of Object.entries(opts.callbacks)) {
      this.client.registerCallbackListener(topic, (frame) => {
        const ack = (response: unknown) => this.client.socketCallBackResponse(frame.headers.messageId, response);
        try {
          handler(frame as StreamFrame, ack);
        } catch (err) {
          this.logger.error({ ...errInfo(err), topic }, "dingtalk callback handler threw");
        }
      });
    }
  }

  state(): StreamState {
    return { ...this.st };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.watchdog = setInterval(() => this.tick(), this.wd.intervalMs);
    this.watchdog.unref();
    void this.connectNow();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.watchdog = this.reconnectTimer = null;
    this.teardown();
    this.setStatus("stopped");
  }

  /** A frame arrived: the connection is alive and DingTalk still routes to it. */
  activity(): void {
    this.lastFrame = Date.now();
    this.awaitingPongSince = null;
    this.st.lastFrameAt = new Date(this.lastFrame);
  }

  /** Drop the current socket and connect again (after backoff). */
  reconnect(reason: string): void {
    if (this.stopped) return;
    this.logger.warn({ reason }, "dingtalk stream reconnecting");
    this.st.reconnects += 1;
    this.teardown();
    this.setStatus("reconnecting");
    this.scheduleConnect();
  }

  private setStatus(status: StreamStatus) {
    if (this.st.status !== status) this.st = { ...this.st, status, since: new Date() };
  }

  private scheduleConnect() {
    if (this.stopped || this.reconnectTimer || this.connecting) return;
    const base = Math.min(this.wd.backoffMaxMs, this.wd.backoffBaseMs * 2 ** this.attempt);
    const delay = Math.round(base * (0.5 + Math.random() * 0.5));
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.connectNow();
    }, delay);
    this.reconnectTimer.unref();
  }

  /** One connect at a time: a fresh ticket, the SDK opens the socket, we watch it. */
  private async connectNow(): Promise<void> {
    if (this.stopped || this.connecting) return;
    this.connecting = true;
    this.teardown();
    if (this.st.status !== "reconnecting") this.setStatus("connecting");
    let timer: NodeJS.Timeout | undefined;
    try {
      await this.client.getEndpoint();
      if (this.stopped) return;
      await Promise.race([
        this.client._connect(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("socket did not open in time")), this.wd.connectTimeoutMs);
        }),
      ]);
      const socket = this.client.ws;
      if (this.stopped || !socket || socket.readyState !== OPEN) throw new Error("socket closed while opening");
      this.watch(socket);
      this.st.connects += 1;
      this.st.lastError = null;
      this.setStatus("connected");
      this.logger.info({ connects: this.st.connects }, "dingtalk stream connected");
    } catch (err) {
      this.st.lastError = (err as Error).message;
      this.logger.warn({ err: this.st.lastError, attempt: this.attempt }, "dingtalk stream connect failed");
      this.teardown();
      if (!this.stopped) this.setStatus("reconnecting");
      this.connecting = false;
      this.scheduleConnect();
    } finally {
      clearTimeout(timer);
      this.connecting = false;
    }
  }

  private watch(socket: Socket) {
    this.socket = socket;
    this.openedAt = this.lastFrame = Date.now();
    this.awaitingPongSince = null;
    // A pong proves the socket, not that DingTalk still sends us anything (that is the silence check).
    socket.on("pong", () => {
      this.awaitingPongSince = null;
    });
    socket.on("close", () => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (Date.now() - this.openedAt >= this.wd.stableMs) this.attempt = 0;
      if (this.stopped) return;
      this.logger.warn("dingtalk stream closed by the other side");
      this.st.reconnects += 1;
      this.setStatus("reconnecting");
      this.scheduleConnect();
    });
  }

  /** Terminate the SDK's socket (if any) so it can neither linger nor reconnect on its own. */
  private teardown() {
    const s = this.client.ws;
    this.socket = null;
    this.awaitingPongSince = null;
    this.client.connected = false;
    if (!s) return;
    s.removeAllListeners();
    s.on("error", () => {});
    if (s.readyState !== CLOSED) s.terminate();
  }

  private tick() {
    if (this.stopped || this.connecting) return;
    const s = this.socket;
    if (!s || s.readyState !== OPEN) {
      if (!this.reconnectTimer) this.reconnect("no open socket");
      return;
    }
    const now = Date.now();
    if (this.awaitingPongSince !== null && now - this.awaitingPongSince >= this.wd.pongTimeoutMs) {
      this.reconnect("no pong: the socket is dead");
    } else if (now - this.lastFrame >= this.wd.silenceMs) {
      this.reconnect("silent for too long");
    } else if (this.awaitingPongSince === null) {
      this.awaitingPongSince = now;
      try {
        s.ping();
      } catch {
        this.reconnect("ping failed");
      }
    }
  }
}
