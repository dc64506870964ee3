// New host addresses on demand: each address admits one browser once, so whoever runs
// `tumorpredict serve` can ask for another (Enter on its terminal, or SIGUSR1 to its process).
import readline from 'node:readline';
import type { RunningHost } from './host-server';

export interface AddressIo {
  /** Where the addresses go (one per line); stdout for `serve`. */
  out: NodeJS.WritableStream;
  /** Lines typed here each ask for an address (a terminal); null for none. */
  input: NodeJS.ReadableStream | null;
  /** Listens for SIGUSR1 (not on Windows, which has no such signal). */
  signals: boolean;
}

/** Prints a new single-use address on every request; returns a function that stops listening. */
export function printAddressesOnDemand(host: Pick<RunningHost, 'newAddress'>, io: AddressIo): () => void {
  const print = (): void => {
    io.out.write(host.newAddress() + '\n');
  };
  const rl = io.input ? readline.createInterface({ input: io.input, terminal: false }) : null;
  rl?.on('line', print);
  const onSignal = (): void => print();
  if (io.signals && process.platform !== 'win32') process.on('SIGUSR1', onSignal);
  return () => {
    rl?.close();
    if (io.signals) process.off('SIGUSR1', onSignal);
  };
}
