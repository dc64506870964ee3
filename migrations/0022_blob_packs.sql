-- Small blobs are appended to pack files under blobs/packs/ instead of a file each: the row of a
-- packed blob says which pack and at which offset its record starts (its length follows from
-- size). Both null: the blob is a file of its own, blobs/<2 hex>/<hash>, as before.
ALTER TABLE blobs ADD COLUMN pack TEXT CHECK (pack IS NULL OR length(pack) BETWEEN 10 AND 45);
ALTER TABLE blobs ADD COLUMN pack_offset INTEGER CHECK (pack_offset IS NULL OR pack_offset >= 0);
