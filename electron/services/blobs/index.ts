// The encrypted content-addressed blob store (AES-256-GCM files named by plaintext sha256).
export { createBlobStore, encryptBlob, decryptBlob, writeBlobFile, stageBlobFile, makeDurable, blobPath, blobKey, sha256Hex, BLOB_MAGIC, BLOB_OVERHEAD } from './blob-store';
export type { BlobStore, BlobStoreOptions, BlobIo, StagedBlob } from './blob-store';
export { loadOrCreateKek } from './keyring';
