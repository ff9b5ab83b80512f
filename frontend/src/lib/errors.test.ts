import { describe, expect, it } from "vitest";

import { describeError, describeReset } from "./errors";

const CODES = ["input_blocked", "limit_exceeded", "claude_error", "timeout", "worker_lost", "executor_failed", "not_found", "bad_request", "unauthorized", "no_credentials"];

describe("describeError", () => {
  it("has its own title for every stable code", () => {
    const titles = CODES.map((code) => describeError(code).title);
    expect(new Set(titles).size).toBe(CODES.length);
    expect(titles).not.toContain("Error");
  });

  it("says when a limit resets", () => {
    const now = Date.parse("2025-01-01T12:00:00Z");
    const ui = describeError("limit_exceeded", "Daily tokens used", { limit: "tokens_per_day", retry_after_s: 300 }, now);
    expect(ui.detail).toContain("tokens per day");
    expect(ui.detail).toContain("resets in 5 min");
    expect(describeReset({ resets_at: now / 1000 + 7200 }, now)).toBe("at 14:00 UTC");
  });

  it("sends a tenant without a credential to the settings page", () => {
    const ui = describeError("no_credentials", "No Claude credential is linked to this account");
    expect(ui.action).toEqual({ href: "/settings", label: "Open Settings" });
    expect(ui.retryable).toBe(false);
    expect(describeError("timeout").action).toBeUndefined();
  });

  it("does not echo the guardrail's message for a blocked input", () => {
    expect(describeError("input_blocked", "rule xyz").detail).not.toContain("xyz");
  });
});
