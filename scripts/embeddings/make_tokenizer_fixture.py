#!/usr/bin/env python3
"""Writes Tests/EmbeddingsTests/Fixtures/tokenizer-ids.json: token ids of the reference tokenizer (the
`tokenizers` package with the model's tokenizer.json, truncated at 256 tokens like sentence-transformers).

Usage: python3 scripts/embeddings/make_tokenizer_fixture.py [MODEL_DIR]   (pip install tokenizers)
"""
import json, pathlib, sys
import tokenizers
from tokenizers import Tokenizer

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from corpus import tokenizer_corpus  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
model_dir = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "models/all-MiniLM-L6-v2"
out = ROOT / "Tests/EmbeddingsTests/Fixtures/tokenizer-ids.json"

tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
tokenizer.no_padding()
tokenizer.enable_truncation(max_length=256)
texts = tokenizer_corpus()
cases = [{"text": t, "ids": tokenizer.encode(t).ids} for t in texts]
out.parent.mkdir(parents=True, exist_ok=True)
with open(out, "w", encoding="utf-8") as f:
    json.dump({"reference": f"tokenizers {tokenizers.__version__}, tokenizer.json, truncation 256",
               "cases": cases}, f, ensure_ascii=False, separators=(",", ":"))
    f.write("\n")
print(f"wrote {len(cases)} cases to {out.relative_to(ROOT)}; "
      f"{sum(len(c['ids']) == 256 for c in cases)} truncated at 256")
