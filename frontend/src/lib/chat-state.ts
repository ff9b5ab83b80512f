/** The chat's state and its pure reducer: turns keyed by job, text keyed by message_id. */
import type { components } from "./api/openapi.gen";
import type { ChangedFile, ErrorCode, ServerFrame, UsageSummary } from "./api/protocol.gen";

type Schemas = components["schemas"];

/** Token counts of a turn (running totals while it streams). */
type Usage = Pick<UsageSummary, "input_tokens" | "output_tokens" | "cache_creation_tokens" | "cache_read_tokens">;
/** Final counts and cost (a UsageSummary, or REST's copy of one). */
type FinalUsage = Pick<UsageSummary, keyof Usage | "total_cost_usd">;

export type ContextName = Schemas["ChatCreate"]["context"];
type TurnStatus = "sending" | "queued" | "running" | "done" | "failed" | "cancelled";

export interface TextPart {
  kind: "text";
  messageId: string;
  text: string;
}

export interface ToolPart {
  kind: "tool";
  toolUseId: string;
  tool: string;
  input: Record<string, unknown>;
  result: { content: string; isError: boolean; truncated: boolean } | null;
}

type Part = TextPart | ToolPart;

interface TurnError {
  code: ErrorCode | string;
  message: string;
  details: Record<string, unknown>;
}

interface TurnSummary {
  usage: FinalUsage;
  costUsd: number;
  durationMs: number | null;
}

/** What the turn changed in the workspace (its `files_changed` frame). */
export interface TurnFiles {
  commit: string;
  files: ChangedFile[];
  total: number;
  truncated: boolean;
}

export interface Turn {
  key: string;
  jobId: string | null;
  userText: string;
  context: ContextName;
  status: TurnStatus;
  position: number | null;
  parts: Part[];
  usage: Usage | null;
  summary: TurnSummary | null;
  error: TurnError | null;
  model: string | null;
  lastSeq: number;
  retrying: string | null;
  rateLimit: { status: string; resetsAt: number | null; limitType: string | null } | null;
  stopping: boolean;
  changes: TurnFiles | null;
}

/** A stored message, as much of it as a past turn shows. */
type HistoryMessage = Pick<Schemas["MessagePublic"], "role" | "content" | "job_id">;
/** A stored job (for a turn whose answer is not stored yet). */
type JobInfo = Pick<Schemas["JobPublic"], "state" | "error_code" | "error_message" | "usage">;

export interface ChatState {
  /** The session shown (null: a new one, created by its first message). */
  sessionId: string | null;
  turns: Turn[];
  /** An error that belongs to no turn (e.g. a refused frame). */
  notice: TurnError | null;
}

export type ChatAction =
  | { type: "send"; key: string; content: string; context: ContextName }
  | { type: "accepted"; key: string; jobId: string; sessionId: string }
  | { type: "failed"; key: string; error: TurnError }
  | { type: "frame"; frame: ServerFrame }
  | { type: "history"; sessionId: string; messages: HistoryMessage[]; jobs?: Record<string, JobInfo> }
  | { type: "stopping"; jobId: string; stopping: boolean }
  | { type: "notice"; error: TurnError }
  | { type: "dismiss" }
  | { type: "reset"; sessionId: string | null };

export const initialChatState: ChatState = { sessionId: null, turns: [], notice: null };

const ACTIVE: ReadonlySet<TurnStatus> = new Set(["sending", "queued", "running"]);

export function isActive(turn: Turn): boolean {
  return ACTIVE.has(turn.status);
}

function newTurn(key: string, userText: string, context: ContextName, jobId: string | null = null): Turn {
  return {
    key,
    jobId,
    userText,
    context,
    status: "sending",
    position: null,
    parts: [],
    usage: null,
    summary: null,
    error: null,
    model: null,
    lastSeq: 0,
    retrying: null,
    rateLimit: null,
    stopping: false,
    changes: null,
  };
}

/** Turns ahead of this one that have not finished (the live queue position). */
export function queuePosition(state: ChatState, turn: Turn): number {
  const index = state.turns.indexOf(turn);
  const ahead = state.turns.slice(0, index).filter((t) => t.jobId && isActive(t)).length;
  return turn.position === null ? ahead : Math.min(turn.position, ahead);
}

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case "send":
      return { ...state, notice: null, turns: [...state.turns, newTurn(action.key, action.content, action.context)] };
    case "accepted":
      return {
        ...updateTurn(state, (t) => t.key === action.key, (t) => ({
          ...t,
          jobId: action.jobId,
          status: t.status === "sending" ? "queued" : t.status,
        })),
        sessionId: action.sessionId,
      };
    case "failed":
      return updateTurn(state, (t) => t.key === action.key, (t) => ({ ...t, status: "failed", error: action.error }));
    case "history":
      return { sessionId: action.sessionId, turns: turnsFromHistory(action.messages, action.jobs), notice: null };
    case "stopping":
      return updateTurn(state, (t) => t.jobId === action.jobId, (t) => ({ ...t, stopping: action.stopping }));
    case "notice":
      return { ...state, notice: action.error };
    case "dismiss":
      return { ...state, notice: null };
    case "reset":
      return { ...initialChatState, sessionId: action.sessionId };
    case "frame":
      return applyFrame(state, action.frame);
  }
}

function updateTurn(state: ChatState, match: (t: Turn) => boolean, change: (t: Turn) => Turn): ChatState {
  const index = state.turns.findIndex(match);
  if (index < 0) return state;
  const turns = state.turns.slice();
  turns[index] = change(turns[index]);
  return { ...state, turns };
}

const STATUS_OF_JOB: Record<JobInfo["state"], TurnStatus> = {
  queued: "queued",
  running: "running",
  succeeded: "done",
  failed: "failed",
  cancelled: "cancelled",
};

/** Turns of a past session: messages grouped by job (a user message starts a turn). */
function turnsFromHistory(messages: HistoryMessage[], jobs: Record<string, JobInfo> = {}): Turn[] {
  const turns: Turn[] = [];
  messages.forEach((m, i) => {
    const jobId = m.job_id ?? null;
    let turn = jobId ? turns.find((t) => t.jobId === jobId) : undefined;
    if (!turn && (m.role === "user" || turns.length === 0)) {
      turn = { ...newTurn(`h-${i}`, "", "analysis", jobId), status: "done" };
      turns.push(turn);
    }
    turn = turn ?? turns[turns.length - 1];
    if (m.role === "user") turn.userText = m.content;
    else turn.parts = [...turn.parts, { kind: "text", messageId: `h-${i}`, text: m.content }];
  });
  return turns.map((t) => {
    const job = t.jobId ? jobs[t.jobId] : undefined;
    if (!job) return t;
    const error = job.error_code ? { code: job.error_code, message: job.error_message ?? "", details: {} } : null;
    const ended = job.state !== "queued" && job.state !== "running";
    const summary = ended && job.usage ? { usage: job.usage, costUsd: job.usage.total_cost_usd, durationMs: null } : null;
    return { ...t, status: STATUS_OF_JOB[job.state], error, summary };
  });
}

/** A job's frame onto its turn; frames of jobs not shown (another session's) are ignored. */
function applyFrame(state: ChatState, frame: ServerFrame): ChatState {
  if (frame.type === "pong") return state;
  if (frame.type === "error" && !frame.job_id) {
    return { ...state, notice: { code: frame.code, message: frame.message, details: frame.details } };
  }
  const index = state.turns.findIndex((t) => t.jobId !== null && t.jobId === frame.job_id);
  if (index < 0) return state;
  const turn = state.turns[index];
  if (frame.seq > 0 && frame.seq <= turn.lastSeq) return state; // replayed twice
  const turns = state.turns.slice();
  turns[index] = applyToTurn({ ...turn, lastSeq: Math.max(turn.lastSeq, frame.seq) }, frame);
  return { ...state, turns };
}

function applyToTurn(turn: Turn, frame: ServerFrame): Turn {
  switch (frame.type) {
    case "job_queued":
      return turn.status === "sending" || turn.status === "queued" ? { ...turn, status: "queued", position: frame.position } : turn;
    case "job_started":
      return { ...turn, status: isActive(turn) ? "running" : turn.status, model: frame.model, position: 0 };
    case "assistant_chunk":
      return appendText(
        { ...turn, status: isActive(turn) ? "running" : turn.status, retrying: null },
        frame.message_id,
        frame.content,
        frame.replaces ?? null,
      );
    case "tool_use":
      if (turn.parts.some((p) => p.kind === "tool" && p.toolUseId === frame.tool_use_id)) return turn;
      return {
        ...turn,
        parts: [...turn.parts, { kind: "tool", toolUseId: frame.tool_use_id, tool: frame.tool, input: frame.input, result: null }],
      };
    case "tool_result":
      return { ...turn, parts: attachResult(turn.parts, frame) };
    case "usage":
      return { ...turn, usage: frame };
    case "rate_limit":
      return { ...turn, rateLimit: { status: frame.status, resetsAt: frame.resets_at, limitType: frame.limit_type } };
    case "progress":
      return { ...turn, retrying: frame.message };
    case "files_changed":
      return { ...turn, changes: { commit: frame.commit, files: frame.files, total: frame.total, truncated: frame.truncated ?? false } };
    case "session_end":
      return {
        ...turn,
        status: frame.is_error ? "failed" : "done",
        retrying: null,
        summary: { usage: frame.usage_summary, costUsd: frame.total_cost_usd, durationMs: frame.duration_ms },
        error: frame.is_error ? endError(frame) : null,
      };
    case "error":
      return {
        ...turn,
        status: "failed",
        retrying: null,
        error: { code: frame.code, message: frame.message, details: frame.details },
        summary: frame.usage ? { usage: frame.usage, costUsd: frame.usage.total_cost_usd, durationMs: null } : turn.summary,
      };
    case "cancelled":
      return {
        ...turn,
        status: "cancelled",
        retrying: null,
        summary: { usage: frame.usage, costUsd: frame.usage.total_cost_usd, durationMs: null },
      };
    default:
      return turn;
  }
}

function endError(frame: Extract<ServerFrame, { type: "session_end" }>): TurnError {
  const details: Record<string, unknown> = { api_error_status: frame.api_error_status, subtype: frame.subtype };
  return { code: frame.api_error_status === 429 ? "limit_exceeded" : "claude_error", message: frame.result, details };
}

/**
 * Text is keyed by message_id, so a replayed or resumed chunk never lands twice. When
 * Claude Code retries a failed streaming request without streaming, the retried
 * message's first chunk names the failed one in `replaces` (workers/turn_frames.py):
 * that message's text is dropped, so the answer shows exactly once.
 */
function appendText(turn: Turn, messageId: string, content: string, replaces: string | null): Turn {
  let parts = turn.parts;
  if (replaces) parts = parts.filter((p) => !(p.kind === "text" && p.messageId === replaces));
  const existing = parts.findIndex((p) => p.kind === "text" && p.messageId === messageId);
  if (existing >= 0) {
    const part = parts[existing] as TextPart;
    parts = parts.slice();
    parts[existing] = { ...part, text: part.text + content };
    return { ...turn, parts };
  }
  return { ...turn, parts: [...parts, { kind: "text", messageId, text: content }] };
}

function attachResult(parts: Part[], frame: Extract<ServerFrame, { type: "tool_result" }>): Part[] {
  const result = { content: frame.content, isError: frame.is_error, truncated: frame.truncated };
  const index = parts.findIndex((p) => p.kind === "tool" && p.toolUseId === frame.tool_use_id);
  if (index < 0) return [...parts, { kind: "tool", toolUseId: frame.tool_use_id, tool: "tool", input: {}, result }];
  const copy = parts.slice();
  copy[index] = { ...(copy[index] as ToolPart), result };
  return copy;
}
