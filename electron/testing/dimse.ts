// Test support for the DIMSE tests: dcmtk's tools run as a scanner would, a TCP proxy that cuts an
// association after some bytes (a transfer cut mid-association), and a hostile file that dcmtk
// sends happily but the import path must refuse (sequences nested past its depth limit).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { createRequire } from 'node:module';

const dcmjs = createRequire(import.meta.url)('dcmjs') as {
  data: { DicomMessage: { readFile(b: ArrayBuffer): { dict: Record<string, unknown>; write(): ArrayBuffer } } };
};

export interface ToolResult {
  code: number;
  out: string;
}

/** Runs a dcmtk tool (echoscu, storescu, findscu, movescu); resolves with its exit code and output. */
export function dcmtk(tool: string, args: string[], timeoutMs = 120_000): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile(`/usr/bin/${tool}`, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

export interface CutProxy {
  readonly port: number;
  /** Bytes forwarded from the client so far. */
  forwarded(): number;
  close(): Promise<void>;
}

/** Forwards TCP to `targetPort`; after `cutAfter` bytes from the client it destroys both sides. */
export async function startCutProxy(targetPort: number, cutAfter: number): Promise<CutProxy> {
  let total = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const cut = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      const room = cutAfter - total;
      if (room <= 0) return cut();
      total += Math.min(room, chunk.length);
      upstream.write(chunk.subarray(0, room));
      if (chunk.length >= room) setImmediate(cut);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('error', cut).on('close', cut);
    upstream.on('error', cut).on('close', cut);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    forwarded: () => total,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A copy of `file` with a sequence nested `depth` deep (past the import path's limit of 64). */
export function deeplyNestedCopy(file: string, out: string, depth = 80): void {
  const src = fs.readFileSync(file);
  const msg = dcmjs.data.DicomMessage.readFile(src.buffer.slice(src.byteOffset, src.byteOffset + src.byteLength));
  let item: Record<string, unknown> = { '00081150': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.4'] } };
  for (let i = 0; i < depth; i++) item = { '00081140': { vr: 'SQ', Value: [item] } };
  Object.assign(msg.dict, item);
  fs.writeFileSync(out, Buffer.from(msg.write()));
}
