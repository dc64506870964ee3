-- Research data sets may record where each item came from and which MR sequence it is (a CSV's
-- `source` and `sequence` columns): comparisons break their metrics down by these.
ALTER TABLE research_items ADD COLUMN source TEXT;
ALTER TABLE research_items ADD COLUMN sequence TEXT;
