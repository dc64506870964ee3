// `tumorpredict user add|list|set-role|lock|unlock|reset-code`: account administration for IT
// admins who script. Passwords come from a hidden prompt or --password-stdin, never argv.
import type { Command } from 'commander';
import { ROLES, WorkstationError, roleSchema, usernameSchema, type Role, type User } from '../../contract';
import { addCommonOptions, withWorkstation, type CommonOptions } from '../shared';
import { cliActor, ensureOpen, promptHidden, readStdin } from './cli-admin';

function parseRole(value: string): Role {
  const r = roleSchema.safeParse(value);
  if (!r.success) throw new WorkstationError('INVALID_INPUT', `Unknown role "${value}"; use one of ${ROLES.join(', ')}.`);
  return r.data;
}

function line(u: User): string {
  const state = u.adminLocked ? 'locked' : u.lockedUntil ? `locked-out until ${u.lockedUntil}` : 'active';
  return [u.username.padEnd(20), u.role.padEnd(12), state.padEnd(10), u.totpEnabled ? 'totp' : '    ', u.id].join(' ');
}

function findUser(ws: Parameters<Parameters<typeof withWorkstation>[1]>[0], username: string): User {
  const u = ws.services.auth.findUserByUsername(username);
  if (!u) throw new WorkstationError('NOT_FOUND', `There is no user named "${username}".`);
  return u;
}

export function registerUser(program: Command): void {
  const user = program.command('user').description('manage user accounts (acts as the local admin; audited as cli:<os user>)');

  addCommonOptions(user.command('add <username>').description('create an account; without a password it prints a one-time code for the user to set one'))
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--name <displayName>', 'display name (default: the username)')
    .option('--patient-id <id>', 'patient record a patient account is linked to')
    .option('--password-stdin', 'read the password from standard input')
    .option('--ask-password', 'ask for the password on the terminal (hidden)')
    .option('--json', 'print JSON')
    .action(async (username: string, opts: CommonOptions & { role: string; name?: string; patientId?: string; passwordStdin?: boolean; askPassword?: boolean; json?: boolean }) => {
      const role = parseRole(opts.role);
      const name = usernameSchema.safeParse(username);
      if (!name.success) throw new WorkstationError('INVALID_INPUT', `The username "${username}" is not valid: use 3-64 letters, digits, dots, dashes or underscores.`);
      let password: string | undefined;
      if (opts.passwordStdin) password = await readStdin();
      else if (opts.askPassword) {
        password = await promptHidden('Password: ');
        if ((await promptHidden('Again: ')) !== password) throw new WorkstationError('INVALID_INPUT', 'The two passwords differ; nothing was created.');
      }
      await withWorkstation(opts, async (ws) => {
        await ensureOpen(ws);
        const r = await ws.services.auth.createUser(cliActor(), { username: name.data, displayName: opts.name ?? name.data, role, patientId: opts.patientId ?? null, password });
        if (opts.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
        else {
          process.stdout.write(`Created ${r.user.username} (${r.user.role}), id ${r.user.id}\n`);
          if (r.resetCode) process.stdout.write(`One-time code for ${r.user.username} to set a password: ${r.resetCode.code} (valid until ${r.resetCode.expiresAt})\n`);
        }
      });
    });

  addCommonOptions(user.command('list').description('list accounts'))
    .option('--json', 'print JSON')
    .action(async (opts: CommonOptions & { json?: boolean }) => {
      await withWorkstation(opts, async (ws) => {
        await ensureOpen(ws);
        const users = ws.services.auth.listUsers();
        process.stdout.write(opts.json ? JSON.stringify(users, null, 2) + '\n' : users.map(line).join('\n') + (users.length ? '\n' : 'No accounts yet.\n'));
      });
    });

  addCommonOptions(user.command('set-role <username> <role>').description("change an account's role (ends its sessions)"))
    .option('--patient-id <id>', 'patient record, when the new role is patient')
    .action(async (username: string, roleArg: string, opts: CommonOptions & { patientId?: string }) => {
      const role = parseRole(roleArg);
      await withWorkstation(opts, async (ws) => {
        await ensureOpen(ws);
        const u = findUser(ws, username);
        const patch = { role, ...(opts.patientId !== undefined ? { patientId: opts.patientId } : role !== 'patient' ? { patientId: null } : {}) };
        const r = ws.services.auth.updateUser(cliActor(), u.id, patch);
        process.stdout.write(`${r.username} is now ${r.role}\n`);
      });
    });

  for (const [cmd, verb] of [['lock', 'locked'], ['unlock', 'unlocked']] as const) {
    addCommonOptions(user.command(`${cmd} <username>`).description(cmd === 'lock' ? 'lock an account and end its sessions' : 'unlock an account (admin lock and failed-sign-in lockout)')).action(async (username: string, opts: CommonOptions) => {
      await withWorkstation(opts, async (ws) => {
        await ensureOpen(ws);
        const u = findUser(ws, username);
        if (cmd === 'lock') ws.services.auth.lockUser(cliActor(), u.id);
        else ws.services.auth.unlockUser(cliActor(), u.id);
        process.stdout.write(`${u.username} ${verb}\n`);
      });
    });
  }

  addCommonOptions(user.command('reset-code <username>').description('issue a one-time, time-limited password reset code'))
    .option('--json', 'print JSON')
    .action(async (username: string, opts: CommonOptions & { json?: boolean }) => {
      await withWorkstation(opts, async (ws) => {
        await ensureOpen(ws);
        const u = findUser(ws, username);
        const code = ws.services.auth.issueResetCode(cliActor(), u.id);
        process.stdout.write(opts.json ? JSON.stringify(code) + '\n' : `Reset code for ${u.username}: ${code.code} (valid until ${code.expiresAt}, once)\n`);
      });
    });
}
