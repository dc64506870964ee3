// Serves the built renderer (dist/renderer) to the host and the Electron protocol handler,
// refusing any path that escapes the folder.
import fs from 'node:fs';
import path from 'node:path';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

export interface StaticFile {
  body: Buffer;
  contentType: string;
}

/** Resolves a URL path inside root; index.html for '/' and for unknown routes (SPA). */
export function readStaticFile(root: string, urlPath: string): StaticFile | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath.split('?')[0] ?? '/');
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const rel = decoded === '/' || decoded === '' ? 'index.html' : decoded.replace(/^\/+/, '');
  const full = path.resolve(root, rel);
  if (full !== root && !full.startsWith(root + path.sep)) return null;
  let target = full;
  if (!fs.existsSync(target) || fs.statSync(target).isDirectory()) {
    // Routes of the single-page app fall back to index.html; missing assets are 404s.
    if (path.extname(rel)) return null;
    target = path.join(root, 'index.html');
    if (!fs.existsSync(target)) return null;
  }
  return { body: fs.readFileSync(target), contentType: MIME[path.extname(target)] ?? 'application/octet-stream' };
}

export function rendererDistFolder(appRoot: string): string {
  return path.join(appRoot, 'dist', 'renderer');
}
