// Every channel of the API, by name. Adding a channel here without a row in permissions.ts
// fails the type check and the generated permission test.
import type { z } from 'zod';
import { systemChannels } from './system';
import { dicomChannels } from './dicom';
import { authChannels } from './auth';
import { usersChannels } from './users';
import { auditChannels } from './audit';
import { settingsChannels } from './settings';
import { inferenceChannels } from './inference';
import { syncChannels } from './sync';
import { dimseChannels } from './dimse';
import { researchChannels } from './research';
import { aiChannels } from './ai';
import { reportsChannels } from './reports';
import { patientsChannels } from './patients';
import { messagesChannels } from './messages';
import { federationChannels } from './federation';
import { measurementsChannels } from './measurements';
import { trackingChannels } from './tracking';
import { uploadsChannels } from './uploads';
import { notificationsChannels } from './notifications';
import { careChannels } from './care';

export const CHANNELS = {
  ...systemChannels,
  ...dicomChannels,
  ...authChannels, ...usersChannels, ...auditChannels, ...settingsChannels,
  ...inferenceChannels,
  ...syncChannels,
  ...dimseChannels,
  ...researchChannels,
  ...aiChannels,
  ...reportsChannels,
  ...patientsChannels,
  ...messagesChannels,
  ...measurementsChannels,
  ...trackingChannels,
  ...federationChannels,
  ...uploadsChannels,
  ...notificationsChannels,
  ...careChannels,
} as const;

export type ChannelName = keyof typeof CHANNELS;
export type RequestOf<C extends ChannelName> = z.input<(typeof CHANNELS)[C]['request']>;
export type ResponseOf<C extends ChannelName> = z.output<(typeof CHANNELS)[C]['response']>;

export const CHANNEL_NAMES = Object.keys(CHANNELS) as ChannelName[];

export function isChannelName(name: unknown): name is ChannelName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(CHANNELS, name);
}
