// The `tumorpredict` command line: the same services as the app, for IT admins and researchers
// who script. Each sub-command lives in commands/<name>.ts and registers itself here.
import { Command } from 'commander';
import { appVersion } from '../services/config';
import { registerServe } from './commands/serve';
import { registerDoctor } from './commands/doctor';
import { registerBench } from './commands/bench';

export function buildProgram(): Command {
  const program = new Command('tumorpredict')
    .description('TumorPredict Workstation: brain-tumor MRI workstation (not a medical device)')
    .version(appVersion())
    .showHelpAfterError()
    .exitOverride();
  registerServe(program);
  registerDoctor(program);
  registerBench(program);
  return program;
}
