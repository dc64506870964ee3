// Secure messages between a patient and the care team (the public surface of services/messages).
export { createMessagesService, messagePreview, UNLINKED_PATIENT_SENTENCE } from './messages-service';
export type { MessagesService, MessagesServiceOptions, MessageActor } from './messages-service';
