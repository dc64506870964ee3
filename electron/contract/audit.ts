// The audit log as the admin sees it: filtered listing, chain verification and CSV export.
import { z } from 'zod';
import { channel } from './channel';

export const auditOutcomeSchema = z.enum(['success', 'failure', 'refused']);

export const auditRowSchema = z.object({
  id: z.number().int(),
  at: z.string(),
  actorId: z.string().nullable(),
  actor: z.string(),
  action: z.string(),
  objectType: z.string().nullable(),
  objectId: z.string().nullable(),
  outcome: auditOutcomeSchema,
  detail: z.string().nullable(),
  prevHash: z.string(),
  hash: z.string(),
});
export type AuditRowView = z.infer<typeof auditRowSchema>;

export const auditFilterSchema = z
  .object({
    actor: z.string().max(128).optional(),
    /** An action, or a prefix such as "auth" that matches auth.login, auth.logout, ... */
    action: z.string().max(128).optional(),
    objectId: z.string().max(128).optional(),
    outcome: auditOutcomeSchema.optional(),
    /** ISO date-times, inclusive. */
    from: z.string().max(40).optional(),
    to: z.string().max(40).optional(),
  })
  .strict();
export type AuditFilterInput = z.infer<typeof auditFilterSchema>;

export const auditVerifySchema = z.object({
  ok: z.boolean(),
  checked: z.number().int(),
  firstBrokenId: z.number().int().nullable(),
  reason: z.string().nullable(),
});

export const auditChannels = {
  'audit.list': channel({
    summary: 'List audit log rows, newest first, with filters and paging',
    request: auditFilterSchema.extend({ limit: z.number().int().min(1).max(1000).default(100), offset: z.number().int().min(0).default(0) }).strict(),
    response: z.object({
      rows: z.array(auditRowSchema),
      total: z.number().int(),
      /** Names for the ids in these rows: `user:<id>` for actors, `<objectType>:<id>` for objects. */
      names: z.record(z.string(), z.string()).default({}),
    }),
  }),
  'audit.verify': channel({
    summary: 'Walk the audit hash chain and name the first broken row',
    request: z.object({}).strict(),
    response: auditVerifySchema,
  }),
  'audit.exportCsv': channel({
    summary: 'Export audit log rows as CSV',
    request: auditFilterSchema,
    response: z.object({ csv: z.string(), rows: z.number().int() }),
  }),
};
