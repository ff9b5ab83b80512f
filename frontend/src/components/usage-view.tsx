"use client";
/** A project's usage: totals, cost by day and model, by period (day, week, month, 5-hour
 * block), by model, by session; and the tenant's limits, burn rate and warnings. */
import Link from "next/link";
import { useState } from "react";

import { useTokenUsage } from "@/hooks/useTokenUsage";
import type { UsageReport, UsageRow } from "@/lib/api/client";
import { describeError } from "@/lib/errors";
import { ErrorBanner } from "./error-banner";
import { BurnRate, LimitsLine, LimitWarnings } from "./limits-panel";
import { formatUsd } from "./token-meter";
import { UsageChart } from "./usage-chart";

const fmt = new Intl.NumberFormat("en-US");

type Period = "by_day" | "by_week" | "by_month" | "by_block";
const PERIODS: [Period, string][] = [["by_day", "day"], ["by_week", "week"], ["by_month", "month"], ["by_block", "5-hour block"]];

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
          <tr key={r.key} data-key={r.key} data-cost={r.cost_usd} data-active={r.active ? "true" : undefined}>
            <td>{link ? <Link href={link(r.key)}>{r.key.slice(-8)}</Link> : r.key || "—"}</td>
            <td>{r.turns}</td>
            <td>{fmt.format(r.input_tokens)}</td>
            <td>{fmt.format(r.output_tokens)}</td>
            <td>{fmt.format(r.cache_read_tokens)}</td>
            <td>{fmt.format(r.cache_creation_tokens)}</td>
            <td>{fmt.format(r.total_tokens)}</td>
            <td>
              {formatUsd(r.cost_usd)}
              {r.active && r.projected_cost_usd != null && <span className="muted"> → {formatUsd(r.projected_cost_usd)}</span>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Periods({ report }: { report: UsageReport }) {
  const [period, setPeriod] = useState<Period>("by_day");
  return (
    <div className="card">
      <div className="row spread">
        <h3>By period</h3>
        <select value={period} onChange={(e) => setPeriod(e.target.value as Period)} data-testid="period-select">
          {PERIODS.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
        </select>
      </div>
      <RowsTable rows={report[period]} keyLabel={PERIODS.find(([p]) => p === period)?.[1] ?? ""} testId="usage-by-period" />
    </div>
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
      {limits && <LimitWarnings limits={limits} />}
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
      {t && t.unpriced_turns > 0 && (
        <p className="small muted" data-testid="unpriced-note">
          {t.unpriced_turns} turn(s) used a model the price table lacks; their cost is Claude Code&apos;s estimate where it gave one.
        </p>
      )}
      {limits && <BurnRate limits={limits} />}
      {report && (
        <>
          <div className="card"><h3>Cost by day and model</h3><UsageChart rows={report.by_day_model} /></div>
          <Periods report={report} />
          <div className="card"><h3>By model</h3><RowsTable rows={report.by_model} keyLabel="model" testId="usage-by-model" /></div>
          <div className="card">
            <h3>By session</h3>
            <RowsTable rows={report.by_session} keyLabel="session" testId="usage-by-session" link={(key) => `/projects/${projectId}?session=${key}`} />
          </div>
        </>
      )}
      {limits && <LimitsLine limits={limits} />}
    </section>
  );
}
