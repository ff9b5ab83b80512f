/** A clear message for an error code (see lib/errors.ts). */
import type { UiError } from "@/lib/errors";

export function ErrorBanner({ error, onDismiss }: { error: UiError; onDismiss?: () => void }) {
  return (
    <div className="error-banner" role="alert" data-testid="error-message" data-code={error.code}>
      <strong>{error.title}</strong>
      <span>{error.detail}</span>
      {onDismiss && (
        <button type="button" className="link-button" onClick={onDismiss}>
          Dismiss
        </button>
      )}
    </div>
  );
}
