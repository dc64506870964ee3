-- The patient's and the doctor's loop: images a patient (or the care team for them) uploads for
-- review, filed under the patient's own record; per-user notifications; urgent messages; and the
-- health tips an admin edits (with a few sourced starter pages).

-- One upload = one new study of its own under patient_id (its UIDs are derived from the upload),
-- reviewed once by a radiologist: approved (it becomes a report draft) or rejected with a reason.
CREATE TABLE patient_uploads (
  id               TEXT PRIMARY KEY,
  patient_id       TEXT NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
  study_id         TEXT REFERENCES studies (id) ON DELETE RESTRICT,
  uploaded_by      TEXT NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
  uploaded_by_role TEXT NOT NULL CHECK (uploaded_by_role IN ('patient', 'radiologist')),
  received_at      TEXT NOT NULL,
  files            INTEGER NOT NULL CHECK (files >= 0),
  imported         INTEGER NOT NULL CHECK (imported >= 0),
  refused          INTEGER NOT NULL CHECK (refused >= 0),
  dicom_files      INTEGER NOT NULL DEFAULT 0,
  image_files      INTEGER NOT NULL DEFAULT 0,
  -- JSON [{ "name": ..., "reason": ... }]: why files were not used (at most 50 kept).
  refusals         TEXT NOT NULL DEFAULT '[]',
  -- JSON list of the distinct Patient IDs the DICOM files carried: shown to the radiologist when
  -- they differ from the record's; never used to file the upload.
  file_patient_ids TEXT NOT NULL DEFAULT '[]',
  review           TEXT NOT NULL DEFAULT 'pending' CHECK (review IN ('pending', 'approved', 'rejected')),
  reviewed_by      TEXT REFERENCES users (id) ON DELETE RESTRICT,
  reviewed_at      TEXT,
  -- Said to the patient when the upload is rejected.
  reject_reason    TEXT CHECK (reject_reason IS NULL OR length(reject_reason) BETWEEN 1 AND 1000),
  report_id        TEXT REFERENCES reports (id) ON DELETE RESTRICT,
  -- The care team's internal notes; never shown to the patient.
  notes            TEXT NOT NULL DEFAULT '' CHECK (length(notes) <= 20000),
  updated_at       TEXT NOT NULL,
  CHECK ((review = 'rejected') = (reject_reason IS NOT NULL)),
  CHECK ((review = 'pending') = (reviewed_at IS NULL)),
  CHECK ((review = 'pending') = (reviewed_by IS NULL))
) STRICT;
CREATE INDEX patient_uploads_patient ON patient_uploads (patient_id, received_at DESC);
CREATE INDEX patient_uploads_review ON patient_uploads (review, received_at DESC);
CREATE UNIQUE INDEX patient_uploads_study ON patient_uploads (study_id) WHERE study_id IS NOT NULL;

-- Notifications, one row per recipient. Title and body never hold patient data (names, IDs,
-- message text): they may be read over a shoulder; what they point at is opened after sign-in.
CREATE TABLE notifications (
  id         TEXT PRIMARY KEY,
  user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  kind       TEXT NOT NULL CHECK (kind IN ('message', 'urgent-message', 'report-signed', 'upload-received', 'upload-reviewed', 'outbox-failed')),
  title      TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  body       TEXT NOT NULL DEFAULT '' CHECK (length(body) <= 500),
  -- Where the notification leads (a page id) and the object there (a record, upload or report id).
  page       TEXT,
  object_id  TEXT,
  created_at TEXT NOT NULL,
  read_at    TEXT
) STRICT;
CREATE INDEX notifications_user ON notifications (user_id, created_at DESC);
CREATE INDEX notifications_unread ON notifications (user_id, kind) WHERE read_at IS NULL;

-- A patient may mark a message urgent: the conversation goes to the top of the inbox until answered.
ALTER TABLE messages ADD COLUMN urgent INTEGER NOT NULL DEFAULT 0 CHECK (urgent IN (0, 1));

-- Health tips for patients: Markdown an admin edits (rendered without HTML, scripts or remote
-- images), each with its sources and who reviewed it.
CREATE TABLE health_tips (
  id          TEXT PRIMARY KEY,
  position    INTEGER NOT NULL,
  title       TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  body_md     TEXT NOT NULL CHECK (length(body_md) BETWEEN 1 AND 20000),
  -- JSON [{ "title": ..., "url": "https://..." }]
  sources     TEXT NOT NULL DEFAULT '[]',
  reviewed_by TEXT NOT NULL DEFAULT '',
  reviewed_on TEXT,
  updated_at  TEXT NOT NULL,
  updated_by  TEXT NOT NULL
) STRICT;

INSERT INTO health_tips (id, position, title, body_md, sources, reviewed_by, reviewed_on, updated_at, updated_by) VALUES
('starter-mri-scan', 1, 'What happens during an MRI scan',
'An MRI scanner uses a strong magnet and radio waves to make detailed pictures of the inside of the body. It does **not** use X-rays.

## Before the scan

- Tell the staff about any metal in your body: a pacemaker, implants, clips, shrapnel or piercings. Some implants are safe in the scanner, some are not.
- You will be asked to take off jewellery, watches and anything else made of metal.
- Tell the staff if you are pregnant, or if small closed spaces make you anxious.

## During the scan

- You lie on a bed that slides into the scanner, usually head first for a brain scan.
- The scanner is noisy: you will get earplugs or headphones.
- Keep as still as you can. Each set of pictures takes a few minutes; the whole scan usually takes 15 to 45 minutes.
- You can talk to the radiographer at any time, and you hold a buzzer to call them.

## After the scan

You can usually go home and eat and drive as normal. A radiologist (a doctor who reads scans) looks at the pictures and writes a report; your doctor then talks with you about it.',
'[{"title":"NHS: MRI scan","url":"https://www.nhs.uk/conditions/mri-scan/"},{"title":"MedlinePlus (U.S. National Library of Medicine): Head MRI","url":"https://medlineplus.gov/ency/article/003791.htm"}]',
'Starter page shipped with TumorPredict Workstation: have it reviewed by your department', NULL, '2026-01-01T00:00:00.000Z', 'system:migration'),

('starter-contrast', 2, 'Contrast dye (gadolinium) for MRI',
'For some brain scans you get an injection of a contrast dye, usually one that contains **gadolinium**, into a vein in your arm. It makes some tissues show up more clearly, which helps the radiologist see a growth and how it is supplied with blood.

- You may feel a cool feeling at the injection site. Serious reactions are rare.
- Tell the staff **before the scan** if you have kidney problems, have had a reaction to a contrast dye before, have allergies or asthma, or are pregnant or breastfeeding.
- Your report may say a finding "enhances": that means it took up the contrast dye. This is a description, not a diagnosis on its own.',
'[{"title":"RadiologyInfo.org (RSNA and ACR): Contrast materials","url":"https://www.radiologyinfo.org/en/info/safety-contrast"},{"title":"NHS: MRI scan","url":"https://www.nhs.uk/conditions/mri-scan/"}]',
'Starter page shipped with TumorPredict Workstation: have it reviewed by your department', NULL, '2026-01-01T00:00:00.000Z', 'system:migration'),

('starter-brain-tumours', 3, 'Brain tumours: what the words mean',
'A brain tumour is a growth of cells in the brain or in the tissues around it. Many are **not cancer** (benign) and grow slowly; some are cancer (malignant). Only tests and your care team can tell which kind you have.

## Types you may read about

- **Glioma**: a tumour that starts in the glial cells, the cells that support the nerve cells of the brain. Gliomas range from slow-growing to fast-growing.
- **Meningioma**: a tumour of the meninges, the thin layers that cover the brain. Most meningiomas are benign and grow slowly.
- **Pituitary tumour**: a growth in the pituitary gland at the base of the brain, which makes hormones. Most are benign; some change the body''s hormone levels.

## What happens next

Your doctor may suggest more scans, a blood test, a biopsy (a small sample of tissue), watching it over time, or treatment. Ask your care team what your result means for you, and write your questions down before your appointment.',
'[{"title":"National Cancer Institute: Adult Central Nervous System Tumors Treatment (PDQ), patient version","url":"https://www.cancer.gov/types/brain/patient/adult-brain-treatment-pdq"},{"title":"NHS: Brain tumours","url":"https://www.nhs.uk/conditions/brain-tumours/"}]',
'Starter page shipped with TumorPredict Workstation: have it reviewed by your department', NULL, '2026-01-01T00:00:00.000Z', 'system:migration'),

('starter-urgent-help', 4, 'When to get help at once',
'Do **not** wait for a message reply if you have any of these. Call your local emergency number (for example 112 in Europe or 911 in North America) or go to the nearest emergency department:

- a seizure (fit), especially a first one or one that lasts more than 5 minutes
- a sudden, very severe headache, or a headache with vomiting, drowsiness or confusion
- sudden weakness, numbness or drooping on one side of the face or body
- sudden trouble speaking, seeing or walking
- fainting or being hard to wake up

For worries that are not an emergency, send a message to your care team or call the department. The emergency page of this app has your hospital''s numbers.',
'[{"title":"NHS: Brain tumours (symptoms)","url":"https://www.nhs.uk/conditions/brain-tumours/"},{"title":"NHS: Stroke symptoms","url":"https://www.nhs.uk/conditions/stroke/symptoms/"}]',
'Starter page shipped with TumorPredict Workstation: have it reviewed by your department', NULL, '2026-01-01T00:00:00.000Z', 'system:migration');
