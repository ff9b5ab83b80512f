/** A clear message for an error code (see lib/errors.ts), with where to fix it. */
import Link from "next/link";

import type { UiError } from "@/lib/errors";

export function ErrorBanner({ error, onDismiss }: { error: UiError; onDismiss?: () => void }) {
  return (
    <div className="error-banner" role="alert" data-testid="error-message" data-code={error.code}>
      <strong>{error.title}</strong>
      <span>{error.detail}</span>
      {error.action && (
        <Link href={error.action.href} data-testid="error-action">
          {error.action.label}
        </Link>
      )}
      {onDismiss && (
        <button type="button" className="link-button" onClick={onDismiss}>
          Dismiss
        </button>
      )}
    </div>
  );
}
