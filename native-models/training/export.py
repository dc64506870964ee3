"""Export the BN-folded TumorNet to ONNX and TensorFlow.js Layers format (hand-written topology)."""
from __future__ import annotations

import json
import os

import numpy as np
import torch

from model import MASK_FEATURES, NUM_CLASSES, FoldedTumorNet, arch

ONNX_OPSET = 13


def export_onnx(folded: FoldedTumorNet, path: str, size: int):
    import onnx
    os.makedirs(os.path.dirname(path), exist_ok=True)
    folded = folded.eval()
    dummy = torch.zeros(1, 1, size, size)
    torch.onnx.export(
        folded, dummy, path, input_names=["image"], output_names=["logits", "mask", "features"],
        dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}, "mask": {0: "N"}, "features": {0: "N"}},
        opset_version=ONNX_OPSET, do_constant_folding=True)
    m = _simplify(onnx.load(path))
    m.producer_name = "tumornet-export"
    m.doc_string = ("TumorNet: input image float32 [N,1,H,W] preprocessed grey 0..1; outputs logits [N,5] raw "
                    "(before temperature), mask [N,1,H,W] sigmoid probabilities, and features [N,F], the input of "
                    "the classification head (Gemm fc.weight [5,F], fc.bias [5]).")
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)
    ops = sorted({n.op_type for n in m.graph.node})
    return dict(opset=ONNX_OPSET, ops=ops,
                inputs=[(i.name, [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]) for i in m.graph.input],
                outputs=[(o.name, [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim]) for o in m.graph.output])


def _simplify(m):
    """Two rewrites of what torch.onnx emits for the mask statistics: a Pad with all-zero pads before
    the 4x4 AveragePool is dropped, and a MaxPool whose window is its whole input becomes
    GlobalMaxPool (the same value; a plainer graph for every runtime and for quantization)."""
    import onnx
    from onnx import numpy_helper, shape_inference
    consts = {n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in m.graph.node
              if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value"}
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    shapes = {}
    inf = shape_inference.infer_shapes(m)
    for vi in list(inf.graph.value_info) + list(inf.graph.input):
        shapes[vi.name] = [d.dim_value for d in vi.type.tensor_type.shape.dim]
    rename = {}
    keep = []
    for n in m.graph.node:
        if n.op_type == "Pad":
            pads = consts.get(n.input[1], inits.get(n.input[1]))
            mode = next((a.s for a in n.attribute if a.name == "mode"), b"constant")
            if pads is not None and not pads.any() and mode == b"constant":
                rename[n.output[0]] = n.input[0]
                continue
        if n.op_type == "MaxPool":
            k = next((list(a.ints) for a in n.attribute if a.name == "kernel_shape"), None)
            shp = shapes.get(n.input[0])
            pads = next((list(a.ints) for a in n.attribute if a.name == "pads"), [0, 0, 0, 0])
            if shp and len(shp) == 4 and k == shp[2:] and not any(pads) and k != [2, 2]:
                g = onnx.helper.make_node("GlobalMaxPool", [n.input[0]], [n.output[0]], name=n.name)
                keep.append(g)
                continue
        keep.append(n)
    for n in keep:
        for j, x in enumerate(n.input):
            while x in rename:
                x = rename[x]
            n.input[j] = x
    used = {x for n in keep for x in n.input}
    keep = [n for n in keep if not (n.op_type == "Constant" and n.output[0] not in used)]
    del m.graph.node[:]
    m.graph.node.extend(keep)
    return m


# ----------------------------------------------------------------------------- TF.js layers
def _conv_cfg(name, filters, k, act):
    return {"class_name": "Conv2D", "name": name, "config": {
        "name": name, "trainable": False, "dtype": "float32", "filters": filters, "kernel_size": [k, k],
        "strides": [1, 1], "padding": "same", "data_format": "channels_last", "dilation_rate": [1, 1],
        "activation": act, "use_bias": True,
        "kernel_initializer": {"class_name": "Zeros", "config": {}},
        "bias_initializer": {"class_name": "Zeros", "config": {}},
        "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
        "kernel_constraint": None, "bias_constraint": None}}


def _node(*names):
    return [[[n, 0, 0, {}] for n in names]]


def tfjs_topology(width: int, size: int):
    convs, e = arch(width)
    info = {n: (i, o, k) for n, i, o, k in convs}
    layers = []

    def add(layer, *inputs):
        layer["inbound_nodes"] = _node(*inputs) if inputs else []
        layers.append(layer)
        return layer["name"]

    add({"class_name": "InputLayer", "name": "image", "config": {
        "batch_input_shape": [None, size, size, 1], "dtype": "float32", "sparse": False, "name": "image"}})

    def conv(name, inp, act="relu"):
        _, o, k = info[name]
        return add(_conv_cfg(name, o, k, act), inp)

    def pool(name, inp):
        return add({"class_name": "MaxPooling2D", "name": name, "config": {
            "name": name, "trainable": False, "dtype": "float32", "pool_size": [2, 2], "strides": [2, 2],
            "padding": "valid", "data_format": "channels_last"}}, inp)

    def up(name, inp):
        return add({"class_name": "UpSampling2D", "name": name, "config": {
            "name": name, "trainable": False, "dtype": "float32", "size": [2, 2],
            "data_format": "channels_last", "interpolation": "nearest"}}, inp)

    def cat(name, a, b):
        return add({"class_name": "Concatenate", "name": name, "config": {
            "name": name, "trainable": False, "dtype": "float32", "axis": -1}}, a, b)

    e1 = conv("enc1b", conv("enc1a", "image"))
    e2 = conv("enc2b", conv("enc2a", pool("pool1", e1)))
    e3 = conv("enc3b", conv("enc3a", pool("pool2", e2)))
    e4 = conv("enc4b", conv("enc4a", pool("pool3", e3)))
    e5 = conv("enc5b", conv("enc5a", pool("pool4", e4)))
    g = add({"class_name": "GlobalAveragePooling2D", "name": "gap", "config": {
        "name": "gap", "trainable": False, "dtype": "float32", "data_format": "channels_last"}}, e5)
    d4 = conv("dec4", cat("cat4", up("up4", e5), e4))
    d3 = conv("dec3", cat("cat3", up("up3", d4), e3))
    d2 = conv("dec2", cat("cat2", up("up2", d3), e2))
    d1 = conv("dec1", cat("cat1", up("up1", d2), e1))
    mask = add(_conv_cfg("mask", 1, 1, "sigmoid"), d1)
    blocks = add({"class_name": "AveragePooling2D", "name": "mask_pool4", "config": {
        "name": "mask_pool4", "trainable": False, "dtype": "float32", "pool_size": [4, 4], "strides": [4, 4],
        "padding": "valid", "data_format": "channels_last"}}, mask)
    bmax = add({"class_name": "GlobalMaxPooling2D", "name": "mask_block_max", "config": {
        "name": "mask_block_max", "trainable": False, "dtype": "float32", "data_format": "channels_last"}}, blocks)
    mmean = add({"class_name": "GlobalAveragePooling2D", "name": "mask_mean", "config": {
        "name": "mask_mean", "trainable": False, "dtype": "float32", "data_format": "channels_last"}}, mask)
    feats = add({"class_name": "Concatenate", "name": "features", "config": {
        "name": "features", "trainable": False, "dtype": "float32", "axis": -1}}, g, bmax, mmean)
    add({"class_name": "Dense", "name": "logits", "config": {
        "name": "logits", "trainable": False, "dtype": "float32", "units": NUM_CLASSES, "activation": "linear",
        "use_bias": True, "kernel_initializer": {"class_name": "Zeros", "config": {}},
        "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": None,
        "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
        "bias_constraint": None}}, feats)
    return {"class_name": "Model", "config": {
        "name": "tumornet", "layers": layers, "input_layers": [["image", 0, 0]],
        "output_layers": [["logits", 0, 0], ["mask", 0, 0], ["features", 0, 0]]},
        "keras_version": "2.12.0", "backend": "tensorflow"}


def tfjs_weights(folded: FoldedTumorNet):
    """[(name, np.float32 array in TF layout)] in a fixed order."""
    out = []
    convs, _ = arch(folded.width)
    for n, _, _, _ in convs:
        w = folded.convs[n].weight.detach().numpy()            # OIHW
        out.append((f"{n}/kernel", np.transpose(w, (2, 3, 1, 0))))  # HWIO
        out.append((f"{n}/bias", folded.convs[n].bias.detach().numpy()))
    out.append(("logits/kernel", folded.fc.weight.detach().numpy().T))   # [in, out]
    out.append(("logits/bias", folded.fc.bias.detach().numpy()))
    out.append(("mask/kernel", np.transpose(folded.head.weight.detach().numpy(), (2, 3, 1, 0))))
    out.append(("mask/bias", folded.head.bias.detach().numpy()))
    return [(n, np.ascontiguousarray(a, dtype=np.float32)) for n, a in out]


def head_spec(folded: FoldedTumorNet):
    """The model card's `head` entry: where the classification head's input and weights are, in both
    formats (federated learning retrains only this head and writes it back in place)."""
    dim = int(folded.fc.weight.shape[1])
    assert dim == folded.width * 16 + MASK_FEATURES
    return {"description": "Dense head on `features` = [global average of the bottleneck (%d), largest 4x4-block "
                           "mean of the mask, mean of the mask]; logits = features @ W + b (before temperature)."
                           % (folded.width * 16),
            "features": {"onnx_output": "features", "tfjs_output_index": 2, "dim": dim},
            "onnx": {"weight": "fc.weight", "weight_layout": "out_in", "bias": "fc.bias"},
            "tfjs": {"kernel": "logits/kernel", "kernel_layout": "in_out", "bias": "logits/bias"},
            "classes": NUM_CLASSES}


def export_tfjs(folded: FoldedTumorNet, out_dir: str, size: int):
    os.makedirs(out_dir, exist_ok=True)
    for f in os.listdir(out_dir):
        if f.endswith(".bin") or f == "model.json":
            os.remove(os.path.join(out_dir, f))
    weights = tfjs_weights(folded)
    shard = "group1-shard1of1.bin"
    with open(os.path.join(out_dir, shard), "wb") as f:
        for _, a in weights:
            f.write(a.astype("<f4").tobytes())
    manifest = [{"paths": [shard], "weights": [{"name": n, "shape": list(a.shape), "dtype": "float32"}
                                               for n, a in weights]}]
    mj = {"format": "layers-model", "generatedBy": "TumorPredict native-models/training/export.py",
          "convertedBy": None, "modelTopology": tfjs_topology(folded.width, size), "weightsManifest": manifest}
    with open(os.path.join(out_dir, "model.json"), "w") as f:
        json.dump(mj, f, separators=(",", ":"))
    return dict(files=["model.json", shard], n_weights=int(sum(a.size for _, a in weights)))


def tf_reference_forward(weights, x_nhwc):
    """Pure-numpy NHWC forward pass using the TF-layout weights (checks the layout conversion
    independently of tfjs; the real tfjs check is verify_tfjs.mjs)."""
    W = dict(weights)

    def conv(x, n, act="relu"):
        k, b = W[n + "/kernel"], W[n + "/bias"]
        kh = k.shape[0]
        p = kh // 2
        xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
        N, H, Wd, C = x.shape
        out = np.zeros((N, H, Wd, k.shape[3]), np.float64)
        for dy in range(kh):
            for dx in range(kh):
                out += np.tensordot(xp[:, dy:dy + H, dx:dx + Wd, :], k[dy, dx], axes=([3], [0]))
        out += b
        return np.maximum(out, 0) if act == "relu" else 1 / (1 + np.exp(-out))

    pool = lambda x: x.reshape(x.shape[0], x.shape[1] // 2, 2, x.shape[2] // 2, 2, x.shape[3]).max((2, 4))
    up = lambda x: x.repeat(2, 1).repeat(2, 2)
    x = x_nhwc.astype(np.float64)
    e1 = conv(conv(x, "enc1a"), "enc1b")
    e2 = conv(conv(pool(e1), "enc2a"), "enc2b")
    e3 = conv(conv(pool(e2), "enc3a"), "enc3b")
    e4 = conv(conv(pool(e3), "enc4a"), "enc4b")
    e5 = conv(conv(pool(e4), "enc5a"), "enc5b")
    d4 = conv(np.concatenate([up(e5), e4], -1), "dec4")
    d3 = conv(np.concatenate([up(d4), e3], -1), "dec3")
    d2 = conv(np.concatenate([up(d3), e2], -1), "dec2")
    d1 = conv(np.concatenate([up(d2), e1], -1), "dec1")
    mask = conv(d1, "mask", act="sigmoid")
    N, H, Wd, _ = mask.shape
    blocks = mask.reshape(N, H // 4, 4, Wd // 4, 4).mean((2, 4))
    feats = np.concatenate([e5.mean((1, 2)), blocks.max((1, 2)).reshape(N, 1), mask.mean((1, 2))], -1)
    logits = feats @ W["logits/kernel"] + W["logits/bias"]
    return logits, mask, feats
