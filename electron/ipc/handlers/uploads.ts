// Handlers for the uploads.* and reviews.* channels: the session is the service's actor (so a
// patient's upload is always filed under their own record), and files in transit belong to the
// connection that sent them.
import type { Handlers } from '../handler-table';
import type { Services } from '../workstation-types';
import { sessionOf } from './auth';

type UploadChannels = Extract<keyof Handlers, `uploads.${string}` | `reviews.${string}`>;

export function uploadsHandlers(services: Pick<Services, 'uploads'>): Pick<Handlers, UploadChannels> {
  const { uploads } = services;
  return {
    'uploads.begin': (req, ctx) => uploads.begin(sessionOf(ctx.session), req.name, req.size, ctx.connection.id),
    'uploads.chunk': (req, ctx) => uploads.chunk(sessionOf(ctx.session), req.fileId, req.offset, Buffer.from(req.data, 'base64'), ctx.connection.id),
    'uploads.submit': (req, ctx) => uploads.submit(sessionOf(ctx.session), req, ctx.connection.id),
    'uploads.mine': (_req, ctx) => uploads.mine(sessionOf(ctx.session)),
    'reviews.list': (req, ctx) => uploads.list(sessionOf(ctx.session), req),
    'reviews.get': (req, ctx) => uploads.get(sessionOf(ctx.session), req.uploadId),
    'reviews.approve': (req, ctx) => uploads.approve(sessionOf(ctx.session), req.uploadId),
    'reviews.reject': (req, ctx) => uploads.reject(sessionOf(ctx.session), req.uploadId, req.reason),
    'reviews.saveNotes': (req, ctx) => uploads.saveNotes(sessionOf(ctx.session), req.uploadId, req.notes),
  };
}
