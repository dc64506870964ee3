// The Electron main process: one hardened window over the same handler table as the host.
// Only this file and preload.ts import electron; everything else is plain Node.
import path from 'node:path';
import { app, BrowserWindow, ipcMain, Menu, protocol, session, shell, type WebContents } from 'electron';
import { createWorkstation, type Workstation } from './ipc/compose';
import { createConnection, type Connection } from './ipc/handler-table';
import { resolveConfig, appRoot } from './services/config';
import { contentSecurityPolicy, readStaticFile, rendererDistFolder, SECURITY_HEADERS } from './host';
import { APP_ORIGIN, applicationMenu, isAppUrl, isTrustedSenderUrl, safeExternalUrl, webPreferencesFor } from './window-policy';

// The renderer is served from a privileged custom scheme, not file://, so it has a real origin
// that CSP and sender checks can name.
protocol.registerSchemesAsPrivileged([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

function parseDataFlag(argv: readonly string[]): string | undefined {
  const i = argv.indexOf('--data');
  return i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--data='))?.slice('--data='.length);
}

// Every renderer sandboxed, whatever a window asks for.
app.enableSandbox();

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  let workstation: Workstation | null = null;
  let mainWindow: BrowserWindow | null = null;
  const connections = new Map<number, Connection>();

  app.on('second-instance', () => {
    if (mainWindow) {
      if (mainWindow.isMinimized()) mainWindow.restore();
      mainWindow.focus();
    }
  });

  // Every web contents: no navigation away from the app, no new windows, no webviews.
  app.on('web-contents-created', (_e, contents) => {
    contents.on('will-navigate', (event, url) => {
      if (!isAppUrl(url)) event.preventDefault();
    });
    contents.on('will-redirect', (event, url) => {
      if (!isAppUrl(url)) event.preventDefault();
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
    // Belt and braces: should DevTools open anyway in a packaged build, close them at once.
    if (app.isPackaged) contents.on('devtools-opened', () => contents.closeDevTools());
    contents.setWindowOpenHandler(({ url }) => {
      // Only well-formed https links to the outside open, in the system browser.
      const external = safeExternalUrl(url);
      if (external) void shell.openExternal(external);
      return { action: 'deny' };
    });
  });

  function isTrustedSender(sender: WebContents, frameUrl: string | undefined): boolean {
    return mainWindow !== null && sender === mainWindow.webContents && isTrustedSenderUrl(frameUrl);
  }

  void app.whenReady().then(async () => {
    // A packaged build: no default menu (Reload, Toggle Developer Tools) and no DevTools.
    const menu = applicationMenu(process.platform, app.isPackaged);
    if (menu !== 'default') Menu.setApplicationMenu(menu ? Menu.buildFromTemplate(menu) : null);
    const dataFolder = parseDataFlag(process.argv);
    workstation = await createWorkstation(
      resolveConfig({ transport: 'electron', electronVersion: process.versions.electron ?? null, ...(dataFolder ? { dataFolder } : {}) }),
    );
    const rendererDir = rendererDistFolder(appRoot());

    session.defaultSession.setPermissionRequestHandler((_wc, _perm, callback) => callback(false));
    session.defaultSession.setPermissionCheckHandler(() => false);

    protocol.handle('app', (request) => {
      const url = new URL(request.url);
      if (url.host !== 'workstation') return new Response('Not found', { status: 404 });
      const file = readStaticFile(rendererDir, url.pathname);
      if (!file) return new Response('Not found', { status: 404 });
      return new Response(new Uint8Array(file.body), {
        headers: { 'Content-Type': file.contentType, 'Content-Security-Policy': contentSecurityPolicy(), ...SECURITY_HEADERS },
      });
    });

    ipcMain.handle('workstation:call', async (event, envelope: unknown) => {
      if (!isTrustedSender(event.sender, event.senderFrame?.url)) {
        workstation?.logger.warn('ipc.untrusted-sender', { url: event.senderFrame?.url?.slice(0, 64) });
        return { id: 0, ok: false, error: { code: 'FORBIDDEN', message: 'This window may not use the workstation API.' } };
      }
      let conn = connections.get(event.sender.id);
      if (!conn) {
        const sender = event.sender;
        conn = createConnection('electron', (e) => {
          if (!sender.isDestroyed()) sender.send('workstation:event', e);
        });
        connections.set(sender.id, conn);
        const closing = conn;
        sender.once('destroyed', () => {
          // A closed window's connection holds no session: live events stop going to it.
          closing.sessionToken = null;
          connections.delete(sender.id);
        });
      }
      return workstation!.table.dispatch(conn, envelope);
    });

    mainWindow = new BrowserWindow({
      width: 1440,
      height: 900,
      backgroundColor: '#0b0d10',
      title: 'TumorPredict Workstation',
      webPreferences: { ...webPreferencesFor(app.isPackaged), preload: path.join(appRoot(), 'build', 'out', 'preload.cjs') },
    });
    mainWindow.on('closed', () => {
      mainWindow = null;
    });
    await mainWindow.loadURL(`${APP_ORIGIN}/index.html`);
  });

  app.on('window-all-closed', () => {
    void workstation?.close().finally(() => app.quit());
  });
}
