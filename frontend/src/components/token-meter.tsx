/** One turn's tokens: input, output, cache read/creation, and cost when known. */
import type { Turn } from "@/lib/chat-state";

const fmt = new Intl.NumberFormat("en-US");

export function formatUsd(value: number): string {
  return `$${value < 0.01 && value > 0 ? value.toFixed(4) : value.toFixed(2)}`;
}

export function TokenMeter({ turn }: { turn: Turn }) {
  const usage = turn.summary?.usage ?? turn.usage;
  if (!usage) return null;
  const cells: [string, string, string][] = [
    ["in", "input", fmt.format(usage.input_tokens)],
    ["out", "output", fmt.format(usage.output_tokens)],
    ["cache read", "cache-read", fmt.format(usage.cache_read_tokens)],
    ["cache write", "cache-creation", fmt.format(usage.cache_creation_tokens)],
  ];
  return (
    <div className="token-meter" data-testid="token-meter">
      {cells.map(([label, key, value]) => (
        <span key={key} data-field={key}>
          <em>{label}</em> {value}
        </span>
      ))}
      {turn.summary && (
        <span data-field="cost">
          <em>cost</em> {formatUsd(turn.summary.costUsd)}
        </span>
      )}
      {turn.model && <span className="muted">{turn.model}</span>}
    </div>
  );
}
