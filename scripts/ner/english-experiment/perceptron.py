"""The English NER experiment (README.md here): an averaged structured perceptron over BIO tags with hashed word,
shape, context and name-gazetteer features, Viterbi-decoded; trained on JSONL rows, scored on a PII file the way
`airlock eval rules --pii` scores (a prediction counts when it overlaps a gold span of its type).

Usage: FAKER_PATH=DIR python3 perceptron.py TRAIN.jsonl EPOCHS TEST.jsonl [SHOW_ERRORS]
"""
import json, os, random, sys, unicodedata
import numpy as np
sys.path.insert(0, os.environ.get('FAKER_PATH', ''))
import importlib

TAGS = ["O", "B-PERSON", "I-PERSON", "B-ADDRESS", "I-ADDRESS", "B-ORGANIZATION", "I-ORGANIZATION", "B-LOCATION",
        "I-LOCATION"]
K = len(TAGS)
BITS = 18
MASK = (1 << BITS) - 1


def is_word(c):
    cat = unicodedata.category(c)
    return cat[0] in "LMN"


def tokenize(text):
    out = []  # (start, end, line_start)
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if c == "\n":
            line_start = True; i += 1; continue
        if c.isspace():
            i += 1; continue
        if is_word(c):
            j = i + 1
            while j < n and is_word(text[j]): j += 1
        else:
            j = i + 1
        out.append((i, j, line_start))
        line_start = False
        i = j
    return out


def shape(w):
    s = []
    for c in w:
        if c.isupper(): m = "X"
        elif c.islower(): m = "x"
        elif c.isdigit(): m = "d"
        else: m = c
        if not s or s[-1] != m: s.append(m)
    return "".join(s)[:6]


def fnv(s):
    h = 0x811C9DC5
    for b in s.encode("utf-8"):
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def load_gazetteers():
    first, last = set(), set()
    from make_synthetic import LOCALES
    for loc in LOCALES:
        try:
            mod = importlib.import_module(f"faker.providers.person.{loc}")
        except Exception:
            continue
        P = mod.Provider
        for attr in ("first_names", "first_names_male", "first_names_female"):
            v = getattr(P, attr, None)
            if v: first.update(x.lower() for x in (v.keys() if isinstance(v, dict) else v))
        for attr in ("last_names",):
            v = getattr(P, attr, None)
            if v: last.update(x.lower() for x in (v.keys() if isinstance(v, dict) else v))
    return first, last


STREET = set("street st avenue ave road rd lane ln drive dr place pl boulevard blvd court ct way suite apt apartment unit floor box p.o. rue via calle straße strasse weg gatan vägen vej veien laan straat plein katu tie gata rua ulica".split())
COMPANY = set("inc inc. llc ltd ltd. gmbh sa s.a. ag group corp corporation company co plc bv oy ab as srl spa sas technologies solutions".split())


class Featurizer:
    def __init__(self, first, last):
        self.first, self.last = first, last

    def features(self, text, toks):
        words = [text[s:e] for s, e, _ in toks]
        low = [w.lower() for w in words]
        shapes = [shape(w) for w in words]
        out = []
        n = len(toks)
        for i in range(n):
            w, l, sh = words[i], low[i], shapes[i]
            pl = low[i - 1] if i > 0 else "<s>"
            nl = low[i + 1] if i + 1 < n else "</s>"
            psh = shapes[i - 1] if i > 0 else "<s>"
            nsh = shapes[i + 1] if i + 1 < n else "</s>"
            pl2 = low[i - 2] if i > 1 else "<s>"
            nl2 = low[i + 2] if i + 2 < n else "</s>"
            f = ["b", "w=" + l, "sh=" + sh, "p3=" + l[:3], "s3=" + l[-3:], "w-1=" + pl, "w+1=" + nl, "sh-1=" + psh,
                 "sh+1=" + nsh, "w-2=" + pl2, "w+2=" + nl2, "sh:w-1=" + sh + "|" + pl, "sh:sh+1=" + sh + "|" + nsh,
                 "sh-1:sh=" + psh + "|" + sh]
            if toks[i][2]: f.append("bol")
            if l in self.first: f.append("fn")
            if l in self.last: f.append("ln")
            if i > 0 and low[i - 1] in self.first: f.append("fn-1")
            if i + 1 < n and low[i + 1] in self.last: f.append("ln+1")
            if l in STREET: f.append("st")
            if i + 1 < n and low[i + 1] in STREET: f.append("st+1")
            if i > 0 and low[i - 1] in STREET: f.append("st-1")
            if l in COMPANY: f.append("co")
            if i + 1 < n and low[i + 1] in COMPANY: f.append("co+1")
            out.append(np.array([fnv(x) & MASK for x in f], dtype=np.int64))
        return out


def gold_tags(toks, spans):
    tags = [0] * len(toks)
    for sp in spans:
        first = True
        for k, (s, e, _) in enumerate(toks):
            if s >= sp["start"] and e <= sp["end"]:
                tags[k] = TAGS.index(("B-" if first else "I-") + sp["type"])
                first = False
    return tags


def viterbi(em, trans, start):
    n = len(em)
    score = start + em[0]
    back = np.zeros((n, K), dtype=np.int64)
    for t in range(1, n):
        cand = score[:, None] + trans
        back[t] = cand.argmax(0)
        score = cand.max(0) + em[t]
    path = [int(score.argmax())]
    for t in range(n - 1, 0, -1): path.append(int(back[t][path[-1]]))
    return path[::-1]


def spans_of(tags, toks):
    out = []
    cur = None
    for k, t in enumerate(tags):
        name = TAGS[t]
        if name == "O":
            if cur: out.append(cur); cur = None
            continue
        kind = name[2:]
        if name.startswith("B-") or cur is None or cur[0] != kind:
            if cur: out.append(cur)
            cur = [kind, toks[k][0], toks[k][1]]
        else:
            cur[2] = toks[k][1]
    if cur: out.append(cur)
    return out


def train(rows, fz, epochs):
    W = np.zeros((1 << BITS, K)); U = np.zeros((1 << BITS, K))
    T = np.zeros((K, K)); UT = np.zeros((K, K)); S = np.zeros(K); US = np.zeros(K)
    data = []
    for r in rows:
        toks = tokenize(r["text"])
        if not toks: continue
        data.append((fz.features(r["text"], toks), gold_tags(toks, r["spans"])))
    c = 1
    rng = random.Random(3)
    for epoch in range(epochs):
        rng.shuffle(data)
        errors = 0
        for feats, gold in data:
            em = np.array([W[f].sum(0) for f in feats])
            pred = viterbi(em, T, S)
            if pred != gold:
                errors += 1
                for t, (g, p) in enumerate(zip(gold, pred)):
                    if g != p:
                        W[feats[t], g] += 1; U[feats[t], g] += c
                        W[feats[t], p] -= 1; U[feats[t], p] -= c
                for t in range(len(gold)):
                    g0 = gold[t - 1] if t else None; p0 = pred[t - 1] if t else None
                    if t == 0:
                        if gold[0] != pred[0]:
                            S[gold[0]] += 1; US[gold[0]] += c; S[pred[0]] -= 1; US[pred[0]] -= c
                    elif (g0, gold[t]) != (p0, pred[t]):
                        T[g0, gold[t]] += 1; UT[g0, gold[t]] += c; T[p0, pred[t]] -= 1; UT[p0, pred[t]] -= c
            c += 1
        print(f"epoch {epoch}: {errors}/{len(data)} sentences wrong", file=sys.stderr)
    return W - U / c, T - UT / c, S - US / c


def evaluate(path, fz, W, T, S, show=0):
    aliases = {"STREET_ADDRESS": "ADDRESS", "GPE": "LOCATION"}
    types = ["PERSON", "ADDRESS", "ORGANIZATION", "LOCATION"]
    tp = {t: 0 for t in types}; fp = dict(tp); fn = dict(tp); gm = dict(tp)
    shown = 0
    for line in open(path, encoding="utf-8"):
        r = json.loads(line)
        toks = tokenize(r["text"])
        gold = [(aliases.get(s["type"], s["type"]), s["start"], s["end"]) for s in r["spans"]]
        gold = [g for g in gold if g[0] in types]
        pred = []
        if toks:
            feats = fz.features(r["text"], toks)
            em = np.array([W[f].sum(0) for f in feats])
            pred = spans_of(viterbi(em, T, S), toks)
        for p in pred:
            if any(g[0] == p[0] and g[1] < p[2] and p[1] < g[2] for g in gold): tp[p[0]] += 1
            else:
                fp[p[0]] += 1
                if shown < show and p[0] == "PERSON": print("FP", r["text"][p[1]:p[2]], "|", r["text"][:120].replace("\n", " ")); shown += 1
        for g in gold:
            if any(g[0] == p[0] and g[1] < p[2] and p[1] < g[2] for p in pred): gm[g[0]] += 1
            else:
                fn[g[0]] += 1
                if shown < show and g[0] == "PERSON": print("FN", r["text"][g[1]:g[2]], "|", r["text"][:120].replace("\n", " ")); shown += 1
    for t in types:
        p = tp[t] / max(1, tp[t] + fp[t]); rc = gm[t] / max(1, gm[t] + fn[t])
        print(f"{t:14s} tp {tp[t]:4d} fp {fp[t]:4d} fn {fn[t]:4d}  precision {p:.4f} recall {rc:.4f}")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    first, last = load_gazetteers()
    print(len(first), len(last), file=sys.stderr)
    fz = Featurizer(first, last)
    rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
    W, T, S = train(rows, fz, int(sys.argv[2]))
    np.savez_compressed(os.environ.get("MODEL_OUT", "model.npz"), W=W.astype(np.float32), T=T, S=S)
    evaluate(sys.argv[3], fz, W, T, S, show=int(sys.argv[4]) if len(sys.argv) > 4 else 0)
