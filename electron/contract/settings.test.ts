// settings.update takes only the keys it is given: a request naming one setting must not carry
// the defaults of all the others (zod's .partial() keeps .default() values, which reset them).
import { describe, expect, it } from 'vitest';
import { CHANNELS, DEFAULT_SETTINGS, settingsSchema } from './index';

describe('settings.update request', () => {
  it('names only the settings it was given', () => {
    const parsed = CHANNELS['settings.update'].request.parse({ patientSeesBeforeReview: 'preliminary-ai' });
    expect(parsed).toEqual({ patientSeesBeforeReview: 'preliminary-ai' });
  });

  it('still validates each value and refuses unknown keys', () => {
    expect(CHANNELS['settings.update'].request.safeParse({ sessionIdleMinutes: 0 }).success).toBe(false);
    expect(CHANNELS['settings.update'].request.safeParse({ noSuchSetting: 1 }).success).toBe(false);
    expect(CHANNELS['settings.update'].request.safeParse({ careTeamUserIds: ['a', 'b'] }).success).toBe(true);
  });

  it('accepts every setting the schema has', () => {
    expect(CHANNELS['settings.update'].request.parse(DEFAULT_SETTINGS)).toEqual(settingsSchema.parse({}));
  });
});
