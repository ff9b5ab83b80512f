/** A tool use and its result, as a compact card that expands. */
import type { ToolPart } from "@/lib/chat-state";

function summary(input: Record<string, unknown>): string {
  const first = input.file_path ?? input.path ?? input.pattern ?? input.command ?? Object.values(input)[0];
  const text = typeof first === "string" ? first : JSON.stringify(first ?? "");
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

export function ToolCard({ part }: { part: ToolPart }) {
  const state = part.result === null ? "running" : part.result.isError ? "error" : "done";
  return (
    <details className={`tool-card ${state}`} data-testid="tool-card" data-tool={part.tool}>
      <summary>
        <span className="tool-name">{part.tool}</span>
        <span className="tool-arg">{summary(part.input)}</span>
        <span className={`badge ${state}`}>{state === "running" ? "running…" : state}</span>
      </summary>
      <div className="tool-body">
        <div className="label">input</div>
        <pre>{JSON.stringify(part.input, null, 2)}</pre>
        {part.result && (
          <>
            <div className="label">result{part.result.truncated ? " (truncated)" : ""}</div>
            <pre data-testid="tool-result">{part.result.content}</pre>
          </>
        )}
      </div>
    </details>
  );
}
