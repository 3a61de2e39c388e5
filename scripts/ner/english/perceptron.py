"""The English NER model's reference implementation (train.py runs it): tokens, hashed features, an averaged
structured perceptron over BIO tags, Viterbi decoding and forward-backward scores. Sources/NamedEntities/English is
its Swift twin for inference, checked against the check.json that train.py writes.
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


def load_words(path):
    """Debian's wamerican word list: the words written in lower case (common words) and those written capitalized
    (proper nouns), both lowered."""
    lower, proper = set(), set()
    for line in open(path, encoding="utf-8"):
        w = line.strip()
        if not w or "'" in w: continue
        if w[:1].islower(): lower.add(w)
        elif w[:1].isupper(): proper.add(w.lower())
    return lower, proper


STREET = set("street st avenue ave road rd lane ln drive dr place pl boulevard blvd court ct way suite apt apartment unit floor box p.o. rue via calle straße strasse weg gatan vägen vej veien laan straat plein katu tie gata rua ulica".split())
COMPANY = set("inc inc. llc ltd ltd. gmbh sa s.a. ag group corp corporation company co plc bv oy ab as srl spa sas technologies solutions university college institute school academy hospital bank".split())


class Featurizer:
    def __init__(self, first, last, lower, proper):
        self.first, self.last, self.lower, self.proper = first, last, lower, proper

    def strings(self, text, toks):
        """The feature strings of every token (FEATURES.md; Sources/NamedEntities/English mirrors this)."""
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
            common = l in self.lower
            if common: f.append("dl")
            if l in self.proper: f.append("dp")
            if i > 0 and low[i - 1] in self.lower: f.append("dl-1")
            if i + 1 < n and low[i + 1] in self.lower: f.append("dl+1")
            if any(ord(c) > 127 for c in w): f.append("nonascii")
            f += ["s2=" + l[-2:], "s4=" + l[-4:], "len=" + str(min(len(w), 12))]
            if w[:1].isupper() and common and l not in self.first and l not in self.last: f.append("capcommon")
            f.append("sh:dl=" + sh + "|" + ("1" if common else "0"))
            out.append(f)
        return out

    def features(self, text, toks):
        return [np.array([fnv(x) & MASK for x in f], dtype=np.int64) for f in self.strings(text, toks)]

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


def marginals(em, trans, start):
    """P(tag at token t) under the model's scores taken as a linear-chain CRF's log-potentials (forward-backward)."""
    n = len(em)
    def lse(x, axis):
        m = x.max(axis=axis, keepdims=True)
        return (m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))).squeeze(axis)
    alpha = np.zeros((n, K)); beta = np.zeros((n, K))
    alpha[0] = start + em[0]
    for t in range(1, n):
        alpha[t] = lse(alpha[t - 1][:, None] + trans, 0) + em[t]
    for t in range(n - 2, -1, -1):
        beta[t] = lse(trans + (em[t + 1] + beta[t + 1])[None, :], 1)
    z = lse(alpha[-1], 0)
    return np.exp(alpha + beta - z)


def entities(text, toks, fz, W, T, S):
    """(type, start, end, score) in code points: Viterbi's spans, each scored by the mean over its tokens of the
    marginal probability of its type (B and I together)."""
    feats = fz.features(text, toks)
    em = np.array([W[f].sum(0) for f in feats])
    tags = viterbi(em, T, S)
    marg = marginals(em, T, S)
    out = []
    start_token = 0
    for kind, s0, e0 in spans_of(tags, toks):
        ks = [k for k in range(len(toks)) if toks[k][0] >= s0 and toks[k][1] <= e0]
        b, i_ = TAGS.index("B-" + kind), TAGS.index("I-" + kind)
        score = float(np.mean([marg[k, b] + marg[k, i_] for k in ks]))
        out.append((kind, s0, e0, score))
    return out


TYPES = ["PERSON", "ADDRESS", "ORGANIZATION", "LOCATION"]
THRESHOLDS = [0.0, 0.5, 0.7]


def score(rows, fz, W, T, S):
    """Counts per type and minimum score, matched as `airlock eval rules --pii` matches (a prediction counts when it
    overlaps a gold span of its type; a gold span is found when a prediction of its type overlaps it)."""
    counts = {}
    for r in rows:
        toks = tokenize(r["text"])
        gold = [(s["type"], s["start"], s["end"]) for s in r["spans"] if s["type"] in TYPES]
        found = entities(r["text"], toks, fz, W, T, S) if toks else []
        for threshold in THRESHOLDS:
            pred = [p for p in found if p[3] >= threshold]
            for t in TYPES:
                c = counts.setdefault(f"{t}@{threshold}", {"tp": 0, "fp": 0, "found": 0, "missed": 0})
                for p in pred:
                    if p[0] != t: continue
                    c["tp" if any(g[0] == t and g[1] < p[2] and p[1] < g[2] for g in gold) else "fp"] += 1
                for g in gold:
                    if g[0] != t: continue
                    c["found" if any(p[0] == t and g[1] < p[2] and p[1] < g[2] for p in pred) else "missed"] += 1
    return counts


def report(counts):
    for key in sorted(counts, key=lambda k: (TYPES.index(k.split("@")[0]), k)):
        c = counts[key]
        precision = c["tp"] / max(1, c["tp"] + c["fp"]); recall = c["found"] / max(1, c["found"] + c["missed"])
        print(f"  {key:20s} precision {precision:.4f} ({c['tp']}/{c['tp'] + c['fp']})  "
              f"recall {recall:.4f} ({c['found']}/{c['found'] + c['missed']})")


