"""After training: fold BN, calibrate on the cal split, evaluate on the held-out val split per source
and per sequence, the shortcut probe, reject tests (synthetic, held-out photographs, Fashion-MNIST,
blank images), a healthy brain from another scanner, the comparison with tumornet 1.0.0, export
ONNX + TF.js, golden vectors, metrics.json and the model card. evaluate_loso() is the
leave-one-source-out evaluation (no export)."""
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

from data import CLASSES, NOTUMOR, OTHER, SEQUENCES, SOURCES
from export import export_onnx, export_tfjs, head_spec, tf_reference_forward, tfjs_weights
from metrics import classification_report, ece, fit_temperature, mask_scores, softmax
from model import TumorNet, fold, macs
from prep import P_HI, P_LO, area_resize, preprocess, to_grey
from synth import KINDS

HERE = os.path.dirname(os.path.abspath(__file__))
FMNIST = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
HEALTHY_NIFTI = "/usr/share/mricron/templates/ch2.nii.gz"
V1_DIR = os.path.abspath(os.path.join(HERE, "..", "tumornet"))
MASK_THRESHOLD = 0.5
TOL = 1e-3
CONFIDENT = 0.9
TUMOR = [0, 1, 3]


def b64f32(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode()


def load_fmnist(n=2000):
    if not os.path.exists(FMNIST):
        return None
    with gzip.open(FMNIST, "rb") as f:
        buf = f.read()
    num, rows, cols = np.frombuffer(buf[4:16], ">u4")
    return np.frombuffer(buf[16:], np.uint8).reshape(num, rows, cols)[:n]


def load_nifti_axial(path, n_slices=33):
    """Axial slices of a NIfTI-1 volume (gzip), evenly spaced through the slices that hold tissue,
    rotated so anterior is up. Returns a list of 2-D float arrays, or None if absent."""
    if not os.path.exists(path):
        return None
    with gzip.open(path, "rb") as f:
        b = f.read()
    dims = np.frombuffer(b[40:56], "<i2")
    dtype = {2: np.uint8, 4: np.int16, 8: np.int32, 16: np.float32, 64: np.float64, 512: np.uint16}[int(np.frombuffer(b[70:72], "<i2")[0])]
    off = int(np.frombuffer(b[108:112], "<f4")[0])
    nx, ny, nz = int(dims[1]), int(dims[2]), int(dims[3])
    vol = np.frombuffer(b[off:off + nx * ny * nz * np.dtype(dtype).itemsize], dtype).reshape(nz, ny, nx).astype(np.float64)
    tissue = [z for z in range(nz) if (vol[z] > vol.max() * 0.1).mean() > 0.15]
    zs = np.linspace(tissue[0], tissue[-1], n_slices).round().astype(int)
    return [np.flipud(vol[z]) for z in zs]


def reject_mask(p, tau):
    return (p.argmax(1) == OTHER) | (p.max(1) < tau)


def decide(p, tau):
    """Final label per image as the app shows it: the argmax class, or 'not recognised' (= OTHER)."""
    d = p.argmax(1).copy()
    d[reject_mask(p, tau)] = OTHER
    return d


def evaluate(p, y, tau, names=CLASSES):
    """Classification figures for calibrated probabilities p and true labels y (0..3); 'not
    recognised' counts as wrong."""
    d = decide(p, tau)
    n = len(y)
    out = dict(n=int(n), accuracy=float((d == y).mean()) if n else None)
    rec = {}
    for c in range(4):
        sel = y == c
        if sel.any():
            rec[names[c]] = dict(n=int(sel.sum()), recall=float((d[sel] == c).mean()),
                                 called=dict(zip(names, np.bincount(d[sel], minlength=5).tolist())))
    out["per_class"] = rec
    out["worst_class_recall"] = min(r["recall"] for r in rec.values()) if rec else None
    tum = np.isin(y, TUMOR)
    if tum.any():
        out["tumors"] = int(tum.sum())
        out["tumor_called_notumor"] = float((d[tum] == NOTUMOR).mean())
        out["tumor_called_notumor_confident"] = float(((d[tum] == NOTUMOR) & (p[tum, NOTUMOR] >= CONFIDENT)).mean())
    real = y < 4
    out["rejected"] = float((d[real] == OTHER).mean()) if real.any() else None
    out["ece_15bin"] = ece(p, y) if n else None
    return out


def breakdowns(p, y, src, seq, tau):
    res = dict(per_source={}, per_sequence={}, per_source_sequence={})
    for s in SOURCES:
        sel = src == s
        if sel.any():
            res["per_source"][s] = evaluate(p[sel], y[sel], tau)
            for q in SEQUENCES:
                sq = sel & (seq == q)
                if sq.any():
                    res["per_source_sequence"][f"{s}/{q}"] = evaluate(p[sq], y[sq], tau)
    for q in SEQUENCES:
        sel = seq == q
        if sel.any():
            res["per_sequence"][q] = evaluate(p[sel], y[sel], tau)
    return res


def logistic_probe(X, y, groups, folds=5, iters=300, lr=0.5, l2=1e-3, seed=0):
    """Multinomial logistic regression (numpy, full-batch gradient descent on standardised
    features), cross-validated by group. Returns accuracy and the majority-class baseline."""
    classes = sorted(set(y))
    if len(classes) < 2:
        return None
    yi = np.array([classes.index(v) for v in y])
    ug = np.unique(groups)
    rng = np.random.default_rng(seed)
    rng.shuffle(ug)
    fold_of = {g: i % folds for i, g in enumerate(ug)}
    f = np.array([fold_of[g] for g in groups])
    correct = 0
    for k in range(folds):
        tr, te = f != k, f == k
        if not te.any() or len(set(yi[tr])) < 2:
            continue
        mu, sd = X[tr].mean(0), X[tr].std(0) + 1e-6
        A, B = (X[tr] - mu) / sd, (X[te] - mu) / sd
        W = np.zeros((A.shape[1], len(classes)))
        b = np.zeros(len(classes))
        Y = np.eye(len(classes))[yi[tr]]
        for _ in range(iters):
            P = softmax(A @ W + b)
            G = P - Y
            W -= lr * (A.T @ G / len(A) + l2 * W)
            b -= lr * G.mean(0)
        correct += int(((B @ W + b).argmax(1) == yi[te]).sum())
    majority = float(np.bincount(yi).max() / len(yi))
    return dict(n=int(len(y)), classes=classes, accuracy=correct / len(y), majority_baseline=majority)


def shortcut_check(feats, y, src, groups):
    """How well a linear probe on the head's image features (the bottleneck average) predicts the
    source, over all images and within each class; and how much the class decision depends on
    the source once the true class is fixed (per-source recall is in the per-source tables)."""
    out = dict(all=logistic_probe(feats, src, groups))
    for c in (0, NOTUMOR):
        sel = y == c
        if sel.any() and len(set(src[sel])) > 1:
            out[f"within_{CLASSES[c]}"] = logistic_probe(feats[sel], src[sel], groups[sel])
    return out


class _V1(torch.nn.Module):
    """tumornet 1.0.0 (width 8, head on the bottleneck average only), rebuilt from its ONNX weights
    for the comparison."""

    def __init__(self, onnx_path):
        super().__init__()
        import onnx
        from onnx import numpy_helper
        from model import FoldedTumorNet
        W = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in onnx.load(onnx_path).graph.initializer}
        self.f = FoldedTumorNet(8)
        self.f.fc = torch.nn.Linear(128, 5)
        sd = {k: W[k] for k in self.f.state_dict() if k in W}
        missing = set(self.f.state_dict()) - set(sd)
        assert not missing, missing
        self.f.load_state_dict(sd)

    def forward(self, x):
        import torch.nn.functional as F
        f = self.f
        c = f.convs
        r = lambda n, t: F.relu(c[n](t))
        e1 = r("enc1b", r("enc1a", x))
        e2 = r("enc2b", r("enc2a", f.pool(e1)))
        e3 = r("enc3b", r("enc3a", f.pool(e2)))
        e4 = r("enc4b", r("enc4a", f.pool(e3)))
        e5 = r("enc5b", r("enc5a", f.pool(e4)))
        logits = f.fc(torch.flatten(f.gap(e5), 1))
        d4 = r("dec4", torch.cat([f.up(e5), e4], 1))
        d3 = r("dec3", torch.cat([f.up(d4), e3], 1))
        d2 = r("dec2", torch.cat([f.up(d3), e2], 1))
        d1 = r("dec1", torch.cat([f.up(d2), e1], 1))
        return logits, torch.sigmoid(f.head(d1))

    def parameters(self, recurse=True):
        return self.f.parameters(recurse)


def load_v1():
    card = os.path.join(V1_DIR, "model-card.json")
    if not os.path.exists(card):
        return None
    with open(card) as f:
        c = json.load(f)
    return dict(model=_V1(os.path.join(V1_DIR, "model.onnx")).eval(), T=float(c["temperature"]),
                tau=float(c["reject_threshold"]), version=c["version"])


def _load_folded(ckpt):
    ck = torch.load(ckpt, map_location="cpu")
    model = TumorNet(ck["width"])
    model.load_state_dict(ck["state"])
    model.eval()
    return ck, model, fold(model)


def _calibrate(folded, D, log):
    """Temperature on the cal split (real images of every source present + other images), the
    reject threshold and the mask threshold."""
    from train import predict
    split, labels = D["split"], D["labels"]
    cal = np.nonzero(split == "cal")[0]
    other = np.concatenate([D["syn"]["cal"], D["photo_cal"]])
    xc = np.concatenate([D["x"][cal], other])
    yc = np.concatenate([labels[cal], np.full(len(other), OTHER)])
    lc, mc = predict(folded, xc)
    T = fit_temperature(lc, yc)
    pc = softmax(lc, T)
    real = yc < 4
    # reject threshold: at most 1% of the real brain slices of cal fall under it (clipped to 0.3..0.6);
    # the "other" class does most of the rejecting.
    ok = real & (pc.argmax(1) != OTHER)
    tau = float(np.clip(np.quantile(pc[ok].max(1), 0.01), 0.3, 0.6)) if ok.any() else 0.5
    # mask threshold: best mean Dice on cal's masked tumor slices
    hm = D["hasmask"][cal] & (labels[cal] != NOTUMOR)
    scan = None
    thr = MASK_THRESHOLD
    if hm.any():
        gt = D["m"][cal][hm]
        scan = {f"{t:.2f}": mask_scores(mc[:len(cal)][hm], gt, t)["dice_mean"] for t in np.arange(0.2, 0.701, 0.05)}
        thr = float(max(scan, key=lambda k: scan[k]))
    log(f"temperature {T:.4f}; reject threshold {tau:.4f}; mask threshold {thr} (cal Dice scan {scan})")
    cal_rep = dict(n=int(len(yc)), ece_before=ece(softmax(lc, 1.0), yc), ece_after=ece(pc, yc),
                   real_rejected=float(reject_mask(pc[real], tau).mean()))
    return T, tau, thr, scan, cal_rep


def _mask_dice(mprob, D, idx, thr):
    out = {}
    for s in SOURCES:
        sel = (D["src"][idx] == s) & D["hasmask"][idx] & (D["labels"][idx] != NOTUMOR) & (D["m"][idx].max((1, 2)) > 0)
        if sel.any():
            r = mask_scores(mprob[sel], D["m"][idx][sel], thr)
            out[s] = r
            for q in SEQUENCES:
                sq = sel & (D["seq"][idx] == q)
                if sq.any() and q != "unknown" and s == "tcga-lgg":
                    out[f"{s}/{q}"] = mask_scores(mprob[sq], D["m"][idx][sq], thr)
    nt = D["labels"][idx] == NOTUMOR
    if nt.any():
        area = (mprob[nt] >= thr).mean((1, 2))
        out["notumor_false_positive"] = dict(n=int(nt.sum()), mean_area_fraction=float(area.mean()),
                                             fraction_area_over_1pct=float((area > 0.01).mean()))
    return out


def reject_tests(model, T, tau, D, size, log, fmnist=True, full=True):
    from photos import load_pictures, random_crops, whole_pictures
    from train import predict
    R = {}
    lo, _ = predict(model, D["syn"]["val"])
    p = softmax(lo, T)
    rej = reject_mask(p, tau)
    kinds = [KINDS[i % len(KINDS)] for i in range(len(p))]
    R["synthetic_val"] = dict(n=int(len(p)), rejected=float(rej.mean()),
                              by_kind={k: float(rej[[kk == k for kk in kinds]].mean()) for k in KINDS})
    pics = load_pictures("holdout", log=log) if full else []
    if pics:
        names, xw = whole_pictures(pics, size)
        lw, _ = predict(model, xw)
        pw = softmax(lw, T)
        rw = reject_mask(pw, tau)
        R["photos_holdout_whole"] = dict(n=int(len(names)), rejected=float(rw.mean()),
                                         packages="python3-skimage, python3-sklearn, ukui-wallpapers, lomiri-wallpapers (never trained on)",
                                         accepted=[dict(file=nm, as_=CLASSES[int(pw[i].argmax())], p=float(pw[i].max()))
                                                   for i, nm in enumerate(names) if not rw[i]])
        xc = random_crops(pics, 500, 4242, size)
        lc, _ = predict(model, xc)
        R["photos_holdout_crops"] = dict(n=500, rejected=float(reject_mask(softmax(lc, T), tau).mean()))
    fm = load_fmnist(2000) if fmnist else None
    if fm is not None:
        xf = np.stack([preprocess(a, size) for a in fm])
        lf, _ = predict(model, xf)
        pf = softmax(lf, T)
        R["fashion_mnist"] = dict(n=int(len(fm)), source=FMNIST + " (first 2000 test images)",
                                  rejected=float(reject_mask(pf, tau).mean()))
    rb = []
    for name, a in [("black", np.zeros((256, 256), np.uint8)), ("white", np.full((256, 256), 255, np.uint8)),
                    ("grey", np.full((100, 80), 128, np.uint8))]:
        lo1, _ = predict(model, preprocess(a, size)[None])
        pp = softmax(lo1, T)
        rb.append(dict(name=name, predicted=CLASSES[int(pp.argmax())], max_prob=float(pp.max()),
                       rejected=bool(reject_mask(pp, tau)[0])))
    R["blank_images"] = rb
    slices = load_nifti_axial(HEALTHY_NIFTI) if full else None
    if slices:
        xh = np.stack([preprocess(s, size) for s in slices])
        lh, _ = predict(model, xh)
        ph = softmax(lh, T)
        d = decide(ph, tau)
        R["healthy_brain_other_scanner"] = dict(
            source=HEALTHY_NIFTI + " (Colin27 T1, MNI; Debian mricron-data), 33 axial slices through the brain",
            n=int(len(d)), called=dict(zip(CLASSES, np.bincount(d, minlength=5).tolist())),
            notumor_or_rejected=float(np.isin(d, [NOTUMOR, OTHER]).mean()))
    log("reject tests", json.dumps({k: (v.get("rejected") if isinstance(v, dict) else v) for k, v in R.items()
                                    if k != "blank_images"}))
    return R


def compare_v1(D, log):
    """tumornet 1.0.0 on brain-tumor-lgg (a source 1.0.0 never saw) and on the reject tests."""
    from train import predict
    v1 = load_v1()
    if v1 is None:
        return None
    lgg = np.nonzero(D["src"] == "tcga-lgg")[0]
    lo, _ = predict(v1["model"], D["x"][lgg])
    p = softmax(lo, v1["T"])
    out = dict(version=v1["version"], tcga_lgg_all=evaluate(p, D["labels"][lgg], v1["tau"]),
               tcga_lgg_per_sequence={q: evaluate(p[D["seq"][lgg] == q], D["labels"][lgg][D["seq"][lgg] == q], v1["tau"])
                                      for q in ("flair", "t1", "t1ce")})
    log("tumornet 1.0.0 on tcga-lgg (never seen):", out["tcga_lgg_all"]["accuracy"])
    return out


def finalize(args, D, tinfo, ckpt, log, work):
    from train import MODEL_ID, MODEL_VERSION, predict
    t0 = time.time()
    size = args.size
    ck, model, folded = _load_folded(ckpt)
    xchk = torch.from_numpy(np.ascontiguousarray(D["x"][:8] if len(D["x"]) >= 8 else D["syn"]["val"][:8]))
    with torch.no_grad():
        l0, m0 = model(xchk)
        l1, m1, _ = folded(xchk)
    fold_diff = dict(logits=float((l0 - l1).abs().max()), mask=float((torch.sigmoid(m0) - m1).abs().max()))
    log("BN fold max abs diff", fold_diff)
    T, tau, mthr, scan, cal_rep = _calibrate(folded, D, log)

    M = dict(model=dict(id=MODEL_ID, version=MODEL_VERSION, width=ck["width"], input_size=size,
                        macs_per_image=macs(ck["width"], size), gflop_per_image=2 * macs(ck["width"], size) / 1e9,
                        params=int(sum(p.numel() for p in folded.parameters())),
                        best_epoch=ck["epoch"], best_sel_score=ck["sel_score"]),
             bn_fold_max_abs_diff=fold_diff, temperature=T, reject_threshold=tau, mask_threshold=mthr,
             mask_threshold_cal_dice_scan=scan, calibration_split=cal_rep,
             split_counts=D["counts"], classes=CLASSES, other_index=OTHER, sources=SOURCES)
    val = np.nonzero(D["split"] == "val")[0]
    if len(val):
        lv, mv, fv = predict(folded, D["x"][val], features=True)
        pv = softmax(lv, T)
        y, src, seq = D["labels"][val], D["src"][val], D["seq"][val]
        rep = evaluate(pv, y, tau)
        rep.update(breakdowns(pv, y, src, seq, tau))
        rep["ece_15bin_before"] = ece(softmax(lv, 1.0), y)
        rep["report"] = classification_report(pv, y, CLASSES)
        M["val"] = rep
        M["val_mask"] = _mask_dice(mv, D, val, mthr)
        log("val accuracy", rep["accuracy"], "worst recall", rep["worst_class_recall"],
            "per source", json.dumps({k: round(v["accuracy"], 4) for k, v in rep["per_source"].items()}))
        log("val mask", json.dumps({k: v.get("dice_mean") for k, v in M["val_mask"].items() if isinstance(v, dict)}))
        # shortcut check on val + cal images (features the head reads, without the two mask values)
        cv = np.nonzero(np.isin(D["split"], ["val", "cal"]))[0]
        _, _, fcv = predict(folded, D["x"][cv], features=True)
        M["shortcut_check"] = shortcut_check(fcv[:, :-2], D["labels"][cv], D["src"][cv], D["groups"][cv])
        log("shortcut probe", json.dumps({k: v and round(v["accuracy"], 3) for k, v in M["shortcut_check"].items()}))
    M["reject"] = reject_tests(folded, T, tau, D, size, log, fmnist=not (args.smoke or args.no_fmnist), full=not args.smoke)
    if not args.smoke:
        M["tumornet_1_0_0"] = compare_v1(D, log)

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
    export_tfjs(folded, os.path.join(out, "tfjs"), size)
    M["head"] = head_spec(folded)
    log("onnx", onnx_info)
    gdir = os.path.join(work, "golden") if args.smoke else os.path.join(HERE, "golden")
    os.makedirs(gdir, exist_ok=True)
    golden_preprocess(os.path.join(gdir, "preprocess.json"), size)
    gx, gnames = golden_inputs(D, size)
    with torch.no_grad():
        gl, gm, gf = folded(torch.from_numpy(gx))
    gl, gm, gf = gl.numpy(), gm.numpy(), gf.numpy()
    from onnx_np import run as onnx_run
    ol, om, of = onnx_run(os.path.join(out, "model.onnx"), {"image": gx})
    tl, tm, tfe = tf_reference_forward(tfjs_weights(folded), np.transpose(gx, (0, 2, 3, 1)))
    M["export_checks"] = dict(
        tolerance=TOL,
        onnx_vs_torch=dict(logits=float(np.abs(ol - gl).max()), mask=float(np.abs(om - gm).max()),
                           features=float(np.abs(of - gf).max())),
        tf_layout_numpy_vs_torch=dict(logits=float(np.abs(tl - gl).max()), mask=float(np.abs(tm[..., 0] - gm[:, 0]).max()),
                                      features=float(np.abs(tfe - gf).max())),
        onnx=onnx_info)
    log("export checks", M["export_checks"]["onnx_vs_torch"], M["export_checks"]["tf_layout_numpy_vs_torch"])
    for k in ("logits", "mask", "features"):
        assert M["export_checks"]["onnx_vs_torch"][k] < TOL and M["export_checks"]["tf_layout_numpy_vs_torch"][k] < TOL, k
    cases = []
    for i, n in enumerate(gnames):
        p = softmax(gl[i:i + 1], T)[0]
        mk = gm[i, 0]
        cases.append(dict(name=n, input_shape=[1, 1, size, size], input_f32_b64=b64f32(gx[i]),
                          logits=[float(v) for v in gl[i]], probs_calibrated=[float(v) for v in p],
                          features=[float(v) for v in gf[i]],
                          predicted=CLASSES[int(p.argmax())], rejected=bool(reject_mask(p[None], tau)[0]),
                          mask_mean=float(mk.astype(np.float64).mean()),
                          mask_pixels_over_threshold=int((mk >= mthr).sum()), mask_f32_b64=b64f32(mk)))
    with open(os.path.join(gdir, "outputs.json"), "w") as f:
        json.dump(dict(description="PyTorch (BN-folded) outputs for preprocessed inputs. input_f32_b64: float32 LE "
                                   "[1,1,H,W] (identical bytes for NHWC [1,H,W,1]); logits raw (before temperature); "
                                   "features: the head's input; mask_f32_b64: sigmoid mask [H,W] float32 LE. "
                                   "Tolerance: max abs diff 1e-3.",
                       model=MODEL_ID, version=MODEL_VERSION, classes=CLASSES, temperature=T, reject_threshold=tau,
                       mask_threshold=mthr, tolerance=TOL, cases=cases), f)
    M["tfjs_check"] = run_node_verify(out, gdir, log)
    M["training"] = {k: v for k, v in tinfo.items() if k != "history"}
    M["training"]["history"] = tinfo.get("history")
    M["loso"] = collect_loso(work)
    M["finalize_seconds"] = time.time() - t0
    mpath = os.path.join(work if args.smoke else HERE, "metrics.json")
    with open(mpath, "w") as f:
        json.dump(M, f, indent=1)
    log("metrics written to", mpath)
    from make_card import make_card
    make_card(mpath, out, log=log)
    return 0


def collect_loso(work):
    out = {}
    for s in SOURCES:
        p = os.path.join(work, f"loso-{s}.json")
        if os.path.exists(p):
            with open(p) as f:
                out[s] = json.load(f)
        else:
            q = os.path.join(HERE, "loso", f"loso-{s}.json")
            if os.path.exists(q):
                with open(q) as f:
                    out[s] = json.load(f)
    return out


def collect_loso_history(folder):
    """Earlier leave-one-source-out runs of the same recipe (other schedules), kept in loso/history/."""
    hist = os.path.join(folder, "history")
    out = []
    for name in sorted(os.listdir(hist)) if os.path.isdir(hist) else []:
        if name.endswith(".json"):
            with open(os.path.join(hist, name)) as f:
                out.append(dict(json.load(f), file=name))
    return out


def evaluate_loso(args, D, tinfo, ckpt, log, work):
    """Leave one source out: the model trained without source S, calibrated on the cal split of the
    other sources, tested on every image of S."""
    from train import predict
    _, _, folded = _load_folded(ckpt)
    T, tau, mthr, _, _ = _calibrate(folded, D, log)
    ho = np.nonzero(D["held_out"])[0]
    lo, mp = predict(folded, D["x"][ho])
    p = softmax(lo, T)
    y = D["labels"][ho]
    res = evaluate(p, y, tau)
    res.update(breakdowns(p, y, D["src"][ho], D["seq"][ho], tau))
    out = dict(source=args.exclude_source, trained_on=[s for s in SOURCES if s != args.exclude_source],
               temperature=T, reject_threshold=tau, test=res, mask=_mask_dice(mp, D, ho, mthr),
               training={k: v for k, v in tinfo.items() if k != "history"},
               command=f"/usr/bin/python3 native-models/training/train.py --exclude-source {args.exclude_source}"
                       + (f" --epochs {args.epochs} --samples-per-epoch {args.samples_per_epoch}" if args else ""))
    if args.exclude_source == "tcga-lgg":
        out["tumornet_1_0_0_same_test"] = compare_v1(D, log)
    path = os.path.join(work, f"loso-{args.exclude_source}.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    os.makedirs(os.path.join(HERE, "loso"), exist_ok=True)
    shutil.copy(path, os.path.join(HERE, "loso", os.path.basename(path)))
    log(f"LOSO {args.exclude_source}: accuracy {res['accuracy']:.4f} worst recall {res['worst_class_recall']} "
        f"per sequence {json.dumps({k: round(v['accuracy'], 4) for k, v in res['per_sequence'].items()})}")
    return 0


def golden_inputs(D, size):
    gx, gnames = [], []
    val = D["split"] == "val"
    for s, lab in [("figshare", 0), ("br35h", 2), ("sartaj", 1), ("figshare", 3), ("tcga-lgg", 0), ("tcga-lgg", 2)]:
        j = np.nonzero(val & (D["src"] == s) & (D["labels"] == lab))[0]
        if len(j):
            gx.append(D["x"][j[0]])
            gnames.append(f"val-{s}-{CLASSES[lab]}:{D['items'][j[0]]['key'] if D['items'] else ''}")
    sv = D["syn"]["val"]
    gx.append(sv[len(KINDS) - 3] if len(sv) > len(KINDS) else sv[0])
    gnames.append("synthetic")
    gx.append(np.zeros((1, size, size), np.float32))
    gnames.append("blank")
    return np.stack(gx).astype(np.float32), gnames


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


def run_node_verify(model_dir, gdir, log):
    script = os.path.join(HERE, "verify_tfjs.mjs")
    repo = os.path.abspath(os.path.join(HERE, "..", ".."))
    if not os.path.exists(os.path.join(repo, "node_modules", "@tensorflow", "tfjs")) or not shutil.which("node"):
        log("tfjs check skipped (node or @tensorflow/tfjs not installed)")
        return dict(skipped=True)
    try:
        r = subprocess.run(["node", script, model_dir, os.path.join(gdir, "outputs.json")], cwd=repo,
                           capture_output=True, text=True, timeout=600)
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
