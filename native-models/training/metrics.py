"""Evaluation metrics (numpy only)."""
from __future__ import annotations

import numpy as np


def softmax(z, T=1.0):
    z = np.asarray(z, np.float64) / T
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def nll(logits, y, T):
    p = softmax(logits, T)
    return float(-np.mean(np.log(p[np.arange(len(y)), y] + 1e-12)))


def fit_temperature(logits, y):
    """Minimise NLL over T on a log grid, then refine with a finer grid around the best."""
    grid = np.exp(np.linspace(np.log(0.05), np.log(20), 400))
    losses = [nll(logits, y, t) for t in grid]
    b = grid[int(np.argmin(losses))]
    fine = np.linspace(b * 0.97, b * 1.03, 121)
    losses = [nll(logits, y, t) for t in fine]
    return float(fine[int(np.argmin(losses))])


def ece(probs, y, bins=15):
    conf = probs.max(1)
    pred = probs.argmax(1)
    acc = (pred == y).astype(float)
    edges = np.linspace(0, 1, bins + 1)
    e = 0.0
    for i in range(bins):
        lo, hi = edges[i], edges[i + 1]
        m = (conf > lo) & (conf <= hi) if i > 0 else (conf >= lo) & (conf <= hi)
        if m.any():
            e += m.mean() * abs(acc[m].mean() - conf[m].mean())
    return float(e)


def auc_binary(score, pos):
    """Mann-Whitney AUC with tie handling."""
    score = np.asarray(score, np.float64)
    pos = np.asarray(pos, bool)
    n1, n0 = pos.sum(), (~pos).sum()
    if n1 == 0 or n0 == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    s = score[order]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i:j + 1] = (i + j) / 2 + 1
        i = j + 1
    r = np.empty(len(s))
    r[order] = ranks
    return float((r[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def classification_report(probs, y, class_names, n_eval_classes=4):
    """probs over all classes; y in 0..n_eval_classes-1; prediction = argmax over ALL classes."""
    pred = probs.argmax(1)
    K = probs.shape[1]
    cm = np.zeros((n_eval_classes, K), int)
    for t, p in zip(y, pred):
        cm[t, p] += 1
    per = {}
    for c in range(n_eval_classes):
        tp = cm[c, c]
        fp = cm[:, c].sum() - tp
        fn = cm[c].sum() - tp
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        auc = auc_binary(probs[:, c], y == c)
        per[class_names[c]] = dict(precision=float(prec), recall=float(rec), f1=float(f1), auc_ovr=auc,
                                   support=int(cm[c].sum()))
    return dict(
        n=int(len(y)),
        accuracy=float((pred == y).mean()),
        per_class=per,
        macro_f1=float(np.mean([v["f1"] for v in per.values()])),
        macro_auc_ovr=float(np.mean([v["auc_ovr"] for v in per.values()])),
        confusion_matrix=dict(rows_true=class_names[:n_eval_classes], cols_pred=class_names[:K],
                              counts=cm.tolist()),
    )


def mask_scores(prob, gt, thr=0.5):
    """Per-image Dice/IoU (prediction prob>=thr vs gt>=0.5), averaged; plus pooled Dice."""
    p = prob >= thr
    g = gt >= 0.5
    inter = (p & g).sum((1, 2)).astype(float)
    ps = p.sum((1, 2)).astype(float)
    gs = g.sum((1, 2)).astype(float)
    union = ps + gs - inter
    dice = np.where(ps + gs > 0, 2 * inter / np.maximum(ps + gs, 1), 1.0)
    iou = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    return dict(n=int(len(p)), dice_mean=float(dice.mean()), iou_mean=float(iou.mean()),
                dice_median=float(np.median(dice)), dice_pooled=float(2 * inter.sum() / max(ps.sum() + gs.sum(), 1)))
