/** The Claude credential settings page's logic: what a tenant is told, and the checks made
 * before a value is sent (the API makes the same ones; the value is never shown back). */
import type { components } from "./api/openapi.gen";

export type CredentialStatus = components["schemas"]["CredentialPublic"];
export type CredentialKind = components["schemas"]["CredentialKind"];

export const KIND_LABEL: Record<CredentialKind, string> = {
  oauth_token: "subscription token (claude setup-token)",
  api_key: "API key",
};

const MIN_CHARS = 20;
const MAX_CHARS = 1000;
const ALLOWED = /^[A-Za-z0-9_\-.~+/=]+$/;

/** The kind a pasted value looks like, or null when its prefix says nothing. */
export function guessKind(value: string): CredentialKind | null {
  const v = value.trim();
  if (v.startsWith("sk-ant-oat")) return "oauth_token";
  if (v.startsWith("sk-ant-api")) return "api_key";
  return null;
}

/** Why the value cannot be linked as `kind`, or null when it can. Never repeats the value. */
export function draftProblem(kind: CredentialKind, value: string): string | null {
  const v = value.trim();
  if (!v) return "Paste a token or key.";
  if (v.length < MIN_CHARS || v.length > MAX_CHARS) {
    return `A token or key is ${MIN_CHARS} to ${MAX_CHARS} characters long (this is ${v.length}).`;
  }
  if (!ALLOWED.test(v)) return "Paste only the value: no spaces, quotes or line breaks.";
  const looks = guessKind(v);
  if (looks && looks !== kind) return `This looks like a ${KIND_LABEL[looks]}: choose that kind.`;
  return null;
}

/** One line on the current state: "Set, ends in …abcd", or what turns run with otherwise. */
export function statusText(status: CredentialStatus): string {
  if (status.set && !status.readable) {
    return "A credential is linked but can no longer be read by the service: link it again.";
  }
  if (status.set) {
    const kind = status.kind ? KIND_LABEL[status.kind] : "credential";
    return `Set, ends in ${status.last4 ?? "…"} (${kind}).`;
  }
  return status.shared_fallback
    ? "Not set: your turns run on the operator's shared credential."
    : "Not set: your turns are refused until you link one.";
}
