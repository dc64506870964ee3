"""Dataset loading, numpy cache, near-duplicate grouping and group-wise splits."""
from __future__ import annotations

import csv
import hashlib
import json
import os
import time

import numpy as np

from prep import load_image_file, preprocess, resize_mask, area_resize

CLASSES = ["glioma", "meningioma", "notumor", "pituitary", "other"]
OTHER = 4
HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "work")
SPLITS_DIR = os.path.join(HERE, "splits")


def default_data_root():
    for c in [os.environ.get("TUMORNET_DATA"), os.path.join(HERE, "..", "..", "..", "shared", "datasets"),
              "/work/shared/datasets"]:
        if c and os.path.isdir(os.path.join(c, "brain-tumor-mri")):
            return os.path.abspath(c)
    return None


def list_sources(root):
    """Returns list of dicts: key, src ('mri'|'seg'), path, label, mask_path."""
    items = []
    with open(os.path.join(root, "brain-tumor-mri", "manifest.csv")) as f:
        for r in csv.DictReader(f):
            items.append(dict(key="mri/" + r["path"], src="mri", path=os.path.join(root, "brain-tumor-mri", r["path"]),
                              label=CLASSES.index(r["label"]), mask_path=None))
    with open(os.path.join(root, "brain-tumor-seg", "index.csv")) as f:
        for r in csv.DictReader(f):
            items.append(dict(key="seg/" + r["image_path"], src="seg",
                              path=os.path.join(root, "brain-tumor-seg", r["image_path"]),
                              label=CLASSES.index(r["label_name"]),
                              mask_path=os.path.join(root, "brain-tumor-seg", r["mask_path"])))
    return items


def build_cache(root, size, limit_per_class=None, log=print):
    """Decode + preprocess every image once. Cached in work/cache_{size}.npz (unless limited)."""
    items = list_sources(root)
    if limit_per_class:
        seen = {}
        sel = []
        for it in items:
            k = (it["src"], it["label"])
            if seen.get(k, 0) < limit_per_class:
                seen[k] = seen.get(k, 0) + 1
                sel.append(it)
        items = sel
    cache = os.path.join(WORK, f"cache_{size}.npz")
    sig = hashlib.sha256(json.dumps([it["key"] for it in items]).encode()).hexdigest()[:16]
    if not limit_per_class and os.path.exists(cache):
        z = np.load(cache, allow_pickle=False)
        if str(z["sig"]) == sig:
            log(f"cache hit {cache}")
            return items, z["x"], z["m"], z["hasmask"], z["feat"]
    t0 = time.time()
    n = len(items)
    x = np.zeros((n, 1, size, size), np.float32)
    m = np.zeros((n, size, size), np.float32)
    hasmask = np.zeros(n, bool)
    feat = np.zeros((n, 256), np.float32)
    for i, it in enumerate(items):
        raw = load_image_file(it["path"])
        x[i] = preprocess(raw, size)
        feat[i] = area_resize(x[i, 0].astype(np.float64), 16, 16).ravel()
        if it["mask_path"]:
            m[i] = resize_mask(load_image_file(it["mask_path"]), size)
            hasmask[i] = True
        elif it["label"] == CLASSES.index("notumor"):
            hasmask[i] = True  # tumor-free slice: empty mask is a valid target
        if i % 1000 == 0:
            log(f"  decoded {i}/{n} ({time.time() - t0:.1f}s)")
    log(f"decoded {n} images in {time.time() - t0:.1f}s")
    if not limit_per_class:
        os.makedirs(WORK, exist_ok=True)
        np.savez(cache, x=x, m=m, hasmask=hasmask, feat=feat, sig=np.array(sig))
    return items, x, m, hasmask, feat


def group_near_duplicates(feat, thr, log=print):
    """Union-find over pairs whose 16x16 normalised vectors have cosine similarity >= thr."""
    f = feat.astype(np.float64)
    f = f - f.mean(1, keepdims=True)
    f /= np.linalg.norm(f, axis=1, keepdims=True) + 1e-9
    n = len(f)
    parent = np.arange(n)

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    links = 0
    B = 1024
    for s in range(0, n, B):
        sim = f[s:s + B] @ f.T
        ii, jj = np.nonzero(sim >= thr)
        for i, j in zip(ii + s, jj):
            if j <= i:
                continue
            a, b = find(i), find(j)
            if a != b:
                parent[a] = b
                links += 1
    groups = np.array([find(i) for i in range(n)])
    sizes = np.bincount(np.unique(groups, return_inverse=True)[1])
    log(f"near-duplicate grouping (cos>={thr}): {links} unions, {len(sizes)} groups, "
        f"largest {sizes.max()}, groups>1: {(sizes > 1).sum()}")
    return groups


def make_splits(items, groups, seed, frac_val=0.15, frac_cal=0.10, frac_sel=0.08):
    """Assign whole near-duplicate groups to val / cal / sel / train.  Groups are ordered randomly
    (fixed seed) and assigned greedily so that each split gets ~its fraction of every MRI class
    (a group's class is that of its first member)."""
    rng = np.random.default_rng(seed)
    uniq = np.unique(groups)
    rng.shuffle(uniq)
    members = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    labels = np.array([it["label"] for it in items])
    total = np.bincount(labels, minlength=5).astype(float)
    targets = {"val": frac_val, "cal": frac_cal, "sel": frac_sel}
    got = {k: np.zeros(5) for k in targets}
    split = np.empty(len(items), dtype=object)
    for g in uniq:
        idx = members[g]
        cnt = np.bincount(labels[idx], minlength=5)
        c = int(np.argmax(cnt))
        assigned = "train"
        for k in ("val", "cal", "sel"):
            if got[k][c] + cnt[c] <= targets[k] * total[c] + 0.5:
                assigned = k
                break
        if assigned != "train":
            got[assigned] += cnt
        for i in idx:
            split[i] = assigned
    return split


def write_split_lists(items, split, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for k in ("train", "sel", "cal", "val"):
        with open(os.path.join(out_dir, f"{k}.txt"), "w") as f:
            for it, s in zip(items, split):
                if s == k:
                    f.write(f"{it['key']},{CLASSES[it['label']]}\n")
