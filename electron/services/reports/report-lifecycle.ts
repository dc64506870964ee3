// The life cycle of a report: opening its draft, autosaved edits and notes, the AI decision,
// preliminary, key images, signing with a content hash (the PDF, SR and the AI's SEG queued in
// the outbox in the same transaction) and signed addenda.
import crypto from 'node:crypto';
import { PNG } from 'pngjs';
import { readPngHeader } from '../images';
import { REPORT_SECTIONS, SIGNATURE_MEANINGS, WorkstationError, type ReportStatus } from '../../contract';
import { enqueueOutbox } from '../sync';
import { newUid } from '../dicom-objects';
import { contentHash, sha256Hex } from './canonical';
import { PDF_TITLE, signedContextOf, type ReportExports, type ReportSeg } from './report-exports';
import { measurementSnapshot, type ReportMeasurement } from './report-measurements';
import type { ReportReading } from './report-reading';
import type { Actor, ReportContext, ReportRow, SignatureCredentials, SignerConfirmation } from './report-rows';
import type { ReportsService } from './report-service';
import { addendumContent } from './signed-content';
import { applyEdits, measurementLines, prefillSections, trackingText } from './template';

export type ReportLifecycle = Pick<
  ReportsService,
  'open' | 'saveDraft' | 'saveNotes' | 'acceptAi' | 'rejectAi' | 'markPreliminary' | 'sign' | 'addAddendum' | 'addKeyImage' | 'removeKeyImage'
>;

const MAX_KEY_IMAGES = 12;
const MAX_KEY_IMAGE_PIXELS = 4096 * 4096;

export function createReportLifecycle(ctx: ReportContext, reading: Pick<ReportReading, 'history'>, exports: ReportExports): ReportLifecycle {
  const { db, logger, queueForSync, now, studyRow, reportRow, addendumRows, displayName, toReport, sectionsOf, auditRow, auditRefusal, check, tx } = ctx;

  /**
   * The source series a signed report's SEG and SR reference (the finding's series and those of
   * the measured images), queued in the signing transaction when the sync setting asks for them.
   * An image already in the outbox is not queued twice; one whose UID is there with other
   * content is left out and logged (the server keeps the first). Returns how many were queued.
   */
  const queueSourceImages = (r: ReportRow, studyInstanceUid: string, findingSeriesId: string | null, measurements: readonly ReportMeasurement[]): number => {
    if (!queueForSync || !ctx.sourceImages) return 0;
    let send = false;
    try {
      send = ctx.sourceImages.shouldSend(studyInstanceUid);
    } catch (err) {
      logger?.warn('reports.source-policy-failed', { reportId: r.id, err });
    }
    if (!send) return 0;
    const series = new Set<string>();
    if (findingSeriesId) series.add(findingSeriesId);
    const seriesOf = db().prepare('SELECT series_id FROM instances WHERE id = ?');
    for (const m of measurements) {
      const row = seriesOf.get(m.instanceId) as { series_id: string } | undefined;
      if (row) series.add(row.series_id);
    }
    if (!series.size) return 0;
    const rows = db()
      .prepare(
        `SELECT i.sop_instance_uid, i.sop_class_uid, i.content_sha256, b.size, se.series_number FROM instances i JOIN series se ON se.id = i.series_id JOIN blobs b ON b.hash = i.content_sha256
         WHERE i.series_id IN (${[...series].map(() => '?').join(',')}) AND i.sop_class_uid IS NOT NULL ORDER BY se.series_number, i.instance_number`,
      )
      .all(...series) as { sop_instance_uid: string; sop_class_uid: string; content_sha256: string; size: number; series_number: number | null }[];
    let queued = 0;
    for (const i of rows) {
      try {
        enqueueOutbox(db(), {
          kind: 'image',
          blob: { hash: i.content_sha256, size: i.size, sopInstanceUid: i.sop_instance_uid, sopClassUid: i.sop_class_uid, studyInstanceUid },
          label: `Source image (series ${i.series_number ?? '?'})`,
        });
        queued++;
      } catch (err) {
        if (!(err instanceof WorkstationError && err.code === 'CONFLICT')) throw err;
        logger?.warn('reports.source-image-conflict', { reportId: r.id, sopInstanceUid: i.sop_instance_uid });
      }
    }
    return queued;
  };

  /**
   * The electronic signature's identity check: the signer's password (and TOTP code) again, by
   * the auth service (a wrong one counts toward lockout). A refusal is a report audit row too.
   */
  const confirmSigner = async (actor: Actor, credentials: SignatureCredentials, action: 'report.sign' | 'report.addAddendum', reportId: string): Promise<SignerConfirmation> => {
    if (typeof credentials?.password !== 'string' || !credentials.password) {
      auditRefusal(() => auditRow(actor, action, reportId, 'refused', { reason: 'no-password' }));
      throw new WorkstationError('UNAUTHENTICATED', 'Enter your password to sign: a signature confirms it is you.', { details: { reason: 'bad-password' } });
    }
    let confirmed: SignerConfirmation;
    try {
      confirmed = await ctx.identity.confirmIdentity(actor, credentials);
    } catch (err) {
      const reason = err instanceof WorkstationError ? ((err.details?.reason as string | undefined) ?? (err.details?.locked ? 'locked' : err.code)) : 'INTERNAL';
      auditRefusal(() => auditRow(actor, action, reportId, 'refused', { reason }));
      throw err;
    }
    if (confirmed.userId !== actor.userId) throw new WorkstationError('INTERNAL', 'The identity confirmed is not the signer\'s; nothing was signed.');
    return confirmed;
  };

  return {
    open(studyId, actor) {
      const existing = db().prepare('SELECT * FROM reports WHERE study_id = ?').get(studyId) as ReportRow | undefined;
      if (existing) return toReport(existing, actor.role);
      const study = studyRow(studyId);
      check('create', 'none', actor, studyId);
      const finding = ctx.measurementOf(studyId).finding;
      // The change over time from tracking (model or sequence changes stated with it); the
      // history's sentence where tracking is not wired in. The radiologist's measurements too.
      const context = ctx.contextOf(studyId);
      const change = finding ? (ctx.tracking ? trackingText(context.tracking) : reading.history(studyId).change) : null;
      const sections = prefillSections({ finding, modalities: study.modalities, seriesCount: study.series_count, description: study.description, change, measurements: measurementLines(context.measurements) });
      const id = crypto.randomUUID();
      const at = now();
      return tx(() => {
        // Two windows opening the same study at once: the second finds the first's draft.
        const raced = db().prepare('SELECT * FROM reports WHERE study_id = ?').get(studyId) as ReportRow | undefined;
        if (raced) return toReport(raced, actor.role);
        db()
          .prepare(
            `INSERT INTO reports (id, study_id, patient_id, status, sections, ai_finding, ai_decision, created_by, created_at, updated_by, updated_at)
             VALUES (?, ?, ?, 'draft', ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(id, studyId, study.patient_id, JSON.stringify(sections), finding ? JSON.stringify(finding) : null, finding ? 'pending' : 'none', actor.userId, at, actor.userId, at);
        auditRow(actor, 'report.create', id, 'success', { studyId, aiPrefilled: !!finding });
        logger?.info('reports.created', { reportId: id, studyId });
        return toReport(reportRow(id), actor.role);
      });
    },

    saveDraft(req, actor) {
      return tx(() => {
        const r = reportRow(req.reportId);
        check('edit', r.status, actor, r.id);
        if (req.baseRevision !== r.revision) {
          throw new WorkstationError('CONFLICT', 'This report was changed elsewhere since you opened it (another window or user). Reload it to see the latest text; your last change was not saved.', {
            details: { revision: r.revision },
          });
        }
        const sections = applyEdits(sectionsOf(r), req.sections);
        const at = now();
        const notes = req.notes ?? r.notes;
        db().prepare('UPDATE reports SET sections = ?, notes = ?, revision = revision + 1, updated_by = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(sections), notes, actor.userId, at, r.id);
        const changed = REPORT_SECTIONS.filter((k) => req.sections[k] !== undefined && req.sections[k] !== sectionsOf(r)[k].text);
        auditRow(actor, 'report.saveDraft', r.id, 'success', { revision: r.revision + 1, sections: changed.join(',') || null, notes: req.notes !== undefined && req.notes !== r.notes });
        return { revision: r.revision + 1, updatedAt: at, sections };
      });
    },

    saveNotes(reportId, notes, actor) {
      return tx(() => {
        const r = reportRow(reportId);
        check('editNotes', r.status, actor, r.id);
        const at = now();
        // Notes are internal and outside the signed content: changing them leaves the hash alone.
        db().prepare('UPDATE reports SET notes = ?, updated_by = ?, updated_at = ? WHERE id = ?').run(notes, actor.userId, at, r.id);
        auditRow(actor, 'report.saveNotes', r.id, 'success');
        return { updatedAt: at };
      });
    },

    acceptAi(reportId, actor) {
      return tx(() => {
        const r = reportRow(reportId);
        check('acceptAi', r.status, actor, r.id);
        if (r.ai_decision === 'none') throw new WorkstationError('CONFLICT', 'This report has no AI finding to accept.');
        const sections = sectionsOf(r);
        for (const k of REPORT_SECTIONS) if (sections[k].origin === 'ai') sections[k].origin = 'ai-accepted';
        db().prepare(`UPDATE reports SET sections = ?, ai_decision = 'accepted', reject_reason = NULL, revision = revision + 1, updated_by = ?, updated_at = ? WHERE id = ?`).run(JSON.stringify(sections), actor.userId, now(), r.id);
        auditRow(actor, 'report.acceptAi', r.id, 'success');
        return toReport(reportRow(r.id), actor.role);
      });
    },

    rejectAi(reportId, reason, actor) {
      return tx(() => {
        const r = reportRow(reportId);
        check('rejectAi', r.status, actor, r.id);
        if (r.ai_decision === 'none') throw new WorkstationError('CONFLICT', 'This report has no AI finding to reject.');
        // The AI's text goes; what the radiologist wrote or edited stays as their own finding.
        const sections = sectionsOf(r);
        for (const k of REPORT_SECTIONS) {
          if (sections[k].origin === 'ai' || sections[k].origin === 'ai-accepted') sections[k] = { text: '', origin: 'human' };
          else if (sections[k].origin === 'ai-edited') sections[k].origin = 'human';
        }
        db()
          .prepare(`UPDATE reports SET sections = ?, ai_decision = 'rejected', reject_reason = ?, revision = revision + 1, updated_by = ?, updated_at = ? WHERE id = ?`)
          .run(JSON.stringify(sections), reason.trim(), actor.userId, now(), r.id);
        auditRow(actor, 'report.rejectAi', r.id, 'success');
        return toReport(reportRow(r.id), actor.role);
      });
    },

    markPreliminary(reportId, actor) {
      return tx(() => {
        const r = reportRow(reportId);
        check('markPreliminary', r.status, actor, r.id);
        const at = now();
        db().prepare(`UPDATE reports SET status = 'preliminary', preliminary_by = ?, preliminary_at = ?, revision = revision + 1, updated_by = ?, updated_at = ? WHERE id = ?`).run(actor.userId, at, actor.userId, at, r.id);
        auditRow(actor, 'report.markPreliminary', r.id, 'success', { from: r.status, to: 'preliminary' });
        return toReport(reportRow(r.id), actor.role);
      });
    },

    async sign(reportId, baseRevision, actor, credentials) {
      const r = reportRow(reportId);
      check('sign', r.status, actor, r.id);
      if (baseRevision !== r.revision) {
        throw new WorkstationError('CONFLICT', 'The report changed since you last saw it; review the latest text and sign again.', { details: { revision: r.revision } });
      }
      const sections = sectionsOf(r);
      const unreviewed = REPORT_SECTIONS.filter((k) => sections[k].origin === 'ai');
      if (unreviewed.length) {
        throw new WorkstationError('CONFLICT', 'The report still contains AI text you have not reviewed. Accept the AI finding, edit the text or reject the finding before signing.', { details: { sections: unreviewed } });
      }
      if (!sections.impression.text.trim()) throw new WorkstationError('INVALID_INPUT', 'Write an impression before signing.', { details: { fields: ['impression'] } });
      const signer = await confirmSigner(actor, credentials, 'report.sign', r.id);
      const study = studyRow(r.study_id);
      const signedAt = now();
      const signedByName = displayName(actor.userId, actor.username);
      const aiDecision = r.ai_decision === 'pending' ? 'accepted' : r.ai_decision;
      const status: ReportStatus = aiDecision === 'rejected' ? 'rejected' : 'final';
      const srUid = newUid();
      const pdfUid = newUid();
      // The radiologist's measurements as they stand now are signed with the report (and its hash).
      const measurements = measurementSnapshot(ctx.measurements?.forStudy(r.study_id) ?? []);
      const over: Partial<ReportRow> = {
        status,
        ai_decision: aiDecision,
        signed_by: actor.userId,
        signed_by_name: signedByName,
        signed_at: signedAt,
        sr_sop_uid: srUid,
        pdf_sop_uid: pdfUid,
        signed_measurements: measurements.length ? JSON.stringify(measurements) : null,
        // What the PDF shows beside the text (measurements, tracking), kept as it stands now.
        signed_context: JSON.stringify(ctx.contextOf(r.study_id)),
      };
      const hash = contentHash(ctx.signedContentOf(r, study, over));
      const signedRow: ReportRow = { ...r, ...over, content_hash: hash } as ReportRow;
      const report = toReport(signedRow, actor.role);
      // The AI's tumor mask goes with them as a SEG, unless the radiologist rejected the finding;
      // the SR references it. A SEG that is due but cannot be made refuses the signature (nothing
      // is written) when it would be sent.
      let seg: ReportSeg | null = null;
      try {
        seg = exports.segFor(report, study);
      } catch (err) {
        logger?.warn('reports.seg-failed', { reportId: r.id, err });
        if (queueForSync) {
          auditRefusal(() => auditRow(actor, 'report.sign', r.id, 'failure', { step: 'seg', code: err instanceof WorkstationError ? err.code : 'INTERNAL' }));
          throw err instanceof WorkstationError ? err : new WorkstationError('INTERNAL', 'The AI tumor segmentation (DICOM SEG) could not be made; the report was not signed.', { cause: err });
        }
      }
      // The PDF and SR are made before the transaction (pdf-lib is async); the transaction then
      // checks nothing changed meanwhile and commits the signature, the hash and the outbox rows.
      const pdf = await exports.pdfFor(report, signedContextOf(signedRow));
      const objects = {
        encapsulatedPdf: exports.encapsulated(report, study, pdf, { title: PDF_TITLE, contentAt: signedAt, sopInstanceUid: pdfUid, instanceNumber: 1 }),
        sr: exports.srFor(report, study, signedRow, { sopInstanceUid: srUid, instanceNumber: 1, addenda: [], predecessor: null, contentAt: signedAt }, { segment: seg, measurements }),
      };
      const signed = tx(() => {
        const again = reportRow(reportId);
        if (again.revision !== r.revision || again.status !== r.status) {
          throw new WorkstationError('CONFLICT', 'The report changed while it was being signed; review the latest text and sign again.');
        }
        db()
          .prepare(
            `UPDATE reports SET status = ?, ai_decision = ?, signed_by = ?, signed_by_name = ?, signed_at = ?, content_hash = ?, sr_sop_uid = ?, pdf_sop_uid = ?, signed_measurements = ?, signed_context = ?, revision = revision + 1, updated_by = ?, updated_at = ? WHERE id = ?`,
          )
          .run(status, aiDecision, actor.userId, signedByName, signedAt, hash, srUid, pdfUid, over.signed_measurements ?? null, over.signed_context ?? null, actor.userId, signedAt, r.id);
        if (queueForSync) {
          enqueueOutbox(db(), { kind: 'pdf', content: objects.encapsulatedPdf, label: 'Signed report (PDF)' });
          enqueueOutbox(db(), { kind: 'sr', content: objects.sr, label: 'Report SR (TID 1500)' });
          if (seg) enqueueOutbox(db(), { kind: 'seg', content: seg.bytes, label: 'AI tumor segmentation (SEG)' });
        }
        const sourceImages = queueSourceImages(r, study.study_instance_uid, report.aiDecision === 'rejected' ? null : (report.aiFinding?.seriesId ?? null), measurements);
        auditRow(actor, 'report.sign', r.id, 'success', {
          meaning: SIGNATURE_MEANINGS.sign,
          signer: signedByName,
          identity: signer.method,
          confirmedAt: signer.at,
          status,
          hash,
          srSopInstanceUid: srUid,
          pdfSopInstanceUid: pdfUid,
          segSopInstanceUid: seg?.sopInstanceUid ?? null,
          measurements: measurements.length,
          sourceImagesQueued: sourceImages,
          queued: queueForSync,
        });
        logger?.info('reports.signed', { reportId: r.id, status });
        return toReport(reportRow(r.id), actor.role);
      });
      ctx.notifySigned({ reportId: r.id, studyId: r.study_id, patientId: r.patient_id });
      return signed;
    },

    async addAddendum(reportId, text, actor, credentials) {
      const r = reportRow(reportId);
      check('addAddendum', r.status, actor, r.id);
      const body = text.trim();
      if (!body) throw new WorkstationError('INVALID_INPUT', 'An addendum needs some text.');
      const signer = await confirmSigner(actor, credentials, 'report.addAddendum', r.id);
      const study = studyRow(r.study_id);
      const seq = addendumRows(r.id).length + 1;
      const signedAt = now();
      const signedByName = displayName(actor.userId, actor.username);
      const hash = contentHash(addendumContent({ reportId: r.id, reportHash: r.content_hash ?? '', seq, text: body, signedBy: actor.userId, signedByName, signedAt }));
      const id = crypto.randomUUID();
      const pdfUid = newUid();
      const srUid = newUid();
      const report = toReport(r, actor.role);
      report.addenda.push({ id, seq, text: body, signedByName, signedAt, contentHash: hash });
      // The amended report goes to the hospital server as a new Encapsulated PDF and a new SR
      // version in the same series; the SR names the version it amends (Predecessor Documents).
      const previous = addendumRows(r.id);
      const predecessor = previous.at(-1)?.sr_sop_uid ?? r.sr_sop_uid;
      const pdf = await exports.pdfFor(report, signedContextOf(r));
      const encapsulated = exports.encapsulated(report, study, pdf, { title: `${PDF_TITLE} - addendum ${seq}`, contentAt: signedAt, sopInstanceUid: pdfUid, instanceNumber: seq + 1 });
      let seg: ReportSeg | null = null;
      try {
        seg = exports.segFor(report, study);
      } catch (err) {
        logger?.warn('reports.addendum-seg-ref-failed', { reportId: r.id, err });
      }
      const addenda = [...previous, { seq, text: body, signed_by: actor.userId, signed_by_name: signedByName, signed_at: signedAt }];
      const sr = exports.srFor(report, study, r, { sopInstanceUid: srUid, instanceNumber: seq + 1, addenda, predecessor, contentAt: signedAt }, {
        segment: seg,
        measurements: r.signed_measurements ? (JSON.parse(r.signed_measurements) as ReportMeasurement[]) : [],
      });
      const amended = tx(() => {
        if (addendumRows(r.id).length + 1 !== seq) throw new WorkstationError('CONFLICT', 'Another addendum was added at the same moment; reload the report and add yours again.');
        db()
          .prepare('INSERT INTO report_addenda (id, report_id, seq, text, signed_by, signed_by_name, signed_at, content_hash, pdf_sop_uid, sr_sop_uid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
          .run(id, r.id, seq, body, actor.userId, signedByName, signedAt, hash, pdfUid, srUid);
        if (queueForSync) {
          enqueueOutbox(db(), { kind: 'pdf', content: encapsulated, label: `Report addendum ${seq} (PDF)` });
          enqueueOutbox(db(), { kind: 'sr', content: sr, label: `Report SR version ${seq + 1} (addendum ${seq})` });
        }
        auditRow(actor, 'report.addAddendum', r.id, 'success', { meaning: SIGNATURE_MEANINGS.addendum, signer: signedByName, identity: signer.method, confirmedAt: signer.at, seq, hash, srSopInstanceUid: srUid, predecessorSrSopInstanceUid: predecessor });
        return toReport(reportRow(r.id), actor.role);
      });
      ctx.notifySigned({ reportId: r.id, studyId: r.study_id, patientId: r.patient_id, addendum: seq });
      return amended;
    },

    addKeyImage({ reportId, png, caption, instanceId }, actor) {
      const notPng = (cause?: unknown): WorkstationError => new WorkstationError('INVALID_INPUT', 'The key image is not a valid PNG image; capture it again from the viewer.', cause === undefined ? undefined : { cause });
      // The declared size first, from the header: decoding allocates what the header claims.
      const header = readPngHeader(png);
      if (!header) throw notPng();
      const { width, height } = header;
      if (width * height > MAX_KEY_IMAGE_PIXELS) throw new WorkstationError('INVALID_INPUT', 'The key image is too large (at most 4096 x 4096 pixels).');
      try {
        PNG.sync.read(png); // the whole file must decode
      } catch (err) {
        throw notPng(err);
      }
      return tx(() => {
        const r = reportRow(reportId);
        check('addKeyImage', r.status, actor, r.id);
        const count = db().prepare('SELECT count(*) AS n, coalesce(max(seq), 0) AS m FROM report_key_images WHERE report_id = ?').get(r.id) as { n: number; m: number };
        if (count.n >= MAX_KEY_IMAGES) throw new WorkstationError('CONFLICT', `A report holds at most ${MAX_KEY_IMAGES} key images; remove one first.`);
        const id = crypto.randomUUID();
        db()
          .prepare('INSERT INTO report_key_images (id, report_id, seq, caption, instance_id, png, sha256, width, height, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
          .run(id, r.id, count.m + 1, caption.slice(0, 200), instanceId ?? null, png, sha256Hex(png), width, height, actor.userId, now());
        db().prepare('UPDATE reports SET revision = revision + 1, updated_by = ?, updated_at = ? WHERE id = ?').run(actor.userId, now(), r.id);
        auditRow(actor, 'report.addKeyImage', r.id, 'success', { keyImageId: id, bytes: png.length });
        return toReport(reportRow(r.id), actor.role);
      });
    },

    removeKeyImage(reportId, keyImageId, actor) {
      return tx(() => {
        const r = reportRow(reportId);
        check('addKeyImage', r.status, actor, r.id);
        const info = db().prepare('DELETE FROM report_key_images WHERE id = ? AND report_id = ?').run(keyImageId, r.id);
        if (!info.changes) throw new WorkstationError('NOT_FOUND', 'There is no such key image in this report.');
        db().prepare('UPDATE reports SET revision = revision + 1, updated_by = ?, updated_at = ? WHERE id = ?').run(actor.userId, now(), r.id);
        auditRow(actor, 'report.removeKeyImage', r.id, 'success', { keyImageId });
        return toReport(reportRow(r.id), actor.role);
      });
    },
  };
}
