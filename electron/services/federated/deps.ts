// What the federated services are built from (by the composition root), and small helpers they
// share: the actor for audit rows, the registry's view of a model as a reference with hashes.
import fs from 'node:fs';
import path from 'node:path';
import { WorkstationError } from '../../contract';
import type { AuditLog } from '../audit';
import type { InferenceService, LoadedModel } from '../inference';
import type { Logger } from '../log';
import type { ResearchService } from '../research';
import type { Db } from '../store';
import { parentHead } from './model-version';
import { headSha256, sha256Hex, type ModelRef } from './package';
import type { FederationSecrets } from './secrets';

export interface Actor {
  userId: string | null;
  username: string;
}

export interface FederationDeps {
  db: () => Db;
  inference: InferenceService;
  research: Pick<ResearchService, 'registry' | 'datasetItems' | 'getDataset'>;
  audit: AuditLog;
  logger: Logger;
  secrets: FederationSecrets;
  dataFolder: string;
  modelsFolder: string;
  now?: () => Date;
}

export const nowIso = (deps: Pick<FederationDeps, 'now'>): string => (deps.now ? deps.now() : new Date()).toISOString();

/** A model as the federation names it: id, version, the sha256 of its card and of its head. */
export async function modelRef(deps: Pick<FederationDeps, 'inference' | 'modelsFolder'>, modelId: string): Promise<{ ref: ModelRef; model: LoadedModel }> {
  const model = await deps.inference.loadModel(modelId);
  const cardFile = path.join(model.dir, 'model-card.json');
  if (!fs.existsSync(cardFile)) throw new WorkstationError('NOT_FOUND', `The model ${modelId} has no model card.`);
  return {
    ref: { modelId: model.spec.id, version: model.spec.version, cardSha256: sha256Hex(fs.readFileSync(cardFile)), headSha256: headSha256(parentHead(model)) },
    model,
  };
}

/** The installed model whose card has this sha256 (a site finds its copy of the round's parent). */
export async function modelByCard(deps: Pick<FederationDeps, 'research'>, cardSha256: string): Promise<string | null> {
  const list = await deps.research.registry.list();
  return list.find((m) => m.cardSha256 === cardSha256 && m.verified)?.id ?? null;
}

export function audit(deps: Pick<FederationDeps, 'audit'>, actor: Actor, action: string, outcome: 'success' | 'failure' | 'refused', objectType: string, objectId: string | null, detail?: Record<string, string | number | boolean | null>): void {
  deps.audit.append({ actorId: actor.userId, actor: actor.username, action, objectType, objectId, outcome, detail: detail ?? null });
}
