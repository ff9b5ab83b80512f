/**
 * The chat socket, a subscription to jobs' frames: bearer subprotocol auth, reconnect
 * with jittered exponential backoff, `resume` of every unfinished job from its last
 * seq, ping, typed frames. It knows no chat session: one socket serves them all.
 */
import type { ClientFrame, ServerFrame } from "./api/protocol.gen";

const TERMINAL = new Set(["session_end", "error", "cancelled"]);
const OPEN = 1;
/** Close code the API uses when authentication fails: reconnecting cannot help. */
export const CLOSE_POLICY_VIOLATION = 1008;

export type SocketState = "idle" | "connecting" | "open" | "reconnecting" | "unauthorized" | "closed";

/** The part of the browser's WebSocket this class uses (so tests can script one). */
export interface WebSocketLike {
  readonly readyState: number;
  readonly protocol: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type SocketFactory = (url: string, protocols: string[]) => WebSocketLike;

interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  factor: number;
}

interface ChatSocketOptions {
  /** The socket URL, or how to find it (resolved before every connect). */
  url: string | (() => string | Promise<string>);
  getToken: () => string | Promise<string>;
  createSocket?: SocketFactory;
  backoff?: Partial<BackoffOptions>;
  pingIntervalMs?: number;
  /** No frame at all for this long after a ping: the connection is dead. */
  pongTimeoutMs?: number;
  random?: () => number;
}

interface SocketEvents {
  frame: ServerFrame;
  state: SocketState;
  malformed: { raw: string; reason: string };
}

type Handler<T> = (payload: T) => void;

const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 15_000, factor: 2 };

/** Delay before reconnect attempt `attempt` (0-based): exponential, capped, "equal jitter". */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number): number {
  const ceiling = Math.min(opts.maxMs, opts.baseMs * opts.factor ** attempt);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Parse one text frame: the frame, or why it is not one. */
function parseFrame(raw: unknown): ServerFrame | string {
  if (typeof raw !== "string") return "not a text frame";
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return "not JSON";
  }
  if (typeof value !== "object" || value === null) return "not an object";
  const frame = value as Record<string, unknown>;
  if (typeof frame.type !== "string") return "no type";
  if (typeof frame.seq !== "number") return "no seq";
  return value as ServerFrame;
}

export class ChatSocket {
  private readonly opts: Required<Omit<ChatSocketOptions, "backoff">> & { backoff: BackoffOptions };
  private readonly handlers: { [K in keyof SocketEvents]: Set<Handler<SocketEvents[K]>> } = {
    frame: new Set(),
    state: new Set(),
    malformed: new Set(),
  };
  private ws: WebSocketLike | null = null;
  private stateValue: SocketState = "idle";
  private attempt = 0;
  private stopped = true;
  /** Finding the URL and token of the next connection (a connect() meanwhile waits for it). */
  private opening = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private lastFrameAt = 0;
  /** Last seq delivered per job, and the jobs still running (resumed on reconnect). */
  private readonly lastSeq = new Map<string, number>();
  private readonly active = new Set<string>();
  /** Jobs replayed from an earlier seq than delivered: the seq their replay starts at. */
  private readonly rewinding = new Map<string, number>();

  constructor(options: ChatSocketOptions) {
    this.opts = {
      createSocket: (url, protocols) => new WebSocket(url, protocols) as unknown as WebSocketLike,
      pingIntervalMs: 20_000,
      pongTimeoutMs: 45_000,
      random: Math.random,
      ...options,
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
    };
  }

  get state(): SocketState {
    return this.stateValue;
  }

  on<K extends keyof SocketEvents>(event: K, handler: Handler<SocketEvents[K]>): () => void {
    this.handlers[event].add(handler);
    return () => this.handlers[event].delete(handler);
  }

  connect(): void {
    this.stopped = false;
    if (this.ws || this.reconnectTimer || this.opening) return;
    void this.open();
  }

  /** Close for good: no reconnect. */
  close(): void {
    this.stopped = true;
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.close(1000, "client closed");
    }
    this.setState("closed");
  }

  /**
   * Deliver a job's frames after `afterSeq`, now and after every reconnect. An `afterSeq`
   * below what was delivered replays the job (a view rebuilt from scratch gets it all).
   */
  track(jobId: string, afterSeq = 0): void {
    this.active.add(jobId);
    if (afterSeq < this.lastSeqOf(jobId)) this.rewinding.set(jobId, afterSeq + 1);
    this.lastSeq.set(jobId, afterSeq);
    if (this.isOpen()) this.sendFrame({ type: "resume", job_id: jobId, after_seq: afterSeq });
  }

  private lastSeqOf(jobId: string): number {
    return this.lastSeq.get(jobId) ?? 0;
  }

  private isOpen(): boolean {
    return this.ws !== null && this.ws.readyState === OPEN && this.stateValue === "open";
  }

  private sendFrame(frame: ClientFrame): void {
    this.ws?.send(JSON.stringify(frame));
  }

  private async open(): Promise<void> {
    this.setState(this.attempt === 0 ? "connecting" : "reconnecting");
    let url: string;
    let token: string;
    this.opening = true;
    try {
      url = typeof this.opts.url === "string" ? this.opts.url : await this.opts.url();
      token = await this.opts.getToken();
    } catch {
      this.opening = false;
      this.scheduleReconnect();
      return;
    }
    this.opening = false;
    if (this.stopped) return;
    if (!token) {
      this.setState("unauthorized");
      return;
    }
    const ws = this.opts.createSocket(url, ["bearer", token]);
    this.ws = ws;
    ws.onopen = () => this.handleOpen();
    ws.onmessage = (ev) => this.handleMessage(ev.data);
    ws.onerror = () => undefined; // onclose follows and decides
    ws.onclose = (ev) => this.handleClose(ws, ev.code);
  }

  private handleOpen(): void {
    this.attempt = 0;
    this.lastFrameAt = Date.now();
    this.setState("open");
    this.rewinding.clear(); // a new connection: no follower of an earlier resume is left
    for (const jobId of this.active) this.sendFrame({ type: "resume", job_id: jobId, after_seq: this.lastSeqOf(jobId) });
    this.startPing();
  }

  private handleMessage(raw: unknown): void {
    this.lastFrameAt = Date.now();
    const parsed = parseFrame(raw);
    if (typeof parsed === "string") {
      this.emit("malformed", { raw: String(raw).slice(0, 200), reason: parsed });
      return;
    }
    const frame = parsed;
    if (frame.job_id && frame.seq > 0) {
      if (frame.seq <= this.lastSeqOf(frame.job_id)) return; // replayed: already delivered
      const replayFrom = this.rewinding.get(frame.job_id);
      // until the replay's first frame, what comes is the replaced follower's, ahead of it
      if (replayFrom !== undefined && frame.seq !== replayFrom) return;
      this.rewinding.delete(frame.job_id);
      this.lastSeq.set(frame.job_id, frame.seq);
      if (TERMINAL.has(frame.type)) this.active.delete(frame.job_id);
      else this.active.add(frame.job_id);
    }
    this.emit("frame", frame);
  }

  private handleClose(ws: WebSocketLike, code: number): void {
    if (this.ws !== ws) return;
    this.ws = null;
    this.stopPing();
    if (this.stopped) return;
    if (code === CLOSE_POLICY_VIOLATION) {
      this.stopped = true;
      this.setState("unauthorized");
      return;
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    this.setState("reconnecting");
    const delay = backoffDelay(this.attempt, this.opts.backoff, this.opts.random);
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.open();
    }, delay);
  }

  private startPing(): void {
    this.stopPing();
    this.pingTimer = setInterval(() => {
      const ws = this.ws;
      if (!ws) return;
      if (Date.now() - this.lastFrameAt > this.opts.pongTimeoutMs) {
        // a silent half-open connection: drop it and reconnect
        this.ws = null;
        ws.onclose = null;
        ws.close(4000, "ping timeout");
        this.stopPing();
        this.scheduleReconnect();
        return;
      }
      ws.send(JSON.stringify({ type: "ping" }));
    }, this.opts.pingIntervalMs);
  }

  private stopPing(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  private clearTimers(): void {
    this.stopPing();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }

  private setState(state: SocketState): void {
    if (state === this.stateValue) return;
    this.stateValue = state;
    this.emit("state", state);
  }

  private emit<K extends keyof SocketEvents>(event: K, payload: SocketEvents[K]): void {
    for (const handler of this.handlers[event]) handler(payload);
  }
}
