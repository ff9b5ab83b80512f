/** One turn: the user's message, then the answer as it streams (text and tool cards). */
import type { Turn } from "@/lib/chat-state";
import { describeError } from "@/lib/errors";
import { ChangesPanel } from "./changes-panel";
import { ErrorBanner } from "./error-banner";
import { Markdown } from "./markdown";
import { TokenMeter } from "./token-meter";
import { ToolCard } from "./tool-card";

function StatusLine({ turn, position }: { turn: Turn; position: number }) {
  switch (turn.status) {
    case "sending":
      return <span className="status">Sending…</span>;
    case "queued":
      return (
        <span className="status queued" data-testid="queue-position">
          Queued{position > 0 ? ` · ${position} ahead` : " · starting…"}
        </span>
      );
    case "running":
      return <span className="status running">{turn.stopping ? "Stopping…" : "Claude is working…"}</span>;
    case "cancelled":
      return <span className="status cancelled">Stopped</span>;
    default:
      return null;
  }
}

interface TurnViewProps {
  turn: Turn;
  position: number;
  onStop: (jobId: string) => void;
  onReverted?: () => void;
}

export function TurnView({ turn, position, onStop, onReverted = () => undefined }: TurnViewProps) {
  const active = turn.status === "queued" || turn.status === "running";
  const ended = turn.status === "done" || turn.status === "failed" || turn.status === "cancelled";
  return (
    <article className="turn" data-testid="turn" data-status={turn.status} data-job-id={turn.jobId ?? ""}>
      {turn.userText && (
        <div className="bubble user" data-testid="user-message">
          <span className="context-tag">{turn.context}</span>
          {turn.userText}
        </div>
      )}
      <div className="bubble assistant">
        {turn.parts.map((part) =>
          part.kind === "text" ? (
            <div key={`t-${part.messageId}`} data-testid="assistant-text" data-message-id={part.messageId}>
              <Markdown text={part.text} />
            </div>
          ) : (
            <ToolCard key={`u-${part.toolUseId}`} part={part} />
          ),
        )}
        {turn.retrying && <p className="muted small">Retrying: {turn.retrying}</p>}
        {turn.rateLimit && turn.rateLimit.status !== "allowed" && (
          <p className="muted small">
            Subscription limit: {turn.rateLimit.status}
            {turn.rateLimit.resetsAt ? ` (resets ${new Date(turn.rateLimit.resetsAt * 1000).toLocaleString()})` : ""}
          </p>
        )}
        {turn.error && <ErrorBanner error={describeError(turn.error.code, turn.error.message, turn.error.details)} />}
        <div className="turn-footer">
          <StatusLine turn={turn} position={position} />
          {active && turn.jobId && (
            <button type="button" className="danger small" data-testid="stop-button" disabled={turn.stopping} onClick={() => onStop(turn.jobId as string)}>
              Stop
            </button>
          )}
          <TokenMeter turn={turn} />
        </div>
        {ended && turn.jobId && <ChangesPanel jobId={turn.jobId} files={turn.changes} onReverted={onReverted} />}
      </div>
    </article>
  );
}
