// Runs the `tumorpredict` command line (bin/tumorpredict.js imports this file).
import { buildProgram } from './program';
import { reportError } from './shared';

async function main(): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') process.exit(0);
    if (typeof code === 'string' && code.startsWith('commander.')) process.exit(2);
    process.exit(reportError(err));
  }
}

await main();
