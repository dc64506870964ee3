// The Electron window's security policy as plain data and pure functions, so it is tested
// without the Electron binary: web preferences, which URLs may load, which senders may call
// the API, and which links may open outside.

export const APP_ORIGIN = 'app://workstation';

/** BrowserWindow webPreferences, per Electron's security checklist. */
export const SECURE_WEB_PREFERENCES = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  experimentalFeatures: false,
  webviewTag: false,
  navigateOnDragDrop: false,
  spellcheck: false,
} as const;

/** Navigation stays inside the app's own origin. */
export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'app:' && u.host === 'workstation';
  } catch {
    return false;
  }
}

/** Only the main window's own app page may call the API. */
export function isTrustedSenderUrl(frameUrl: string | undefined | null): boolean {
  return typeof frameUrl === 'string' && isAppUrl(frameUrl);
}

/**
 * Links the app may hand to the system browser: well-formed https without credentials.
 * Anything else (file:, javascript:, smb:, custom schemes) is dropped: shell.openExternal
 * on untrusted input can run programs.
 */
export function safeExternalUrl(url: string): string | null {
  try {
    const u = new URL(url);
    if (u.protocol !== 'https:' || u.username || u.password || !u.hostname) return null;
    return u.toString();
  } catch {
    return null;
  }
}
