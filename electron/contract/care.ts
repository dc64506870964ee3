// What the hospital tells its patients: health tips (short, sourced, reviewed Markdown an admin
// edits; rendered without HTML, scripts or remote images), the care team the admin chose, the
// department contact, and the emergency page (the hospital's number and contacts, with a default
// that says to call the local emergency number).
import { z } from 'zod';
import { channel } from './channel';

const id = z.string().min(1).max(64);

export const MAX_TIP_MARKDOWN_CHARS = 20_000;

/** Shown on the emergency page while an admin has not entered the hospital's own number. */
export const DEFAULT_EMERGENCY_TEXT = 'In an emergency, call your local emergency number now (for example 112 in Europe or 911 in North America), or go to the nearest emergency department.';
/** Shown beside every urgent message and on the emergency page. */
export const DONT_WAIT_SENTENCE = 'In an emergency, do not wait for a reply to your message: call the emergency number now.';

export const tipSourceSchema = z.object({
  title: z.string().trim().min(1).max(200),
  url: z
    .string()
    .trim()
    .max(500)
    .regex(/^https?:\/\/[^\s<>"]+$/, 'a web address starting with https:// (or http://)'),
});
export type TipSource = z.infer<typeof tipSourceSchema>;

export const healthTipSchema = z.object({
  id: z.string(),
  position: z.number().int(),
  title: z.string(),
  bodyMarkdown: z.string(),
  sources: z.array(tipSourceSchema),
  /** Who reviewed the content (free text, e.g. "Dr A. Jones, neuroradiology"). */
  reviewedBy: z.string(),
  /** YYYY-MM-DD, or null when not reviewed yet. */
  reviewedOn: z.string().nullable(),
  updatedAt: z.string(),
});
export type HealthTip = z.infer<typeof healthTipSchema>;

export const careTeamMemberSchema = z.object({ name: z.string(), role: z.string() });
export type CareTeamMember = z.infer<typeof careTeamMemberSchema>;

export const careInfoSchema = z.object({
  team: z.array(careTeamMemberSchema),
  /** The department's contact (phone, hours, address), as the admin wrote it; '' when not set. */
  department: z.string(),
  emergency: z.object({
    /** The hospital's emergency number, or null while none is set (the default text applies). */
    number: z.string().nullable(),
    /** Further contacts, one per line as the admin wrote them. */
    contacts: z.array(z.string()),
    text: z.string(),
  }),
});
export type CareInfo = z.infer<typeof careInfoSchema>;

export const careChannels = {
  'tips.list': channel({
    summary: 'The health tips for patients, in order',
    request: z.object({}).strict(),
    response: z.object({ tips: z.array(healthTipSchema) }),
  }),
  'tips.save': channel({
    summary: 'Create or change a health tip (Markdown, its sources, who reviewed it)',
    request: z
      .object({
        id: id.optional(),
        title: z.string().trim().min(1, 'Give the page a title.').max(200),
        bodyMarkdown: z.string().trim().min(1, 'Write the text of the page.').max(MAX_TIP_MARKDOWN_CHARS),
        sources: z.array(tipSourceSchema).max(20),
        reviewedBy: z.string().trim().max(200),
        reviewedOn: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD').nullable(),
        position: z.number().int().min(0).max(10_000).optional(),
      })
      .strict(),
    response: z.object({ tip: healthTipSchema }),
  }),
  'tips.delete': channel({
    summary: 'Delete a health tip',
    request: z.object({ id }).strict(),
    response: z.object({ deleted: z.literal(true) }),
  }),
  'care.info': channel({
    summary: 'My care team, the department contact and the emergency numbers',
    request: z.object({}).strict(),
    response: careInfoSchema,
  }),
};
