"use client";
/** Drops the token cookie and goes to the sign-in page. */
import { signOut } from "@/lib/api/same-origin";

export function SignOut() {
  const onClick = async () => {
    await signOut().catch(() => undefined); // signed out or not, the sign-in page is next
    window.location.href = "/login";
  };
  return (
    <button type="button" className="link-button" onClick={onClick}>
      Sign out
    </button>
  );
}
