/** Pure shaping of the usage API's answers for the usage page (tested in usage-data.test.ts). */
import type { components } from "./api/openapi.gen";

type Schemas = components["schemas"];
export type UsageRow = Schemas["UsageRow"];
export type LimitWarning = Schemas["LimitWarning"];
export type MonthOutlook = Schemas["MonthOutlook"];

export type ChartMetric = "cost_usd" | "total_tokens";

/** One bar of the chart: a day, with one value per model. */
export type DayBar = { day: string } & Record<string, number | string>;

/** The by-day-and-model rows as one bar per day (oldest first) with a value per model. */
export function barsByDayAndModel(rows: UsageRow[], metric: ChartMetric): { bars: DayBar[]; models: string[] } {
  const models = [...new Set(rows.map((r) => r.model ?? "unknown"))].sort();
  const byDay = new Map<string, DayBar>();
  for (const row of rows) {
    const bar = byDay.get(row.key) ?? { day: row.key, ...Object.fromEntries(models.map((m) => [m, 0])) };
    const model = row.model ?? "unknown";
    bar[model] = (bar[model] as number) + row[metric];
    byDay.set(row.key, bar);
  }
  return { bars: [...byDay.values()].sort((a, b) => a.day.localeCompare(b.day)), models };
}

const LIMIT_NAMES: Record<string, string> = {
  cost_per_month_usd: "monthly cost limit",
  tokens_per_day: "daily token limit",
  running_turns: "limit of turns running at once",
  queued_turns: "limit of queued turns",
};

const count = new Intl.NumberFormat("en-US");

/** Dollars with cents, or four decimals under a dollar (a few turns cost fractions of a cent). */
export function usd(value: number): string {
  return `$${value.toFixed(Math.abs(value) >= 1 || value === 0 ? 2 : 4)}`;
}

function amount(limit: string, value: number): string {
  return limit === "cost_per_month_usd" ? usd(value) : count.format(value);
}

/** "You have used 85% of your monthly cost limit ($170.00 of $200.00)." */
export function warningText(w: LimitWarning): string {
  const name = LIMIT_NAMES[w.limit] ?? w.limit;
  return `You have used ${Math.floor(w.share * 100)}% of your ${name} (${amount(w.limit, w.used)} of ${amount(w.limit, w.allowed)}).`;
}

/** Where the month is heading, in words. */
export function outlookText(m: MonthOutlook): string {
  const share = m.limit_usd > 0 ? ` — ${Math.round(m.projected_share * 100)}% of the ${usd(m.limit_usd)} limit` : "";
  return `At ${usd(m.burn_rate_usd_per_day)} a day this month ends near ${usd(m.projected_usd)}${share}.`;
}
