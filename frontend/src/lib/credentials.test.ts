import { describe, expect, it } from "vitest";

import { draftProblem, guessKind, statusText, type CredentialStatus } from "./credentials";

const KEY = `sk-ant-api03-${"a1B2".repeat(10)}-wxyz`;
const TOKEN = `sk-ant-oat01-${"Z9y8".repeat(10)}-abcd`;
const unset: CredentialStatus = { set: false, kind: null, last4: null, updated_at: null, readable: true, shared_fallback: true };

describe("guessKind", () => {
  it("reads the prefix", () => {
    expect(guessKind(` ${TOKEN}\n`)).toBe("oauth_token");
    expect(guessKind(KEY)).toBe("api_key");
    expect(guessKind("gateway-key-0123456789abcdef")).toBeNull();
  });
});

describe("draftProblem", () => {
  it("accepts a value of its kind, trimmed", () => {
    expect(draftProblem("api_key", `  ${KEY} `)).toBeNull();
    expect(draftProblem("oauth_token", TOKEN)).toBeNull();
  });

  it("names the problem without repeating the value", () => {
    const cases: [Parameters<typeof draftProblem>[0], string, string][] = [
      ["api_key", "", "Paste"],
      ["api_key", "sk-ant-short", "characters long"],
      ["api_key", `${KEY} ${KEY}`, "no spaces"],
      ["api_key", TOKEN, "subscription token"],
      ["oauth_token", KEY, "API key"],
    ];
    for (const [kind, value, problem] of cases) {
      const text = draftProblem(kind, value);
      expect(text).toContain(problem);
      if (value) expect(text).not.toContain(value.slice(-8));
    }
  });
});

describe("statusText", () => {
  it("shows only the last 4 characters", () => {
    const text = statusText({ ...unset, set: true, kind: "oauth_token", last4: "…abcd" });
    expect(text).toBe("Set, ends in …abcd (subscription token (claude setup-token)).");
  });

  it("says what happens without one", () => {
    expect(statusText(unset)).toContain("shared credential");
    expect(statusText({ ...unset, shared_fallback: false })).toContain("refused");
    expect(statusText({ ...unset, set: true, readable: false })).toContain("link it again");
  });
});
