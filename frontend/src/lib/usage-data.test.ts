import { describe, expect, it } from "vitest";

import { barsByDayAndModel, outlookText, warningText, type MonthOutlook, type UsageRow } from "./usage-data";

function row(key: string, model: string, cost: number, tokens: number): UsageRow {
  return {
    key, model, turns: 1, input_tokens: tokens, output_tokens: 0, cache_creation_tokens: 0, cache_read_tokens: 0,
    total_tokens: tokens, cost_usd: cost, claude_cost_usd: cost, priced_cost_usd: cost, partial_turns: 0,
    unpriced_turns: 0, models: [model], start: null, end: null, active: false, projected_cost_usd: null,
  };
}

describe("barsByDayAndModel", () => {
  it("puts each model of a day in one bar, days in order", () => {
    const rows = [row("2026-12-02", "claude-opus-5-5", 2, 20), row("2026-12-01", "claude-opus-5-5", 1, 10),
      row("2026-12-01", "claude-haiku-5-5", 0.5, 5)];
    const { bars, models } = barsByDayAndModel(rows, "cost_usd");
    expect(models).toEqual(["claude-haiku-5-5", "claude-opus-5-5"]);
    expect(bars).toEqual([
      { day: "2026-12-01", "claude-haiku-5-5": 0.5, "claude-opus-5-5": 1 },
      { day: "2026-12-02", "claude-haiku-5-5": 0, "claude-opus-5-5": 2 },
    ]);
    expect(barsByDayAndModel(rows, "total_tokens").bars[0]["claude-opus-5-5"]).toBe(10);
  });

  it("is empty without rows", () => {
    expect(barsByDayAndModel([], "cost_usd")).toEqual({ bars: [], models: [] });
  });
});

describe("limit texts", () => {
  it("names the limit and the amounts", () => {
    expect(warningText({ limit: "cost_per_month_usd", used: 170, allowed: 200, share: 0.85 })).toBe(
      "You have used 85% of your monthly cost limit ($170.00 of $200.00).");
    expect(warningText({ limit: "cost_per_month_usd", used: 0.0178, allowed: 0.021, share: 0.85 })).toContain(
      "($0.0178 of $0.0210)");
    expect(warningText({ limit: "tokens_per_day", used: 4_500_000, allowed: 5_000_000, share: 0.9 })).toContain(
      "4,500,000 of 5,000,000");
  });

  it("projects the month", () => {
    const month: MonthOutlook = { start: "", end: "", elapsed_days: 10, days: 30, cost_usd: 50, burn_rate_usd_per_day: 5,
      projected_usd: 150, limit_usd: 200, projected_share: 0.75 };
    expect(outlookText(month)).toBe("At $5.00 a day this month ends near $150.00 — 75% of the $200.00 limit.");
  });
});
