// TOTP second factor (RFC 6238: SHA-1, 6 digits, 30-second steps) with otpauth, and its QR code.
import * as OTPAuth from 'otpauth';
import QRCode from 'qrcode';

export const TOTP_ISSUER = 'TumorPredict Workstation';
export const TOTP_PERIOD = 30;

export function newTotpSecret(): string {
  return new OTPAuth.Secret({ size: 20 }).base32;
}

function totpFor(secretBase32: string, label = 'user'): OTPAuth.TOTP {
  return new OTPAuth.TOTP({ issuer: TOTP_ISSUER, label, algorithm: 'SHA1', digits: 6, period: TOTP_PERIOD, secret: OTPAuth.Secret.fromBase32(secretBase32) });
}

export function totpCode(secretBase32: string, timestampMs: number): string {
  return totpFor(secretBase32).generate({ timestamp: timestampMs });
}

/**
 * The time step the code belongs to (one step of clock drift either way is accepted), or null.
 * The caller refuses a step already used, so a code cannot be replayed.
 */
export function totpStep(secretBase32: string, code: string, timestampMs: number): number | null {
  const delta = totpFor(secretBase32).validate({ token: code, timestamp: timestampMs, window: 1 });
  if (delta === null) return null;
  return Math.floor(timestampMs / 1000 / TOTP_PERIOD) + delta;
}

export async function totpEnrolment(secretBase32: string, username: string): Promise<{ uri: string; qrDataUrl: string }> {
  const uri = totpFor(secretBase32, username).toString();
  const qrDataUrl = await QRCode.toDataURL(uri, { errorCorrectionLevel: 'M', margin: 2, width: 240 });
  return { uri, qrDataUrl };
}
