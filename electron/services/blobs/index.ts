// The encrypted content-addressed blob store (AES-256-GCM files named by plaintext sha256).
export { createBlobStore, encryptBlob, decryptBlob, writeBlobFile, stageBlobFile, makeDurable, closeStaged, makeDurableMany, earlySyncQueue, prepareShardFolders, blobPath, blobKey, sha256Hex, BLOB_MAGIC, BLOB_OVERHEAD } from './blob-store';
export type { BlobStore, BlobStoreOptions, BlobIo, StagedBlob, ClosedStagedBlob, EarlySync } from './blob-store';
export { loadOrCreateKek } from './keyring';
