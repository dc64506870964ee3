"""Smoke test of the training + export pipeline (one batch, export to a temp dir).

    /usr/bin/python3 -m unittest discover -s native-models/training -p 'test_*.py'
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import torch  # noqa: F401
    import onnx
    HAVE_DEPS = True
except ImportError:  # pragma: no cover
    HAVE_DEPS = False


class PreprocessTest(unittest.TestCase):
    def test_golden_preprocess_matches(self):
        import base64
        from prep import preprocess
        path = os.path.join(HERE, "golden", "preprocess.json")
        if not os.path.exists(path):
            self.skipTest("golden/preprocess.json not generated yet")
        with open(path) as f:
            doc = json.load(f)
        for c in doc["cases"]:
            dt = np.uint16 if c["dtype"] == "uint16" else np.uint8
            shape = (c["height"], c["width"]) + ((3,) if c["channels"] == 3 else ())
            a = np.array(c["pixels"], dtype=dt).reshape(shape)
            x = preprocess(a, doc["size"][0])
            exp = np.frombuffer(base64.b64decode(c["expected_f32_b64"]), "<f4").reshape(c["expected_shape"])
            self.assertLessEqual(float(np.abs(x - exp).max()), 1e-6, c["name"])

    def test_area_resize_properties(self):
        from prep import area_resize, preprocess
        g = np.arange(256 * 256, dtype=np.float64).reshape(256, 256)
        r = area_resize(g, 128, 128)
        self.assertAlmostEqual(r[0, 0], (0 + 1 + 256 + 257) / 4)
        self.assertTrue(np.all(preprocess(np.zeros((30, 40), np.uint8)) == 0))
        x = preprocess(np.random.default_rng(0).integers(0, 65535, (70, 90)).astype(np.uint16))
        self.assertEqual(x.shape, (1, 128, 128))
        self.assertEqual(x.dtype, np.float32)
        self.assertTrue(0 <= x.min() and x.max() <= 1)


@unittest.skipUnless(HAVE_DEPS, "python3-torch / python3-onnx not installed")
class SmokeTest(unittest.TestCase):
    def test_smoke_train_and_export(self):
        out = tempfile.mkdtemp(prefix="tumornet-test-")
        model_dir = os.path.join(out, "tumornet")
        t0 = time.time()
        r = subprocess.run([sys.executable, os.path.join(HERE, "train.py"), "--smoke", "--out", model_dir],
                           capture_output=True, text=True, timeout=300)
        dt = time.time() - t0
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
        for f in ("model.onnx", "tfjs/model.json", "tfjs/group1-shard1of1.bin", "model-card.json", "MODEL_CARD.md"):
            self.assertTrue(os.path.exists(os.path.join(model_dir, f)), f)
        m = onnx.load(os.path.join(model_dir, "model.onnx"))
        onnx.checker.check_model(m)
        self.assertEqual([i.name for i in m.graph.input], ["image"])
        self.assertEqual([o.name for o in m.graph.output], ["logits", "mask", "features"])
        from onnx_np import run
        x = np.random.default_rng(0).random((2, 1, 128, 128)).astype(np.float32)
        logits, mask, features = run(m, {"image": x})
        self.assertEqual(logits.shape, (2, 5))
        self.assertEqual(mask.shape, (2, 1, 128, 128))
        self.assertTrue(0 <= mask.min() and mask.max() <= 1)
        # the head's input: its last two values are the mask's largest 4x4-block mean and its mean
        self.assertEqual(features.shape[0], 2)
        blocks = mask[:, 0].reshape(2, 32, 4, 32, 4).mean((2, 4)).max((1, 2))
        np.testing.assert_allclose(features[:, -2], blocks, atol=1e-5)
        np.testing.assert_allclose(features[:, -1], mask.mean((1, 2, 3)), atol=1e-5)
        with open(os.path.join(model_dir, "tfjs", "model.json")) as f:
            mj = json.load(f)
        self.assertEqual(mj["format"], "layers-model")
        self.assertEqual([o[0] for o in mj["modelTopology"]["config"]["output_layers"]], ["logits", "mask", "features"])
        with open(os.path.join(model_dir, "model-card.json")) as f:
            card = json.load(f)
        self.assertEqual(card["id"], "tumornet-v2")
        self.assertEqual(card["head"]["features"]["dim"], features.shape[1])
        self.assertIn("non-commercial", card["license_notice"].lower())
        self.assertIn("model.onnx", card["files"])
        self.assertNotIn("model-card.json", card["files"])
        self.assertEqual(sorted(os.listdir(model_dir)), ["MODEL_CARD.md", "model-card.json", "model.onnx", "tfjs"])


if __name__ == "__main__":
    unittest.main()
