#!/usr/bin/python3
"""Rebuild the shipped TumorNet model from the data with fixed seeds.

    /usr/bin/python3 native-models/training/train.py                 # full run (train + finalize)
    /usr/bin/python3 native-models/training/train.py --smoke         # one batch, export to a temp dir
    /usr/bin/python3 native-models/training/train.py --finalize-only # calibrate/evaluate/export from work/best.pt
    /usr/bin/python3 native-models/training/train.py --exclude-source tcga-lgg   # leave one source out

Steps: decode+preprocess all images once (numpy cache in work/), group by patient / near-duplicate
/ neighbouring slice, label every image with its source and sequence, split by group into train /
sel (checkpoint selection) / cal (temperature) / val (held out, only for the final report), train
with source- and class-balanced sampling and MR contrast augmentation, keep the best checkpoint by
the sel score, fold BN, fit temperature on cal, evaluate on val per source and per sequence,
export ONNX + TF.js + golden vectors, write metrics.json and the model card.

Leave one source out (--exclude-source S): the same recipe trained without S, tested on every
image of S; writes work/loso-S.json (no export). make_card.py puts these figures in the card.
Runs on CUDA when one is found (--device auto), else on the CPU.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from augment import augment  # noqa: E402
from data import (CLASSES, NOTUMOR, OTHER, SOURCES, SPLITS_DIR, WORK, assign_sources, build_cache,  # noqa: E402
                  default_data_root, group_items, make_splits, write_split_lists)
from model import TumorNet, macs  # noqa: E402
from synth import synth_set  # noqa: E402

MODEL_ID = "tumornet-v2"
MODEL_VERSION = "2.1.0"
MODEL_DIR = os.path.abspath(os.path.join(HERE, "..", MODEL_ID))
DUP_THRESHOLD = 0.98
# Share of each source within a class in every epoch (renormalised over the sources present).
SOURCE_SHARES = {
    "glioma": {"figshare": 0.35, "sartaj": 0.3, "tcga-lgg": 0.35},
    "meningioma": {"figshare": 0.5, "sartaj": 0.5},
    "notumor": {"br35h": 0.65, "sartaj": 0.04, "tcga-lgg": 0.31},
    "pituitary": {"figshare": 0.5, "sartaj": 0.5},
}
OTHER_SHARE = 0.14


class Logger:
    def __init__(self, path):
        self.f = open(path, "a") if path else None

    def __call__(self, *a):
        s = " ".join(str(x) for x in a)
        line = f"[{time.strftime('%H:%M:%S')}] {s}"
        print(line, flush=True)
        if self.f:
            self.f.write(line + "\n")
            self.f.flush()


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name):
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


# ----------------------------------------------------------------------------- inference helper
@torch.no_grad()
def predict(model, x, bs=256, device=None, features=False):
    """-> logits [N,5], mask probabilities [N,H,W] (and head features [N,F] if asked)."""
    model.eval()
    dev = device or next(model.parameters()).device
    L, M, Fs = [], [], []
    for i in range(0, len(x), bs):
        xb = torch.from_numpy(np.ascontiguousarray(x[i:i + bs])).to(dev).contiguous(memory_format=torch.channels_last)
        out = model(xb)
        lo, mk = out[0], out[1]
        if isinstance(model, TumorNet):  # training model returns mask logits; folded returns sigmoid
            mk = torch.sigmoid(mk)
        L.append(lo.float().cpu().numpy())
        M.append(mk[:, 0].float().cpu().numpy())
        if features:
            Fs.append(out[2].float().cpu().numpy() if len(out) > 2 else model(xb, return_features=True)[2].float().cpu().numpy())
    res = (np.concatenate(L), np.concatenate(M))
    return res + (np.concatenate(Fs),) if features else res


def sel_score(model, D, device):
    """Checkpoint score on the sel split: mean over sources of the balanced accuracy (mean recall of
    the classes the source has), + 0.3 x mean mask Dice on masked tumor slices."""
    from metrics import mask_scores
    logits, mprob = predict(model, D["x_sel"], device=device)
    pred = logits.argmax(1)
    y, srcs = D["y_sel"], D["src_sel"]
    per_source = {}
    for s in sorted(set(srcs)):
        sel = srcs == s
        rec = [float((pred[sel & (y == c)] == c).mean()) for c in range(5) if (sel & (y == c)).any()]
        per_source[s] = float(np.mean(rec))
    bacc = float(np.mean(list(per_source.values())))
    hm = D["hm_sel"]
    dice = mask_scores(mprob[hm], D["m_sel"][hm])["dice_mean"] if hm.any() else 0.0
    return bacc + 0.3 * dice, bacc, dice, per_source


# ----------------------------------------------------------------------------- data
def prepare(args, log):
    root = args.data or default_data_root()
    size = args.size
    if root is None:
        if not args.smoke:
            raise SystemExit("data sets not found; pass --data")
        log("no data set found: smoke run on synthetic stand-ins only")
        return None
    items, x, m, hasmask, feat = build_cache(root, size, limit_per_class=6 if args.smoke else None, log=log)
    groups = group_items(items, feat, DUP_THRESHOLD, log=log)
    src = assign_sources(items, groups)
    split = make_splits(items, groups, args.seed)
    labels = np.array([it["label"] for it in items])
    seq = np.array([it["sequence"] for it in items])
    if not args.smoke and not args.exclude_source:
        write_split_lists(items, split, groups, SPLITS_DIR)
    counts = {}
    for k in ("train", "sel", "cal", "val"):
        counts[k] = {}
        for s in SOURCES:
            sel = (split == k) & (src == s)
            c = {CLASSES[c]: int(((labels == c) & sel).sum()) for c in range(4)}
            if sum(c.values()):
                counts[k][s] = c
    log("split counts:", json.dumps(counts))
    held_out = None
    if args.exclude_source:
        if args.exclude_source not in SOURCES:
            raise SystemExit(f"--exclude-source must be one of {SOURCES}")
        held_out = src == args.exclude_source
        split = np.where(held_out, "heldout", split)
        log(f"leave-one-source-out: {int(held_out.sum())} images of {args.exclude_source} held out (not trained, not selected on)")
    n_syn = dict(train=64, sel=16, cal=16, val=16) if args.smoke else dict(train=6000, sel=300, cal=300, val=750)
    syn = {}
    for k, s in zip(("train", "sel", "cal", "val"), (101, 202, 303, 404)):
        path = os.path.join(WORK, f"synth_{k}_{size}_{n_syn[k]}_{s}.npy")
        if not args.smoke and os.path.exists(path):
            syn[k] = np.load(path)
        else:
            t0 = time.time()
            syn[k], _ = synth_set(n_syn[k], args.seed * 1000 + s, size)
            log(f"synthetic {k}: {n_syn[k]} images in {time.time() - t0:.1f}s")
            if not args.smoke:
                os.makedirs(WORK, exist_ok=True)
                np.save(path, syn[k])
    from photos import load_pictures, random_crops
    pics = [] if args.smoke else load_pictures("train", log=log)
    photo_sel = random_crops(pics, 150, args.seed + 77, size) if pics else np.zeros((0, 1, size, size), np.float32)
    photo_cal = random_crops(pics, 150, args.seed + 78, size) if pics else np.zeros((0, 1, size, size), np.float32)
    D = dict(items=items, x=x, m=m, hasmask=hasmask, labels=labels, src=src, seq=seq, split=split, groups=groups,
             counts=counts, syn=syn, pics=pics, photo_cal=photo_cal, held_out=held_out, root=root)
    sel = split == "sel"
    other_sel = np.concatenate([syn["sel"], photo_sel])
    D["x_sel"] = np.concatenate([x[sel], other_sel])
    D["y_sel"] = np.concatenate([labels[sel], np.full(len(other_sel), OTHER)])
    D["src_sel"] = np.concatenate([src[sel], np.full(len(other_sel), "other")])
    D["hm_sel"] = np.concatenate([sel[sel] & hasmask[sel] & (labels[sel] != NOTUMOR), np.zeros(len(other_sel), bool)])
    D["m_sel"] = np.concatenate([m[sel], np.zeros((len(other_sel),) + m.shape[1:], np.float32)])
    return D


def synthetic_standin(args):
    """For --smoke without the data set: random tensors shaped like the real data."""
    rng = np.random.default_rng(0)
    n = 40
    x = rng.random((n, 1, args.size, args.size)).astype(np.float32)
    m = (rng.random((n, args.size, args.size)) > 0.9).astype(np.float32)
    labels = np.arange(n) % 4
    syn, _ = synth_set(16, 1, args.size)
    split = np.array(["train"] * n, dtype=object)
    src = np.array(["figshare"] * n)
    D = dict(items=[], x=x, m=m, hasmask=np.ones(n, bool), labels=labels, src=src, seq=np.array(["t1ce"] * n),
             split=split, groups=np.arange(n), counts={}, syn=dict(train=syn, sel=syn, cal=syn, val=syn), pics=[],
             photo_cal=np.zeros((0, 1, args.size, args.size), np.float32), held_out=None, root=None)
    D["x_sel"], D["y_sel"], D["src_sel"] = syn, np.full(len(syn), OTHER), np.array(["other"] * len(syn))
    D["hm_sel"], D["m_sel"] = np.zeros(len(syn), bool), np.zeros((len(syn), args.size, args.size), np.float32)
    return D


def epoch_plan(D, n_samples, rng, masked_figshare=False):
    """Indices of the real training images for one epoch: classes equal, sources within a class by
    SOURCE_SHARES, sequences within tcga-lgg equal; uniform within a cell (with replacement).
    masked_figshare: draw figshare tumors only from brain-tumor-seg (the slices with masks; the
    Kaggle copies are the same slices re-encoded), for more mask supervision."""
    tr = np.nonzero(D["split"] == "train")[0]
    if masked_figshare:
        keep = ~((D["src"][tr] == "figshare") & ~D["hasmask"][tr])
        tr = tr[keep]
    labels, src, seq = D["labels"][tr], D["src"][tr], D["seq"][tr]
    per_class = n_samples / 4
    out = []
    for c in range(4):
        shares = {s: w for s, w in SOURCE_SHARES[CLASSES[c]].items() if ((labels == c) & (src == s)).any()}
        if not shares:
            continue
        tot = sum(shares.values())
        for s, w in shares.items():
            cell = (labels == c) & (src == s)
            seqs = sorted(set(seq[cell]))
            n_cell = per_class * w / tot
            for q in seqs:
                idx = tr[cell & (seq == q)]
                k = int(round(n_cell / len(seqs)))
                out.append(rng.choice(idx, k, replace=len(idx) < k))
    return np.concatenate(out) if out else np.zeros(0, int)


# ----------------------------------------------------------------------------- training
def train(args, D, log, ckpt_path):
    from photos import random_crops
    seed_all(args.seed)
    dev = pick_device(args.device)
    gen = torch.Generator().manual_seed(args.seed)
    model = TumorNet(args.width).to(dev).to(memory_format=torch.channels_last)
    if args.init:
        ck0 = torch.load(args.init, map_location="cpu")
        model.load_state_dict(ck0["state"])
        log(f"initialised from {args.init} (epoch {ck0['epoch']}, sel score {ck0['sel_score']:.4f})")
    X, Mk, HM, Y = D["x"], D["m"], D["hasmask"], D["labels"]
    syn = D["syn"]["train"]
    n_other = max(8, int(round(args.samples_per_epoch * OTHER_SHARE)))
    n_real = args.samples_per_epoch - n_other
    if args.smoke:
        n_real, n_other = 24, 8
    log(f"train on {dev}: {int((D['split'] == 'train').sum())} real images in the pool; per epoch {n_real} real "
        f"(classes equal, sources by {json.dumps(SOURCE_SHARES)}) + {n_other} other (synthetic + photo crops)")
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = math.ceil((n_real + n_other) / args.batch)
    if args.smoke:
        steps_per_epoch = 1
    plan = dict(epochs=args.epochs, total=steps_per_epoch * args.epochs)
    warm = 1 if args.init else min(steps_per_epoch, plan["total"] // 10 + 1)

    def lr_factor(s):
        t = plan["total"]
        return min(1.0, (s + 1) / warm) * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(s, t) / t)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)
    best = (-1.0, None)
    t_start = time.time()
    history = []
    rng = np.random.default_rng(args.seed)
    ep = 0
    while ep < plan["epochs"]:
        model.train()
        t0 = time.time()
        real = epoch_plan(D, n_real, rng, masked_figshare=args.masked_figshare)
        n_photo = n_other // 2 if D["pics"] else 0
        photos = random_crops(D["pics"], n_photo, args.seed * 100 + ep, args.size) if n_photo else None
        syn_idx = rng.choice(len(syn), n_other - n_photo, replace=False)
        other = np.concatenate([syn[syn_idx]] + ([photos] if photos is not None else []))
        n_r = len(real)
        order = rng.permutation(n_r + len(other))
        tot_l = tot_c = tot_m = 0.0
        nb = 0
        for s in range(steps_per_epoch):
            bi = order[s * args.batch:(s + 1) * args.batch]
            if len(bi) == 0:
                break
            ri = real[bi[bi < n_r]]
            oi = bi[bi >= n_r] - n_r
            xb = np.concatenate([X[ri], other[oi]])
            mb = np.concatenate([Mk[ri], np.zeros((len(oi),) + Mk.shape[1:], np.float32)])
            yb = np.concatenate([Y[ri], np.full(len(oi), OTHER)])
            hb = np.concatenate([HM[ri], np.ones(len(oi), bool)])
            tumor_mask = np.concatenate([HM[ri] & (Y[ri] != NOTUMOR), np.zeros(len(oi), bool)])
            x = torch.from_numpy(xb)
            m = torch.from_numpy(mb)[:, None]
            x, m = augment(x, m, torch.from_numpy(tumor_mask), gen, strength=args.aug_strength)
            x = x.to(dev).contiguous(memory_format=torch.channels_last)
            m = m.to(dev)
            y = torch.from_numpy(yb).long().to(dev)
            h = torch.from_numpy(hb).to(dev)
            logits, mlog = model(x)
            lc = F.cross_entropy(logits, y, label_smoothing=args.label_smoothing)
            if h.any():
                ml, mt = mlog[h], m[h]
                bce = F.binary_cross_entropy_with_logits(ml, mt)
                p = torch.sigmoid(ml)
                inter = (p * mt).sum((1, 2, 3))
                den = p.sum((1, 2, 3)) + mt.sum((1, 2, 3))
                dice = 1 - (2 * inter + 1) / (den + 1)
                lm = bce + dice.mean()
            else:
                lm = torch.zeros((), device=dev)
            loss = lc + args.mask_weight * lm
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot_l += float(loss); tot_c += float(lc); tot_m += float(lm); nb += 1
            if args.max_minutes and (time.time() - t_start) > args.max_minutes * 66:
                log("time budget (+10%) exceeded inside epoch; stopping")
                break
        score, acc, dice, per_src = sel_score(model, D, dev)
        dt = time.time() - t0
        history.append(dict(epoch=ep + 1, loss=tot_l / nb, loss_cls=tot_c / nb, loss_mask=tot_m / nb,
                            sel_balanced_acc=acc, sel_dice=dice, sel_score=score, sel_per_source=per_src, seconds=dt))
        improved = score > best[0]
        if improved:
            best = (score, ep + 1)
            torch.save(dict(state=model.state_dict(), width=args.width, size=args.size, epoch=ep + 1,
                            sel_score=score), ckpt_path)
        log(f"epoch {ep + 1}/{plan['epochs']} loss {tot_l / nb:.4f} (cls {tot_c / nb:.4f} mask {tot_m / nb:.4f}) "
            f"sel bacc {acc:.4f} {json.dumps({k: round(v, 3) for k, v in per_src.items()})} dice {dice:.4f} "
            f"score {score:.4f}{' *best*' if improved else ''} lr {sched.get_last_lr()[0]:.2e} {dt:.1f}s")
        ep += 1
        if args.max_minutes and (time.time() - t_start) > args.max_minutes * 60:
            log("time budget reached; stopping")
            break
        if args.max_minutes and not args.smoke:
            # time-bounded: re-plan the number of epochs (<= --epochs) from the median epoch time so
            # far, so that the cosine schedule completes inside --max-minutes (the machine is shared,
            # epoch times vary). The plan may grow only during the first half of the schedule.
            # Reproduce exactly, without timing dependence, with --epochs N --max-minutes 0.
            el = time.time() - t_start
            per = float(np.median([h["seconds"] for h in history]))
            feasible = max(ep, min(args.epochs, ep + int((args.max_minutes * 60 - el) // per)))
            if feasible < plan["epochs"] or (feasible > plan["epochs"] and ep < plan["epochs"] / 2):
                plan["epochs"] = feasible
                plan["total"] = steps_per_epoch * plan["epochs"]
                log(f"time budget: planned epochs set to {plan['epochs']} (median {per:.0f}s/epoch)")
    wall = time.time() - t_start
    log(f"training done in {wall / 60:.1f} min; best epoch {best[1]} sel score {best[0]:.4f}")
    extra = _recipe_flags(args)
    return dict(history=history, best_epoch=best[1], best_sel_score=best[0], train_wall_s=wall, device=str(dev),
                epochs_run=len(history), epochs_planned_final=plan["epochs"],
                reproduce_command="/usr/bin/python3 native-models/training/train.py --epochs %d --max-minutes 0%s"
                                  % (plan["epochs"], extra))


def _recipe_flags(args):
    """The flags that change what is trained (a later stage's --init, learning rate, sampling...), so
    that the fixed-schedule command reproduces this stage and not a default run."""
    defaults = vars(build_parser().parse_args([]))
    flags = []
    for name, flag in (("exclude_source", "--exclude-source"), ("init", "--init"), ("ckpt", "--ckpt"),
                       ("lr", "--lr"), ("samples_per_epoch", "--samples-per-epoch"), ("size", "--size"),
                       ("width", "--width"), ("batch", "--batch"), ("seed", "--seed"),
                       ("aug_strength", "--aug-strength"), ("mask_weight", "--mask-weight")):
        value = getattr(args, name, None)
        if value is not None and value != defaults.get(name):
            flags.append(f" {flag} {value}")
    if getattr(args, "masked_figshare", False):
        flags.append(" --masked-figshare")
    return "".join(flags)


def build_parser():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=None, help="datasets root (default: ../shared/datasets)")
    ap.add_argument("--epochs", type=int, default=24, help="planned epochs (upper bound when --max-minutes is set)")
    ap.add_argument("--samples-per-epoch", type=int, default=5600, help="images drawn per epoch (balanced sampling)")
    ap.add_argument("--size", type=int, default=128, help="input H=W")
    ap.add_argument("--width", type=int, default=16, help="base channel width")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--label-smoothing", type=float, default=0.05)
    ap.add_argument("--mask-weight", type=float, default=1.0)
    ap.add_argument("--aug-strength", type=float, default=1.0, help="probability scale of the contrast augmentations")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--init", default=None, help="start from this checkpoint (a second, fine-tuning stage)")
    ap.add_argument("--init-note", default=None, help="how the --init checkpoint was made (recorded in the card)")
    ap.add_argument("--masked-figshare", action="store_true", help="figshare tumors only from the slices with masks")
    ap.add_argument("--device", default="auto", help="auto (CUDA when found, else CPU), cpu or cuda")
    ap.add_argument("--max-minutes", type=float, default=150, help="training time budget in minutes; re-plans the number of epochs (<= --epochs) so the LR schedule ends in time (0 = none)")
    ap.add_argument("--exclude-source", default=None, help=f"leave this source out ({', '.join(SOURCES)}); writes work/loso-SOURCE.json, no export")
    ap.add_argument("--out", default=None, help=f"model folder (default native-models/{MODEL_ID})")
    ap.add_argument("--smoke", action="store_true", help="one batch, tiny data, export to a temp dir")
    ap.add_argument("--finalize-only", action="store_true", help="skip training; use work/best.pt")
    ap.add_argument("--ckpt", default=None, help="checkpoint for --finalize-only (default work/best.pt)")
    ap.add_argument("--prepare-only", action="store_true", help="build cache + splits and exit")
    ap.add_argument("--no-fmnist", action="store_true", help="skip the fashion-mnist reject test")
    return ap


def main(argv=None):
    args = build_parser().parse_args(argv)
    torch.set_num_threads(int(os.environ.get("TUMORNET_THREADS", "2")))
    if args.smoke:
        args.epochs = 1
        tmp = tempfile.mkdtemp(prefix="tumornet-smoke-")
        args.out = args.out or os.path.join(tmp, MODEL_ID)
        work = tmp
    else:
        args.out = args.out or MODEL_DIR
        work = WORK
    os.makedirs(work, exist_ok=True)
    tag = f"-loso-{args.exclude_source}" if args.exclude_source else ""
    log = Logger(os.path.join(work, f"train{tag}.log"))
    log("args:", json.dumps(vars(args)))
    log(f"model MACs/image: {macs(args.width, args.size) / 1e6:.1f}M (= {2 * macs(args.width, args.size) / 1e9:.3f} GFLOP)")
    seed_all(args.seed)
    D = prepare(args, log)
    if D is None:
        D = synthetic_standin(args)
    if args.prepare_only:
        return 0
    ckpt = args.ckpt or os.path.join(work, f"best{tag}.pt")
    train_info_path = os.path.join(work, f"train_info{tag}.json")
    if args.finalize_only:
        if os.path.exists(train_info_path):
            with open(train_info_path) as f:
                tinfo = json.load(f)
        else:  # interim export from a checkpoint while the full training is still running
            ck = torch.load(ckpt, map_location="cpu")
            tinfo = dict(command="(interim export of an unfinished training run: checkpoint of epoch %d)" % ck["epoch"],
                         args=vars(args), epochs_run=ck["epoch"], train_wall_s=None, interim=True)
    else:
        tinfo = train(args, D, log, ckpt)
        tinfo["command"] = "/usr/bin/python3 native-models/training/train.py " + " ".join(argv if argv is not None else sys.argv[1:])
        tinfo["args"] = vars(args)
        if args.init:
            ck0 = torch.load(args.init, map_location="cpu")
            tinfo["init"] = dict(checkpoint=os.path.basename(args.init), epoch=ck0["epoch"],
                                 sel_score=ck0["sel_score"], note=args.init_note)
        with open(train_info_path, "w") as f:
            json.dump(tinfo, f, indent=1)
    if args.exclude_source:
        from finalize import evaluate_loso
        return evaluate_loso(args, D, tinfo, ckpt, log, work)
    from finalize import finalize
    res = finalize(args, D, tinfo, ckpt, log, work)
    if not args.smoke:
        shutil.copy(os.path.join(work, "train.log"), os.path.join(HERE, "train_log.txt"))
    return res


if __name__ == "__main__":
    sys.exit(main() or 0)
