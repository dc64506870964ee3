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

/**
 * webPreferences for this build: a packaged (installed) build has no DevTools at all, so nobody
 * at the workstation can open a console inside the signed-in renderer; a checkout keeps them.
 */
export function webPreferencesFor(packaged: boolean): typeof SECURE_WEB_PREFERENCES & { devTools: boolean } {
  return { ...SECURE_WEB_PREFERENCES, devTools: !packaged };
}

/** A menu entry by Electron role (plain data, so this file needs no Electron import). */
export interface MenuRole {
  role: 'appMenu' | 'editMenu' | 'windowMenu';
}

/**
 * The application menu. Electron's default menu has Reload and Toggle Developer Tools, so a
 * packaged build replaces it: no menu on Linux and Windows, and on macOS only the app, edit
 * (copy and paste need it there) and window menus. 'default' keeps Electron's menu in a checkout.
 */
export function applicationMenu(platform: NodeJS.Platform, packaged: boolean): MenuRole[] | null | 'default' {
  if (!packaged) return 'default';
  return platform === 'darwin' ? [{ role: 'appMenu' }, { role: 'editMenu' }, { role: 'windowMenu' }] : null;
}

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
