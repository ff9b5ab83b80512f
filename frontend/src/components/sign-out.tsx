"use client";
/** Drops the token cookie and goes to the sign-in page. */
export function SignOut() {
  const signOut = async () => {
    await fetch("/api/session/logout", { method: "POST" });
    window.location.href = "/login";
  };
  return (
    <button type="button" className="link-button" onClick={signOut}>
      Sign out
    </button>
  );
}
