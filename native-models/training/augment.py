"""Training augmentation: geometry, and MR contrast changes that break the source/sequence shortcut.

Why: almost every tumor slice in the training data is T1 post-contrast, while most tumor-free
slices are other sequences (Br35H: often T2/FLAIR). A network that can read the contrast learns
"T2-looking = no tumor". Here every class gets the same random contrast changes, so contrast stops
telling the class:
- random gamma and random smooth intensity curves (monotone, sometimes not), as different
  sequences and windowings map tissues to different grey levels;
- contrast inversion inside the head (background stays dark), which turns T1 into a T2-like
  picture (CSF bright, grey matter brighter than white matter);
- "tumor-aware T2": where a tumor mask is known, the brain is inverted while the tumor stays
  bright, as a T2/FLAIR image shows tumor and oedema;
- bias field, blur, resolution loss, noise, JPEG re-encoding at random quality.
Every augmented image is normalised again with the app's percentile rule (prep.py), so the
network sees what inference feeds it.
"""
from __future__ import annotations

import io
import math

import numpy as np
import torch
import torch.nn.functional as F

from prep import P_HI, P_LO


def _u(gen, n, lo, hi):
    return torch.rand(n, generator=gen) * (hi - lo) + lo


def _p(gen, n, p):
    return torch.rand(n, generator=gen) < p


def percentile_normalise(x, exact=False):
    """Per image: clip to the [0.5, 99.5] percentiles and scale to 0..1 (as prep.normalise). For
    training speed the percentiles come from every second pixel in each direction unless exact."""
    B = x.shape[0]
    flat = x.reshape(B, -1)
    sub = flat if exact else x[:, :, ::2, ::2].reshape(B, -1)
    s, _ = torch.sort(sub, dim=1)
    n = s.shape[1]

    def pct(p):
        r = (n - 1) * p / 100.0
        f, c = int(math.floor(r)), int(math.ceil(r))
        return (s[:, f] + (s[:, c] - s[:, f]) * (r - f))[:, None]

    lo, hi = pct(P_LO), pct(P_HI)
    span = hi - lo
    ok = span > 1e-6 * torch.clamp(torch.maximum(hi.abs(), lo.abs()), min=1.0)
    out = ((flat - lo) / torch.where(ok, span, torch.ones_like(span))).clamp(0, 1) * ok
    return out.reshape(x.shape)


def _blur(x, sigma):
    """Separable Gaussian blur with a per-image sigma [B]."""
    B = x.shape[0]
    r = 4
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-(t[None] ** 2) / (2 * sigma[:, None] ** 2))
    k = k / k.sum(1, keepdim=True)
    xp = F.pad(x, (r, r, r, r), mode="replicate")
    # per-image kernels through grouped conv
    xh = F.conv2d(xp.reshape(1, B, *xp.shape[2:]), k[:, None, None, :], groups=B)
    xv = F.conv2d(xh, k[:, None, :, None], groups=B)
    return xv.reshape(x.shape)


def _head_mask(x):
    """Soft foreground (head) mask: blurred image above a low threshold, smoothed."""
    s = F.avg_pool2d(x, 9, stride=1, padding=4)
    fg = (s > 0.06).float()
    fg = F.max_pool2d(fg, 5, stride=1, padding=2)
    return F.avg_pool2d(fg, 5, stride=1, padding=2)


def _random_curve(x, gen, monotone):
    """Piecewise-linear intensity curve through 6 random knots, per image."""
    B = x.shape[0]
    K = 6
    if monotone:
        steps = torch.rand(B, K - 1, generator=gen) + 0.15
        ys = torch.cat([torch.zeros(B, 1), torch.cumsum(steps, 1)], 1)
        ys = ys / ys[:, -1:]
    else:
        ys = torch.rand(B, K, generator=gen)
    xs = torch.linspace(0, 1, K)
    pos = x.clamp(0, 1) * (K - 1)
    i0 = pos.floor().clamp(max=K - 2).long()
    frac = pos - i0
    flat_i0 = i0.reshape(B, -1)
    y0 = torch.gather(ys, 1, flat_i0).reshape(x.shape)
    y1 = torch.gather(ys, 1, flat_i0 + 1).reshape(x.shape)
    del xs
    return y0 + (y1 - y0) * frac


def _bias_field(shape, gen, amp):
    B, _, H, W = shape
    g = torch.randn(B, 1, 4, 4, generator=gen)
    f = F.interpolate(g, size=(H, W), mode="bicubic", align_corners=True)
    f = f / (f.abs().amax((2, 3), keepdim=True) + 1e-6)
    return torch.exp(f * amp[:, None, None, None])


def _jpeg(x, gen, p):
    from PIL import Image
    sel = torch.nonzero(_p(gen, x.shape[0], p)).flatten().tolist()
    if not sel:
        return x
    x = x.clone()
    q = torch.randint(15, 90, (len(sel),), generator=gen).tolist()
    for i, qq in zip(sel, q):
        a = (x[i, 0].clamp(0, 1) * 255).round().to(torch.uint8).numpy()
        buf = io.BytesIO()
        Image.fromarray(a).save(buf, format="JPEG", quality=int(qq))
        b = np.asarray(Image.open(io.BytesIO(buf.getvalue())), dtype=np.float32) / 255.0
        x[i, 0] = torch.from_numpy(b)
    return x


def geometric(x, m, gen):
    """Flip, rotation +-15 deg, scale 0.85..1.2 (slightly anisotropic), shift +-8%."""
    B = x.shape[0]
    flip = _p(gen, B, 0.5)
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    m = torch.where(flip[:, None, None, None], m.flip(3), m)
    ang = _u(gen, B, -1, 1) * math.radians(15)
    sc = torch.exp(_u(gen, B, math.log(0.85), math.log(1.2)))
    an = torch.exp(_u(gen, B, -0.08, 0.08))
    sx, sy = sc * an, sc / an
    tx, ty = _u(gen, B, -0.08, 0.08), _u(gen, B, -0.08, 0.08)
    cos, sin = torch.cos(ang), torch.sin(ang)
    theta = torch.stack([torch.stack([cos / sx, -sin / sx, tx], 1), torch.stack([sin / sy, cos / sy, ty], 1)], 1)
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    m = F.grid_sample(m, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return x, m


def _apply(x, sel, fn):
    """x with fn applied to the images where sel is true (fn sees only those)."""
    idx = torch.nonzero(sel).flatten()
    if len(idx) == 0:
        return x
    x = x.clone()
    x[idx] = fn(x[idx], idx)
    return x


def contrast(x, m, has_tumor_mask, gen, strength=1.0):
    """The MR contrast augmentations (module docstring). x, m: [B,1,H,W]; has_tumor_mask: [B] bool."""
    B = x.shape[0]
    x = x.clamp(0, 1)
    fg = _head_mask(x)
    # tumor-aware T2-like: invert the brain, keep the tumor bright
    t2 = _p(gen, B, 0.15 * strength) & has_tumor_mask & (m.amax((1, 2, 3)) > 0.3)

    def t2like(xs, idx):
        ms = F.avg_pool2d(F.max_pool2d(m[idx], 5, stride=1, padding=2), 5, stride=1, padding=2).clamp(0, 1)
        inv = fg[idx] * (1 - xs) * _u(gen, len(idx), 0.75, 1.0)[:, None, None, None]
        return inv * (1 - ms) + (0.55 + 0.45 * xs) * ms
    x = _apply(x, t2, t2like)
    # plain inversion inside the head
    x = _apply(x, _p(gen, B, 0.25 * strength) & ~t2, lambda xs, idx: fg[idx] * (1 - xs))
    # random curves inside the head (monotone mostly)

    def curve(xs, idx):
        y = _random_curve(xs, gen, monotone=bool(torch.rand(1, generator=gen) > 0.2))
        return y * fg[idx] + xs * (1 - fg[idx])
    x = _apply(x, _p(gen, B, 0.45 * strength), curve)
    # gamma
    g = torch.exp(_u(gen, B, -0.5, 0.5) * strength)
    x = x.clamp(0, 1) ** g[:, None, None, None]
    # bias field
    x = _apply(x, _p(gen, B, 0.4 * strength), lambda xs, idx: xs * _bias_field(xs.shape, gen, _u(gen, len(idx), 0.1, 0.45)))
    # blur or resolution loss
    bl = _p(gen, B, 0.2 * strength)
    x = _apply(x, bl, lambda xs, idx: _blur(xs, _u(gen, len(idx), 0.5, 1.3)))

    def lowres(xs, idx):
        H = xs.shape[2]
        f = float(_u(gen, 1, 0.35, 0.8))
        small = F.interpolate(xs, size=(max(8, int(H * f)),) * 2, mode="area")
        return F.interpolate(small, size=xs.shape[2:], mode="bilinear", align_corners=False)
    x = _apply(x, _p(gen, B, 0.2 * strength) & ~bl, lowres)
    # noise (Gaussian or Rician-like magnitude noise)

    def noise(xs, idx):
        sd = _u(gen, len(idx), 0.005, 0.05)[:, None, None, None]
        n1 = torch.randn(xs.shape, generator=gen) * sd
        if bool(torch.rand(1, generator=gen) < 0.5):
            n2 = torch.randn(xs.shape, generator=gen) * sd
            return torch.sqrt((xs + n1) ** 2 + n2 ** 2)
        return xs + n1
    x = _apply(x, _p(gen, B, 0.35 * strength), noise)
    x = percentile_normalise(x)
    x = _jpeg(x, gen, 0.15 * strength)
    return percentile_normalise(x)


def augment(x, m, has_tumor_mask, gen, strength=1.0):
    x, m = geometric(x, m, gen)
    return contrast(x, m, has_tumor_mask, gen, strength), m
