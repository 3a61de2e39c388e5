"""Writes Tests/NamedEntitiesTests/Fixtures/english-features.json: the reference implementation's tokens and feature
strings (perceptron.py) for committed texts, with the word lists of a trained model directory (they come from pinned
inputs, so the fixture holds for every model `make models` trains). The Swift tests compare against it; decoded
entities and scores are compared against the model's own check.json, since the weights are not committed.

Usage: python3 make_fixture.py models/english-ner > Tests/NamedEntitiesTests/Fixtures/english-features.json
"""
import json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import perceptron as P

TEXTS = [
    "Please send the signed contract to Margaret Okonkwo at 4821 Willow Creek Road, Springfield, before Friday.",
    "Dr. Anna-Lena Ørsted\nlives at 12b Hauptstraße, Zürich",
    "Name: Sieuwerd Heuver\nPhone: 0496 46 46 70",
    ">Matthew Abramov\n>Palantir Technologies\n>727 Gesterbyntie 68\n>Suite 377\n>HYVINKÄÄ\n>Finland 41600",
    "\"I'm glad to hear that Sweden is moving in that direction,\" says Becker.",
    "What Is The Boiling Point Of Water At Sea Level?",
    "my name is jürgen o'neill and i live on rue de la paix",
    "İlkay Gündoğan met ΣΩΚΡΑΤΗΣ and Ǆemal at the café — 3rd floor, Apt. 7",
    "tabs\tand\u00a0spaces\u2028between Anna Karlsson\u001cand\u001fseparators",
    "请把合同发给张伟，然后 email Margaret Okonkwo about the delay.",
    "McDonald's, AB-1234, x², ⅓ cup, ٣ items, Ⅻ chapters",
    "I got offers from Wipro and Accenture; which is better for a fresher?",
    "",
    "   \n\n  ",
]


def main():
    d = sys.argv[1]
    words = lambda n: set(open(os.path.join(d, n + ".txt"), encoding="utf-8").read().split("\n")) - {""}
    fz = P.Featurizer(words("first-names"), words("last-names"), words("words-lower"), words("words-proper"))
    out = []
    for text in TEXTS:
        toks = P.tokenize(text)
        spans = []
        for s, e, line in toks:
            b0 = len(text[:s].encode("utf-8")); b1 = b0 + len(text[s:e].encode("utf-8"))
            spans.append([b0, b1, line])
        out.append({"text": text, "tokens": spans, "features": fz.strings(text, toks) if toks else []})
    json.dump(out, sys.stdout, ensure_ascii=False, indent=0)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
