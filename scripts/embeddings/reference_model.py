"""The reference: sentence-transformers' all-MiniLM-L6-v2 pipeline (BERT, mean pooling, L2 normalisation,
max_seq_length 256) built from the local model directory, offline."""
import os
import pathlib

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_MODEL_DIR = pathlib.Path(os.environ.get("AIRLOCK_MODEL_DIR", ROOT / "models/all-MiniLM-L6-v2"))


def load(model_dir=DEFAULT_MODEL_DIR):
    from sentence_transformers import SentenceTransformer, models

    transformer = models.Transformer(str(model_dir), max_seq_length=256)
    pooling = models.Pooling(384, pooling_mode="mean")
    return SentenceTransformer(modules=[transformer, pooling, models.Normalize()], device="cpu")
