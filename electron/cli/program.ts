// The `tumorpredict` command line: the same services as the app, for IT admins and researchers
// who script. Each sub-command lives in commands/<name>.ts and registers itself here.
import { Command } from 'commander';
import { appVersion } from '../services/config';
import { registerServe } from './commands/serve';
import { registerDoctor } from './commands/doctor';
import { registerBench } from './commands/bench';
import { registerFuzz } from './commands/fuzz';
import { registerImport } from './commands/import';
import { registerScore } from './commands/score';
import { registerSegment } from './commands/segment';
import { registerUser } from './commands/user';
import { registerDb } from './commands/db';
import { registerAudit } from './commands/audit';
import { registerReport } from './commands/report';
import { registerSync } from './commands/sync';
import { registerResearch } from './commands/research';
import { registerFederation } from './commands/federation';

export function buildProgram(): Command {
  const program = new Command('tumorpredict')
    .description('TumorPredict Workstation: brain-tumor MRI workstation (not a medical device)')
    .version(appVersion())
    .showHelpAfterError()
    .exitOverride();
  registerServe(program);
  registerDoctor(program);
  registerBench(program);
  registerFuzz(program);
  registerImport(program);
  registerScore(program);
  registerSegment(program);
  registerUser(program);
  registerDb(program);
  registerAudit(program);
  registerReport(program);
  registerSync(program);
  registerResearch(program);
  registerFederation(program);
  return program;
}
