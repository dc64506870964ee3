// The encrypted content-addressed blob store (AES-256-GCM, named by plaintext sha256): small blobs in pack files, large ones a file each.
export { createBlobStore, readStoredBlob, encryptBlob, sealBlob, sealedParts, ownsBuffer, decryptBlob, writeBlobFile, stageBlobFile, makeDurable, closeStaged, makeDurableMany, earlySyncQueue, prepareShardFolders, blobPath, blobKey, sha256Hex, BLOB_MAGIC, BLOB_OVERHEAD } from './blob-store';
export type { SealedBlob, BlobStore, BlobStoreOptions, BlobIo, StagedBlob, ClosedStagedBlob, EarlySync } from './blob-store';
export { loadOrCreateKek } from './keyring';
export { createPackWriter, readPacked, recordLength, packFolder, PACK_MAX_BLOB_BYTES } from './packs';
export type { PackWriter, PackLocation, PackedBlob, PackAppend, PackIo } from './packs';
