// Starts and stops a real Orthanc (Debian's package, with its DICOMweb plugin) on 127.0.0.1 for
// tests and the bench: its own config, ports and storage in a temp folder; stopped by PID.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';

export const ORTHANC_BINARY = '/usr/sbin/Orthanc';
export const ORTHANC_PLUGIN_DIR = '/usr/share/orthanc/plugins';
export const DICOMWEB_PLUGIN = path.join(ORTHANC_PLUGIN_DIR, 'libOrthancDicomWeb.so');
export const GDCM_PLUGIN = path.join(ORTHANC_PLUGIN_DIR, 'libOrthancGdcm.so');

export interface OrthancOptions {
  /** Folder for storage and index; a fresh temp folder when absent. Reuse it to restart with the same data. */
  dir?: string;
  httpPort?: number;
  dicomPort?: number;
  username?: string;
  password?: string;
  aet?: string;
  /** DICOM peers Orthanc knows (C-MOVE destinations, allowed to find and move): name -> AE, host, port. */
  modalities?: Record<string, { aeTitle: string; host: string; port: number }>;
}

export interface OrthancServer {
  readonly dir: string;
  readonly httpPort: number;
  readonly dicomPort: number;
  readonly aet: string;
  readonly username: string;
  readonly password: string;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** The DICOMweb root, http://127.0.0.1:PORT/dicom-web */
  readonly dicomWebUrl: string;
  readonly pid: number;
  /** Orthanc's REST API with the admin credentials (for checks in tests, not the client under test). */
  rest<T = unknown>(method: string, pathname: string, body?: Buffer | string): Promise<{ status: number; body: T }>;
  /** Sends files with dcmtk's dcmsend over DIMSE (the way a modality would). */
  dcmsend(files: string[]): Promise<void>;
  /** SIGKILL, at once (a crash). */
  kill(): Promise<void>;
  /** SIGTERM and wait for the process to end. */
  stop(): Promise<void>;
  /** Starts again on the same ports and storage. */
  restart(): Promise<void>;
  /** stop(), then removes its folder (configuration and storage): the end of a test file. */
  dispose(): Promise<void>;
  running(): boolean;
}

export function missingOrthancParts(): string[] {
  const missing: string[] = [];
  if (!fs.existsSync(ORTHANC_BINARY)) missing.push('orthanc (apt-get install orthanc)');
  if (!fs.existsSync(DICOMWEB_PLUGIN)) missing.push('orthanc-dicomweb (apt-get install orthanc-dicomweb)');
  if (!fs.existsSync('/usr/bin/dcmsend')) missing.push('dcmtk (apt-get install dcmtk)');
  return missing;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function request(url: string, method: string, auth: string, body?: Buffer | string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { authorization: auth, ...(body ? { 'content-length': Buffer.byteLength(body) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function startOrthanc(options: OrthancOptions = {}): Promise<OrthancServer> {
  const missing = missingOrthancParts();
  if (missing.length) throw new Error(`The DICOMweb tests need a real Orthanc; install: ${missing.join(', ')}`);
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tp-orthanc-'));
  fs.mkdirSync(path.join(dir, 'storage'), { recursive: true });
  const httpPort = options.httpPort ?? (await freePort());
  const dicomPort = options.dicomPort ?? (await freePort());
  const username = options.username ?? 'tpadmin';
  const password = options.password ?? 'orthanc-test-secret';
  const aet = options.aet ?? 'TPTESTPACS';
  const plugins = [DICOMWEB_PLUGIN, ...(fs.existsSync(GDCM_PLUGIN) ? [GDCM_PLUGIN] : [])];
  const config = {
    Name: 'tp-test-orthanc',
    StorageDirectory: path.join(dir, 'storage'),
    IndexDirectory: path.join(dir, 'storage'),
    Plugins: plugins,
    HttpPort: httpPort,
    DicomPort: dicomPort,
    DicomAet: aet,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: true,
    RegisteredUsers: { [username]: password },
    HttpTimeout: 60,
    StableAge: 1,
    DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: true, Host: `127.0.0.1:${httpPort}`, Ssl: false, StudiesMetadata: 'Full', SeriesMetadata: 'Full' },
    // Let dcmsend from any AE store (tests act as the modality).
    DicomCheckCalledAet: false,
    UnknownSopClassAccepted: true,
    DicomModalities: Object.fromEntries(Object.entries(options.modalities ?? {}).map(([k, m]) => [k, [m.aeTitle, m.host, m.port]])),
  };
  const configFile = path.join(dir, 'orthanc.json');
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  const logFile = path.join(dir, 'orthanc.log');
  const auth = 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64');
  const url = `http://127.0.0.1:${httpPort}`;

  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();

  const launch = async (): Promise<void> => {
    const log = fs.openSync(logFile, 'a');
    const proc = spawn(ORTHANC_BINARY, [configFile], { stdio: ['ignore', log, log], detached: false });
    fs.closeSync(log);
    child = proc;
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`Orthanc exited at start (code ${proc.exitCode}); see ${logFile}:\n${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
      try {
        const r = await request(`${url}/system`, 'GET', auth);
        if (r.status === 200) {
          const root = await request(`${url}/dicom-web/studies?limit=1`, 'GET', auth);
          if (root.status === 200 || root.status === 204) return;
        }
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`Orthanc did not answer within 30 s; see ${logFile}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  await launch();

  const server: OrthancServer = {
    dir,
    httpPort,
    dicomPort,
    aet,
    username,
    password,
    url,
    dicomWebUrl: `${url}/dicom-web`,
    get pid() {
      return child?.pid ?? -1;
    },
    async rest<T>(method: string, pathname: string, body?: Buffer | string) {
      const r = await request(url + pathname, method, auth, body);
      let parsed: unknown = r.text;
      try {
        parsed = JSON.parse(r.text);
      } catch {
        // not JSON
      }
      return { status: r.status, body: parsed as T };
    },
    dcmsend(files) {
      return new Promise((resolve, reject) => {
        execFile('/usr/bin/dcmsend', ['-aec', aet, '-aet', 'TPMODALITY', '127.0.0.1', String(dicomPort), ...files], (err, _out, stderr) => {
          if (err) reject(new Error(`dcmsend failed: ${stderr || err.message}`));
          else resolve();
        });
      });
    },
    async kill() {
      if (child && child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid!, 'SIGKILL');
        await exited;
      }
    },
    async stop() {
      if (child && child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid!, 'SIGTERM');
        const t = setTimeout(() => child?.pid && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 15_000);
        await exited;
        clearTimeout(t);
      }
    },
    async restart() {
      await server.stop();
      await launch();
    },
    async dispose() {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
    running() {
      return !!child && child.exitCode === null && child.signalCode === null;
    },
  };
  return server;
}
