"""Export the BN-folded TumorNet to ONNX and TensorFlow.js Layers format (hand-written topology)."""
from __future__ import annotations

import json
import os

import numpy as np
import torch

from model import FoldedTumorNet, arch, NUM_CLASSES

ONNX_OPSET = 13


def export_onnx(folded: FoldedTumorNet, path: str, size: int):
    import onnx
    os.makedirs(os.path.dirname(path), exist_ok=True)
    folded = folded.eval()
    dummy = torch.zeros(1, 1, size, size)
    torch.onnx.export(
        folded, dummy, path, input_names=["image"], output_names=["logits", "mask"],
        dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}, "mask": {0: "N"}},
        opset_version=ONNX_OPSET, do_constant_folding=True)
    m = onnx.load(path)
    m.producer_name = "tumornet-export"
    m.doc_string = ("TumorNet: input image float32 [N,1,H,W] preprocessed grey 0..1; outputs logits [N,5] raw "
                    "(before temperature) and mask [N,1,H,W] sigmoid probabilities.")
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)
    ops = sorted({n.op_type for n in m.graph.node})
    return dict(opset=ONNX_OPSET, ops=ops,
                inputs=[(i.name, [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]) for i in m.graph.input],
                outputs=[(o.name, [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim]) for o in m.graph.output])


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
    add({"class_name": "Dense", "name": "logits", "config": {
        "name": "logits", "trainable": False, "dtype": "float32", "units": NUM_CLASSES, "activation": "linear",
        "use_bias": True, "kernel_initializer": {"class_name": "Zeros", "config": {}},
        "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": None,
        "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
        "bias_constraint": None}}, g)
    d4 = conv("dec4", cat("cat4", up("up4", e5), e4))
    d3 = conv("dec3", cat("cat3", up("up3", d4), e3))
    d2 = conv("dec2", cat("cat2", up("up2", d3), e2))
    d1 = conv("dec1", cat("cat1", up("up1", d2), e1))
    c = _conv_cfg("mask", 1, 1, "sigmoid")
    add(c, d1)
    return {"class_name": "Model", "config": {
        "name": "tumornet", "layers": layers, "input_layers": [["image", 0, 0]],
        "output_layers": [["logits", 0, 0], ["mask", 0, 0]]},
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
    logits = e5.mean((1, 2)) @ W["logits/kernel"] + W["logits/bias"]
    d4 = conv(np.concatenate([up(e5), e4], -1), "dec4")
    d3 = conv(np.concatenate([up(d4), e3], -1), "dec3")
    d2 = conv(np.concatenate([up(d3), e2], -1), "dec2")
    d1 = conv(np.concatenate([up(d2), e1], -1), "dec1")
    mask = conv(d1, "mask", act="sigmoid")
    return logits, mask
