/** Tokens by day as SVG bars (no chart library). */
import type { UsageRow } from "@/lib/api/client";

const fmt = new Intl.NumberFormat("en-US", { notation: "compact" });

export function UsageChart({ rows }: { rows: UsageRow[] }) {
  if (rows.length === 0) return <p className="muted">No usage yet.</p>;
  const width = 640;
  const height = 180;
  const pad = 28;
  const max = Math.max(...rows.map((r) => r.total_tokens), 1);
  const slot = (width - pad) / rows.length;
  const bar = Math.min(48, slot * 0.7);
  return (
    <svg viewBox={`0 0 ${width} ${height + 30}`} className="chart" role="img" aria-label="Tokens by day" data-testid="usage-chart">
      <line x1={pad} y1={height} x2={width} y2={height} className="axis" />
      <text x={0} y={12} className="tick">{fmt.format(max)}</text>
      {rows.map((row, i) => {
        const h = Math.max(1, (row.total_tokens / max) * (height - 20));
        const x = pad + i * slot + (slot - bar) / 2;
        return (
          <g key={row.key} data-day={row.key}>
            <rect x={x} y={height - h} width={bar} height={h} className="bar">
              <title>{`${row.key}: ${row.total_tokens} tokens, $${row.cost_usd.toFixed(4)}`}</title>
            </rect>
            <text x={x + bar / 2} y={height + 16} textAnchor="middle" className="tick">
              {row.key.slice(5)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
