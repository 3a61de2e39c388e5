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
    "{Last} and {Last2} were the first two engineers we hired.", "{First} is very reliable; you can always count on her.",
    "{First} told me the office closes early today.", "{First} has been late three times this week.",
    "I asked {First} and {First2} to join the project.", "For the record, {Last} never signed the form.",
    "Mrs. {Last} asked about her late fee.", "Mr. {P} would like a call back.", "Prof. {Last} moved the exam to June.",
    "{P}'s flight lands at 6 pm.", "This is {First}'s laptop, not mine.", "Please book a table for {P}'s birthday.",
    "{First}: \"Did you get my message?\" {First2}: \"Yes, thanks.\"",
    "my name is {first} {last}", "her maiden name is {last}", "What's your last name? {Last}",
    "Change the name on the ticket to {P}, please.", "The card is registered to {P}.", "I'm {First}, the new intern.",
    "{P} ({Q}'s assistant) will send the slides.", "Our founders, {Last}, {Last2} and {Last3}, met in college.",
    "Have you read the new book by {P}?", "The painting was bought by {P} in 2019.", "Is {P} still at the company?",
    "Can you check whether {P} paid the invoice?", "{P}, {O}, {C}", ">{P} >{O} >{A} >{C}", "{P} | {O} | {C}",
    "Signed, {P}, Head of Sales", "{P} — Senior Analyst — {O}", "Tenant: {P}\nLandlord: {Q}",
    "Emergency contact: {P} (sister)", "The award goes to {P} for outstanding service.", "Thank you {First}!",
    "Happy birthday, {First}!", "Good morning {P}, your appointment is confirmed.", "{P} lives on {A}.",
    "{P} lives at {A}, {C}.", "Scott gave {First} his address: {A}, {C}.", "Send {First} the link.",
    "Who will replace {Last} next month?", "Apparently {P} is moving to {C}.", "{P} won the chess tournament.",
    "My name is {First}", "My name is {P}.", "Her maiden name is {Last}", "His last name is {Last}.",
    "Please change the name on the account to {P}", "{P} will be talking at the conference.",
    "{P} of {O} and {Q} of {O2} spoke at the event.", "{O}'s {P} joined the panel.",
    "Several CEOs were honored, including {P} of {O} and {O2}'s {Q}.", "we invited {first}, {first2} and {first3}.",
    "They had three children: {First}, {First2} and {First3}.", "{First}: What a day. {First2}: Remember me, {First3}?",
    "the true gender of {first} has been debated for years.", "Our founders are {Last}, {Last2} and {Last3}.",
    "\"I'm so happy!\" said {Last} to {First}.", "{Last} began writing as a teenager.",
]
ADDRESS_T = [
    "Ship it to {A}.", "My address is {A}, {C}.", "Billing address: {A}\n{C} {Z}", "Please update my address to {A}.",
    "The office moved to {A} in {C}.", "Deliver to {P}, {A}, {C}, {Z}.", "{P}\n{A}\n{C} {Z}\n{N}",
    "Send the invoice to {O}, {A}, {C}.", "We live at {A}.", "Address: {A}, {C}, {N}",
    "Pick me up at {A} tomorrow.", "Return address: {P}, {A}, {Z} {C}", "The event is at {A}, {C}.",
    "{O}\n{A}\n{Z} {C}\n{N}", "Her new place is {A}, near the station.", "Can you find a pharmacy near {A}?",
    "The bus drops you off at {A}.", "I want to change my address to {A}.", "New address: {A}, {Z} {C}",
    "Meet me at the corner of {A} and {A2}.", "{A}\n{C}, {Z}", "Where is {A}? I can't find it on the map.",
    "The parcel went to {A} instead of my home.", "shipping to {a}", "Our warehouse: {A}, {C} {Z}, {N}",
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
    # Questions as people ask them, places in them (and, below, capitalized words that are no entity at all).
    "What is the national language of {N}?", "What can be done to reduce the pollution of {N}?",
    "Why is {N} so poor?", "Which is the best city to live in {N}?", "What is the infant mortality rate for {N}?",
    "How can I get a work visa for {N}?", "Is it safe to travel to {N} now?", "What is the capital of {N}?",
    "How do I open a store in {N}? Is there any franchise for that?", "What are the best places to visit in {S}?",
    "What is the population of {S}?", "Why do so many people move to {S}?", "Is {N} richer than {N2}?",
    "What will be the policy of the new government towards {N}?", "How did {N} become independent?",
    "{N} was super fun to visit!", "{C} is beautiful in the spring.", "{N} has the best food I have ever had.",
]
# Capitalized words that are not entities: nationalities, languages, religions, months, days, subjects, products.
NATIONS = ("American Indian Chinese German French British English Japanese Russian Italian Spanish Mexican Brazilian "
           "Canadian Australian Korean Pakistani Turkish Greek Dutch Swedish Polish Irish Scottish African European "
           "Asian Arab Persian Israeli Egyptian Nigerian Kenyan Hindu Muslim Christian Buddhist Jewish Catholic "
           "Protestant Mormon Sikh Islamic Western Eastern Indian Tamil Bengali Punjabi Hindi Urdu Latin").split()
COMMON_CAPS = ("Bible Quran God Jesus Internet Google Facebook Quora Android iPhone Windows Linux Python Java Excel "
               "Bitcoin Amazon Netflix YouTube WhatsApp Instagram Twitter LinkedIn Uber Apple Samsung Microsoft "
               "Christmas Diwali Easter Ramadan Halloween Olympics Hollywood Bollywood Physics Chemistry Biology "
               "Mathematics Economics History Engineering MBA IIT GRE GMAT TOEFL IELTS SAT UPSC CAT JEE NEET PhD CEO "
               "Earth Moon Sun Mars Universe Europe Asia Africa").split()
QUESTION_T = [
    "What are the best ways to learn {L}?", "How do I speak fluent {L}?", "Is {L} harder to learn than {L2}?",
    "Which are the best {Nat} movies?", "Why do {Nat} people like cricket?", "Is the {Nat} economy growing?",
    "What are some nice songs with {Nat} music and {Nat2} lyrics?", "Does anyone see the relation between {Nat} gods and {Nat2} gods?",
    "Why was {Month} chosen to be the first month of the year?", "What happens on the first {Day} of {Month}?",
    "Is it better to study {X} or {X2}?", "How do I prepare for {X} in two months?", "Which is better, {X} or {X2}?",
    "Why is {X} so popular?", "What does the {X} say about money?", "Can I use {X} on my {X2}?",
    "How can I get a job at {O} after my {X}?", "What is it like to be a non-{Nat} at a {Nat} college?",
    "Who will win the {X} in {Year}?", "Which {Nat} festival do you like the most, {X} or {X2}?",
    "What are the top {X} interview questions?", "How much does {X} charge for shipping?",
    "What is the meaning of {Num} MW in a power plant?", "Is the {X} {Num} worth buying?",
    "In {X} Season {Small} Episode {Small2}, what did the king say?", "Is {X} {Num} better than {X2} {Num2}?",
    "What is {N}'s policy on refugees?", "What made the battle important to {N}'s identity?",
    "Will {N} win over {N2} in the final?", "What will be the {N} policy of the next president?",
    "What are the admission requirements of {U}?", "How is the campus life at {U}?",
    "How can I get into {U} with a low GPA?", "Which is better, {U} or {U2}?", "I got offers from {O} and {O2}, which is better?",
    "What is the salary of a fresher at {O}?", "Is {O} a good company to work for?",
    "The plan is {Code}.", "Project {Code} ships next week, as agreed.", "Status of {Code}: green.",
    "Ticket {Code} is blocked by {Code2}.", "Use the code {Code} at checkout.", "Deploy {Code} to staging first.",
    "{Code} and {Code2} are both approved.", "Error {Code}: the request timed out.",
]
CODE_WORDS = ("PROJECT ALPHA BRAVO DELTA ZEUS APOLLO ATLAS ORION PHOENIX TITAN NOVA OMEGA SIGMA JIRA OPS INFRA API SDK "
              "BUG FEAT RELEASE SPRINT BETA GAMMA HERMES KRAKEN VIPER FALCON").split()
NEG_T = [
    "What is the boiling point of water at sea level?", "Explain how a hash map works.", "Write a haiku about autumn.",
    "Summarize this article in three sentences.", "My card expires this month, how do I renew it?",
    "Translate 'good morning' into French.", "What are the health benefits of green tea?", "Fix the bug in this Python code.",
    "List five tips for a job interview.", "The Meeting Starts At Noon On Monday.", "Please Reply As Soon As Possible.",
    "Order #4521 shipped on 12 March.", "Turn left at the second light, then go straight.", "Call me when you land.",
    "I need a refund for order 77821.", "Is it safe to use Bluetooth on a plane?", "Monday, Tuesday and Friday work for me.",
    "The Apple Watch Series 9 battery lasts a day.", "Read Chapter 4 before the Exam.", "New York Times bestsellers this week?",
    "I don't like this tone at all.", "WHAT DO I PRESS NEXT???", "A great song made even better by a mandolin coda.",
    "\"You picked a fine time to leave,\" goes the chorus.", "What's not to love?", "3... 2... 1... liftoff!",
    "Best Of The 70s: Songs You're Supposed To Hate", "The Big Three car makers dominate the economy.",
    "Action & Adventure, Animation, Comedy, Kids & Family", "Why Won't My Laptop Turn On?", "It's Not About The Money",
    "Happy New Year to everyone on the Team!", "Thanks For Your Help With The Migration.", "Sir, I really don't agree.",
    "When: 2021-04-16 11:34 Where: the main hall.", "Celebrating its 10th year, the festival invites songwriters.",
    "My father retired at the age of 54.", "Unlike the novel, the film is not about the war.", "Is there a better song on this list?",
]


def make(rng, fake):
    kind = rng.random()
    if kind < 0.42: t = rng.choice(PERSON_T)
    elif kind < 0.67: t = rng.choice(ADDRESS_T)
    elif kind < 0.78: t = rng.choice(ORG_T)
    elif kind < 0.86: t = rng.choice(LOC_T)
    elif kind < 0.94: t = rng.choice(QUESTION_T)
    else: t = rng.choice(NEG_T)
    text, spans = "", []
    i = 0
    while i < len(t):
        if t[i] == "{":
            j = t.index("}", i)
            key = t[i + 1:j]
            value = typ = None
            if key in ("P", "Q"):
                value, typ = fake.name(), "PERSON"
                if rng.random() < 0.06: value = value.upper() if rng.random() < 0.5 else value.lower()
            elif key in ("First", "First2", "First3"): value, typ = fake.first_name(), "PERSON"
            elif key in ("Last", "Last2", "Last3"): value, typ = fake.last_name(), "PERSON"
            elif key in ("first", "first2", "first3"): value, typ = fake.first_name().lower(), "PERSON"
            elif key == "last": value, typ = fake.last_name().lower(), "PERSON"
            elif key == "p": value, typ = fake.name().lower(), "PERSON"
            elif key in ("A", "A2"): value, typ = fake.street_address(), "ADDRESS"
            elif key == "a": value, typ = fake.street_address().lower(), "ADDRESS"
            elif key == "Z": value, typ = fake.postcode(), "ADDRESS"
            elif key in ("C", "C2"): value, typ = fake.city(), "LOCATION"
            elif key == "N": value, typ = fake.country(), "LOCATION"
            elif key in ("O", "O2"): value, typ = fake.company(), "ORGANIZATION"
            elif key in ("N2",): value, typ = fake.country(), "LOCATION"
            elif key == "S": value, typ = (fake.state() if hasattr(fake, "state") else fake.city()), "LOCATION"
            elif key in ("L", "L2"): value, typ = fake.language_name(), None
            elif key in ("Nat", "Nat2"): value, typ = rng.choice(NATIONS), None
            elif key in ("X", "X2"): value, typ = rng.choice(COMMON_CAPS), None
            elif key == "Month": value, typ = fake.month_name(), None
            elif key == "Day": value, typ = fake.day_of_week(), None
            elif key == "Year": value, typ = str(rng.randint(1990, 2030)), None
            elif key in ("Num", "Num2"): value, typ = str(rng.choice([rng.randint(2, 999), rng.randint(1000, 9999)])), None
            elif key in ("Small", "Small2"): value, typ = str(rng.randint(1, 12)), None
            elif key in ("Code", "Code2"):
                value = rng.choice(CODE_WORDS) + rng.choice(["-", "_", "-", ""]) + rng.choice(
                    CODE_WORDS + [str(rng.randint(1, 9999))])
                if rng.random() < 0.3: value = value.title()
                typ = None
            elif key in ("U", "U2"):
                place = fake.city() if rng.random() < 0.5 else fake.last_name()
                value = rng.choice(["{} University", "University of {}", "{} State University", "{} Institute of Technology",
                                    "{} College", "{} School of Business"]).format(place)
                typ = "ORGANIZATION"
            if value is None: raise KeyError(f"template key {key} has no value")
            start = len(text)
            text += value
            if typ: spans.append({"type": typ, "start": start, "end": len(text)})
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
