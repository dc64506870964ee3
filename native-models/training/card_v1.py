"""Tell the truth in tumornet 1.0.0's card without touching its weights: add what was measured on a
source it never trained on (all of TCGA-LGG, by finalize.compare_v1, stored in metrics.json under
tumornet_1_0_0) as the card's headline, the sequences it was validated on, and a section in
MODEL_CARD.md; then update the card's file hashes. The weights (model.onnx, tfjs/) are unchanged.

    /usr/bin/python3 native-models/training/card_v1.py [metrics.json]
"""
from __future__ import annotations

import hashlib
import json
import os
import sys

from make_card import HEAD, SEQ_NAMES, pct, row

HERE = os.path.dirname(os.path.abspath(__file__))
V1 = os.path.abspath(os.path.join(HERE, "..", "tumornet"))
MARK = "## Measured after release: a source it never trained on"


def main(argv):
    mp = argv[0] if argv else os.path.join(HERE, "metrics.json")
    with open(mp) as f:
        M = json.load(f)
    v1 = M["tumornet_1_0_0"]
    allr = v1["tcga_lgg_all"]
    card_path = os.path.join(V1, "model-card.json")
    with open(card_path) as f:
        card = json.load(f)
    card["metrics"]["source"] = "native-models/training/history/tumornet-1.0.0/metrics.json"
    card["metrics"]["headline"] = dict(
        figure="accuracy on TCGA-LGG, a source it never trained on", accuracy=allr["accuracy"], n=allr["n"],
        worst_class_recall=allr["worst_class_recall"], tumor_called_notumor_confident=allr["tumor_called_notumor_confident"],
        description="all 1,663 TCGA-LGG slices used by the 2.0.0 pipeline (FLAIR, T1, T1 post-contrast; glioma and "
                    "tumor-free slices of the same scans): the best guide to a new site's data we have for this model",
        command="/usr/bin/python3 native-models/training/train.py --finalize-only (finalize.compare_v1)")
    card["metrics"]["unseen_source_tcga_lgg"] = v1
    # Its training and validation data were figshare (T1 post-contrast) and SARTAJ/Br35H (sequences not recorded).
    card["validated_sequences"] = ["t1ce"]
    md_path = os.path.join(V1, "MODEL_CARD.md")
    with open(md_path) as f:
        md = f.read()
    if MARK in md:
        md = md[: md.index(MARK)].rstrip() + "\n"
    rows = [HEAD, row("TCGA-LGG, all", allr)]
    for q, r in v1.get("tcga_lgg_per_sequence", {}).items():
        rows.append(row(f"TCGA-LGG, {SEQ_NAMES.get(q, q)}", r))
    md += (f"\n{MARK}\n\n"
           "The figures above are on a split of the same sources it was trained on and overstate what a new site "
           "will see. On TCGA-LGG (Buda et al.; lower-grade gliomas in FLAIR, T1 and T1 post-contrast, with "
           "tumor-free slices of the same scans), which this model never saw:\n\n" + "\n".join(rows) + "\n\n"
           f"**Expected accuracy on a new site: {pct(allr['accuracy'])} (n = {allr['n']:,}).** "
           "It was validated on T1 post-contrast only (figshare); SARTAJ and Br35H do not record their sequences. "
           "The workstation shows this figure beside every result of this model and warns on other sequences. "
           "Measured by `/usr/bin/python3 native-models/training/train.py` (finalize.compare_v1; figures in "
           "`native-models/training/metrics.json`, key `tumornet_1_0_0`). The weights are unchanged; what this card "
           "was first generated from is in `native-models/training/history/tumornet-1.0.0/`.\n")
    with open(md_path, "w") as f:
        f.write(md)
    b = md.encode()
    card["files"]["MODEL_CARD.md"] = dict(sha256=hashlib.sha256(b).hexdigest(), bytes=len(b))
    with open(card_path, "w") as f:
        json.dump(card, f, indent=1)
    print(f"tumornet 1.0.0 card: headline {pct(allr['accuracy'])} (n={allr['n']}), validated sequences t1ce")


if __name__ == "__main__":
    main(sys.argv[1:])
