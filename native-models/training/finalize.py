"""After training: fold BN, calibrate on the cal split, evaluate on the held-out val split, reject
tests, export ONNX + TF.js, golden vectors, metrics.json and the model card."""
from __future__ import annotations

import base64
import gzip
import json
import os
import shutil
import subprocess
import time

import numpy as np
import torch

from data import CLASSES, OTHER
from export import export_onnx, export_tfjs, tf_reference_forward, tfjs_weights
from metrics import classification_report, ece, fit_temperature, mask_scores, softmax
from model import TumorNet, fold, macs
from prep import IMG_SIZE, P_HI, P_LO, preprocess, area_resize, to_grey
from synth import KINDS, synth_set

HERE = os.path.dirname(os.path.abspath(__file__))
FMNIST = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
MASK_THRESHOLD = 0.5
TOL = 1e-3


def b64f32(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode()


def load_fmnist(n=2000):
    if not os.path.exists(FMNIST):
        return None
    with gzip.open(FMNIST, "rb") as f:
        buf = f.read()
    num, rows, cols = np.frombuffer(buf[4:16], ">u4")
    a = np.frombuffer(buf[16:], np.uint8).reshape(num, rows, cols)
    return a[:n]


def reject_mask(probs_cal, tau):
    return (probs_cal.argmax(1) == OTHER) | (probs_cal.max(1) < tau)


def golden_preprocess(path, size):
    rng = np.random.default_rng(7)
    cases = []
    yy, xx = np.mgrid[0:37, 0:29]
    g8 = np.clip(128 + 90 * np.sin(yy / 5.0) * np.cos(xx / 4.0) + rng.normal(0, 20, (37, 29)), 0, 255).astype(np.uint8)
    cases.append(("grey8_37x29", g8, "uint8", 1))
    yy, xx = np.mgrid[0:40, 0:33]
    rgb = np.stack([(yy * 6) % 256, (xx * 7) % 256, ((yy + xx) * 3) % 256], -1).astype(np.uint8)
    rgb[10:20, 5:15] = [250, 20, 60]
    cases.append(("rgb8_40x33", rgb, "uint8", 3))
    yy, xx = np.mgrid[0:45, 0:52]
    g16 = np.clip(2000 + 1800 * np.exp(-((yy - 20) ** 2 + (xx - 30) ** 2) / 150.0) + rng.normal(0, 60, (45, 52)),
                  0, 4095).astype(np.uint16)
    g16[0, 0] = 65535  # an outlier that the percentile clip must absorb
    cases.append(("grey16_45x52", g16, "uint16", 1))
    cases.append(("constant_20x20", np.full((20, 20), 77, np.uint8), "uint8", 1))
    yy, xx = np.mgrid[0:150, 0:130]
    big = ((yy * 3 + xx * 5) % 251).astype(np.uint8)
    cases.append(("grey8_150x130_downsample", big, "uint8", 1))
    out = []
    for name, a, dt, ch in cases:
        g = area_resize(to_grey(a), size, size)
        x = preprocess(a, size)
        s = np.sort(g.ravel())
        out.append(dict(name=name, height=int(a.shape[0]), width=int(a.shape[1]), channels=ch, dtype=dt,
                        pixels=a.ravel().astype(int).tolist(),
                        resized_grey_min=float(s[0]), resized_grey_max=float(s[-1]),
                        expected_shape=[1, size, size], expected_f32_b64=b64f32(x),
                        expected_sum=float(x.astype(np.float64).sum()),
                        expected_first8=[float(v) for v in x.ravel()[:8]]))
    doc = dict(
        description="Golden vectors for TumorNet preprocessing. pixels are row-major (RGB interleaved for "
                    "channels=3). expected_f32_b64 is the float32 little-endian [1,H,W] tensor, base64. "
                    "Compare with max abs diff <= 1e-6.",
        size=[size, size], grey="0.299R+0.587G+0.114B (float64)", resize="exact area average (box), separable",
        percentiles=[P_LO, P_HI], percentile_definition="sorted v[0..n-1], r=(n-1)*p/100, linear interpolation",
        cases=out)
    with open(path, "w") as f:
        json.dump(doc, f)


def finalize(args, D, tinfo, ckpt, log, work):
    t0 = time.time()
    size = args.size
    ck = torch.load(ckpt, map_location="cpu")
    model = TumorNet(ck["width"])
    model.load_state_dict(ck["state"])
    model.eval()
    folded = fold(model)
    from train import predict, DUP_THRESHOLD
    # fold check
    xchk = torch.from_numpy(np.ascontiguousarray(D["x"][:8] if len(D["x"]) >= 8 else D["syn"]["val"][:8]))
    with torch.no_grad():
        l0, m0 = model(xchk)
        l1, m1 = folded(xchk)
    fold_diff = dict(logits=float((l0 - l1).abs().max()), mask=float((torch.sigmoid(m0) - m1).abs().max()))
    log("BN fold max abs diff", fold_diff)

    split, src, labels = D["split"], D["src"], D["labels"]
    sl = lambda k, s: (split == k) & (src == s)
    P = {}
    for k in ("cal", "val"):
        for s in ("mri", "seg"):
            idx = np.nonzero(sl(k, s))[0]
            if len(idx):
                lo, mp = predict(folded, D["x"][idx])
                P[(k, s)] = dict(idx=idx, logits=lo, mask=mp, y=labels[idx])
    syn_val, syn_kinds = (D["syn"]["val"], None)
    lo_sv, _ = predict(folded, syn_val)
    syn_kinds = [KINDS[i % len(KINDS)] for i in range(len(syn_val))]
    lo_sc, _ = predict(folded, D["syn"]["cal"])

    # ---- temperature on the cal split (brain-tumor-mri cal images, 5-way softmax)
    if ("cal", "mri") in P:
        cl, cy = P[("cal", "mri")]["logits"], P[("cal", "mri")]["y"]
    else:
        cl, cy = lo_sc, np.full(len(lo_sc), OTHER)
    T = fit_temperature(cl, cy)
    pc = softmax(cl, T)
    tau = float(np.clip(np.quantile(pc.max(1), 0.02), 0.4, 0.8))
    log(f"temperature {T:.4f}; reject threshold tau {tau:.4f}")
    # mask threshold: the value in 0.20..0.70 that maximises mean Dice on the cal split's tumor slices
    global MASK_THRESHOLD
    mask_thr_scan = None
    if ("cal", "seg") in P:
        c = P[("cal", "seg")]
        gtc = D["m"][c["idx"]]
        mask_thr_scan = {f"{t:.2f}": mask_scores(c["mask"], gtc, t)["dice_mean"] for t in np.arange(0.2, 0.701, 0.05)}
        MASK_THRESHOLD = float(max(mask_thr_scan, key=lambda k: mask_thr_scan[k]))
        log(f"mask threshold {MASK_THRESHOLD} (cal Dice scan {mask_thr_scan})")

    M = dict(model=dict(width=ck["width"], input_size=size, macs_per_image=macs(ck["width"], size),
                        gflop_per_image=2 * macs(ck["width"], size) / 1e9,
                        params=int(sum(p.numel() for p in folded.parameters())),
                        best_epoch=ck["epoch"], best_sel_score=ck["sel_score"]),
             bn_fold_max_abs_diff=fold_diff, temperature=T, reject_threshold=tau,
             split_counts=D["counts"], classes=CLASSES, other_index=OTHER, dup_threshold=DUP_THRESHOLD,
             mask_threshold=MASK_THRESHOLD, mask_threshold_cal_dice_scan=mask_thr_scan)
    # ---- classification on val (brain-tumor-mri)
    if ("val", "mri") in P:
        v = P[("val", "mri")]
        p1, pT = softmax(v["logits"], 1.0), softmax(v["logits"], T)
        rep = classification_report(pT, v["y"], CLASSES)
        rep["ece_15bin_before"] = ece(p1, v["y"])
        rep["ece_15bin_after"] = ece(pT, v["y"])
        rej = reject_mask(pT, tau)
        rep["reject"] = dict(rejected_fraction=float(rej.mean()),
                             accuracy_on_accepted=float((pT.argmax(1) == v["y"])[~rej].mean()) if (~rej).any() else None)
        rep["cal_ece_15bin_before"] = ece(softmax(cl, 1.0), cy)
        rep["cal_ece_15bin_after"] = ece(pc, cy)
        M["val_classification_mri"] = rep
        log("val (brain-tumor-mri) accuracy", rep["accuracy"], "macro AUC", rep["macro_auc_ovr"],
            "ECE before/after", rep["ece_15bin_before"], rep["ece_15bin_after"])
        log("confusion", rep["confusion_matrix"]["counts"])
        # FP mask area on notumor val slices
        nt = v["y"] == CLASSES.index("notumor")
        area = (v["mask"][nt] >= MASK_THRESHOLD).mean((1, 2))
        M["val_notumor_false_positive_mask"] = dict(
            n=int(nt.sum()), mean_area_fraction=float(area.mean()) if nt.any() else None,
            fraction_slices_any_positive_pixel=float((area > 0).mean()) if nt.any() else None,
            fraction_slices_area_over_1pct=float((area > 0.01).mean()) if nt.any() else None)
    if ("val", "seg") in P:
        v = P[("val", "seg")]
        gt = D["m"][v["idx"]]
        M["val_mask_seg"] = mask_scores(v["mask"], gt, MASK_THRESHOLD)
        pT = softmax(v["logits"], T)
        M["val_classification_seg_secondary"] = dict(n=int(len(v["y"])),
                                                     accuracy=float((pT.argmax(1) == v["y"]).mean()))
        log("val mask", M["val_mask_seg"])
    # ---- reject behaviour
    pS = softmax(lo_sv, T)
    rejS = reject_mask(pS, tau)
    by_kind = {}
    for k in KINDS:
        sel = np.array([kk == k for kk in syn_kinds])
        by_kind[k] = float(rejS[sel].mean())
    M["reject_synthetic_val"] = dict(n=int(len(pS)), rejected_fraction=float(rejS.mean()), by_kind=by_kind,
                                     max_tumor_class_prob_mean=float(pS[:, :4].max(1).mean()),
                                     note="held-out synthetic images (different seed from training)")
    fm = None if args.smoke or args.no_fmnist else load_fmnist(2000)
    if fm is not None:
        xf = np.stack([preprocess(a, size) for a in fm])
        lf, _ = predict(folded, xf)
        pF = softmax(lf, T)
        rejF = reject_mask(pF, tau)
        M["reject_fashion_mnist"] = dict(n=int(len(fm)), source=FMNIST + " (first 2000 test images)",
                                         rejected_fraction=float(rejF.mean()),
                                         rejected_by_argmax_other=float((pF.argmax(1) == OTHER).mean()),
                                         accepted_as=dict(zip(CLASSES[:4], np.bincount(pF[~rejF].argmax(1), minlength=5)[:4].tolist())))
        log("fashion-mnist rejected", M["reject_fashion_mnist"]["rejected_fraction"])
    else:
        M["reject_fashion_mnist"] = None
    # blank / constant
    rb = []
    for name, a in [("black", np.zeros((256, 256), np.uint8)), ("white", np.full((256, 256), 255, np.uint8)),
                    ("grey", np.full((100, 80), 128, np.uint8))]:
        lo, _ = predict(folded, preprocess(a, size)[None])
        p = softmax(lo, T)
        rb.append(dict(name=name, predicted=CLASSES[int(p.argmax())], max_prob=float(p.max()),
                       rejected=bool(reject_mask(p, tau)[0])))
    M["reject_blank_images"] = rb

    # ---- exports
    out = args.out
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        pth = os.path.join(out, f)
        if f in ("model.onnx", "model-card.json", "MODEL_CARD.md"):
            os.remove(pth)
        elif f == "tfjs":
            shutil.rmtree(pth)
    onnx_info = export_onnx(folded, os.path.join(out, "model.onnx"), size)
    tf_info = export_tfjs(folded, os.path.join(out, "tfjs"), size)
    log("onnx", onnx_info)
    # golden outputs (from PyTorch folded model)
    gdir = os.path.join(work, "golden") if args.smoke else os.path.join(HERE, "golden")
    os.makedirs(gdir, exist_ok=True)
    golden_preprocess(os.path.join(gdir, "preprocess.json"), size)
    gx, gnames = [], []
    for k, s, lab in [("val", "seg", 0), ("val", "mri", 2), ("val", "mri", 1), ("val", "seg", 3)]:
        if (k, s) in P:
            v = P[(k, s)]
            j = np.nonzero(v["y"] == lab)[0]
            if len(j):
                gx.append(D["x"][v["idx"][j[0]]])
                gnames.append(f"{k}-{s}-{CLASSES[lab]}:{D['items'][v['idx'][j[0]]]['key'] if D['items'] else ''}")
    gx.append(D["syn"]["val"][len(KINDS) - 3] if len(D["syn"]["val"]) > len(KINDS) else D["syn"]["val"][0])
    gnames.append("synthetic")
    gx.append(np.zeros((1, size, size), np.float32))
    gnames.append("blank")
    gx = np.stack(gx).astype(np.float32)
    with torch.no_grad():
        gl, gm = folded(torch.from_numpy(gx))
    gl, gm = gl.numpy(), gm.numpy()
    # ONNX check (numpy interpreter) and TF-layout check
    from onnx_np import run as onnx_run
    ol, om = onnx_run(os.path.join(out, "model.onnx"), {"image": gx})
    tl, tm = tf_reference_forward(tfjs_weights(folded), np.transpose(gx, (0, 2, 3, 1)))
    M["export_checks"] = dict(
        tolerance=TOL,
        onnx_vs_torch=dict(logits=float(np.abs(ol - gl).max()), mask=float(np.abs(om - gm).max())),
        tf_layout_numpy_vs_torch=dict(logits=float(np.abs(tl - gl).max()),
                                      mask=float(np.abs(tm[..., 0] - gm[:, 0]).max())),
        onnx=onnx_info)
    log("export checks", M["export_checks"]["onnx_vs_torch"], M["export_checks"]["tf_layout_numpy_vs_torch"])
    assert M["export_checks"]["onnx_vs_torch"]["logits"] < TOL and M["export_checks"]["onnx_vs_torch"]["mask"] < TOL
    assert M["export_checks"]["tf_layout_numpy_vs_torch"]["logits"] < TOL
    cases = []
    for i, n in enumerate(gnames):
        p = softmax(gl[i:i + 1], T)[0]
        mk = gm[i, 0]
        cases.append(dict(name=n, input_shape=[1, 1, size, size], input_f32_b64=b64f32(gx[i]),
                          logits=[float(v) for v in gl[i]], probs_calibrated=[float(v) for v in p],
                          predicted=CLASSES[int(p.argmax())], rejected=bool(reject_mask(p[None], tau)[0]),
                          mask_mean=float(mk.astype(np.float64).mean()),
                          mask_pixels_over_threshold=int((mk >= MASK_THRESHOLD).sum()),
                          mask_f32_b64=b64f32(mk)))
    with open(os.path.join(gdir, "outputs.json"), "w") as f:
        json.dump(dict(description="PyTorch (BN-folded) outputs for preprocessed inputs. input_f32_b64: float32 LE "
                                   "[1,1,H,W] (identical bytes for NHWC [1,H,W,1]); logits raw (before temperature); "
                                   "mask_f32_b64: sigmoid mask [H,W] float32 LE. Tolerance: max abs diff 1e-3.",
                       classes=CLASSES, temperature=T, reject_threshold=tau, mask_threshold=MASK_THRESHOLD,
                       tolerance=TOL, cases=cases), f)
    # tfjs check in node (if available)
    M["tfjs_check"] = run_node_verify(out, gdir, log)
    M["training"] = {k: v for k, v in tinfo.items() if k != "history"}
    M["training"]["history"] = tinfo.get("history")
    M["finalize_seconds"] = time.time() - t0
    mpath = os.path.join(work if args.smoke else HERE, "metrics.json")
    with open(mpath, "w") as f:
        json.dump(M, f, indent=1)
    log("metrics written to", mpath)
    from make_card import make_card
    make_card(mpath, out, log=log)
    return 0


def run_node_verify(model_dir, gdir, log):
    script = os.path.join(HERE, "verify_tfjs.mjs")
    repo = os.path.abspath(os.path.join(HERE, "..", ".."))
    if not os.path.exists(os.path.join(repo, "node_modules", "@tensorflow", "tfjs")) or not shutil.which("node"):
        log("tfjs check skipped (node or @tensorflow/tfjs not installed)")
        return dict(skipped=True)
    try:
        r = subprocess.run(["node", script, model_dir, os.path.join(gdir, "outputs.json")], cwd=repo,
                           capture_output=True, text=True, timeout=300)
    except Exception as e:  # noqa: BLE001
        log("tfjs check failed to run", e)
        return dict(skipped=True, error=str(e))
    log("verify_tfjs:", r.stdout.strip()[-2000:], r.stderr.strip()[-1000:])
    try:
        res = json.loads(r.stdout.strip().splitlines()[-1])
    except Exception:  # noqa: BLE001
        res = dict(parse_error=True)
    res["exit_code"] = r.returncode
    return res
