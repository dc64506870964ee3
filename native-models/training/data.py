"""Data set listing, numpy cache, patient/near-duplicate grouping, source labels and group-wise splits.

Three data sets, three sources (see ../shared/datasets/README.md):
  brain-tumor-mri  (Kaggle "Brain Tumor MRI", JPEG) mixes three sources, told apart here by how
                   the JPEG was stored and by matching: its colour-encoded tumor slices are exact
                   copies of figshare slices (16x16 cosine 1.0 to brain-tumor-seg for >93%), its
                   grey-encoded slices are SARTAJ (tumors of every class, 14 tumor-free), and its
                   colour-encoded tumor-free slices are Br35H (mixed sequences, often T2/FLAIR).
  brain-tumor-seg  (figshare, T1 post-contrast, masks).
  brain-tumor-lgg  (TCGA-LGG, FLAIR / T1 / T1 post-contrast of the same scans, masks, tumor-free
                   slices of the same volumes; non-commercial licence).
Every item carries its source, its group (patient where known, otherwise a near-duplicate or
neighbouring-slice group) and its sequence ("unknown" where the data set does not say), and the
split files keep all three.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import time

import numpy as np

from prep import area_resize, load_image_file, preprocess, resize_mask

CLASSES = ["glioma", "meningioma", "notumor", "pituitary", "other"]
OTHER = 4
NOTUMOR = 2
SOURCES = ["figshare", "sartaj", "br35h", "tcga-lgg"]
SEQUENCES = ["t1", "t1ce", "t2", "flair", "unknown"]
HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "work")
SPLITS_DIR = os.path.join(HERE, "splits")
SPLIT_NAMES = ("train", "sel", "cal", "val")


def default_data_root():
    for c in [os.environ.get("TUMORNET_DATA"), os.path.join(HERE, "..", "..", "..", "shared", "datasets"),
              os.path.join(HERE, "..", "..", "..", "..", "shared", "datasets"), "/work/shared/datasets"]:
        if c and os.path.isdir(os.path.join(c, "brain-tumor-mri")):
            return os.path.abspath(c)
    return None


def _image_mode(path):
    from PIL import Image
    with Image.open(path) as im:
        return im.mode


def list_sources(root):
    """Every image of the three data sets as a dict: key, dataset, path, label, mask_path, mode,
    patient (None where unknown), sequence, fig_id (figshare file number for brain-tumor-seg)."""
    items = []
    with open(os.path.join(root, "brain-tumor-mri", "manifest.csv")) as f:
        for r in csv.DictReader(f):
            p = os.path.join(root, "brain-tumor-mri", r["path"])
            items.append(dict(key="mri/" + r["path"], dataset="mri", path=p, label=CLASSES.index(r["label"]),
                              mask_path=None, mode=_image_mode(p), patient=None, sequence="unknown", fig_id=None))
    with open(os.path.join(root, "brain-tumor-seg", "index.csv")) as f:
        for r in csv.DictReader(f):
            items.append(dict(key="seg/" + r["image_path"], dataset="seg",
                              path=os.path.join(root, "brain-tumor-seg", r["image_path"]),
                              label=CLASSES.index(r["label_name"]), mode="L", patient=None, sequence="t1ce",
                              mask_path=os.path.join(root, "brain-tumor-seg", r["mask_path"]), fig_id=int(r["id"])))
    lgg = os.path.join(root, "brain-tumor-lgg", "manifest.csv")
    if os.path.exists(lgg):
        with open(lgg) as f:
            for r in csv.DictReader(f):
                items.append(dict(key="lgg/" + r["file"], dataset="lgg",
                                  path=os.path.join(root, "brain-tumor-lgg", r["file"]),
                                  label=CLASSES.index(r["label"]), mode="L", patient=r["patient"],
                                  sequence=r["sequence"], fig_id=None,
                                  mask_path=os.path.join(root, "brain-tumor-lgg", r["mask_file"]) if r["mask_file"] else None))
    return items


def build_cache(root, size, limit_per_class=None, log=print):
    """Decode + preprocess every image once. Cached in work/cache_{size}.npz (unless limited)."""
    items = list_sources(root)
    if limit_per_class:
        seen = {}
        sel = []
        for it in items:
            k = (it["dataset"], it["label"])
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
        elif it["label"] == NOTUMOR:
            hasmask[i] = True  # tumor-free slice: an empty mask is a valid target
        if i % 2000 == 0:
            log(f"  decoded {i}/{n} ({time.time() - t0:.1f}s)")
    log(f"decoded {n} images in {time.time() - t0:.1f}s")
    if not limit_per_class:
        os.makedirs(WORK, exist_ok=True)
        np.savez(cache, x=x, m=m, hasmask=hasmask, feat=feat, sig=np.array(sig))
    return items, x, m, hasmask, feat


class _UnionFind:
    def __init__(self, n):
        self.parent = np.arange(n)

    def find(self, a):
        p = self.parent
        while p[a] != a:
            p[a] = p[p[a]]
            a = p[a]
        return a

    def union(self, a, b):
        a, b = self.find(a), self.find(b)
        if a != b:
            self.parent[a] = b
            return True
        return False


def _unit(feat):
    f = feat.astype(np.float64)
    f = f - f.mean(1, keepdims=True)
    return f / (np.linalg.norm(f, axis=1, keepdims=True) + 1e-9)


def group_items(items, feat, dup_thr=0.98, neighbour_thr=0.85, same_source_thr=0.95, log=print):
    """Groups that must not be split across train and test:
    - near-duplicates across all data sets (16x16 normalised grey vectors, cosine >= dup_thr):
      the Kaggle set holds resized copies of figshare slices;
    - within SARTAJ and within Br35H (no patient ids, no file order), images alike at cosine >=
      same_source_thr: neighbouring slices of one patient;
    - brain-tumor-lgg: one group per patient (the manifest names them);
    - brain-tumor-seg: consecutive figshare file numbers with the same label and a similar image
      (cosine >= neighbour_thr), a stand-in for the patient ids the data set does not ship
      (figshare numbers a patient's slices consecutively).
    Returns an int array of group ids."""
    n = len(items)
    f = _unit(feat)
    uf = _UnionFind(n)
    links = 0
    B = 1024
    for s in range(0, n, B):
        sim = f[s:s + B] @ f.T
        ii, jj = np.nonzero(sim >= dup_thr)
        for i, j in zip(ii + s, jj):
            if j > i and uf.union(i, j):
                links += 1
    same = 0
    for src in ("sartaj", "br35h"):
        idx = np.array([i for i, it in enumerate(items) if it["dataset"] == "mri" and kaggle_source(it) == src])
        if len(idx) < 2:
            continue
        sim = f[idx] @ f[idx].T
        ii, jj = np.nonzero(sim >= same_source_thr)
        for a, b in zip(ii, jj):
            if b > a:
                same += uf.union(int(idx[a]), int(idx[b]))
    by_patient = {}
    for i, it in enumerate(items):
        if it["patient"]:
            by_patient.setdefault(it["patient"], []).append(i)
    for idx in by_patient.values():
        for j in idx[1:]:
            uf.union(idx[0], j)
    seg = sorted((it["fig_id"], i) for i, it in enumerate(items) if it["fig_id"] is not None)
    neigh = 0
    for (fa, a), (fb, b) in zip(seg, seg[1:]):
        if fb == fa + 1 and items[a]["label"] == items[b]["label"] and float(f[a] @ f[b]) >= neighbour_thr:
            neigh += uf.union(a, b)
    groups = np.array([uf.find(i) for i in range(n)])
    _, inv = np.unique(groups, return_inverse=True)
    sizes = np.bincount(inv)
    log(f"grouping: {links} near-duplicate unions (cos>={dup_thr}), {len(by_patient)} lgg patients, "
        f"{neigh} figshare neighbour unions (cos>={neighbour_thr}), {same} same-source unions (cos>={same_source_thr}); "
        f"{len(sizes)} groups, largest {sizes.max()}")
    return inv


def kaggle_source(it):
    """Source of a brain-tumor-mri image from how it was stored (see the module docstring)."""
    if it["mode"] == "L":
        return "sartaj"
    return "br35h" if it["label"] == NOTUMOR else "figshare"


def assign_sources(items, groups=None):
    """Source of every item (and the sequence where the source implies it)."""
    out = []
    for it in items:
        if it["dataset"] == "lgg":
            out.append("tcga-lgg")
        elif it["dataset"] == "seg":
            out.append("figshare")
        else:
            out.append(kaggle_source(it))
    for it, s in zip(items, out):
        it["source"] = s
        if s == "figshare":
            it["sequence"] = "t1ce"  # figshare: T1-weighted contrast-enhanced (its README)
    return np.array(out)


def make_splits(items, groups, seed, frac_val=0.15, frac_cal=0.10, frac_sel=0.08):
    """Assign whole groups to val / cal / sel / train with per-stratum quotas. A stratum is
    (source, the group's main label); for brain-tumor-lgg it is (source, whether the patient has
    tumor-free slices), so the few tumor-free patients are spread over every split."""
    rng = np.random.default_rng(seed)
    members = {}
    for i, g in enumerate(groups):
        members.setdefault(int(g), []).append(i)
    uniq = np.array(sorted(members))
    rng.shuffle(uniq)

    def stratum(idx):
        it = items[idx[0]]
        labels = [items[i]["label"] for i in idx]
        if it["source"] == "tcga-lgg":
            return (it["source"], "with-notumor" if NOTUMOR in labels else "tumor-only")
        return (it["source"], int(np.bincount(labels).argmax()))

    totals = {}
    for g in uniq:
        s = stratum(members[g])
        totals[s] = totals.get(s, 0) + len(members[g])
    targets = {"val": frac_val, "cal": frac_cal, "sel": frac_sel}
    got = {k: {} for k in targets}
    split = np.empty(len(items), dtype=object)
    for g in uniq:
        idx = members[g]
        s = stratum(idx)
        assigned = "train"
        for k in ("val", "cal", "sel"):
            if got[k].get(s, 0) + len(idx) <= targets[k] * totals[s] + 0.5:
                assigned = k
                got[k][s] = got[k].get(s, 0) + len(idx)
                break
        for i in idx:
            split[i] = assigned
    return split


def write_split_lists(items, split, groups, out_dir):
    """splits/{train,sel,cal,val}.csv: file, label, source, group, sequence (one row per image)."""
    os.makedirs(out_dir, exist_ok=True)
    for k in SPLIT_NAMES:
        with open(os.path.join(out_dir, f"{k}.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["file", "label", "source", "group", "sequence"])
            for it, s, g in zip(items, split, groups):
                if s == k:
                    grp = f"patient:{it['patient']}" if it["patient"] else f"group:{int(g)}"
                    w.writerow([it["key"], CLASSES[it["label"]], it["source"], grp, it["sequence"]])
