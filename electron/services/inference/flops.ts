// Counts the model's multiply-accumulates per image by walking the layer graph of the shipped
// TF.js model.json (conv and dense layers; FLOPs = 2 x MACs), to check against the card's figure.
export interface LayerCount {
  name: string;
  kind: string;
  macs: number;
}

interface Layer {
  class_name: string;
  name?: string;
  config: Record<string, unknown> & { name?: string };
  inbound_nodes?: unknown[][];
}

/** MACs per image (batch 1) of a Keras/TF.js Layers topology; throws on a layer it cannot size. */
export function countMacs(modelJson: { modelTopology: unknown }): { total: number; layers: LayerCount[] } {
  const topo = modelJson.modelTopology as { config?: { layers?: Layer[] }; model_config?: { config?: { layers?: Layer[] } } };
  const layers = topo.config?.layers ?? topo.model_config?.config?.layers;
  if (!layers) throw new Error('model.json has no layer list');
  const shapes = new Map<string, [number, number, number]>();
  const out: LayerCount[] = [];
  for (const l of layers) {
    const name = l.name ?? l.config.name ?? '?';
    const inbound = ((l.inbound_nodes?.[0] ?? []) as unknown[]).map((n) => (Array.isArray(n) ? String(n[0]) : String((n as { name?: string }).name)));
    const ins = inbound.map((n) => {
      const s = shapes.get(n);
      if (!s) throw new Error(`layer ${name}: unknown input ${n}`);
      return s;
    });
    const first = ins[0];
    let shape: [number, number, number];
    let macs = 0;
    switch (l.class_name) {
      case 'InputLayer': {
        const b = (l.config.batch_input_shape ?? l.config.batchInputShape) as (number | null)[];
        shape = [b[1]!, b[2]!, b[3]!];
        break;
      }
      case 'Conv2D': {
        const [h, w, c] = first!;
        const k = l.config.kernel_size as [number, number];
        const f = l.config.filters as number;
        const s = (l.config.strides as [number, number] | undefined) ?? [1, 1];
        const same = l.config.padding === 'same';
        const oh = same ? Math.ceil(h / s[0]) : Math.floor((h - k[0]) / s[0]) + 1;
        const ow = same ? Math.ceil(w / s[1]) : Math.floor((w - k[1]) / s[1]) + 1;
        macs = oh * ow * k[0] * k[1] * c * f;
        shape = [oh, ow, f];
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const p = (l.config.pool_size as [number, number]) ?? [2, 2];
        const s = (l.config.strides as [number, number] | null) ?? p;
        shape = [Math.floor((first![0] - p[0]) / s[0]) + 1, Math.floor((first![1] - p[1]) / s[1]) + 1, first![2]];
        break;
      }
      case 'UpSampling2D': {
        const z = (l.config.size as [number, number]) ?? [2, 2];
        shape = [first![0] * z[0], first![1] * z[1], first![2]];
        break;
      }
      case 'Concatenate':
        shape = [first![0], first![1], ins.reduce((a, s) => a + s[2], 0)];
        break;
      case 'GlobalAveragePooling2D':
      case 'GlobalMaxPooling2D':
        shape = [1, 1, first![2]];
        break;
      case 'Dense': {
        const u = l.config.units as number;
        macs = first![0] * first![1] * first![2] * u;
        shape = [1, 1, u];
        break;
      }
      case 'Activation':
      case 'ReLU':
      case 'Dropout':
      case 'Flatten':
        shape = l.class_name === 'Flatten' ? [1, 1, first![0] * first![1] * first![2]] : first!;
        break;
      default:
        throw new Error(`layer ${name}: cannot count ${l.class_name}`);
    }
    shapes.set(name, shape);
    if (macs > 0) out.push({ name, kind: l.class_name, macs });
  }
  return { total: out.reduce((a, l) => a + l.macs, 0), layers: out };
}
