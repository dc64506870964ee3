import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SECURE_WEB_PREFERENCES, applicationMenu, isAppUrl, isTrustedSenderUrl, safeExternalUrl, webPreferencesFor } from './window-policy';

// The Electron binary cannot run here, so the security checklist is tested two ways: the
// policy functions directly, and the main/preload sources for the calls that apply them.
const main = fs.readFileSync(path.join(import.meta.dirname, 'main.ts'), 'utf8');
const preload = fs.readFileSync(path.join(import.meta.dirname, 'preload.ts'), 'utf8');

describe('Electron window policy', () => {
  it('hardens webPreferences per the checklist', () => {
    expect(SECURE_WEB_PREFERENCES).toMatchObject({
      contextIsolation: true, sandbox: true, nodeIntegration: false, nodeIntegrationInWorker: false,
      webSecurity: true, allowRunningInsecureContent: false, experimentalFeatures: false, webviewTag: false,
    });
    expect(main).toMatch(/webPreferences: \{ \.\.\.webPreferencesFor\(app\.isPackaged\), preload:/);
    expect(main).not.toMatch(/enableBlinkFeatures|nodeIntegration:\s*true|contextIsolation:\s*false|sandbox:\s*false/);
  });

  it('a packaged build has no DevTools and no default menu (Reload, Toggle Developer Tools)', () => {
    expect(webPreferencesFor(true)).toMatchObject({ ...SECURE_WEB_PREFERENCES, devTools: false });
    expect(webPreferencesFor(false).devTools).toBe(true);
    expect(applicationMenu('linux', true)).toBeNull();
    expect(applicationMenu('win32', true)).toBeNull();
    expect(applicationMenu('darwin', true)).toEqual([{ role: 'appMenu' }, { role: 'editMenu' }, { role: 'windowMenu' }]);
    expect(applicationMenu('linux', false)).toBe('default');
    // main.ts applies both before the window opens.
    expect(main).toMatch(/applicationMenu\(process\.platform, app\.isPackaged\)[\s\S]*Menu\.setApplicationMenu\([\s\S]*new BrowserWindow/);
    expect(main).toMatch(/devtools-opened[\s\S]*closeDevTools/);
  });

  it('keeps navigation inside the app origin', () => {
    expect(isAppUrl('app://workstation/index.html')).toBe(true);
    for (const url of ['https://evil.example/', 'file:///etc/passwd', 'app://other/', 'javascript:alert(1)', 'not a url']) {
      expect(isAppUrl(url), url).toBe(false);
    }
    expect(main).toMatch(/will-navigate[\s\S]*isAppUrl/);
    expect(main).toMatch(/will-redirect[\s\S]*isAppUrl/);
    expect(main).toMatch(/will-attach-webview[\s\S]*preventDefault/);
  });

  it('accepts API calls only from the app page of the main window', () => {
    expect(isTrustedSenderUrl('app://workstation/index.html')).toBe(true);
    expect(isTrustedSenderUrl('https://evil.example/')).toBe(false);
    expect(isTrustedSenderUrl(undefined)).toBe(false);
    expect(main).toMatch(/ipcMain\.handle\('workstation:call'[\s\S]*isTrustedSender\(event\.sender, event\.senderFrame/);
  });

  it('opens only https links outside, never other schemes', () => {
    expect(safeExternalUrl('https://www.who.int/x')).toBe('https://www.who.int/x');
    for (const url of ['file:///bin/sh', 'smb://host/share', 'javascript:alert(1)', 'http://plain.example', 'https://user:pw@host/', 'ms-msdt:foo']) {
      expect(safeExternalUrl(url), url).toBeNull();
    }
    expect(main).toMatch(/setWindowOpenHandler[\s\S]*safeExternalUrl[\s\S]*action: 'deny'/);
  });

  it('denies permission requests, locks to one instance, sandboxes all renderers and serves app:// not file://', () => {
    expect(main).toMatch(/setPermissionRequestHandler\(\(_wc, _perm, callback\) => callback\(false\)\)/);
    expect(main).toMatch(/setPermissionCheckHandler\(\(\) => false\)/);
    expect(main).toMatch(/requestSingleInstanceLock\(\)/);
    expect(main).toMatch(/app\.enableSandbox\(\)/);
    expect(main).toMatch(/protocol\.handle\('app'/);
    expect(main).toMatch(/'Content-Security-Policy': contentSecurityPolicy\(\)/);
    expect(main).not.toMatch(/loadFile\(|loadURL\(['`]file:/);
  });

  it('exposes only the contract bridge from the preload, never ipcRenderer', () => {
    const exposed = [...preload.matchAll(/exposeInMainWorld\('(\w+)'/g)].map((m) => m[1]);
    expect(exposed).toEqual(['workstation']);
    expect(preload).toMatch(/exposeInMainWorld\('workstation', bridge\)/);
    expect(preload).not.toMatch(/exposeInMainWorld\([^)]*ipcRenderer/);
    expect(preload).toMatch(/isChannelName\(channel\)/);
  });
});
