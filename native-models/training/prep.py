"""TumorNet preprocessing: the ONE function used for training, export, golden vectors and
(re-implemented in TypeScript) inference.  See MODEL_CARD.md "Preprocessing" for the spec.

Spec (all arithmetic in float64, result cast to float32 at the very end):
 1. Input: decoded pixel array, shape (h, w) grey or (h, w, 3|4) RGB(A), any numeric dtype
    (8-bit, 16-bit, DICOM stored values after modality rescale slope/intercept; MONOCHROME1 must be
    inverted by the caller).  Alpha is ignored.
 2. Grey: for RGB, g = 0.299*R + 0.587*G + 0.114*B (ITU-R BT.601 luma) in float64.
 3. Resize to (H, W) = (128, 128) by exact area averaging ("box" integration), separable:
    along an axis with n_in source pixels and n_out targets, s = n_in / n_out; target pixel i covers
    the source interval [i*s, (i+1)*s); source pixel j covers [j, j+1); the weight is
    overlap_length(j, i) / s.  Rows first then columns (order does not matter mathematically):
    out = Wy @ g @ Wx^T.  This is the same for down- and up-sampling (up-sampling by an integer
    factor is nearest-neighbour).
 4. Intensity: lo = percentile(out, 0.5), hi = percentile(out, 99.5) over all H*W values, where
    percentile(v, p) sorts the values ascending as v[0..n-1], takes rank r = (n-1)*p/100, and
    returns v[floor(r)] + (v[ceil(r)] - v[floor(r)]) * (r - floor(r))  (numpy 'linear').
    If hi - lo <= 1e-6 * max(1, |hi|, |lo|): x = 0 everywhere.  Otherwise
    x = clip((out - lo) / (hi - lo), 0, 1).
 5. Output: float32 tensor [1, H, W] (ONNX NCHW [N,1,H,W]; TF.js NHWC [N,H,W,1]).
"""
from __future__ import annotations

import numpy as np

IMG_SIZE = 128
P_LO = 0.5
P_HI = 99.5


def to_grey(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 2:
        return a.astype(np.float64)
    if a.ndim == 3 and a.shape[2] == 1:
        return a[:, :, 0].astype(np.float64)
    if a.ndim == 3 and a.shape[2] in (3, 4):
        f = a[:, :, :3].astype(np.float64)
        return 0.299 * f[:, :, 0] + 0.587 * f[:, :, 1] + 0.114 * f[:, :, 2]
    raise ValueError(f"unsupported pixel array shape {a.shape}")


_W_CACHE: dict = {}


def area_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) matrix of exact box-integration weights; rows sum to 1."""
    key = (n_in, n_out)
    w = _W_CACHE.get(key)
    if w is not None:
        return w
    s = n_in / n_out
    w = np.zeros((n_out, n_in), dtype=np.float64)
    for i in range(n_out):
        a = i * s
        b = (i + 1) * s
        j0 = int(np.floor(a))
        j1 = min(int(np.ceil(b)), n_in)
        for j in range(j0, j1):
            ov = min(b, j + 1) - max(a, j)
            if ov > 0:
                w[i, j] = ov / s
    _W_CACHE[key] = w
    return w


def area_resize(g: np.ndarray, h: int, w: int) -> np.ndarray:
    g = np.asarray(g, dtype=np.float64)
    wy = area_weights(g.shape[0], h)
    wx = area_weights(g.shape[1], w)
    return wy @ g @ wx.T


def percentile_linear(v: np.ndarray, p: float) -> float:
    s = np.sort(v.ravel())
    r = (s.size - 1) * p / 100.0
    f = int(np.floor(r))
    c = int(np.ceil(r))
    return float(s[f] + (s[c] - s[f]) * (r - f))


def normalise(out: np.ndarray) -> np.ndarray:
    s = np.sort(out.ravel())
    n = s.size

    def pct(p):
        r = (n - 1) * p / 100.0
        f = int(np.floor(r))
        c = int(np.ceil(r))
        return float(s[f] + (s[c] - s[f]) * (r - f))

    lo, hi = pct(P_LO), pct(P_HI)
    if hi - lo <= 1e-6 * max(1.0, abs(hi), abs(lo)):
        return np.zeros_like(out, dtype=np.float64)
    return np.clip((out - lo) / (hi - lo), 0.0, 1.0)


def preprocess(a: np.ndarray, size: int = IMG_SIZE) -> np.ndarray:
    """raw decoded pixels -> float32 [1, size, size]"""
    g = to_grey(a)
    r = area_resize(g, size, size)
    x = normalise(r)
    return x.astype(np.float32)[None]


def resize_mask(m: np.ndarray, size: int = IMG_SIZE) -> np.ndarray:
    """0/255 mask -> soft float32 [size,size] in 0..1 (area fraction of tumor)."""
    return area_resize((np.asarray(m) > 127).astype(np.float64), size, size).astype(np.float32)


def load_image_file(path: str) -> np.ndarray:
    """Decode a JPEG/PNG (PIL) or DICOM (pydicom) to a raw numeric array."""
    if path.lower().endswith(".dcm"):
        import pydicom
        ds = pydicom.dcmread(path)
        a = ds.pixel_array.astype(np.float64)
        slope = float(getattr(ds, "RescaleSlope", 1) or 1)
        inter = float(getattr(ds, "RescaleIntercept", 0) or 0)
        a = a * slope + inter
        if getattr(ds, "PhotometricInterpretation", "") == "MONOCHROME1":
            a = a.max() - a
        return a
    from PIL import Image
    im = Image.open(path)
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        return np.asarray(im).astype(np.float64)
    if im.mode not in ("L", "RGB", "RGBA"):
        im = im.convert("RGB")
    return np.asarray(im)
