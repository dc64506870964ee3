// Per-user notifications with live delivery (the public surface of services/notifications).
export { createNotificationsService } from './notifications-service';
export type { NotificationsService, NotificationsServiceOptions, NewNotification } from './notifications-service';
