"""Static int8 quantization of a TumorNet ONNX model (QDQ format, per-channel int8 weights, uint8
activations calibrated on the cal split), checked against the float model on the val split.

    /usr/bin/python3 native-models/training/quantize.py [--model-dir native-models/tumornet-v2]

Writes `model.int8.onnx` beside `model.onnx`, adds an `int8` section to `model-card.json` (float
and int8 accuracy and mask Dice on val, the condition, whether int8 is chosen; the file listed
with its sha256) and the same figures to `MODEL_CARD.md`; a copy of the section goes to
`work/int8/int8.json`. Debian's python has no onnxruntime, so
calibration ranges and the val outputs come from onnxruntime-node (`quantize_run.mjs`).

What is quantized: every Conv (weights int8 symmetric per output channel, bias int32 at
input scale x weight scale), the activations around it (uint8, min/max over the calibration
images; a Relu output has zero point 0 so onnxruntime folds the Relu), and the MaxPool, Resize
and Concat between convs (MaxPool and Resize keep their input's scale). The classifier head
(pooling, Gemm) and the sigmoid stay float.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


MD_SECTION = "## int8 (quantized ONNX)"


def log(*a):
    print(f"[{time.strftime('%H:%M:%S')}]", *a, flush=True)


def node_run(mode, model, x, out, size):
    path = out + ".in.f32"
    np.ascontiguousarray(x, np.float32).tofile(path)
    subprocess.run(["node", os.path.join(HERE, "quantize_run.mjs"), mode, model, path, str(size), str(size), out], check=True)
    os.remove(path)


def act_qparams(lo, hi):
    lo, hi = min(0.0, float(lo)), max(0.0, float(hi))
    s = (hi - lo) / 255.0 if hi > lo else 1.0
    zp = int(np.clip(round(-lo / s), 0, 255))
    return np.float32(s), np.uint8(zp)


def build_qdq(float_path, ranges, out_path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    m = onnx.load(float_path)
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    consumers = {}
    producer = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
        for o in n.output:
            producer[o] = n
    graph_outputs = {o.name for o in g.output}

    # Activations to quantize, and the range each takes.
    want = {}

    def add(t, rng=None):
        if t in inits or not t:
            return
        want.setdefault(t, rng or ranges[t])

    for n in g.node:
        if n.op_type == "Conv":
            add(n.input[0])
            y = n.output[0]
            cs = consumers.get(y, [])
            if len(cs) == 1 and cs[0].op_type == "Relu" and y not in graph_outputs:
                add(cs[0].output[0])
            else:
                add(y)
    # Between convs: pooling, upsampling and concatenation run on int8 too.
    changed = True
    while changed:
        changed = False
        for n in g.node:
            if n.op_type in ("MaxPool", "Resize") and n.input[0] in want and n.output[0] not in want:
                want[n.output[0]] = want[n.input[0]]  # same scale: onnxruntime drops the Q/DQ around it
                changed = True
            if n.op_type == "Concat" and n.output[0] in want:
                for i in n.input:
                    if i not in want and i not in inits:
                        want[i] = ranges[i]
                        changed = True
    qp = {t: act_qparams(*r) for t, r in want.items()}

    new_inits = []
    nodes = []
    scale_name = {}
    for t, (s, zp) in qp.items():
        scale_name[t] = (f"{t}__scale", f"{t}__zp")
        new_inits += [numpy_helper.from_array(np.array(s, np.float32), f"{t}__scale"),
                      numpy_helper.from_array(np.array(zp, np.uint8), f"{t}__zp")]

    def q_of(t):
        return f"{t}__q"

    dq_count = {}

    def dq_for(t):
        """A DequantizeLinear of t's quantized value for one consumer (onnxruntime groups a node
        with its own DQ nodes)."""
        k = dq_count.get(t, 0)
        dq_count[t] = k + 1
        name = f"{t}__dq{k}"
        s, z = scale_name[t]
        nodes.append(helper.make_node("DequantizeLinear", [q_of(t), s, z], [name], name=name))
        return name

    def emit_q(t):
        s, z = scale_name[t]
        nodes.append(helper.make_node("QuantizeLinear", [t, s, z], [q_of(t)], name=q_of(t)))

    if g.input[0].name in qp:
        emit_q(g.input[0].name)
    for n in g.node:
        ins = list(n.input)
        if n.op_type == "Conv":
            w = numpy_helper.to_array(inits[ins[1]]).astype(np.float32)
            ws = np.maximum(np.abs(w.reshape(w.shape[0], -1)).max(1) / 127.0, 1e-12).astype(np.float32)
            wq = np.clip(np.round(w / ws[:, None, None, None]), -127, 127).astype(np.int8)
            base = ins[1]
            new_inits += [numpy_helper.from_array(wq, f"{base}__int8"), numpy_helper.from_array(ws, f"{base}__wscale"),
                          numpy_helper.from_array(np.zeros(len(ws), np.int8), f"{base}__wzp")]
            nodes.append(helper.make_node("DequantizeLinear", [f"{base}__int8", f"{base}__wscale", f"{base}__wzp"], [f"{base}__dqw"], axis=0,
                                          name=f"{base}__dqw"))
            ins[1] = f"{base}__dqw"
            if len(ins) > 2 and ins[2]:
                b = numpy_helper.to_array(inits[ins[2]]).astype(np.float64)
                bs = (qp[n.input[0]][0] * ws).astype(np.float32)
                bq = np.round(b / bs).astype(np.int32)
                bb = ins[2]
                new_inits += [numpy_helper.from_array(bq, f"{bb}__int32"), numpy_helper.from_array(bs, f"{bb}__bscale"),
                              numpy_helper.from_array(np.zeros(len(bs), np.int32), f"{bb}__bzp")]
                nodes.append(helper.make_node("DequantizeLinear", [f"{bb}__int32", f"{bb}__bscale", f"{bb}__bzp"], [f"{bb}__dqb"], axis=0,
                                              name=f"{bb}__dqb"))
                ins[2] = f"{bb}__dqb"
        for k, i in enumerate(ins):
            if i in qp and not (n.op_type == "Conv" and k > 0):
                ins[k] = dq_for(i)
        nodes.append(helper.make_node(n.op_type, ins, list(n.output), name=n.name or None, domain=n.domain or None,
                                      **{a.name: helper.get_attribute_value(a) for a in n.attribute}))
        for o in n.output:
            if o in qp:
                emit_q(o)
    # Graph outputs stay float: an output tensor that is quantized keeps its float producer.
    kept = [t for t in g.initializer if t.name not in {n.input[1] for n in g.node if n.op_type == "Conv"}
            and t.name not in {n.input[2] for n in g.node if n.op_type == "Conv" and len(n.input) > 2}]
    g2 = helper.make_graph(nodes, g.name, list(g.input), list(g.output), kept + new_inits, value_info=[])
    m2 = helper.make_model(g2, opset_imports=list(m.opset_import), producer_name="tumornet-quantize")
    m2.ir_version = m.ir_version
    onnx.checker.check_model(m2)
    onnx.save(m2, out_path)
    return len(qp), sum(1 for n in g.node if n.op_type == "Conv")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", default=os.path.join(ROOT, "native-models", "tumornet-v2"))
    ap.add_argument("--data", default=None)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--cal-n", type=int, default=512, help="calibration images drawn (seeded) from the cal split and its 'other' images (0 = all)")
    ap.add_argument("--eval-only", action="store_true", help="reuse work/int8's val outputs and model.int8.onnx (no calibration, no inference)")
    ap.add_argument("--max-accuracy-drop", type=float, default=0.005, help="int8 chosen when its val accuracy is within this of float's")
    ap.add_argument("--max-dice-drop", type=float, default=0.01, help="... and its mask Dice within this")
    args = ap.parse_args(argv)
    from data import WORK
    from train import prepare

    card_path = os.path.join(args.model_dir, "model-card.json")
    with open(card_path) as f:
        card = json.load(f)
    T, tau = float(card["temperature"]), float(card["reject_threshold"])
    mthr = float(card.get("mask_threshold", card["outputs"]["mask"].get("threshold", 0.5)))
    size = int(card["input"]["height"])
    float_path = os.path.join(args.model_dir, "model.onnx")
    int8_path = os.path.join(args.model_dir, "model.int8.onnx")
    work = os.path.join(WORK, "int8")
    os.makedirs(work, exist_ok=True)

    t0 = time.time()
    D = prepare(argparse.Namespace(data=args.data, size=size, smoke=False, exclude_source=None, seed=args.seed), log)
    split, labels = D["split"], D["labels"]
    cal = np.nonzero(split == "cal")[0]
    val = np.nonzero(split == "val")[0]
    xc = np.concatenate([D["x"][cal], D["syn"]["cal"], D["photo_cal"]]).astype(np.float32)
    if args.cal_n and len(xc) > args.cal_n:
        xc = xc[np.sort(np.random.default_rng(args.seed).choice(len(xc), args.cal_n, replace=False))]
    log(f"data ready in {time.time() - t0:.0f}s: {len(xc)} calibration images (cal split + its 'other' images), {len(val)} val images")

    if not args.eval_only:
        calibrate_and_build(float_path, int8_path, xc, work, size)
    evaluate_both(args, D, val, float_path, int8_path, work, size, T, tau, mthr, xc, card, card_path)
    return 0


def calibrate_and_build(float_path, int8_path, xc, work, size):
    import onnx
    # 1. Ranges: the float model with every activation as an extra output, over the cal images.
    m = onnx.load(float_path)
    inits = {t.name for t in m.graph.initializer}
    outs = {o.name for o in m.graph.output}
    acts = [m.graph.input[0].name] + [o for n in m.graph.node for o in n.output if o not in inits]
    aug = onnx.load(float_path)
    for a in acts:
        if a not in outs:
            aug.graph.output.append(onnx.helper.make_empty_tensor_value_info(a))
    aug_path = os.path.join(work, "augmented.onnx")
    onnx.save(aug, aug_path)
    rpath = os.path.join(work, "ranges.json")
    node_run("minmax", aug_path, xc, rpath, size)
    with open(rpath) as f:
        rj = json.load(f)
    lo_in, hi_in = float(xc.min()), float(xc.max())
    ranges = {k: (v["min"], v["max"]) for k, v in rj.items()}
    ranges[m.graph.input[0].name] = (lo_in, hi_in)

    # 2. The QDQ model.
    nq, nconv = build_qdq(float_path, ranges, int8_path)
    log(f"wrote {int8_path}: {nconv} convs, {nq} quantized activations")



def evaluate_both(args, D, val, float_path, int8_path, work, size, T, tau, mthr, xc, card, card_path):
    from data import NOTUMOR, SOURCES
    from finalize import evaluate
    from metrics import mask_scores, softmax
    labels = D["labels"]
    # 3. Float and int8 on val, the same decision rule as the card (temperature, reject threshold, mask threshold).
    xv = D["x"][val].astype(np.float32)
    y = labels[val]
    res = {}
    for tag, path in (("float", float_path), ("int8", int8_path)):
        pre = os.path.join(work, f"val_{tag}")
        if not (args.eval_only and os.path.exists(pre + ".logits.f32")):
            node_run("run", path, xv, pre, size)
        lv = np.fromfile(pre + ".logits.f32", np.float32).reshape(len(val), -1)
        mv = np.fromfile(pre + ".mask.f32", np.float32).reshape(len(val), size, size)
        rep = evaluate(softmax(lv, T), y, tau)
        sel = D["hasmask"][val] & (y != NOTUMOR) & (D["m"][val].max((1, 2)) > 0)
        ms = mask_scores(mv[sel], D["m"][val][sel], mthr)
        per_source = {}
        for src in SOURCES:
            ss = sel & (D["src"][val] == src)
            if ss.any():
                per_source[src] = mask_scores(mv[ss], D["m"][val][ss], mthr)["dice_mean"]
        res[tag] = dict(accuracy=rep["accuracy"], n=rep["n"], worst_class_recall=rep["worst_class_recall"], rejected=rep["rejected"],
                        mask_dice_mean=ms["dice_mean"], mask_n=ms["n"], mask_dice_per_source=per_source)
        log(tag, json.dumps(res[tag]))
    acc_drop = res["float"]["accuracy"] - res["int8"]["accuracy"]
    # The Dice condition holds overall and for each source the card reports a Dice for.
    dice_drop = max([res["float"]["mask_dice_mean"] - res["int8"]["mask_dice_mean"]]
                    + [res["float"]["mask_dice_per_source"][k] - res["int8"]["mask_dice_per_source"].get(k, 0.0) for k in res["float"]["mask_dice_per_source"]])
    chosen = bool(acc_drop <= args.max_accuracy_drop and dice_drop <= args.max_dice_drop)
    out = dict(
        file="model.int8.onnx", sha256=sha256(int8_path), bytes=os.path.getsize(int8_path),
        method="static QDQ: int8 weights (symmetric, per output channel), uint8 activations (min/max over the calibration images), int32 bias; head and sigmoid float",
        calibration=dict(split="cal", images=int(len(xc)), note="drawn (seeded) from the cal split's real slices and its synthetic and photo 'other' images"),
        validation=dict(split="val", float=res["float"], int8=res["int8"], accuracy_drop=acc_drop, mask_dice_drop=dice_drop),
        condition=f"int8 is used when its val accuracy is within {args.max_accuracy_drop * 100:.1f} points of the float model's and its mask Dice (overall and per source) within {args.max_dice_drop}",
        chosen=chosen,
        command="/usr/bin/python3 native-models/training/quantize.py --model-dir " + os.path.relpath(args.model_dir, ROOT),
    )
    with open(os.path.join(work, "int8.json"), "w") as f:
        json.dump(out, f, indent=1)
    card["int8"] = out
    # Listed with its hash like every file of the model, so the app verifies it before it runs it.
    entry = dict(sha256=out["sha256"], bytes=out["bytes"])
    files = card.setdefault("files", {})
    if isinstance(files, list):
        files[:] = [f for f in files if f.get("path") != out["file"]] + [dict(path=out["file"], **entry)]
    else:
        files[out["file"]] = entry
    # The human card says the same (a section of its own, replaced on a re-run).
    md_path = os.path.join(args.model_dir, "MODEL_CARD.md")
    if os.path.exists(md_path):
        with open(md_path) as f:
            text = f.read().split(MD_SECTION)[0].rstrip("\n")
        fv, iv = res["float"], res["int8"]
        src = ", ".join(f"{k} {fv['mask_dice_per_source'][k]:.3f} / {iv['mask_dice_per_source'].get(k, 0):.3f}" for k in fv["mask_dice_per_source"])
        text += (f"\n\n{MD_SECTION}\n\n`model.int8.onnx`: {out['method']}; calibrated on {len(xc)} images of the cal split.\n\n"
                 f"| on val (n = {fv['n']}) | float | int8 |\n| --- | --- | --- |\n"
                 f"| accuracy | {fv['accuracy'] * 100:.2f}% | {iv['accuracy'] * 100:.2f}% |\n"
                 f"| mask Dice, mean (n = {fv['mask_n']}) | {fv['mask_dice_mean']:.3f} | {iv['mask_dice_mean']:.3f} |\n\n"
                 f"Mask Dice per source (float / int8): {src}.\n\n"
                 f"{out['condition'][0].upper() + out['condition'][1:]}: **{'met, the app runs int8' if chosen else 'not met, the app runs the float model'}**. "
                 f"Made by `{out['command']}`.\n")
        with open(md_path, "w") as f:
            f.write(text)
        md_entry = dict(sha256=sha256(md_path), bytes=os.path.getsize(md_path))
        if isinstance(files, list):
            files[:] = [f for f in files if f.get("path") != "MODEL_CARD.md"] + [dict(path="MODEL_CARD.md", **md_entry)]
        else:
            files["MODEL_CARD.md"] = md_entry
    with open(card_path, "w") as f:
        json.dump(card, f, indent=1)
    log(f"accuracy float {res['float']['accuracy']:.4f} int8 {res['int8']['accuracy']:.4f} (drop {acc_drop * 100:.2f} points); "
        f"Dice float {res['float']['mask_dice_mean']:.4f} int8 {res['int8']['mask_dice_mean']:.4f} (largest drop overall or per source {dice_drop:.4f}); chosen: {chosen}")


if __name__ == "__main__":
    sys.exit(main())
