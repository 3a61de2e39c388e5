"""Synthetic English sentences with PERSON, ADDRESS, ORGANIZATION and LOCATION spans for the English NER experiment
(README.md here): templates written here, values from faker==40.63.0 (MIT) in 31 locales.

Usage: FAKER_PATH=DIR python3 make_synthetic.py COUNT SEED > train.jsonl
"""
import json, os, random, sys
sys.path.insert(0, os.environ.get('FAKER_PATH', ''))
from faker import Faker

LOCALES = ['en_US', 'en_GB', 'en_AU', 'en_CA', 'nl_NL', 'fi_FI', 'is_IS', 'et_EE', 'de_DE', 'fr_FR', 'sv_SE', 'da_DK',
           'it_IT', 'es_ES', 'pl_PL', 'no_NO', 'pt_PT', 'cs_CZ', 'hu_HU', 'lt_LT', 'lv_LV', 'sk_SK', 'sl_SI', 'hr_HR',
           'ro_RO', 'el_GR', 'tr_TR', 'en_IE', 'en_NZ', 'fr_CH', 'de_AT']

PERSON_T = [
    "Please send the contract to {P} by Friday.", "Hi, my name is {P} and I need help with my order.",
    "Can you write a short bio for {P}?", "{P} will join the call at 3 pm.", "I spoke with {P} yesterday about the refund.",
    "Draft an email to {P} thanking them for the interview.", "Our new account manager is {P}.",
    "Dear {P}, your subscription has been renewed.", "Name: {P}", "Customer: {P}", "Patient name: {P}, age 54.",
    "{P} and {Q} are presenting the quarterly results.", "Who is {P}? She emailed me twice.",
    "Forward this to {P}, cc {Q}.", "Summarize the meeting notes from {P}.", "Contact person: {P}",
    "The package was signed for by {P}.", "Thanks, {P}", "Best regards,\n{P}", "-- {P}", "{P} wrote: see below.",
    "Add {P} to the guest list for Saturday.", "Is {P} the owner of this account?", "My manager {P} approved it.",
    "Translate this note for {P}: the meeting moved to Tuesday.", "Reply to {P} and say we agree.",
    "According to {P}, the shipment is late.", "\"We expect growth next year,\" said {P}.", "Ask {Last} about the budget.",
    "Mr. {Last} called again.", "Ms. {Last} will review the draft.", "Dr. {P} is on leave until May.",
    "Tell {First} that dinner is at seven.", "{First}, can you check the logs?", "I met {First} at the conference.",
    "Assigned to: {P}", "Reviewer: {P}; approver: {Q}", "Interviewed by {P} on Monday.", "From: {P}\nSubject: invoice",
]
ADDRESS_T = [
    "Ship it to {A}.", "My address is {A}, {C}.", "Billing address: {A}\n{C} {Z}", "Please update my address to {A}.",
    "The office moved to {A} in {C}.", "Deliver to {P}, {A}, {C}, {Z}.", "{P}\n{A}\n{C} {Z}\n{N}",
    "Send the invoice to {O}, {A}, {C}.", "We live at {A}.", "Address: {A}, {C}, {N}",
    "Pick me up at {A} tomorrow.", "Return address: {P}, {A}, {Z} {C}", "The event is at {A}, {C}.",
    "{O}\n{A}\n{Z} {C}\n{N}", "Her new place is {A}, near the station.", "Can you find a pharmacy near {A}?",
]
ORG_T = [
    "I work at {O}.", "{O} announced a new product today.", "Compare {O} and {O2} for cloud hosting.",
    "She is a senior engineer at {O} in {C}.", "Write a cover letter for a job at {O}.", "The invoice is from {O}.",
    "{P} from {O} will call you.", "Company: {O}", "Employer: {O}; position: analyst",
]
LOC_T = [
    "I'm travelling to {C} next week.", "What's the weather like in {C}?", "We moved here from {C}.",
    "Flights from {C} to {C2} are cheap in March.", "She was born in {N}.", "Is {N} part of the EU?",
    "The conference is in {C}, {N}.", "How far is {C} from {C2}?",
]
NEG_T = [
    "What is the boiling point of water at sea level?", "Explain how a hash map works.", "Write a haiku about autumn.",
    "Summarize this article in three sentences.", "My card expires this month, how do I renew it?",
    "Translate 'good morning' into French.", "What are the health benefits of green tea?", "Fix the bug in this Python code.",
    "List five tips for a job interview.", "The Meeting Starts At Noon On Monday.", "Please Reply As Soon As Possible.",
    "Order #4521 shipped on 12 March.", "Turn left at the second light, then go straight.", "Call me when you land.",
    "I need a refund for order 77821.", "Is it safe to use Bluetooth on a plane?", "Monday, Tuesday and Friday work for me.",
    "The Apple Watch Series 9 battery lasts a day.", "Read Chapter 4 before the Exam.", "New York Times bestsellers this week?",
]


def make(rng, fake):
    kind = rng.random()
    if kind < 0.42: t = rng.choice(PERSON_T)
    elif kind < 0.67: t = rng.choice(ADDRESS_T)
    elif kind < 0.78: t = rng.choice(ORG_T)
    elif kind < 0.88: t = rng.choice(LOC_T)
    else: t = rng.choice(NEG_T)
    text, spans = "", []
    i = 0
    while i < len(t):
        if t[i] == "{":
            j = t.index("}", i)
            key = t[i + 1:j]
            if key in ("P", "Q"):
                value, typ = fake.name(), "PERSON"
                if rng.random() < 0.15: value = value.upper() if rng.random() < 0.5 else value.lower()
            elif key == "First": value, typ = fake.first_name(), "PERSON"
            elif key == "Last": value, typ = fake.last_name(), "PERSON"
            elif key == "A": value, typ = fake.street_address(), "ADDRESS"
            elif key == "Z": value, typ = fake.postcode(), "ADDRESS"
            elif key in ("C", "C2"): value, typ = fake.city(), "LOCATION"
            elif key == "N": value, typ = fake.country(), "LOCATION"
            elif key in ("O", "O2"): value, typ = fake.company(), "ORGANIZATION"
            start = len(text)
            text += value
            spans.append({"type": typ, "start": start, "end": len(text)})
            i = j + 1
        else:
            text += t[i]
            i += 1
    return {"text": text, "spans": spans}


def main():
    n = int(sys.argv[1]); seed = int(sys.argv[2])
    rng = random.Random(seed)
    fakes = {}
    for loc in LOCALES:
        f = Faker(loc); f.seed_instance(seed + len(fakes)); fakes[loc] = f
    for _ in range(n):
        print(json.dumps(make(rng, fakes[rng.choice(LOCALES)]), ensure_ascii=False))

if __name__ == "__main__":
    main()
