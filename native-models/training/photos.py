"""Real non-brain pictures for outlier exposure (class "other", shown as "not recognised").

Synthetic patterns alone taught the old model to reject noise and gradients, but a photograph of a
clock came out "meningioma, 0.92". These are real photographs, paintings and cut-out objects from
Debian packages (no download), split by package so the held-out figure is on pictures of packages
never trained on:
  train:   mate-backgrounds, gnome-backgrounds, plasma-workspace-wallpapers, desktop-base,
           tuxpaint-stamps-default (about 800 cut-out photos and drawings: animals, food, people,
           medical objects, ...)
  holdout: python3-skimage's data images (camera, clock, coffee, moon, retina, microscopy, text,
           ...), python3-sklearn's sample photos, ukui-wallpapers and lomiri-wallpapers.
Every training sample is a random crop at a random scale, rotation and output size, run through
the app's preprocessing.
"""
from __future__ import annotations

import glob
import os

import numpy as np

from prep import preprocess

TRAIN_GLOBS = [
    "/usr/share/backgrounds/mate/**/*.jpg", "/usr/share/backgrounds/mate/**/*.png",
    "/usr/share/backgrounds/gnome/**/*.jpg", "/usr/share/backgrounds/gnome/**/*.png",
    "/usr/share/backgrounds/gnome/**/*.webp",
    "/usr/share/wallpapers/*/contents/images/*.jpg", "/usr/share/wallpapers/*/contents/images/*.png",
    "/usr/share/desktop-base/**/*.png", "/usr/share/desktop-base/**/*.jpg",
    "/usr/share/tuxpaint/stamps/**/*.png",
]
HOLDOUT_GLOBS = [
    "/usr/lib/python3/dist-packages/skimage/data/*.png", "/usr/lib/python3/dist-packages/skimage/data/*.jpg",
    "/usr/lib/python3/dist-packages/sklearn/datasets/images/*.jpg",
    "/usr/share/backgrounds/*.jpg", "/usr/share/backgrounds/*.png",  # ukui + lomiri (top level)
]
PACKAGES = ["mate-backgrounds", "gnome-backgrounds", "plasma-workspace-wallpapers", "desktop-base",
            "tuxpaint-stamps-default", "python3-skimage", "python3-sklearn", "ukui-wallpapers", "lomiri-wallpapers"]
MAX_SIDE = 384


def _files(globs):
    out = []
    for g in globs:
        out.extend(glob.glob(g, recursive=True))
    # plasma ships one picture in several resolutions: keep the largest file per wallpaper folder
    best = {}
    for f in sorted(set(out)):
        key = f.split("/contents/images/")[0] if "/contents/images/" in f else f
        if key not in best or os.path.getsize(f) > os.path.getsize(best[key]):
            best[key] = f
    return sorted(best.values())


def _load(path):
    from PIL import Image
    try:
        with Image.open(path) as im:
            im.draft("RGB", (MAX_SIDE * 2, MAX_SIDE * 2))
            im = im.convert("RGB")
            s = MAX_SIDE / max(im.size)
            if s < 1:
                im = im.resize((max(8, int(im.size[0] * s)), max(8, int(im.size[1] * s))), Image.BOX)
            a = np.asarray(im)
    except Exception:  # noqa: BLE001 - an unreadable picture is skipped, never fatal
        return None
    if a.shape[0] < 24 or a.shape[1] < 24:
        return None
    return a


def load_pictures(which="train", log=print):
    files = _files(TRAIN_GLOBS if which == "train" else HOLDOUT_GLOBS)
    pics = [(f, a) for f in files for a in [_load(f)] if a is not None]
    log(f"pictures ({which}): {len(pics)} of {len(files)} files")
    return pics


def random_crops(pics, n, seed, size=128):
    """n preprocessed [1,size,size] crops: random region (15-100% of the side), aspect, 90-degree
    turns, output size 48..400 px, grey or colour."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, 1, size, size), np.float32)
    if not pics:
        return out[:0]
    for i in range(n):
        _, a = pics[int(rng.integers(len(pics)))]
        h, w = a.shape[:2]
        fr = rng.uniform(0.15, 1.0)
        ch = max(8, int(h * fr * rng.uniform(0.75, 1.0)))
        cw = max(8, int(w * fr * rng.uniform(0.75, 1.0)))
        y0 = int(rng.integers(0, h - ch + 1))
        x0 = int(rng.integers(0, w - cw + 1))
        c = a[y0:y0 + ch, x0:x0 + cw]
        c = np.rot90(c, int(rng.integers(4)))
        if rng.random() < 0.3:
            c = c.astype(np.float64).mean(2)
        out[i] = preprocess(c, size)
    return out


def whole_pictures(pics, size=128):
    """Each picture once, whole (the held-out test)."""
    names = [os.path.relpath(f, "/usr") for f, _ in pics]
    return names, np.stack([preprocess(a, size) for _, a in pics]) if pics else np.zeros((0, 1, size, size), np.float32)
