"""TumorNet: small U-Net with a classification head on the bottleneck.

Only Conv2D 3x3/1x1 ('same'), ReLU, MaxPool 2x2, nearest UpSampling 2x, Concatenate,
AveragePooling 4x4, GlobalAverage/GlobalMaxPooling and Dense are used, so the graph maps 1:1 onto
ONNX and TF.js Layers. BatchNorm is used in training and folded into the convolutions for export
(FoldedTumorNet).

The classification head reads `features` = [global average of the bottleneck (16w values),
the largest 4x4-block mean of the tumor mask, the mean of the tumor mask]: the head sees what the
segmentation found, so "is there a tumor" can follow the mask (trained on tumor and tumor-free
slices of the same scans) rather than the look of a source. In training the two mask values are
detached (the class loss does not pull the mask). `features` is also a named output: federated
learning trains only this head on it.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

NUM_CLASSES = 5
MASK_FEATURES = 2
# The mask mean is ~0.01-0.1; training scales it by this factor, export folds it into the head.
MASK_MEAN_SCALE = 10.0


def mask_stats(mprob):
    """[N,1,H,W] mask probabilities -> [N,2]: largest 4x4-block mean, mean."""
    blk = F.avg_pool2d(mprob, 4).amax((2, 3))
    return torch.cat([blk, mprob.mean((2, 3))], 1)


def arch(width: int = 8):
    """Layer plan: list of (name, in_ch, out_ch, k).  Encoder widths w,2w,4w,8w,16w."""
    w = width
    e = [w, 2 * w, 4 * w, 8 * w, 16 * w]
    convs = [
        ("enc1a", 1, e[0], 3), ("enc1b", e[0], e[0], 3),
        ("enc2a", e[0], e[1], 3), ("enc2b", e[1], e[1], 3),
        ("enc3a", e[1], e[2], 3), ("enc3b", e[2], e[2], 3),
        ("enc4a", e[2], e[3], 3), ("enc4b", e[3], e[3], 3),
        ("enc5a", e[3], e[4], 3), ("enc5b", e[4], e[4], 3),
        ("dec4", e[4] + e[3], e[3], 3),
        ("dec3", e[3] + e[2], e[2], 3),
        ("dec2", e[2] + e[1], e[1], 3),
        ("dec1", e[1] + e[0], e[0], 3),
    ]
    return convs, e


class ConvBN(nn.Module):
    def __init__(self, cin, cout, k):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, padding=k // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class TumorNet(nn.Module):
    """Training model (with BatchNorm and dropout). forward -> (logits[N,5], mask_logits[N,1,H,W])."""

    def __init__(self, width=16, dropout=0.3):
        super().__init__()
        self.width = width
        convs, e = arch(width)
        self.blocks = nn.ModuleDict({n: ConvBN(i, o, k) for n, i, o, k in convs})
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(e[4] + MASK_FEATURES, NUM_CLASSES)
        self.head = nn.Conv2d(e[0], 1, 1)

    def forward(self, x, return_features=False):
        b = self.blocks
        e1 = b["enc1b"](b["enc1a"](x))
        e2 = b["enc2b"](b["enc2a"](F.max_pool2d(e1, 2)))
        e3 = b["enc3b"](b["enc3a"](F.max_pool2d(e2, 2)))
        e4 = b["enc4b"](b["enc4a"](F.max_pool2d(e3, 2)))
        e5 = b["enc5b"](b["enc5a"](F.max_pool2d(e4, 2)))
        up = lambda t: F.interpolate(t, scale_factor=2, mode="nearest")
        d4 = b["dec4"](torch.cat([up(e5), e4], 1))
        d3 = b["dec3"](torch.cat([up(d4), e3], 1))
        d2 = b["dec2"](torch.cat([up(d3), e2], 1))
        d1 = b["dec1"](torch.cat([up(d2), e1], 1))
        mlog = self.head(d1)
        ms = mask_stats(torch.sigmoid(mlog).detach()) * torch.tensor([1.0, MASK_MEAN_SCALE])
        gap = e5.mean((2, 3))
        logits = self.fc(torch.cat([self.drop(gap), ms], 1))
        if return_features:
            return logits, mlog, gap
        return logits, mlog


class FoldedTumorNet(nn.Module):
    """Inference graph with BN folded into conv weights.  forward -> (logits, sigmoid mask, features)."""

    def __init__(self, width=16):
        super().__init__()
        convs, e = arch(width)
        self.width = width
        self.convs = nn.ModuleDict({n: nn.Conv2d(i, o, k, padding=k // 2, bias=True) for n, i, o, k in convs})
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.gmp = nn.AdaptiveMaxPool2d(1)
        self.pool4 = nn.AvgPool2d(4)
        self.fc = nn.Linear(e[4] + MASK_FEATURES, NUM_CLASSES)
        self.head = nn.Conv2d(e[0], 1, 1)
        self.pool = nn.MaxPool2d(2)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x):
        c = self.convs
        r = lambda n, t: F.relu(c[n](t))
        e1 = r("enc1b", r("enc1a", x))
        e2 = r("enc2b", r("enc2a", self.pool(e1)))
        e3 = r("enc3b", r("enc3a", self.pool(e2)))
        e4 = r("enc4b", r("enc4a", self.pool(e3)))
        e5 = r("enc5b", r("enc5a", self.pool(e4)))
        d4 = r("dec4", torch.cat([self.up(e5), e4], 1))
        d3 = r("dec3", torch.cat([self.up(d4), e3], 1))
        d2 = r("dec2", torch.cat([self.up(d3), e2], 1))
        d1 = r("dec1", torch.cat([self.up(d2), e1], 1))
        mask = torch.sigmoid(self.head(d1))
        feats = torch.cat([torch.flatten(self.gap(e5), 1), torch.flatten(self.gmp(self.pool4(mask)), 1),
                           torch.flatten(self.gap(mask), 1)], 1)
        return self.fc(feats), mask, feats


@torch.no_grad()
def fold(model: TumorNet) -> FoldedTumorNet:
    model = model.eval()
    f = FoldedTumorNet(model.width)
    for n, blk in model.blocks.items():
        w = blk.conv.weight
        bn = blk.bn
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        f.convs[n].weight.copy_(w * scale[:, None, None, None])
        f.convs[n].bias.copy_(bn.bias - bn.running_mean * scale)
    f.fc.load_state_dict(model.fc.state_dict())
    f.fc.weight[:, -1] *= MASK_MEAN_SCALE  # the training graph scales the mask mean; export folds it here
    f.head.load_state_dict(model.head.state_dict())
    return f.eval()


def macs(width=16, size=128):
    convs, e = arch(width)
    res = {"enc1": size, "enc2": size // 2, "enc3": size // 4, "enc4": size // 8, "enc5": size // 16,
           "dec4": size // 8, "dec3": size // 4, "dec2": size // 2, "dec1": size}
    total = 0
    for n, i, o, k in convs:
        s = res[n[:4]]
        total += s * s * i * o * k * k
    total += size * size * e[0] + (e[4] + MASK_FEATURES) * NUM_CLASSES
    return total
