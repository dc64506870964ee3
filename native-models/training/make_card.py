#!/usr/bin/python3
"""Generate the model folder's model-card.json and MODEL_CARD.md from training/metrics.json.

    /usr/bin/python3 native-models/training/make_card.py [metrics.json] [model_dir]

Every figure in the card is copied from metrics.json (written by train.py and its leave-one-source-out
runs); nothing is typed in by hand.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SEQ_NAMES = {"t1": "T1", "t1ce": "T1 post-contrast", "t2": "T2", "flair": "FLAIR", "unknown": "not recorded"}
SOURCE_NAMES = {"figshare": "figshare (Cheng 2017; T1 post-contrast)", "sartaj": "SARTAJ (mixed sequences, not recorded)",
                "br35h": "Br35H (tumor-free; mixed sequences, not recorded)", "tcga-lgg": "TCGA-LGG (FLAIR, T1, T1 post-contrast)"}
# A sequence counts as validated when a held-out test (val split or leave-one-source-out) of at least
# this many images of it exists; T2 is never recorded in the data, so it is never claimed.
MIN_VALIDATED_N = 50

PREPROCESSING = {
    "summary": "decode -> grey (BT.601 luma, float64) -> exact area-average resize to 128x128 -> per-image "
               "percentile clip [0.5th, 99.5th] scaled to 0..1 -> float32",
    "steps": [
        "1. Decode the image to a numeric pixel array: 8-bit grey/RGB(A) (PNG, JPEG), 16-bit grey, or DICOM "
        "stored values with Modality LUT applied (value*RescaleSlope+RescaleIntercept); invert MONOCHROME1 "
        "(v' = max - v). No window/level is applied. Alpha is ignored. All following arithmetic in float64.",
        "2. Grey: if RGB, g = 0.299*R + 0.587*G + 0.114*B; if grey, g = value.",
        "3. Resize g (h x w) to 128 x 128 by exact area averaging (box integration), separably, no aspect-ratio "
        "preservation (stretch). Along an axis with n_in source pixels and n_out=128 targets: s = n_in/n_out; "
        "target i covers [i*s, (i+1)*s); source pixel j covers [j, j+1); weight(i,j) = overlap length / s. "
        "out[y][x] = sum_j sum_k Wy[y][j] * g[j][k] * Wx[x][k]. Up-sampling uses the same formula.",
        "4. Percentiles over all 16384 resized values: sort ascending v[0..n-1]; for p in {0.5, 99.5}: "
        "r = (n-1)*p/100, f = floor(r), c = ceil(r), P(p) = v[f] + (v[c]-v[f])*(r-f). lo = P(0.5), hi = P(99.5).",
        "5. If hi - lo <= 1e-6 * max(1, |hi|, |lo|): every pixel = 0. Else x = clamp((out - lo)/(hi - lo), 0, 1).",
        "6. Cast to float32. Layout: ONNX NCHW [N,1,128,128]; TF.js NHWC [N,128,128,1] (same bytes for N=1).",
    ],
    "golden_vectors": "native-models/training/golden/preprocess.json",
    "golden_tolerance": 1e-6,
}



def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def pct(v):
    return "n/a" if v is None else f"{100 * v:.1f}%"


def f3(v):
    return "n/a" if v is None else f"{v:.3f}"


def pooled_loso(loso):
    """Accuracy over every leave-one-source-out test image (each scored by the model trained
    without its source), and the per-class recall pooled the same way."""
    n = sum(r["test"]["n"] for r in loso.values())
    if not n:
        return None
    acc = sum(r["test"]["accuracy"] * r["test"]["n"] for r in loso.values()) / n
    per = {}
    for r in loso.values():
        for c, v in r["test"]["per_class"].items():
            p = per.setdefault(c, [0, 0.0])
            p[0] += v["n"]
            p[1] += v["recall"] * v["n"]
    tum = sum(r["test"].get("tumors", 0) for r in loso.values())
    conf = sum(r["test"].get("tumor_called_notumor_confident", 0) * r["test"].get("tumors", 0) for r in loso.values())
    return dict(n=n, accuracy=acc, sources=sorted(loso), per_class_recall={c: v[1] / v[0] for c, v in per.items()},
                worst_class_recall=min(v[1] / v[0] for v in per.values()),
                tumors=tum, tumor_called_notumor_confident=(conf / tum) if tum else None)


def validated_sequences(M):
    seqs = {}
    for q, r in ((M.get("val") or {}).get("per_sequence") or {}).items():
        seqs[q] = seqs.get(q, 0) + r["n"]
    for r in (M.get("loso") or {}).values():
        for q, v in r["test"].get("per_sequence", {}).items():
            seqs[q] = seqs.get(q, 0) + v["n"]
    return sorted(q for q, n in seqs.items() if q not in ("unknown",) and n >= MIN_VALIDATED_N)


def row(name, r):
    return (f"| {name} | {r['n']} | {pct(r['accuracy'])} | {pct(r.get('worst_class_recall'))} | "
            f"{pct(r.get('tumor_called_notumor'))} | {pct(r.get('tumor_called_notumor_confident'))} | {pct(r.get('rejected'))} |")


HEAD = "| test | n | accuracy | worst class recall | tumors called notumor | ... with p >= 0.9 | rejected |\n|---|---|---|---|---|---|---|"


def images_seen(run):
    """Training images a run drew: epochs run x samples per epoch."""
    tr = run.get("training") or {}
    return int(tr.get("epochs_run") or 0) * int((tr.get("args") or {}).get("samples_per_epoch") or 0)


def make_card(metrics_path, model_dir, log=print):
    with open(metrics_path) as f:
        M = json.load(f)
    C = M["classes"]
    mid, ver = M["model"]["id"], M["model"]["version"]
    T, tau, mthr = M["temperature"], M["reject_threshold"], M["mask_threshold"]
    val = M.get("val") or {}
    loso = M.get("loso") or {}
    head = pooled_loso(loso)
    vseq = validated_sequences(M)
    rej = M.get("reject") or {}
    mk = M.get("val_mask") or {}
    v1 = M.get("tumornet_1_0_0")
    tr = M.get("training", {})

    L = []
    a = L.append
    a(f"# TumorNet {ver} (`{mid}`): brain-tumor MRI slice classifier + tumor mask\n")
    a("**Not a medical device. Research demonstration only.** Do not use for diagnosis or treatment decisions.\n")
    a("**Non-commercial.** Part of the training data (TCGA-LGG via Buda et al.) is licensed CC BY-NC-SA 4.0: this "
      "model may be used for non-commercial research only, and derivatives must be shared alike.\n")
    a("Generated by `native-models/training/make_card.py` from `native-models/training/metrics.json` (written by "
      "`train.py`, with the leave-one-source-out runs in `native-models/training/loso/`). Every number is measured.\n")
    a("## What to expect on a new site's data\n")
    if head:
        a(f"The figure that best predicts data from a hospital whose images the model never saw is the "
          f"**leave-one-source-out** accuracy: the same recipe trained without one source and tested on all of it, "
          f"pooled over {len(head['sources'])} sources: **{pct(head['accuracy'])} (n = {head['n']})**, worst class "
          f"recall {pct(head['worst_class_recall'])}, tumors called \"no tumor\" with p >= 0.9: "
          f"{pct(head['tumor_called_notumor_confident'])}.\n")
        a(HEAD)
        for s, r in sorted(loso.items()):
            a(row(f"trained without {SOURCE_NAMES.get(s, s)}, tested on it", r["test"]))
            for q, v in sorted(r["test"].get("per_sequence", {}).items()):
                if len(r["test"]["per_sequence"]) > 1:
                    a(row(f"&nbsp;&nbsp;{s}, {SEQ_NAMES.get(q, q)}", v))
        a("")
        for s, r in sorted(loso.items()):
            a(f"- `{r.get('command', '')}` ({r['training'].get('epochs_run', '?')} epochs)")
        a("")
        hist = M.get("loso_history") or []
        if hist:
            a("Earlier runs of the same recipe on other schedules (not pooled above; each line is what it measured):\n")
            a(HEAD)
            for r in hist:
                a(row(f"without {SOURCE_NAMES.get(r['source'], r['source'])}, {r['training'].get('epochs_run', '?')} epochs "
                      f"x {(r['training'].get('args') or {}).get('samples_per_epoch', '?')}", r["test"]))
            a("")
        # Say so when the leave-one-out runs were trained on fewer images than the shipped model.
        seen = [images_seen(r) for r in loso.values()]
        main_args = tr.get("args") or {}
        earlier = tr.get("stages_before") or []
        init = tr.get("init") or {}
        if earlier:  # a chain of stages, each started from the previous one's best checkpoint
            main_seen = sum(int(s["best_epoch"]) * int(s["samples_per_epoch"]) for s in earlier)
            main_seen += int(M["model"]["best_epoch"]) * int(main_args.get("samples_per_epoch") or 0)
            how = ", then ".join(f"stage {s['stage']}: {s['best_epoch']} epochs x {s['samples_per_epoch']:,}" for s in earlier)
            how += f", then stage {len(earlier) + 1}: {M['model']['best_epoch']} epochs x {main_args.get('samples_per_epoch'):,}"
            how = f" ({how}, each to its best checkpoint)"
        else:
            main_seen = int(tr.get("epochs_run") or 0) * int(main_args.get("samples_per_epoch") or 0)
            if init.get("epoch"):
                main_seen += int(init["epoch"]) * int(main_args.get("samples_per_epoch") or 0)
            how = (f" (stage 1: {init['epoch']} epochs to its best checkpoint, then {tr.get('epochs_run')} fine-tuning epochs)"
                   if init.get("epoch") else "")
        if seen and main_seen and max(seen) < main_seen:
            a(f"These runs saw at most {max(seen):,} training images each (a shorter schedule, for the time on these "
              f"2 CPU cores), the shipped model about {main_seen:,}{how}. The leave-one-source-out runs follow the "
              "first stage's recipe; the later stages (a lower learning rate, figshare tumors only from slices with "
              "masks) were not repeated without each source.\n")
        lgg_runs = [r for r in [loso.get("tcga-lgg")] + hist if r and r.get("source") == "tcga-lgg"]
        if len(lgg_runs) > 1:
            a("Without TCGA-LGG, " + " and ".join(f"{images_seen(r):,} training images gave {pct(r['test']['accuracy'])}"
                                                 for r in lgg_runs)
              + " on it: training longer on the other sources did not make the model transfer better to a new one.\n")
        if v1 and "tcga-lgg" in loso:
            mine, old = loso["tcga-lgg"]["test"], v1["tcga_lgg_all"]
            if mine["accuracy"] > old["accuracy"]:
                a(f"**Default clinical model:** this one. On TCGA-LGG, the one source neither model was trained on, "
                  f"this recipe's leave-one-source-out run scores {pct(mine['accuracy'])} against 1.0.0's "
                  f"{pct(old['accuracy'])} (n = {old['n']}).\n")
            else:
                a(f"**Default clinical model: tumornet 1.0.0 stays the default.** On TCGA-LGG, the one source neither "
                  f"model was trained on, this recipe's leave-one-source-out run scores {pct(mine['accuracy'])} against "
                  f"1.0.0's {pct(old['accuracy'])} (n = {old['n']}). It calls fewer tumors \"no tumor\" "
                  f"({pct(mine.get('tumor_called_notumor'))} against {pct(old.get('tumor_called_notumor'))}) but names the "
                  "wrong tumor type more often.\n")
    else:
        a("No leave-one-source-out run has been recorded yet; the grouped-split figures below overstate what a new "
          "site will see.\n")
    a(f"**Validated sequences:** {', '.join(SEQ_NAMES[q] for q in vseq) or 'none'} (each with >= {MIN_VALIDATED_N} "
      "held-out images). **T2 is not among them:** no data set here records T2; SARTAJ and Br35H hold T2 images "
      "among others, unlabelled. On a series whose sequence is outside this list the workstation says so next to "
      "the AI result.\n")
    a("## Held-out validation split (grouped by patient / near-duplicate)\n")
    if val:
        a(HEAD)
        a(row("all sources", val))
        for s, r in val.get("per_source", {}).items():
            a(row(SOURCE_NAMES.get(s, s), r))
        for q, r in val.get("per_sequence", {}).items():
            a(row(f"sequence: {SEQ_NAMES.get(q, q)}", r))
        a("")
        rep = val.get("report") or {}
        if rep:
            a(f"ECE (15 bins): {pct(val.get('ece_15bin_before'))} before, **{pct(val.get('ece_15bin'))}** after "
              f"temperature scaling (T = {T:.4f}). Macro AUC (one-vs-rest): {f3(rep.get('macro_auc_ovr'))}.\n")
            a("| class | precision | recall | F1 | AUC | support |\n|---|---|---|---|---|---|")
            for c, v in rep["per_class"].items():
                a(f"| {c} | {pct(v['precision'])} | {pct(v['recall'])} | {pct(v['f1'])} | {f3(v['auc_ovr'])} | {v['support']} |")
            cm = rep.get("confusion_matrix")
            if cm:
                a("\nConfusion matrix (rows true, columns predicted incl. `other`):\n")
                a("| | " + " | ".join(cm["cols_pred"]) + " |\n|---|" + "---|" * len(cm["cols_pred"]))
                for nm, r in zip(cm["rows_true"], cm["counts"]):
                    a(f"| {nm} | " + " | ".join(str(x) for x in r) + " |")
            a("")
    a("## Tumor mask\n")
    a(f"Threshold {mthr} (best mean Dice on the calibration split).\n")
    a("| held-out val slices | n | Dice mean | Dice median | IoU mean |\n|---|---|---|---|---|")
    for k, v in mk.items():
        if "dice_mean" in v:
            a(f"| {k} | {v['n']} | {f3(v['dice_mean'])} | {f3(v['dice_median'])} | {f3(v['iou_mean'])} |")
    fp = mk.get("notumor_false_positive")
    if fp:
        a(f"\nOn {fp['n']} tumor-free val slices the mask covers {pct(fp['mean_area_fraction'])} of the image on "
          f"average; {pct(fp['fraction_area_over_1pct'])} of them have more than 1% marked.\n")
    for s, r in sorted(loso.items()):
        for k, v in (r.get("mask") or {}).items():
            if "dice_mean" in v and k == s:
                a(f"Leave-one-source-out, {s}: Dice mean {f3(v['dice_mean'])} (n = {v['n']}).\n")
    sc = M.get("shortcut_check") or {}
    if sc:
        a("## Shortcut check\n")
        a("A linear probe (multinomial logistic regression, 5-fold cross-validated by group) on the 256 bottleneck "
          "features the classification head reads, on the val and cal images. High source accuracy *within a "
          "class* means the features still carry where an image came from; what matters for a new site is "
          "whether the *class decision* follows the source, which the per-source recalls above and the "
          "leave-one-source-out table show.\n")
        a("| probe predicts the source | n | accuracy | majority baseline |\n|---|---|---|---|")
        for k, v in sc.items():
            if v:
                a(f"| {k.replace('_', ' ')} ({', '.join(v['classes'])}) | {v['n']} | {pct(v['accuracy'])} | {pct(v['majority_baseline'])} |")
        a("")
    a("## \"Not recognised\"\n")
    a(f"Let p = softmax(logits / {T:.4f}). The result is **not recognised** if argmax(p) is `other` or max(p) < "
      f"**{tau:.4f}**. `other` was trained on synthetic patterns and on crops of real photographs, paintings and "
      "cut-out objects from Debian packages (see `photos.py`); the held-out pictures come from other packages.\n")
    a("| test | n | rejected |\n|---|---|---|")
    names = dict(synthetic_val="synthetic non-brain (held-out seed)",
                 photos_holdout_whole="photographs and pictures never trained on (whole)",
                 photos_holdout_crops="crops of those pictures", fashion_mnist="Fashion-MNIST test images")
    for k, nm in names.items():
        if rej.get(k):
            a(f"| {nm} | {rej[k]['n']} | {pct(rej[k]['rejected'])} |")
    if val:
        a(f"| real brain slices of the val split (false rejects) | {val['n']} | {pct(val['rejected'])} |")
    a("")
    acc = (rej.get("photos_holdout_whole") or {}).get("accepted") or []
    if acc:
        a("Held-out pictures that were accepted: " + ", ".join(f"{x['file']} -> {x['as_']} ({x['p']:.2f})" for x in acc) + ".\n")
    hb = rej.get("healthy_brain_other_scanner")
    if hb:
        a(f"A healthy brain from another scanner ({hb['source']}): {hb['called']} -> "
          f"{pct(hb['notumor_or_rejected'])} called no tumor or not recognised.\n")
    if v1:
        a("## Compared with tumornet 1.0.0\n")
        a("On TCGA-LGG, a source neither 1.0.0 nor this recipe's leave-one-out run trained on:\n")
        a(HEAD)
        a(row("tumornet 1.0.0", v1["tcga_lgg_all"]))
        for q, r in v1["tcga_lgg_per_sequence"].items():
            a(row(f"&nbsp;&nbsp;1.0.0, {SEQ_NAMES.get(q, q)}", r))
        if "tcga-lgg" in loso:
            a(row(f"{ver} recipe trained without TCGA-LGG" if not tr.get("stages_before") else "this model's stage-1 recipe trained without TCGA-LGG", loso["tcga-lgg"]["test"]))
        a("")
    a("## Model, input and outputs\n")
    a(f"A U-Net (width {M['model']['width']}, {M['model']['params']:,} parameters, {M['model']['gflop_per_image']:.3f} "
      "GFLOP per 128x128 image) whose classification head reads `features` = [the bottleneck's global average, the "
      "largest 4x4-block mean of the tumor mask, the mean of the mask]: whether there is a tumor can follow what "
      "the segmentation (trained on tumor and tumor-free slices of the same scans) finds. One pass gives both.\n")
    a(f"- Input `image`: ONNX float32 `[N,1,128,128]`, TF.js `[N,128,128,1]`.\n"
      f"- `logits` `[N,5]` before temperature (T = {T:.4f}); `mask` `[N,1,128,128]` sigmoid probabilities "
      f"(threshold {mthr}); `features` `[N,{M['head']['features']['dim']}]`, the head's input (federated learning "
      "retrains only the head: ONNX Gemm `fc.weight`/`fc.bias`, TF.js Dense `logits`). TF.js output order: "
      "logits, mask, features.\n")
    a("### Preprocessing (exact; implement bit-for-bit)\n")
    for s in PREPROCESSING["steps"]:
        a(f"{s}\n")
    a(f"\nGolden vectors: `{PREPROCESSING['golden_vectors']}` (max abs diff <= 1e-6); golden outputs "
      "`native-models/training/golden/outputs.json` (tolerance 1e-3).\n")
    ec = M.get("export_checks") or {}
    if ec:
        a(f"Export checks (max abs diff vs PyTorch): ONNX {ec['onnx_vs_torch']}, TF layout {ec['tf_layout_numpy_vs_torch']}; "
          f"tfjs {M.get('tfjs_check', {}).get('tfjs_logits_max_abs_diff')}.\n")
    a("## Training data\n")
    a("- `brain-tumor-mri`: M. Nickparvar, \"Brain Tumor MRI Dataset\" (CC0 1.0), which combines the figshare brain "
      "tumor dataset (J. Cheng, 2017, CC BY 4.0, doi:10.6084/m9.figshare.1512427), the SARTAJ data set and Br35H. "
      "Sources told apart by storage (colour-encoded tumor JPEGs are exact figshare copies, grey ones SARTAJ, "
      "colour-encoded tumor-free ones Br35H; see `data.py`).\n"
      "- `brain-tumor-seg`: figshare brain tumor dataset (J. Cheng, CC BY 4.0), T1 post-contrast slices with masks.\n"
      "- `brain-tumor-lgg`: M. Buda et al., Computers in Biology and Medicine 2019 (Kaggle "
      "\"mateuszbuda/lgg-mri-segmentation\"), images from The Cancer Imaging Archive's TCGA-LGG collection (cite "
      "TCIA and TCGA); **CC BY-NC-SA 4.0, non-commercial**. FLAIR, T1 and T1 post-contrast of the same scans, with "
      "tumor-free slices of the same volumes.\n"
      "- \"Not recognised\" examples: synthetic patterns (`synth.py`) and pictures from Debian packages (`photos.py`).\n")
    a("### Splits\n")
    a("Groups that never straddle splits: near-duplicates across data sets (16x16 cosine >= 0.98), TCGA-LGG patients, "
      "consecutive figshare slices alike at cosine >= 0.85 (a stand-in for patient ids), SARTAJ and Br35H images "
      "alike at cosine >= 0.95. Whole groups go to val 15% / cal 10% / sel 8% / train per (source, class) stratum. "
      "File lists with source, group and sequence: `native-models/training/splits/{train,sel,cal,val}.csv`.\n")
    a("| split | source | " + " | ".join(C[:4]) + " |\n|---|---|" + "---|" * 4)
    for k, by in M["split_counts"].items():
        for s, cnt in by.items():
            a(f"| {k} | {s} | " + " | ".join(str(cnt.get(c, 0)) for c in C[:4]) + " |")
    a("")
    a("### Recipe\n")
    for st in tr.get("stages_before") or []:
        a(f"Stage {st['stage']}: `{st['command']}`, {st['epochs_run']} epochs, best epoch {st['best_epoch']}"
          + (f" (shipped as {st['shipped_as']})" if st.get("shipped_as") else "") + ".\n")
    if tr.get("stages_before"):
        a(f"Stage {len(tr['stages_before']) + 1}, from stage {len(tr['stages_before'])}'s best checkpoint:\n")
    a(f"`{tr.get('command', '')}` on {tr.get('device', 'cpu')}, {tr.get('epochs_run')} epochs "
      f"({(tr.get('train_wall_s') or 0) / 60:.0f} min), best epoch {M['model']['best_epoch']}; fixed schedule: "
      f"`{tr.get('reproduce_command', '')}`. Each epoch draws images with classes equal and sources weighted "
      "within a class (`SOURCE_SHARES` in `train.py`), plus 14% not-recognised examples. Augmentation "
      "(`augment.py`): flips, rotation, scale, shift; random gamma, random intensity curves, contrast inversion "
      "inside the head, tumor-aware T2-like contrast, bias field, blur, resolution loss, Gaussian/Rician noise, "
      "JPEG re-encoding, then the app's percentile normalisation. Loss: cross-entropy (label smoothing 0.05) + "
      "mask BCE + soft Dice. Checkpoint chosen by the mean over sources of the balanced accuracy on `sel` + 0.3 "
      "x mask Dice.\n")
    a("## Limitations\n")
    a("- 2-D slices, one at a time; no 3-D context. Axial, coronal and sagittal slices were all in training.\n"
      "- T2 is not validated (not recorded in any data set here); other-source figures above are the honest guide.\n"
      "- Meningioma and pituitary tumors come from two sources only (figshare, SARTAJ).\n"
      "- The classes are four; any other pathology (stroke, MS, metastasis, ...) is outside what it knows and may be "
      "called one of them.\n"
      "- Not a medical device. Research demonstration only. Non-commercial (CC BY-NC-SA 4.0 training data).\n")
    md = "\n".join(L) + "\n"
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(model_dir, "MODEL_CARD.md"), "w") as f:
        f.write(md)

    files = {}
    for root, _, fs in os.walk(model_dir):
        for fn in sorted(fs):
            p = os.path.join(root, fn)
            rel = os.path.relpath(p, model_dir)
            if rel == "model-card.json":
                continue
            files[rel] = dict(sha256=sha256(p), bytes=os.path.getsize(p))
    headline = None
    if head:
        headline = dict(figure="leave-one-source-out accuracy", accuracy=head["accuracy"], n=head["n"],
                        sources=head["sources"], worst_class_recall=head["worst_class_recall"],
                        tumor_called_notumor_confident=head["tumor_called_notumor_confident"],
                        description="the same recipe trained without one source and tested on all of it, pooled over "
                                    f"{len(head['sources'])} sources: the best guide to a new site's data")
    card = {
        "id": mid, "version": ver, "name": "TumorNet",
        "task": "brain-tumor MRI slice classification (glioma / meningioma / notumor / pituitary / not recognised) with a tumor segmentation mask, one forward pass",
        "disclaimer": "Not a medical device. Research demonstration only.",
        "license_notice": "Non-commercial research use only: trained on TCGA-LGG data (Buda et al.) licensed CC BY-NC-SA 4.0.",
        "classes": C,
        "class_labels": {"glioma": "Glioma", "meningioma": "Meningioma", "notumor": "No tumor", "pituitary": "Pituitary tumor", "other": "Not recognised"},
        "not_recognised_index": M["other_index"], "tumor_class_indices": [0, 1, 3],
        "input": {"height": 128, "width": 128, "channels": 1, "dtype": "float32",
                  "onnx": {"name": "image", "shape": ["N", 1, 128, 128], "layout": "NCHW"},
                  "tfjs": {"name": "image", "shape": ["N", 128, 128, 1], "layout": "NHWC"},
                  "preprocessing": PREPROCESSING},
        "outputs": {
            "logits": {"index_tfjs": 0, "onnx_name": "logits", "shape": ["N", 5], "meaning": "raw class logits before temperature; probabilities = softmax(logits / temperature)"},
            "mask": {"index_tfjs": 1, "onnx_name": "mask", "shape_onnx": ["N", 1, 128, 128], "shape_tfjs": ["N", 128, 128, 1],
                     "meaning": "per-pixel tumor probability (sigmoid already applied, 0..1) on the resized grid", "activation": "sigmoid", "threshold": mthr},
            "features": {"index_tfjs": 2, "onnx_name": "features", "shape": ["N", M["head"]["features"]["dim"]], "meaning": "the classification head's input"},
        },
        "head": M["head"],
        "temperature": T, "reject_threshold": tau, "mask_threshold": mthr,
        "reject_rule": f"not recognised if argmax(softmax(logits/T)) == {M['other_index']} or max(softmax(logits/T)) < reject_threshold",
        "formats": {"onnx": {"path": "model.onnx", "opset": M["export_checks"]["onnx"]["opset"], "outputs": ["logits", "mask", "features"]},
                    "tfjs": {"path": "tfjs/model.json", "format": "layers-model"}},
        "validated_sequences": vseq,
        "training_data": [
            {"name": "Brain Tumor MRI Dataset", "author": "M. Nickparvar", "license": "CC0 1.0",
             "includes": ["figshare brain tumor dataset (J. Cheng, 2017, CC BY 4.0, doi:10.6084/m9.figshare.1512427)", "SARTAJ data set", "Br35H"]},
            {"name": "figshare brain tumor dataset (segmentation masks)", "author": "J. Cheng", "year": 2017, "license": "CC BY 4.0", "doi": "10.6084/m9.figshare.1512427"},
            {"name": "LGG MRI segmentation (TCGA-LGG)", "author": "M. Buda et al., Computers in Biology and Medicine 2019", "license": "CC BY-NC-SA 4.0 (non-commercial)",
             "credit": "The Cancer Imaging Archive (TCIA), The Cancer Genome Atlas (TCGA)"},
        ],
        "validation_split": {"method": "groups (near-duplicates, TCGA-LGG patients, neighbouring figshare slices, alike SARTAJ/Br35H images) assigned whole to one split per (source, class) stratum: val 15%, cal 10%, sel 8%; fixed seed",
                             "counts": M["split_counts"], "file_lists": "native-models/training/splits/"},
        "metrics": {
            "source": "native-models/training/metrics.json",
            "headline": headline,
            "validation_classification": {"n": val.get("n"), "accuracy": val.get("accuracy"), "worst_class_recall": val.get("worst_class_recall"),
                                          "note": "grouped split of the training sources: overstates a new site"} if val else None,
            "per_source": {s: {"n": r["n"], "accuracy": r["accuracy"]} for s, r in val.get("per_source", {}).items()},
            "per_sequence": {q: {"n": r["n"], "accuracy": r["accuracy"]} for q, r in val.get("per_sequence", {}).items()},
            "leave_one_source_out": {s: {"n": r["test"]["n"], "accuracy": r["test"]["accuracy"], "worst_class_recall": r["test"]["worst_class_recall"],
                                         "per_sequence": {q: {"n": v["n"], "accuracy": v["accuracy"]} for q, v in r["test"].get("per_sequence", {}).items()}}
                                     for s, r in loso.items()},
            "mask_dice": {k: v.get("dice_mean") for k, v in mk.items() if isinstance(v, dict) and "dice_mean" in v},
            "ece_after": val.get("ece_15bin"),
            "reject": {k: v.get("rejected") for k, v in rej.items() if isinstance(v, dict) and "rejected" in v},
        },
        "training": {"command": tr.get("command"), "reproduce_fixed_schedule": tr.get("reproduce_command"), "seed": (tr.get("args") or {}).get("seed"),
                     "epochs": tr.get("epochs_run"), "best_epoch": M["model"]["best_epoch"], "wall_time_s": tr.get("train_wall_s"), "device": tr.get("device")},
        "model": M["model"],
        "intended_use": "Research demonstration of on-device inference for single 2-D brain MRI slices. Non-commercial.",
        "limitations": "See MODEL_CARD.md. T2 not validated. Not a medical device. Research demonstration only.",
        "files": files,
    }
    with open(os.path.join(model_dir, "model-card.json"), "w") as f:
        json.dump(card, f, indent=1)
    log(f"card written to {model_dir}")
    return card


if __name__ == "__main__":
    # --with-loso: first copy the leave-one-source-out results that finished after the main run
    # (native-models/training/loso/loso-SOURCE.json) into metrics.json, then write the card.
    argv = [a for a in sys.argv[1:] if a != "--with-loso"]
    mp = argv[0] if len(argv) > 0 else os.path.join(HERE, "metrics.json")
    md = argv[1] if len(argv) > 1 else os.path.abspath(os.path.join(HERE, "..", "tumornet-v2"))
    if "--with-loso" in sys.argv[1:]:
        from finalize import collect_loso, collect_loso_history
        with open(mp) as f:
            M = json.load(f)
        M["loso"] = collect_loso(os.path.join(HERE, "loso"))
        M["loso_history"] = collect_loso_history(os.path.join(HERE, "loso"))
        with open(mp, "w") as f:
            json.dump(M, f, indent=1)
    make_card(mp, md)
