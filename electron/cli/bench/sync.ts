// Sync bench against a local Orthanc: studies per minute pulled (QIDO + WADO-RS + import) and
// instances per second pushed (outbox + STOW-RS), each next to curl doing the same transfer.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { BenchSuite } from './types';
import { createStore } from '../../services/store';
import { createAuditLog } from '../../services/audit';
import { createLogger } from '../../services/log';
import { createDicomService } from '../../services/dicom';
import { createDicomWebClient, createSyncService, dicomServiceImporter, memorySecretStore, tagString } from '../../services/sync';
import { startOrthanc } from '../../testing/sync/orthanc';
import { makeMrStudy } from '../../testing/sync/study-factory';

const run = promisify(execFile);

/** The bench keeps the Orthanc password in memory: it measures transfers, not the keychain. */

export const syncBench: BenchSuite = {
  name: 'sync',
  description: 'DICOMweb pull (studies/min) and push (instances/s) against a local Orthanc, next to curl',
  async run(ctx) {
    const studies = ctx.quick ? 3 : 10;
    const perStudy = ctx.quick ? 5 : 20;
    const pushCount = ctx.quick ? 20 : 200;
    const pullRoundCount = ctx.quick ? 1 : 3;
    const orthanc = await startOrthanc({ dir: path.join(ctx.workDir, 'orthanc') });
    const userpass = `${orthanc.username}:${orthanc.password}`;
    try {
      // Modality side: the studies go in over DIMSE with dcmsend.
      const made = Array.from({ length: studies }, (_, i) => makeMrStudy(path.join(ctx.workDir, 'modality', String(i)), perStudy));
      await orthanc.dcmsend(made.flatMap((m) => m.files));
      const bytesPerInstance = fs.statSync(made[0]!.files[0]!).size;
      ctx.log(`${studies} studies x ${perStudy} MR instances (${bytesPerInstance} bytes each) stored in Orthanc ${orthanc.url}`);

      // Baseline: one curl process doing the same QIDO search and one WADO-RS series retrieve per
      // study over one kept-alive connection (no process start per request).
      const curlDir = path.join(ctx.workDir, 'curl');
      fs.mkdirSync(curlDir);
      const pullArgs = ['-sf', '-u', userpass, '-H', 'Accept: application/dicom+json', '-o', path.join(curlDir, 'qido.json'), `${orthanc.dicomWebUrl}/studies?ModalitiesInStudy=MR&includefield=00201208`];
      for (const m of made) {
        pullArgs.push('--next', '-sf', '-u', userpass, '-H', 'Accept: multipart/related; type="application/dicom"; transfer-syntax=*', '-o', path.join(curlDir, `${m.studyInstanceUid}.mime`), `${orthanc.dicomWebUrl}/studies/${m.studyInstanceUid}/series/${m.seriesInstanceUid}`);
      }
      const client = createDicomWebClient({ baseUrl: orthanc.dicomWebUrl, authType: 'basic', username: orthanc.username, secret: orthanc.password, tlsVerify: true, caCertificatePem: null, allowCredentialsOverHttp: true });
      const actor = { id: null, name: 'bench' };
      const logger = createLogger({ level: 'warn', stderr: false });
      let parts = 0;
      // Alternating rounds (curl, our client alone, the full pull with import into a fresh data
      // folder): one burst of load from other processes costs a round, not the figure.
      const pullRounds: { curlS: number; clientS: number; fullS: number }[] = [];
      let sync: ReturnType<typeof createSyncService> | null = null;
      let dicom: ReturnType<typeof createDicomService> | null = null;
      let store: Awaited<ReturnType<typeof createStore>> | null = null;
      for (let round = 0; round < pullRoundCount; round++) {
        let t = performance.now();
        await run('curl', pullArgs, { maxBuffer: 64 * 1024 * 1024 });
        const curlS = (performance.now() - t) / 1000;

        // Our client alone (same requests; each part written to a file as curl does).
        t = performance.now();
        const clientDir = path.join(ctx.workDir, `client-${round}`);
        fs.mkdirSync(clientDir, { recursive: true });
        const found = await client.qido('/studies', { ModalitiesInStudy: 'MR', includefield: '00201208' });
        for (const st of found) {
          const uid = tagString(st, '0020000D')!;
          const series = made.find((m) => m.studyInstanceUid === uid)!;
          await client.retrieve(`/studies/${uid}/series/${series.seriesInstanceUid}`, async (p) => {
            const file = path.join(clientDir, `part-${parts++}.dcm`);
            fs.writeFileSync(file, p.bytes);
            fs.rmSync(file);
          });
        }
        const clientS = (performance.now() - t) / 1000;

        // The full pull with import (parts go to the import in memory), into a fresh data folder.
        if (sync) await sync.stop();
        await dicom?.close();
        store?.close();
        const dataDir = path.join(ctx.workDir, `data-${round}`);
        store = await createStore({ dataFolder: dataDir, keySource: 'passphrase', passphrase: 'sync bench passphrase' });
        const st = store;
        const audit = createAuditLog(() => st.db());
        dicom = createDicomService({ db: () => st.db(), dataFolder: dataDir, audit });
        sync = createSyncService({ db: () => st.db(), ready: () => true, audit, logger, dataFolder: dataDir, importer: dicomServiceImporter(dicom), secrets: memorySecretStore() });
        // Orthanc listens on 127.0.0.1 over plain http: the bench turns on the insecure switch for it.
        await sync.setSettings({ baseUrl: orthanc.dicomWebUrl, authType: 'basic', username: orthanc.username, secret: orthanc.password, allowInsecureHttp: true }, actor);
        // The import workers start once per process (outside the timing, as curl's start-up is a process start).
        await dicom.warmUp();
        t = performance.now();
        const pulled = await sync.syncNow(actor);
        const fullS = (performance.now() - t) / 1000;
        if (!pulled.ok || pulled.studiesPulled !== studies) throw new Error(`the pull did not complete: ${JSON.stringify(pulled)}`);
        pullRounds.push({ curlS, clientS, fullS });
      }
      const best = (k: 'curlS' | 'clientS' | 'fullS'): number => Math.min(...pullRounds.map((r) => r[k]));
      const median = (xs: number[]): number => {
        const v = [...xs].sort((x, y) => x - y);
        return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
      };
      const curlPullS = best('curlS');
      const clientPullS = best('clientS');
      const fullPullS = best('fullS');
      const fullRatios = pullRounds.map((r) => r.fullS / r.curlS);

      // The import path alone on the same files (a second data folder), to split the pull's
      // time between the transfer and the DICOM import it hands each instance to.
      const importDir = path.join(ctx.workDir, 'import-only');
      const store2 = await createStore({ dataFolder: importDir, keySource: 'passphrase', passphrase: 'sync bench passphrase' });
      const dicom2 = createDicomService({ db: () => store2.db(), dataFolder: importDir, audit: createAuditLog(() => store2.db()) });
      const importer2 = dicomServiceImporter(dicom2);
      await dicom2.warmUp();
      // In memory first, then imported in the pull's batches of 64.
      const allParts = made.flatMap((m) => m.files).map((f) => ({ name: f, bytes: fs.readFileSync(f) }));
      let t = performance.now();
      for (let i = 0; i < allParts.length; i += 64) await importer2.importParts(allParts.slice(i, i + 64));
      const importOnlyS = (performance.now() - t) / 1000;
      await dicom2.close();
      store2.close();

      // Push: copies of the MR instance with new UIDs, one STOW-RS request per instance.
      const pushSet = makeMrStudy(path.join(ctx.workDir, 'push'), pushCount * 2);
      const curlFiles = pushSet.files.slice(0, pushCount);
      const ourFiles = pushSet.files.slice(pushCount);
      const stowUrl = `${orthanc.dicomWebUrl}/studies`;
      // Request bodies are written before the clock starts, as the outbox's are in its table.
      const boundary = 'benchboundary0123456789';
      for (const f of curlFiles) {
        fs.writeFileSync(`${f}.mime`, Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), fs.readFileSync(f), Buffer.from(`\r\n--${boundary}--\r\n`)]));
      }
      // Four curl processes (the outbox's concurrency), each posting its share one instance per
      // request over a kept-alive connection.
      const shares: string[][] = [[], [], [], []];
      curlFiles.forEach((f, i) => shares[i % 4]!.push(f));
      const argsFor = (files: string[]): string[] =>
        files.flatMap((f, i) => [...(i ? ['--next'] : []), '-sf', '-u', userpass, '-X', 'POST', '-H', `Content-Type: multipart/related; type="application/dicom"; boundary=${boundary}`, '-H', 'Accept: application/dicom+json', '--data-binary', `@${f}.mime`, '-o', '/dev/null', stowUrl]);
      t = performance.now();
      await Promise.all(shares.map((share) => run('curl', argsFor(share), { maxBuffer: 64 * 1024 * 1024 })));
      const curlPushS = (performance.now() - t) / 1000;

      if (!sync || !dicom || !store) throw new Error('no pull round ran');
      for (const f of ourFiles) sync.enqueue({ kind: 'other', content: fs.readFileSync(f), label: 'bench' });
      t = performance.now();
      const pushed = await sync.pushNow(actor);
      const ourPushS = (performance.now() - t) / 1000;
      if (pushed.pushed !== pushCount) throw new Error(`the push did not complete: ${JSON.stringify(pushed)}`);

      await sync.stop();
      await dicom.close();
      store.close();

      const r = {
        studies,
        instancesPerStudy: perStudy,
        bytesPerInstance,
        pull: {
          curlStudiesPerMin: (studies / curlPullS) * 60,
          clientOnlyStudiesPerMin: (studies / clientPullS) * 60,
          fullPullStudiesPerMin: (studies / fullPullS) * 60,
          clientOverheadRatio: clientPullS / curlPullS,
          /** Best full pull over best curl: the target is at most 4. */
          fullPullRatio: fullPullS / curlPullS,
          /** Each round's full pull over the curl pull just before it, and their median. */
          fullPullRoundRatios: fullRatios.map((x) => +x.toFixed(2)),
          fullPullMedianRoundRatio: +median(fullRatios).toFixed(2),
          rounds: pullRounds,
          importOnlyStudiesPerMin: (studies / importOnlyS) * 60,
          /** Pull time beyond the import itself, per the curl transfer time. */
          pullWithoutImportRatio: (fullPullS - importOnlyS) / curlPullS,
          partsReceived: parts,
        },
        loadAverage: os.loadavg(),
        push: {
          instances: pushCount,
          curlInstancesPerSec: pushCount / curlPushS,
          outboxInstancesPerSec: pushCount / ourPushS,
          outboxRatio: ourPushS / curlPushS,
        },
      };
      ctx.log(`pull: curl ${r.pull.curlStudiesPerMin.toFixed(0)} studies/min; our client ${r.pull.clientOnlyStudiesPerMin.toFixed(0)} studies/min (x${r.pull.clientOverheadRatio.toFixed(2)} the time); full pull with import ${r.pull.fullPullStudiesPerMin.toFixed(0)} studies/min (x${r.pull.fullPullRatio.toFixed(2)} best/best, median of rounds x${r.pull.fullPullMedianRoundRatio.toFixed(2)}, rounds ${r.pull.fullPullRoundRatios.join(', ')}); the import path alone ${r.pull.importOnlyStudiesPerMin.toFixed(0)} studies/min, so the pull without the import is x${r.pull.pullWithoutImportRatio.toFixed(2)} curl`);
      ctx.log(`push: curl ${r.push.curlInstancesPerSec.toFixed(1)} instances/s; outbox ${r.push.outboxInstancesPerSec.toFixed(1)} instances/s (x${r.push.outboxRatio.toFixed(2)} the time)`);
      return r;
    } finally {
      await orthanc.stop();
    }
  },
};
