"use client";
/** Cost (or tokens) by day, one stacked bar segment per model (recharts). */
import { useState } from "react";
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

import { barsByDayAndModel, type ChartMetric, type UsageRow } from "@/lib/usage-data";

const COLORS = ["#2f6fde", "#e07b39", "#3a9d5d", "#9b59b6", "#c93c3c", "#6b7483"];
const compact = new Intl.NumberFormat("en-US", { notation: "compact" });

function formatValue(metric: ChartMetric, value: number): string {
  return metric === "cost_usd" ? `$${value.toFixed(value < 1 ? 4 : 2)}` : compact.format(value);
}

export function UsageChart({ rows }: { rows: UsageRow[] }) {
  const [metric, setMetric] = useState<ChartMetric>("cost_usd");
  if (rows.length === 0) return <p className="muted">No usage yet.</p>;
  const { bars, models } = barsByDayAndModel(rows, metric);
  return (
    <div data-testid="usage-chart" data-metric={metric} data-days={bars.length} data-models={models.join(",")}>
      <div className="row">
        {(["cost_usd", "total_tokens"] as const).map((m) => (
          <label key={m} className="small">
            <input type="radio" name="metric" checked={metric === m} onChange={() => setMetric(m)} data-testid={`metric-${m}`} />{" "}
            {m === "cost_usd" ? "cost" : "tokens"}
          </label>
        ))}
      </div>
      <ResponsiveContainer width="100%" height={260}>
        <BarChart data={bars} margin={{ top: 8, right: 16, bottom: 4, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="day" tickFormatter={(day: string) => day.slice(5)} fontSize={11} />
          <YAxis tickFormatter={(v: number) => formatValue(metric, v)} fontSize={11} width={64} />
          <Tooltip formatter={(v) => formatValue(metric, Number(v))} />
          <Legend />
          {models.map((model, i) => (
            <Bar key={model} dataKey={model} stackId="day" fill={COLORS[i % COLORS.length]} maxBarSize={56}
              isAnimationActive={false} />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
