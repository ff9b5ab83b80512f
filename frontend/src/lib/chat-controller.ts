/**
 * A project's chat: the one owner of which session is shown and where a message goes.
 *
 * Messages are queued over REST, in order, each naming its session (none: a new one,
 * then the id the API answers). The socket only follows jobs' frames, so one socket
 * serves every session of the page: switching session never reconnects.
 */
import { ApiError } from "./api/api-error";
import type { Api, Message } from "./api/client";
import { chatReducer, initialChatState, isActive, type ChatAction, type ChatState, type ContextName } from "./chat-state";
import type { TurnNotifier } from "./notifier";
import type { ChatSocket, SocketState } from "./websocket";

export interface ChatSnapshot {
  chat: ChatState;
  connection: SocketState;
}

/** A session on screen; `sessionId` is null until a new session's first message is accepted. */
interface View {
  sessionId: string | null;
}

type ChatApi = Pick<Api, "chat" | "listMessages" | "getJob" | "cancelJob">;

const TERMINAL: ReadonlySet<string> = new Set(["session_end", "error", "cancelled"]);
const END_TITLE: Record<string, string> = { done: "Claude finished", failed: "The turn failed", cancelled: "The turn was stopped" };

/** Jobs of a session whose answer is not stored yet (running, or ended without text). */
function unansweredJobs(messages: Message[]): string[] {
  const answered = new Set(messages.filter((m) => m.role === "assistant").map((m) => m.job_id));
  return messages.flatMap((m) => (m.role === "user" && m.job_id && !answered.has(m.job_id) ? [m.job_id] : []));
}

function turnError(error: unknown) {
  const err = error instanceof ApiError ? error : new ApiError(0, "internal", String(error));
  return { code: err.code, message: err.message, details: err.details };
}

export class ChatController {
  private snapshot: ChatSnapshot = { chat: initialChatState, connection: "idle" };
  private readonly listeners = new Set<() => void>();
  private view: View = { sessionId: null };
  /** Messages go out one at a time, so they queue in the order typed and a new session's id is known. */
  private submissions: Promise<void> = Promise.resolve();
  private keyCounter = 0;

  constructor(
    private readonly projectId: string,
    private readonly socket: ChatSocket,
    private readonly api: ChatApi,
    private readonly notifier: TurnNotifier | null = null,
  ) {
    socket.on("frame", (frame) => {
      this.dispatch({ type: "frame", frame });
      if (frame.job_id && TERMINAL.has(frame.type)) this.notifyEnd(frame.job_id);
    });
    socket.on("state", (connection) => this.update({ ...this.snapshot, connection }));
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getSnapshot = (): ChatSnapshot => this.snapshot;

  connect(): void {
    this.socket.connect();
  }

  close(): void {
    this.socket.close();
    this.notifier?.close();
  }

  send(content: string, context: ContextName): void {
    this.notifier?.prepare();
    const key = `t-${Date.now()}-${this.keyCounter++}`;
    const view = this.view;
    this.dispatch({ type: "send", key, content, context });
    this.submissions = this.submissions.then(() => this.submit(view, key, content, context));
  }

  /** Stop a turn: the given job, else the running one, else the first one waiting. */
  async stop(jobId?: string): Promise<void> {
    const turns = this.snapshot.chat.turns;
    const target = jobId ?? turns.find((t) => t.status === "running")?.jobId ?? turns.find((t) => isActive(t) && t.jobId)?.jobId;
    if (!target) return;
    this.dispatch({ type: "stopping", jobId: target, stopping: true });
    try {
      await this.api.cancelJob(target); // the `cancelled` frame ends the turn
    } catch (error) {
      this.dispatch({ type: "stopping", jobId: target, stopping: false });
      this.dispatch({ type: "notice", error: turnError(error) });
    }
  }

  /** Show a past session (its stored turns, and running ones replayed from their start). */
  async openSession(sessionId: string): Promise<void> {
    const view = this.enter(sessionId);
    try {
      const messages = await this.api.listMessages(sessionId);
      const found = await Promise.all(unansweredJobs(messages).map((id) => this.api.getJob(id).catch(() => null)));
      if (view !== this.view) return;
      const jobs = found.filter((job) => job !== null);
      this.dispatch({ type: "history", sessionId, messages, jobs: Object.fromEntries(jobs.map((job) => [job.id, job])) });
      for (const job of jobs) {
        if (job.state === "queued" || job.state === "running") {
          this.notifier?.watch(job.id);
          this.socket.track(job.id, 0);
        }
      }
    } catch (error) {
      if (view === this.view) this.dispatch({ type: "notice", error: turnError(error) });
    }
  }

  /** An empty chat whose first message starts a session. */
  newSession(): void {
    this.enter(null);
  }

  dismissNotice(): void {
    this.dispatch({ type: "dismiss" });
  }

  private enter(sessionId: string | null): View {
    this.view = { sessionId };
    this.dispatch({ type: "reset", sessionId });
    return this.view;
  }

  /** Queue one message in its view's session; a view left meanwhile still gets its message. */
  private async submit(view: View, key: string, content: string, context: ContextName): Promise<void> {
    try {
      const accepted = await this.api.chat(this.projectId, content, context, view.sessionId);
      view.sessionId = accepted.session_id;
      if (view !== this.view) return;
      this.dispatch({ type: "accepted", key, jobId: accepted.job_id, sessionId: accepted.session_id });
      this.notifier?.watch(accepted.job_id);
      this.socket.track(accepted.job_id, 0);
    } catch (error) {
      if (view === this.view) this.dispatch({ type: "failed", key, error: turnError(error) });
    }
  }

  private notifyEnd(jobId: string): void {
    const turn = this.snapshot.chat.turns.find((t) => t.jobId === jobId);
    if (!turn || !this.notifier) return;
    const title = END_TITLE[turn.status] ?? "Turn ended";
    const files = turn.changes ? ` · ${turn.changes.total} file(s) changed` : "";
    this.notifier.ended(jobId, title, `${turn.userText.slice(0, 100)}${files}`);
  }

  private dispatch(action: ChatAction): void {
    this.update({ ...this.snapshot, chat: chatReducer(this.snapshot.chat, action) });
  }

  private update(snapshot: ChatSnapshot): void {
    if (snapshot.chat === this.snapshot.chat && snapshot.connection === this.snapshot.connection) return;
    this.snapshot = snapshot;
    for (const listener of this.listeners) listener();
  }
}
