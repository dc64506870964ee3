"""Minimal numpy interpreter for the ONNX ops TumorNet uses (no onnxruntime in Debian's python).
Used to check that model.onnx computes the same thing as the PyTorch model."""
from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _conv(x, w, b, at):
    pads = at.get("pads", [0, 0, 0, 0])
    strides = at.get("strides", [1, 1])
    assert strides == [1, 1] and at.get("group", 1) == 1 and at.get("dilations", [1, 1]) == [1, 1]
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    N, C, H, W = x.shape
    O, I, kh, kw = w.shape
    Ho, Wo = xp.shape[2] - kh + 1, xp.shape[3] - kw + 1
    out = np.zeros((N, O, Ho, Wo), np.float64)
    for dy in range(kh):
        for dx in range(kw):
            out += np.einsum("nchw,oc->nohw", xp[:, :, dy:dy + Ho, dx:dx + Wo], w[:, :, dy, dx], optimize=True)
    if b is not None:
        out += b[None, :, None, None]
    return out


def run(path_or_model, feeds):
    m = onnx.load(path_or_model) if isinstance(path_or_model, str) else path_or_model
    env = {t.name: numpy_helper.to_array(t).astype(np.float64) if numpy_helper.to_array(t).dtype.kind == "f"
           else numpy_helper.to_array(t) for t in m.graph.initializer}
    env.update({k: np.asarray(v, np.float64) for k, v in feeds.items()})
    for n in m.graph.node:
        at = _attrs(n)
        i = [env[x] if x else None for x in n.input]
        op = n.op_type
        if op == "Conv":
            r = _conv(i[0], i[1], i[2] if len(i) > 2 else None, at)
        elif op == "Relu":
            r = np.maximum(i[0], 0)
        elif op == "Sigmoid":
            r = 1 / (1 + np.exp(-i[0]))
        elif op == "MaxPool":
            assert at["kernel_shape"] == [2, 2] and at.get("strides") == [2, 2]
            x = i[0]
            N, C, H, W = x.shape
            r = x[:, :, :H // 2 * 2, :W // 2 * 2].reshape(N, C, H // 2, 2, W // 2, 2).max((3, 5))
        elif op == "Resize":
            assert at.get("mode", b"nearest") in (b"nearest", "nearest")
            scales = i[2] if len(i) > 2 and i[2] is not None and i[2].size else None
            if scales is None:
                sizes = i[3]
                scales = sizes / np.array(i[0].shape)
            sh, sw = int(round(scales[2])), int(round(scales[3]))
            assert float(scales[0]) == 1 and float(scales[1]) == 1
            r = i[0].repeat(sh, 2).repeat(sw, 3)
        elif op == "Concat":
            r = np.concatenate(i, axis=at["axis"])
        elif op == "AveragePool":
            k = at["kernel_shape"]
            assert at.get("strides") == k and not any(at.get("pads", [0, 0, 0, 0]))
            x = i[0]
            N, C, H, W = x.shape
            r = x[:, :, :H // k[0] * k[0], :W // k[1] * k[1]].reshape(N, C, H // k[0], k[0], W // k[1], k[1]).mean((3, 5))
        elif op == "GlobalMaxPool":
            r = i[0].max((2, 3), keepdims=True)
        elif op == "GlobalAveragePool":
            r = i[0].mean((2, 3), keepdims=True)
        elif op == "Flatten":
            ax = at.get("axis", 1)
            r = i[0].reshape(int(np.prod(i[0].shape[:ax])), -1)
        elif op == "Gemm":
            a, b = i[0], i[1]
            if at.get("transA", 0):
                a = a.T
            if at.get("transB", 0):
                b = b.T
            r = at.get("alpha", 1.0) * a @ b + (at.get("beta", 1.0) * i[2] if len(i) > 2 else 0)
        elif op == "Constant":
            r = numpy_helper.to_array(at["value"])
        else:
            raise NotImplementedError(op)
        env[n.output[0]] = r
    return [env[o.name] for o in m.graph.output]
