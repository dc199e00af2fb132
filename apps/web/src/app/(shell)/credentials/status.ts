import type { Credential } from '@/components/admin/types';

export type CredentialStatus = 'active' | 'expired' | 'revoked';

export function credentialStatus(c: Credential, now: number): CredentialStatus {
  if (c.revokedAt) return 'revoked';
  if (c.expiresAt && Date.parse(c.expiresAt) <= now) return 'expired';
  return 'active';
}
