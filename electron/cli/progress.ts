// Progress reporting for long CLI runs: a redrawn bar on stderr when it is a terminal, a plain
// percentage line every 10% otherwise (logs and CI), so stdout stays clean for data.
export interface Progress {
  update(done: number, total: number, failed?: number): void;
  finish(): void;
}

export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = !!stream.isTTY;
  const t0 = performance.now();
  let lastPct = -1;
  let lastDraw = 0;
  let drawn = false;
  return {
    update(done, total, failed = 0) {
      const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
      const secs = (performance.now() - t0) / 1000;
      const rate = secs > 0 ? done / secs : 0;
      if (tty) {
        const now = performance.now();
        if (now - lastDraw < 80 && done < total) return; // redraw at most ~12 times a second
        lastDraw = now;
        const width = 30;
        const filled = Math.round((pct / 100) * width);
        const eta = rate > 0 ? Math.ceil((total - done) / rate) : 0;
        const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
        stream.write(`\r${label} [${bar}] ${String(pct).padStart(3)}% ${done}/${total}${failed ? ` (${failed} unreadable)` : ''} ${rate.toFixed(1)} img/s ETA ${eta}s\x1b[K`);
        drawn = true;
      } else {
        const step = Math.floor(pct / 10) * 10;
        if (step > lastPct) {
          lastPct = step;
          stream.write(`${label}: ${step}% (${done}/${total})\n`);
        }
      }
    },
    finish() {
      if (tty && drawn) stream.write('\n');
    },
  };
}
