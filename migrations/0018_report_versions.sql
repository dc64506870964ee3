-- Report DICOM versions: the radiologist measurements signed with a report (a JSON snapshot the
-- SR is written from and the content hash covers), and the SOP Instance UID of the SR version
-- each signed addendum made (its Predecessor Documents Sequence names the version before).
ALTER TABLE reports ADD COLUMN signed_measurements TEXT;
ALTER TABLE report_addenda ADD COLUMN sr_sop_uid TEXT;

CREATE TRIGGER reports_signed_measurements_frozen BEFORE UPDATE OF signed_measurements ON reports
WHEN OLD.status IN ('final', 'rejected') AND NEW.signed_measurements IS NOT OLD.signed_measurements
BEGIN
  SELECT RAISE(ABORT, 'a signed report cannot be changed; add an addendum');
END;
