"""Synthetic non-brain images for the 5th class "other" (shown as "not recognised").

Every generator returns a RAW image (random size, grey or RGB, 8-bit / 16-bit / float) which is
then run through the normal preprocessing, so the model sees exactly what inference would feed it.
No real-world data set is used here (fashion-mnist is the held-out OOD test and is never trained on).
"""
from __future__ import annotations

import numpy as np

KINDS = [
    "blank", "constant", "gauss_noise", "uniform_noise", "salt_pepper", "lin_gradient",
    "radial_gradient", "shapes", "strokes", "checker", "stripes", "smooth_field",
    "colour_photo", "blob_on_black", "document",
]


def _size(rng):
    if rng.random() < 0.3:
        return int(rng.integers(16, 48)), int(rng.integers(16, 48))
    return int(rng.integers(48, 400)), int(rng.integers(48, 400))


def _smooth(rng, h, w, scales=(4, 16, 64)):
    out = np.zeros((h, w))
    for s in scales:
        gh, gw = max(2, h // s + 2), max(2, w // s + 2)
        g = rng.normal(size=(gh, gw))
        yi = np.linspace(0, gh - 1.001, h)
        xi = np.linspace(0, gw - 1.001, w)
        y0 = yi.astype(int); x0 = xi.astype(int)
        fy = (yi - y0)[:, None]; fx = (xi - x0)[None, :]
        a = g[y0][:, x0]; b = g[y0][:, x0 + 1]; c = g[y0 + 1][:, x0]; d = g[y0 + 1][:, x0 + 1]
        out += (a * (1 - fx) * (1 - fy) + b * fx * (1 - fy) + c * (1 - fx) * fy + d * fx * fy) * rng.uniform(0.3, 1.5)
    return out


def _grid(h, w):
    yy, xx = np.mgrid[0:h, 0:w]
    return yy / max(h - 1, 1), xx / max(w - 1, 1)


def _shapes(rng, h, w, bg, n):
    img = np.full((h, w), bg, dtype=np.float64)
    yy, xx = np.mgrid[0:h, 0:w]
    for _ in range(n):
        v = rng.uniform(0, 1)
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = rng.uniform(2, h / 2), rng.uniform(2, w / 2)
        if rng.random() < 0.5:
            m = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        else:
            m = (np.abs(yy - cy) <= ry) & (np.abs(xx - cx) <= rx)
        img[m] = v
    return img


def _strokes(rng, h, w, img, n, val):
    for _ in range(n):
        y0, x0 = rng.uniform(0, h), rng.uniform(0, w)
        L = rng.uniform(3, max(h, w) / 3)
        ang = rng.uniform(0, np.pi * 2)
        t = np.linspace(0, 1, int(L * 2) + 2)
        ys = np.clip((y0 + np.sin(ang) * L * t).astype(int), 0, h - 1)
        xs = np.clip((x0 + np.cos(ang) * L * t).astype(int), 0, w - 1)
        th = int(rng.integers(1, 4))
        for dy in range(th):
            for dx in range(th):
                img[np.clip(ys + dy, 0, h - 1), np.clip(xs + dx, 0, w - 1)] = val
    return img


def _finish(rng, g):
    """g in ~0..1 float -> random output encoding (8-bit grey, 8-bit RGB, 16-bit grey, float)."""
    g = np.clip(g, 0, 1)
    r = rng.random()
    if r < 0.55:
        return np.round(g * 255).astype(np.uint8)
    if r < 0.8:
        tint = rng.uniform(0.6, 1.0, size=3)
        rgb = np.stack([g * t for t in tint], axis=-1)
        return np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8)
    if r < 0.95:
        return np.round(g * rng.uniform(1000, 65535)).astype(np.uint16)
    return g * rng.uniform(0.5, 4000) - rng.uniform(0, 1000)


def synth_image(rng: np.random.Generator, kind: str | None = None):
    if kind is None:
        kind = KINDS[int(rng.integers(len(KINDS)))]
    h, w = _size(rng)
    if kind == "blank":
        return kind, np.zeros((h, w), dtype=np.uint8) if rng.random() < 0.5 else np.full((h, w), 255, np.uint8)
    if kind == "constant":
        return kind, _finish(rng, np.full((h, w), rng.uniform(0, 1)))
    if kind == "gauss_noise":
        return kind, _finish(rng, rng.normal(rng.uniform(0.2, 0.8), rng.uniform(0.02, 0.4), size=(h, w)))
    if kind == "uniform_noise":
        if rng.random() < 0.3:
            return kind, rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        return kind, _finish(rng, rng.uniform(0, 1, size=(h, w)))
    if kind == "salt_pepper":
        g = np.full((h, w), rng.uniform(0, 1))
        m = rng.random((h, w))
        p = rng.uniform(0.01, 0.3)
        g[m < p / 2] = 0
        g[m > 1 - p / 2] = 1
        return kind, _finish(rng, g)
    if kind == "lin_gradient":
        yy, xx = _grid(h, w)
        a = rng.uniform(0, 2 * np.pi)
        g = np.cos(a) * xx + np.sin(a) * yy
        g = (g - g.min()) / (g.max() - g.min() + 1e-9)
        return kind, _finish(rng, g)
    if kind == "radial_gradient":
        yy, xx = _grid(h, w)
        g = np.sqrt((yy - rng.uniform(0, 1)) ** 2 + (xx - rng.uniform(0, 1)) ** 2)
        g = g / (g.max() + 1e-9)
        if rng.random() < 0.5:
            g = 1 - g
        return kind, _finish(rng, g)
    if kind == "shapes":
        return kind, _finish(rng, _shapes(rng, h, w, rng.uniform(0, 1), int(rng.integers(1, 12))))
    if kind == "strokes":
        bg = rng.uniform(0, 1)
        img = np.full((h, w), bg)
        img = _strokes(rng, h, w, img, int(rng.integers(3, 60)), 1 - bg if rng.random() < 0.8 else rng.uniform(0, 1))
        return kind, _finish(rng, img)
    if kind == "checker":
        yy, xx = np.mgrid[0:h, 0:w]
        p = int(rng.integers(1, max(2, min(h, w) // 2)))
        g = (((yy // p) + (xx // p)) % 2).astype(np.float64)
        return kind, _finish(rng, g * rng.uniform(0.3, 1) + rng.uniform(0, 0.3))
    if kind == "stripes":
        yy, xx = _grid(h, w)
        a = rng.uniform(0, np.pi)
        f = rng.uniform(2, 40)
        g = 0.5 + 0.5 * np.sin((np.cos(a) * xx + np.sin(a) * yy) * f * 2 * np.pi)
        return kind, _finish(rng, g)
    if kind == "smooth_field":
        g = _smooth(rng, h, w, scales=tuple(int(s) for s in rng.choice([2, 4, 8, 16, 32, 64], size=3)))
        g = (g - g.min()) / (g.max() - g.min() + 1e-9)
        return kind, _finish(rng, g)
    if kind == "colour_photo":
        chans = []
        base = _smooth(rng, h, w)
        for _ in range(3):
            c = base * rng.uniform(0.3, 1) + _smooth(rng, h, w, scales=(8, 32)) * rng.uniform(0.2, 1)
            chans.append(c)
        rgb = np.stack(chans, -1)
        rgb = (rgb - rgb.min()) / (rgb.max() - rgb.min() + 1e-9)
        sh = _shapes(rng, h, w, 0, int(rng.integers(0, 6)))
        rgb = np.clip(rgb + sh[..., None] * rng.uniform(-0.5, 0.5, size=3), 0, 1)
        rgb += rng.normal(0, rng.uniform(0, 0.05), size=rgb.shape)
        return kind, np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8)
    if kind == "blob_on_black":
        # a single textured object on a dark background (like product photos / clothing items)
        yy, xx = _grid(h, w)
        cy, cx = rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65)
        ry, rx = rng.uniform(0.15, 0.48), rng.uniform(0.15, 0.48)
        if rng.random() < 0.5:
            m = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        else:
            m = (np.abs(yy - cy) <= ry) & (np.abs(xx - cx) <= rx * (1 - 0.5 * rng.random() * (yy - cy + ry) / (2 * ry)))
        tex = _smooth(rng, h, w, scales=(2, 4, 16))
        tex = (tex - tex.min()) / (tex.max() - tex.min() + 1e-9)
        g = np.where(m, rng.uniform(0.2, 1) * (0.4 + 0.6 * tex), 0.0)
        if rng.random() < 0.5:
            g = _strokes(rng, h, w, g, int(rng.integers(0, 10)), rng.uniform(0, 1)) * (m | (rng.random() < 0.3))
        return kind, _finish(rng, g)
    if kind == "document":
        img = np.full((h, w), rng.uniform(0.8, 1.0))
        rows = int(rng.integers(3, max(4, h // 8)))
        for r in range(rows):
            y = int((r + 0.5) * h / rows)
            x = int(rng.integers(0, max(1, w // 5)))
            while x < w - 3:
                L = int(rng.integers(2, 12))
                th = max(1, h // (rows * 3))
                img[y:y + th, x:x + L] = rng.uniform(0, 0.3)
                x += L + int(rng.integers(2, 6))
        return kind, _finish(rng, img)
    raise ValueError(kind)


def synth_set(n: int, seed: int, size: int):
    from prep import preprocess
    rng = np.random.default_rng(seed)
    xs = np.zeros((n, 1, size, size), np.float32)
    kinds = []
    for i in range(n):
        k, raw = synth_image(rng, KINDS[i % len(KINDS)])
        xs[i] = preprocess(raw, size)
        kinds.append(k)
    return xs, kinds
