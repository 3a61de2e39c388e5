"""`airlock eval cache --rules`: the pairs go through the prompt rules first, as `airlock serve` keys its cache on the
inspected prompt, so a rule change (such as the NER rule tokenizing names) is measured on the cache."""
import json
import os
import subprocess

from conftest import BIN, ROOT


def test_names_are_tokenized_before_the_cache_sees_the_pairs(tmp_path):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text(
        "a\tb\tsame\n"
        "请给王建国写一封感谢信\t请给王建国写一封感谢信\t1\n"
        "北京今天天气怎么样\t北京今天的天气怎么样\t1\n", encoding="utf-8")
    env = dict(os.environ, AIRLOCK_MODEL_DIR=os.path.join(ROOT, "models", "all-MiniLM-L6-v2"),
               AIRLOCK_RULES_NER_MODEL_DIR=os.path.join(ROOT, "models", "lac-2.1.2"),
               AIRLOCK_RULES_NER_ENGLISH_MODEL_DIR=os.path.join(ROOT, "models", "english-ner"))
    result = subprocess.run(
        [os.path.join(BIN, "airlock"), "eval", "cache", "--pairs", str(pairs), "--rules", os.path.join(ROOT, "rules"),
         "--json"], capture_output=True, text=True, timeout=300, env=env, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    # The name is one distinct text (a and b are the same string); it changed, nothing was blocked or merged.
    assert "1 of 3 distinct texts changed, 0 blocked (0 pairs left out), 0 distinct texts share" in result.stderr
    report = json.loads(result.stdout)
    # The identical pair is still an exact hit after tokenization: the placeholder text is its key.
    assert report["recall"] > 0
