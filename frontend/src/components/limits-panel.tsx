/** The tenant's limits: a warning banner past the warning share of one, the month's burn rate
 * and its projection against the monthly cost limit, and the current use. */
import type { Limits } from "@/lib/api/client";
import { outlookText, warningText } from "@/lib/usage-data";
import { formatUsd } from "./token-meter";

const fmt = new Intl.NumberFormat("en-US");

export function LimitWarnings({ limits }: { limits: Limits }) {
  if (limits.warnings.length === 0) return null;
  return (
    <div className="warn-banner" role="status" data-testid="limit-warning">
      {limits.warnings.map((w) => (
        <p key={w.limit} data-limit={w.limit} data-share={w.share}>{warningText(w)}</p>
      ))}
    </div>
  );
}

export function BurnRate({ limits }: { limits: Limits }) {
  const m = limits.month;
  const scale = Math.max(m.limit_usd, m.projected_usd, 1e-9);
  const pct = (v: number) => `${Math.min(100, (v / scale) * 100).toFixed(1)}%`;
  return (
    <div className="card" data-testid="burn-rate" data-cost={m.cost_usd} data-projected={m.projected_usd} data-limit={m.limit_usd}>
      <h3>This month</h3>
      <div className="stats">
        <div><em>cost so far</em><strong data-field="month-cost">{formatUsd(m.cost_usd)}</strong></div>
        <div><em>burn rate</em><strong data-field="burn-rate">{formatUsd(m.burn_rate_usd_per_day)}/day</strong></div>
        <div><em>projected</em><strong data-field="projected">{formatUsd(m.projected_usd)}</strong></div>
        <div><em>limit</em><strong data-field="limit">{formatUsd(m.limit_usd)}</strong></div>
      </div>
      <div className="burn-bar" aria-label="cost so far and projected against the monthly limit">
        <span className="projected" style={{ width: pct(m.projected_usd) }} />
        <span className="spent" style={{ width: pct(m.cost_usd) }} />
        {m.limit_usd > 0 && <span className="limit" style={{ left: pct(m.limit_usd) }} />}
      </div>
      <p className="small muted">{outlookText(m)}</p>
    </div>
  );
}

export function LimitsLine({ limits }: { limits: Limits }) {
  return (
    <div className="card small" data-testid="limits">
      <h3>Limits</h3>
      <p>
        Tokens today {fmt.format(limits.use.tokens_today)} / {fmt.format(limits.limits.tokens_per_day)} · cost this month{" "}
        {formatUsd(limits.use.cost_this_month_usd)} / {formatUsd(limits.limits.cost_per_month_usd)} · running{" "}
        {limits.use.running_turns}/{limits.limits.running_turns} · queued {limits.use.queued_turns}/{limits.limits.queued_turns}
      </p>
    </div>
  );
}
