import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The architecture's import direction is a lint rule; this test plants violations (as text
// linted under the path where they would live) and requires the rule to fail on each one,
// and to pass the allowed direction.
const root = path.resolve(import.meta.dirname, '..');
const eslint = new ESLint({ cwd: root });

async function restrictedImportErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, filePath) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('import direction lint rule', () => {
  it.each([
    ['renderer importing main-process code', 'renderer/src/features/planted/Bad.tsx', "import { createWorkstation } from '../../../../electron/ipc/compose';\nexport const x = createWorkstation;\n"],
    ['renderer importing Node', 'renderer/src/features/planted/Bad.ts', "import fs from 'node:fs';\nexport const x = fs;\n"],
    ['a service importing electron', 'electron/services/planted/bad.ts', "import { app } from 'electron';\nexport const x = app;\n"],
    ['a service importing the handler table', 'electron/services/planted/bad.ts', "import { createHandlerTable } from '../../ipc/handler-table';\nexport const x = createHandlerTable;\n"],
    ['a service importing the CLI', 'electron/services/planted/bad.ts', "import { buildProgram } from '../../cli/program';\nexport const x = buildProgram;\n"],
    ['the contract importing a service', 'electron/contract/planted.ts', "import { createLogger } from '../services/log';\nexport const x = createLogger;\n"],
    ['the contract importing Node', 'electron/contract/planted.ts', "import fs from 'node:fs';\nexport const x = fs;\n"],
    ['ipc importing the host', 'electron/ipc/planted.ts', "import { startHost } from '../host';\nexport const x = startHost;\n"],
    ['a handler importing the composition root', 'electron/ipc/handlers/planted.ts', "import type { Services } from '../compose';\nexport type X = Services;\n"],
    ['a service importing test support', 'electron/services/planted/bad.ts', "import { openTestStore } from '../../testing/dicom';\nexport const x = openTestStore;\n"],
    ['ipc importing test support', 'electron/ipc/planted.ts', "import { startOrthanc } from '../testing/sync/orthanc';\nexport const x = startOrthanc;\n"],
    ['a CLI command importing test support', 'electron/cli/commands/planted.ts', "import { startOrthanc } from '../../testing/sync/orthanc';\nexport const x = startOrthanc;\n"],
  ])('fails on %s', async (_label, file, code) => {
    const errors = await restrictedImportErrors(file, code);
    expect(errors.length).toBeGreaterThan(0);
  });

  it.each([
    ['renderer importing the contract', 'renderer/src/features/planted/Ok.ts', "import { ROLES } from '@contract/index';\nexport const x = ROLES;\n"],
    ['a service importing the contract and another service', 'electron/services/planted/ok.ts', "import { WorkstationError } from '../../contract';\nimport { createLogger } from '../log';\nexport const x = [WorkstationError, createLogger];\n"],
    ['ipc importing services', 'electron/ipc/planted.ts', "import { createLogger } from '../services/log';\nexport const x = createLogger;\n"],
    ['the host importing ipc', 'electron/host/planted.ts', "import { createConnection } from '../ipc/handler-table';\nexport const x = createConnection;\n"],
    ['a handler taking the shared types', 'electron/ipc/handlers/planted.ts', "import type { Services } from '../workstation-types';\nexport type X = Services;\n"],
    ['a service test importing test support', 'electron/services/planted/bad.test.ts', "import { openTestStore } from '../../testing/dicom';\nexport const x = openTestStore;\n"],
    ['a handler test building a workstation', 'electron/ipc/handlers/planted.test.ts', "import { createWorkstation } from '../compose';\nexport const x = createWorkstation;\n"],
    ['the bench importing test support', 'electron/cli/bench/planted.ts', "import { startOrthanc } from '../../testing/sync/orthanc';\nexport const x = startOrthanc;\n"],
  ])('allows %s', async (_label, file, code) => {
    expect(await restrictedImportErrors(file, code)).toEqual([]);
  });
});
