"""Trains Airlock's English (Latin-script) NER model: an averaged structured perceptron over BIO tags for PERSON,
ADDRESS, ORGANIZATION and LOCATION with hashed word, shape, context, gazetteer and dictionary features
(perceptron.py), Viterbi-decoded. Run at set-up by scripts/fetch-english-ner.sh; Sources/NamedEntities/English reads
what it writes.

Training data: synthetic sentences from templates written here (make_synthetic.py) with values from faker==40.63.0
(MIT) in 31 locales, and the rows of ../shared/eval/pii/presidio-synth-dev.jsonl (MIT; STREET_ADDRESS as ADDRESS, GPE
as LOCATION, other types as no entity). --folds K first prints the out-of-fold figures on that file: each fold scored
by a model trained on the synthetic sentences and the other folds.

Usage: python3 train.py --faker DIR --words FILE --dev FILE --out DIR [--folds 5]
"""
import argparse, json, os, random, struct, sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def main():
    # faker draws some values from sets, whose order follows Python's per-process string hashing: without a fixed
    # seed every run would train on other sentences and give another model.
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.execve(sys.executable, [sys.executable] + sys.argv, dict(os.environ, PYTHONHASHSEED="0"))
    ap = argparse.ArgumentParser()
    ap.add_argument("--faker", required=True)
    ap.add_argument("--words", required=True)
    ap.add_argument("--dev", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--synthetic", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--dev-repeats", type=int, default=3)
    ap.add_argument("--folds", type=int, default=0)
    args = ap.parse_args()
    sys.path.insert(0, args.faker)
    os.environ["FAKER_PATH"] = args.faker
    import numpy as np
    import perceptron as P
    import make_synthetic as M
    from faker import Faker

    first, last = P.load_gazetteers()
    lower, proper = P.load_words(args.words)
    fz = P.Featurizer(first, last, lower, proper)
    rng = random.Random(args.seed)
    fakes = {}
    for loc in M.LOCALES:
        f = Faker(loc)
        f.seed_instance(args.seed + len(fakes))
        fakes[loc] = f
    synthetic = [M.make(rng, fakes[rng.choice(M.LOCALES)]) for _ in range(args.synthetic)]
    aliases = {"STREET_ADDRESS": "ADDRESS", "GPE": "LOCATION", "PERSON": "PERSON", "ORGANIZATION": "ORGANIZATION"}
    dev = []
    for line in open(args.dev, encoding="utf-8"):
        r = json.loads(line)
        dev.append({"text": r["text"], "spans": [dict(s, type=aliases[s["type"]]) for s in r["spans"] if s["type"] in aliases]})

    if args.folds:
        counts = {}
        for k in range(args.folds):
            train = synthetic + [r for i, r in enumerate(dev) if i % args.folds != k] * args.dev_repeats
            W, T, S = P.train(train, fz, args.epochs)
            for t, c in P.score([r for i, r in enumerate(dev) if i % args.folds == k], fz, W, T, S).items():
                total = counts.setdefault(t, {})
                for key, v in c.items(): total[key] = total.get(key, 0) + v
        print(f"out of fold ({args.folds} folds) on {args.dev}:")
        P.report(counts)

    W, T, S = P.train(synthetic + dev * args.dev_repeats, fz, args.epochs)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "weights.f32"), "wb") as fh:
        fh.write(W.astype("<f4").tobytes())
    import hashlib
    meta = {"format": "airlock-english-ner/1", "bits": P.BITS, "tags": P.TAGS,
            "trained_on": [hashlib.sha256(open(args.dev, "rb").read()).hexdigest()],
            "transitions": [[float(x) for x in row] for row in T.astype(np.float32)],
            "start": [float(x) for x in S.astype(np.float32)]}
    with open(os.path.join(args.out, "model.json"), "w") as fh:
        json.dump(meta, fh)
    for name, words in (("first-names", first), ("last-names", last), ("words-lower", lower), ("words-proper", proper)):
        with open(os.path.join(args.out, name + ".txt"), "w", encoding="utf-8") as fh:
            fh.write("\n".join(sorted(words)) + "\n")
    # What the Swift implementation must reproduce: feature strings and decoded entities with their scores.
    check_rng = random.Random(args.seed + 1000)
    texts = [M.make(check_rng, fakes[check_rng.choice(M.LOCALES)])["text"] for _ in range(40)]
    texts += [r["text"] for r in dev[:40]]
    texts += ["", "   \n ", "Ünïcödé Ørsted and İlkay Gündoğan met in Zürich.", "ALL CAPS JOHN SMITH AT 12 MAIN ST",
              "tabs\tand\u00a0spaces\u2028between Anna Karlsson", "Émile, d'Arcy & O'Brien-Smith (née Ng): 3rd"]
    check = []
    W32 = W.astype(np.float32).astype(np.float64)
    T32 = T.astype(np.float32).astype(np.float64)
    S32 = S.astype(np.float32).astype(np.float64)
    for i, text in enumerate(texts):
        toks = P.tokenize(text)
        entry = {"text": text, "spans": []}
        if toks:
            if i % 10 == 0: entry["features"] = fz.strings(text, toks)
            for kind, start, end, score in P.entities(text, toks, fz, W32, T32, S32):
                b0 = len(text[:start].encode("utf-8")); b1 = b0 + len(text[start:end].encode("utf-8"))
                entry["spans"].append([kind, b0, b1, round(score, 6)])
        check.append(entry)
    with open(os.path.join(args.out, "check.json"), "w", encoding="utf-8") as fh:
        json.dump(check, fh, ensure_ascii=False)
    print(f"train: wrote {args.out}")


if __name__ == "__main__":
    main()
