// The bench's FLOP count: MACs summed over the shipped TF.js layer graph must equal the figure
// the training pipeline computed from the PyTorch layer plan (model-card.json model.macs_per_image).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { countMacs } from './flops';
import { parseModelCard, readCardJson } from './model-card';
import { requireModelDir, SHIPPED_MODELS } from '../../testing/inference';

describe('model FLOPs', () => {
  it.each(SHIPPED_MODELS)('$id $version: counts the same MACs per image from the layer graph as the card states', (model) => {
    const dir = requireModelDir(model.id);
    const spec = parseModelCard(readCardJson(dir), dir);
    const graph = countMacs(JSON.parse(fs.readFileSync(path.join(dir, spec.tfjs!.file), 'utf8')) as { modelTopology: unknown });
    expect(spec.macsPerImage, 'model.macs_per_image in the card').not.toBeNull();
    expect(graph.total).toBe(spec.macsPerImage);
    expect(graph.layers.filter((l) => l.kind === 'Conv2D').length).toBeGreaterThan(5);
    expect(graph.layers.some((l) => l.kind === 'Dense')).toBe(true);
  });

  it('counts a conv layer as H x W x kh x kw x Cin x Cout and refuses a layer it cannot size', () => {
    const topo = {
      modelTopology: {
        config: {
          layers: [
            { class_name: 'InputLayer', name: 'in', config: { batch_input_shape: [null, 10, 8, 3] }, inbound_nodes: [] },
            { class_name: 'Conv2D', name: 'c', config: { filters: 4, kernel_size: [3, 3], padding: 'same' }, inbound_nodes: [[['in', 0, 0, {}]]] },
            { class_name: 'GlobalAveragePooling2D', name: 'g', config: {}, inbound_nodes: [[['c', 0, 0, {}]]] },
            { class_name: 'Dense', name: 'd', config: { units: 2 }, inbound_nodes: [[['g', 0, 0, {}]]] },
          ],
        },
      },
    };
    expect(countMacs(topo).total).toBe(10 * 8 * 3 * 3 * 3 * 4 + 4 * 2);
    const bad = { modelTopology: { config: { layers: [{ class_name: 'LSTM', name: 'x', config: {}, inbound_nodes: [] }] } } };
    expect(() => countMacs(bad)).toThrow(/cannot count LSTM/);
  });
});
