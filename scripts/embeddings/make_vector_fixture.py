#!/usr/bin/env python3
"""Writes Tests/EmbeddingsTests/Fixtures/reference-embeddings.json: sentence-transformers embeddings of the
vector corpus (unit vectors, 7 significant digits).

Usage: python3 scripts/embeddings/make_vector_fixture.py   (pip install sentence-transformers; torch CPU)
"""
import json, pathlib, sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from corpus import vector_corpus  # noqa: E402
import reference_model  # noqa: E402

import sentence_transformers, torch  # noqa: E402

ROOT = reference_model.ROOT
out = ROOT / "Tests/EmbeddingsTests/Fixtures/reference-embeddings.json"
model = reference_model.load()
texts = vector_corpus()
vectors = model.encode(texts, batch_size=8, convert_to_numpy=True)
cases = [{"text": t, "vector": [float(f"{x:.7g}") for x in v]} for t, v in zip(texts, vectors)]
with open(out, "w", encoding="utf-8") as f:
    json.dump({"reference": f"sentence-transformers {sentence_transformers.__version__}, torch {torch.__version__}, "
               "all-MiniLM-L6-v2 (mean pooling, normalized, max_seq_length 256)", "cases": cases},
              f, ensure_ascii=False, separators=(",", ":"))
    f.write("\n")
print(f"wrote {len(cases)} vectors of {len(cases[0]['vector'])} floats to {out.relative_to(ROOT)}")
