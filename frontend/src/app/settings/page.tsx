import { CredentialSettings } from "@/components/credential-settings";

export default function SettingsPage() {
  return <CredentialSettings />;
}
