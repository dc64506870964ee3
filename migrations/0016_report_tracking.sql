-- What a signed report's PDF shows beside its text: the radiologist's measurements and the AI's
-- tumor tracking over the patient's studies, as they stood when the report was signed (JSON: the
-- contract's Tracking plus the measurements' text). Null for reports signed before, and unsigned.
ALTER TABLE reports ADD COLUMN signed_context TEXT;
