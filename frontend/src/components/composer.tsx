"use client";
/** The message box: context picker, send (Enter), and Stop for the running turn. */
import { useState, type FormEvent, type KeyboardEvent } from "react";

import type { ContextName } from "@/lib/chat-state";

const CONTEXTS: { value: ContextName; label: string }[] = [
  { value: "analysis", label: "Analysis" },
  { value: "conversion", label: "Conversion" },
  { value: "review", label: "Review" },
];

interface Props {
  onSend: (content: string, context: ContextName) => void;
  onStop: () => void;
  canStop: boolean;
  disabled: boolean;
}

export function Composer({ onSend, onStop, canStop, disabled }: Props) {
  const [text, setText] = useState("");
  const [context, setContext] = useState<ContextName>("analysis");

  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    const content = text.trim();
    if (!content || disabled) return;
    onSend(content, context);
    setText("");
  };
  const onKey = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      submit();
    }
  };

  return (
    <form className="composer" onSubmit={submit}>
      <textarea
        data-testid="message-input"
        rows={3}
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKey}
        placeholder="Ask about your project… (Enter to send, Shift+Enter for a new line)"
      />
      <div className="row spread">
        <label className="row small">
          Context
          <select data-testid="context-select" value={context} onChange={(e) => setContext(e.target.value as ContextName)}>
            {CONTEXTS.map((c) => (
              <option key={c.value} value={c.value}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        <div className="row">
          {canStop && (
            <button type="button" className="danger" onClick={onStop} data-testid="stop-current">
              Stop
            </button>
          )}
          <button type="submit" className="primary" disabled={disabled || !text.trim()} data-testid="send-button">
            Send
          </button>
        </div>
      </div>
    </form>
  );
}
