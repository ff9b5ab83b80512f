"use client";
/** A project's usage: totals, a by-day chart, by model, by session; and the tenant's limits. */
import Link from "next/link";

import { useTokenUsage } from "@/hooks/useTokenUsage";
import type { UsageRow } from "@/lib/api/client";
import { describeError } from "@/lib/errors";
import { ErrorBanner } from "./error-banner";
import { formatUsd } from "./token-meter";
import { UsageChart } from "./usage-chart";

const fmt = new Intl.NumberFormat("en-US");

function RowsTable({ rows, keyLabel, testId, link }: { rows: UsageRow[]; keyLabel: string; testId: string; link?: (key: string) => string }) {
  if (rows.length === 0) return <p className="muted">None yet.</p>;
  return (
    <table className="usage-table" data-testid={testId}>
      <thead>
        <tr>
          <th>{keyLabel}</th><th>turns</th><th>input</th><th>output</th><th>cache read</th><th>cache write</th><th>total</th><th>cost</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.key}>
            <td>{link ? <Link href={link(r.key)}>{r.key.slice(-8)}</Link> : r.key || "—"}</td>
            <td>{r.turns}</td>
            <td>{fmt.format(r.input_tokens)}</td>
            <td>{fmt.format(r.output_tokens)}</td>
            <td>{fmt.format(r.cache_read_tokens)}</td>
            <td>{fmt.format(r.cache_creation_tokens)}</td>
            <td>{fmt.format(r.total_tokens)}</td>
            <td>{formatUsd(r.cost_usd)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function UsageView({ projectId }: { projectId: string }) {
  const { report, limits, error, loading, refresh } = useTokenUsage(projectId);
  const t = report?.totals;
  return (
    <section className="stack">
      <div className="row spread">
        <h1>Usage</h1>
        <span className="row">
          <Link href={`/projects/${projectId}`}>Back to chat</Link>
          <button type="button" onClick={() => void refresh()} disabled={loading}>Refresh</button>
        </span>
      </div>
      {error && <ErrorBanner error={describeError(error.code, error.message, error.details)} />}
      {t && (
        <div className="stats" data-testid="usage-totals">
          <div><em>turns</em><strong data-field="turns">{t.turns}</strong></div>
          <div><em>input</em><strong data-field="input_tokens">{fmt.format(t.input_tokens)}</strong></div>
          <div><em>output</em><strong data-field="output_tokens">{fmt.format(t.output_tokens)}</strong></div>
          <div><em>cache read</em><strong data-field="cache_read_tokens">{fmt.format(t.cache_read_tokens)}</strong></div>
          <div><em>cache write</em><strong data-field="cache_creation_tokens">{fmt.format(t.cache_creation_tokens)}</strong></div>
          <div><em>cost</em><strong data-field="cost_usd">{formatUsd(t.cost_usd)}</strong></div>
        </div>
      )}
      {report && (
        <>
          <div className="card"><h3>By day</h3><UsageChart rows={report.by_day} /></div>
          <div className="card"><h3>By model</h3><RowsTable rows={report.by_model} keyLabel="model" testId="usage-by-model" /></div>
          <div className="card">
            <h3>By session</h3>
            <RowsTable rows={report.by_session} keyLabel="session" testId="usage-by-session" link={(key) => `/projects/${projectId}?session=${key}`} />
          </div>
        </>
      )}
      {limits && (
        <div className="card small" data-testid="limits">
          <h3>Limits</h3>
          <p>
            Tokens today {fmt.format(limits.use.tokens_today)} / {fmt.format(limits.limits.tokens_per_day)} · cost this month{" "}
            {formatUsd(limits.use.cost_this_month_usd)} / {formatUsd(limits.limits.cost_per_month_usd)} · running{" "}
            {limits.use.running_turns}/{limits.limits.running_turns} · queued {limits.use.queued_turns}/{limits.limits.queued_turns}
          </p>
        </div>
      )}
    </section>
  );
}
