-- The MR acquisition fields of a series (Protocol Name, Scanning Sequence, Sequence Variant and
-- Name, TR, TE, TI, Contrast/Bolus Agent) as JSON, so the AI panel can tell which sequence a series
-- is and say when it is outside what the model was validated on. Series imported before this
-- migration have NULL and are judged by their Series Description alone (they learn the fields
-- when any of their files is imported again).
ALTER TABLE series ADD COLUMN acquisition TEXT;
