-- Source geometry that derived objects must repeat: a SEG made from a series shares its Frame of
-- Reference (so a PACS viewer registers the mask on the images), and its Pixel Measures carry
-- the source's slice thickness. Null for files imported before this migration (and for files
-- that do not say): the SEG writer then falls back as it did before.
ALTER TABLE series ADD COLUMN frame_of_reference_uid TEXT;
ALTER TABLE instances ADD COLUMN slice_thickness REAL;
