#!/usr/bin/env python3
"""Generates the English G2P test corpus (g2p/tests/data/en_corpus.txt).

The sentences are written here or assembled from templates with a fixed random seed, so the corpus is
reproducible and needs no download. Categories: prose (news, dialogue), numbers and normalisation,
heteronyms, names and rare/invented words (OOV), technical text.

    python3 g2p/scripts/make_corpus.py > g2p/tests/data/en_corpus.txt
"""
import random

rng = random.Random(20261127)

PROSE = """The committee will meet again next week to discuss the budget.
She said she would call him back after lunch.
Scientists have discovered a new species of frog in the rainforest.
The company reported strong earnings for the third quarter.
I don't think that's a good idea, do you?
We're going to the beach this weekend if the weather holds.
He couldn't believe what he was seeing.
They'd already left by the time we arrived.
The government announced new measures to tackle inflation.
Please close the door behind you when you leave.
The children were playing in the garden all afternoon.
It was the best of times, it was the worst of times.
Can you tell me how to get to the railway station?
The museum is open every day except Monday.
Heavy rain is expected across the region tomorrow morning.
Her latest novel has been translated into twelve languages.
The minister refused to comment on the allegations.
Our neighbours have a beautiful old dog named Biscuit.
You should always read the instructions before you start.
Why didn't anyone tell me the meeting had been cancelled?
The river flooded after three days of continuous rain.
Most people prefer coffee in the morning and tea in the afternoon.
The new bridge will connect the two halves of the city.
After the storm, volunteers helped clear the streets.
The orchestra performed a symphony by Beethoven.
I've been waiting here for almost an hour!
Let's meet at the café on the corner.
The doctor advised him to get more exercise and sleep.
Thousands of fans gathered outside the stadium.
The price of oil rose sharply on Tuesday.
What a wonderful surprise!
"Where are you going?" she asked.
"Nowhere special," he replied, smiling.
The teacher explained the lesson slowly and carefully.
He walked into the room, looked around, and sat down.
The report, which was published yesterday, criticises the plan.
Nobody knows exactly what happened that night.
Farmers are worried about the long dry summer.
The airline has cancelled dozens of flights because of the strike.
Everyone agreed that the food was excellent.
The police are investigating the cause of the fire.
My brother works as an engineer in a small town.
She's the kind of person who never gives up.
We watched the sunset from the top of the hill.
The election results will be announced tonight.
Researchers say the vaccine is safe and effective.
The library has thousands of rare books and manuscripts.
He apologised for the delay and promised to fix the problem.
The negotiations broke down late last night.
I'm not sure whether I'll be able to come.
It's raining cats and dogs out there.
The cat jumped onto the table and knocked over a glass.
You'll never guess who I ran into at the supermarket.
The economy grew faster than economists had predicted.
A spokesperson for the hospital said the patient was stable.
The film won three awards at the festival.
There's nothing we can do about it now.
Put the kettle on, would you?
The castle was built in the twelfth century.
The president will travel to Europe next month.
Wait — did you hear that?
Well... I suppose we could try again.
The quick brown fox jumps over the lazy dog.
Honestly, I've never seen anything like it.
The shop around the corner sells fresh bread every morning.
Several witnesses described hearing a loud bang.
The mountains were covered in snow until late spring.
That's exactly what I was going to say!
The students protested against the rise in tuition fees.
Our flight was delayed by two hours.
The garden looks lovely in the summer.
He's been learning to play the guitar since he was a child.
The company plans to hire more staff next year.
Turn left at the traffic lights and then go straight on.
The chef prepared a delicious meal with local ingredients.
Nobody expected the underdogs to win the championship.
She whispered something that I couldn't quite hear.
The meeting has been postponed until further notice.
The results were surprising, to say the least.
They've lived in this village for more than forty years.
Isn't it strange how quickly time passes?
The lights went out and everyone screamed.
Mr. Smith and Dr. Jones arrived at St. Mary's hospital.
Mrs. Brown met Ms. Green on Baker St. yesterday.
The parcel arrived, e.g. the one from Amazon, i.e. the big one.
Prof. Williams teaches at the university.
The FBI and the CIA are investigating the case.
NASA launched a new satellite, and NATO held a summit.
The BBC reported that the UN will meet in New York.
She works for IBM, and he works for the NHS.
The USA and the UK signed the agreement.
The CEO of the company spoke to the press.
The TV was on, but nobody was watching.
I need a PhD to understand this contract.
The DNA test confirmed the results.
Send it ASAP, please.
OK, I'll do it.
The UNESCO site attracts many visitors.
He bought a new SUV and a GPS.
Rock & roll will never die.
Tom & Jerry is a classic cartoon.
Two + two = four.
Use the # key to start.
Email me @ the office.
The temperature is 25 °C today.
""".strip().splitlines()

DIALOGUE = [
    '"I can\'t do this anymore," she said.',
    '"Don\'t worry," he replied. "Everything will be fine."',
    '"Are you sure?" "Absolutely."',
    '“Come in,” said the old man, “and shut the door.”',
    '‘It’s late,’ she whispered.',
    "Well, I'll be damned!",
    "Oh no, not again...",
    "Hey! Wait for me!",
    "Yes, sir. Right away, sir.",
    "Hmm, let me think about that.",
    "Wow, that's amazing!",
    "Sorry, what did you say?",
    "You're kidding, right?",
    "I'd love to, but I can't.",
    "We'll see what happens.",
    "Who's there?",
    "It wasn't me; it was him.",
    "Here's the thing: nobody cares.",
    "Listen — I'm only going to say this once.",
    "She'd've come if she'd known.",
    "Y'all should've seen it.",
    "They're over there, by their car.",
    "Ma'am, your ticket, please.",
    "Goodbye, and good luck!",
    "Thanks a lot, mate.",
]

SUBJECTS = ["The old man", "My sister", "The engineer", "A young woman", "The government", "Our team",
            "The president", "The children", "Her husband", "The farmer", "Every student", "The manager",
            "The scientist", "A small group of tourists", "The police officer", "His grandmother",
            "The new teacher", "The local council", "The pilot", "The author", "The nurse", "My friend",
            "The lawyer", "The journalist", "The musician", "The soldiers", "The driver", "The baker",
            "Nobody", "Somebody", "Everyone", "They", "We", "He", "She", "I", "You"]
VERBS_PAST = ["bought", "found", "painted", "repaired", "visited", "described", "ignored", "opened",
              "discovered", "borrowed", "cleaned", "carried", "wanted", "needed", "watched", "loved",
              "hated", "remembered", "forgot", "sold", "checked", "delivered", "photographed", "studied",
              "measured", "finished", "started", "climbed", "crossed", "moved", "packed", "washed",
              "questioned", "reviewed", "counted", "collected", "returned", "received", "built", "explained"]
OBJECTS = ["a red bicycle", "the broken window", "an old map", "the ancient temple", "three heavy boxes",
           "the kitchen table", "a strange letter", "the village church", "two tickets", "the wooden bridge",
           "a beautiful painting", "the missing documents", "an expensive watch", "the garden fence",
           "a pair of boots", "the silver keys", "the quarterly reports", "a bag of apples", "the mountain path",
           "the lighthouse", "a few questions", "the engine", "the new computers", "the wedding photographs",
           "the hospital records", "a basket of strawberries", "the children's toys", "the company's accounts",
           "the harbour walls", "a thousand flowers", "the elephants", "the butterflies", "the theatre"]
ADVERBS = ["yesterday", "quickly", "carefully", "last week", "this morning", "at midnight", "again",
           "without thinking", "in the rain", "before dinner", "after the meeting", "on Sunday",
           "for the first time", "with great care", "happily", "reluctantly", "immediately", "eventually",
           "quietly", "every summer", "twice", "in secret", "by accident", "on purpose"]
ADJS = ["beautiful", "enormous", "tiny", "dangerous", "friendly", "mysterious", "expensive", "comfortable",
        "ridiculous", "fascinating", "terrible", "wonderful", "ordinary", "peculiar", "gigantic", "quiet",
        "noisy", "elegant", "ancient", "modern", "colourful", "colorful", "delicious", "disappointing",
        "surprising", "remarkable", "unbelievable", "happier", "happiest", "darker", "brightest", "kindness",
        "happiness", "darkness", "carefully", "slowly", "quickly"]
NOUNS = ["house", "machine", "question", "river", "garden", "computer", "journey", "mountain", "problem",
         "theory", "kitchen", "window", "country", "picture", "language", "animal", "island", "market",
         "village", "forest", "festival", "experiment", "hospital", "university", "station", "library"]

MORPH_WORDS = ["walked", "talking", "played", "jumps", "wanted", "needed", "loved", "hoped", "stopped",
               "planned", "running", "swimming", "hitting", "making", "taking", "writing", "boxes", "wishes",
               "churches", "babies", "cities", "cats", "dogs", "houses", "judges", "kissed", "laughed",
               "rubbed", "begged", "tried", "cried", "studies", "watches", "fixes", "buzzes", "dated",
               "waited", "painted", "heated", "petted", "knitted", "setting", "getting", "waiting", "cutting",
               "eating", "meeting", "John's", "James's", "the boss's", "the girls'", "Peter's", "kids'",
               "bookshelves", "keyboards", "downloaded", "uploading", "emailed", "texting", "googled",
               "tweeting", "blogged", "podcasts", "unfriended", "retweets", "preordered", "microwaved"]

NAMES_FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "Aoife",
               "Siobhan", "Nguyen", "Olumide", "Xiomara", "Dmitri", "Anneliese", "Kwame", "Priyanka",
               "Bartholomew", "Guinevere", "Ezekiel", "Thandiwe", "Joaquin", "Saoirse", "Niamh", "Zbigniew",
               "Lakshmi", "Oluwaseun", "Hemi", "Taika", "Leilani", "Björn", "Søren", "Chidi", "Imogen"]
NAMES_LAST = ["Smith", "Johnson", "Williams", "Brown", "Garcia", "Rodriguez", "Kowalczyk", "Nakamura",
              "Okonkwo", "Fitzgerald", "Castellanos", "Abernathy", "Papadopoulos", "Van der Merwe",
              "Szczepański", "Featherstonehaugh", "Cholmondeley", "Mbeki", "Oyelaran", "Thistlethwaite",
              "Venkataraman", "Zielinski", "Hargreaves", "Quigley", "Blackwood"]
PLACES = ["London", "Paris", "Tokyo", "Nairobi", "Reykjavik", "Auckland", "Buenos Aires", "Vladivostok",
          "Ouagadougou", "Llanfairpwllgwyngyll", "Worcestershire", "Leicester", "Gloucester", "Edinburgh",
          "Albuquerque", "Saskatchewan", "Kalamazoo", "Timbuktu", "Chattanooga", "Poughkeepsie",
          "Antananarivo", "Thiruvananthapuram", "Bangalore", "Wollongong", "Tallahassee"]
INVENTED = ["flurbish", "glimmerquest", "zantrophic", "blorptastic", "quindle", "sprocketeer", "vexillate",
            "snargle", "pribbling", "crumplehorn", "thrimble", "wuzzled", "frabjous", "grommetize",
            "plinkerton", "zorblax", "trundlewick", "mimsy", "borogove", "jabberwock", "snicker-snack",
            "gyre", "tulgey", "slithy", "brillig", "outgrabe", "vorpal", "chortled", "galumphing",
            "Zyntrax", "Quorvex", "Blivvy", "Glarnex", "Snopify", "Trelloid", "Kubernetes", "Terraform",
            "PostgreSQL", "GraphQL", "TensorFlow", "PyTorch", "Rustacean", "WebAssembly", "Nginx",
            "cromulent", "embiggen", "defenestrate", "sesquipedalian", "floccinaucinihilipilification",
            "antidisestablishmentarianism", "pneumonoultramicroscopic", "callipygian", "perspicacious",
            "crepuscular", "susurrus", "petrichor", "defenestration", "lollygag", "bumfuzzle", "cattywampus",
            "gardyloo", "taradiddle", "snollygoster", "widdershins", "collywobbles", "gobbledygook"]
RARE_WORDS = ["ineffable", "ubiquitous", "ephemeral", "quintessential", "serendipity", "mellifluous",
              "obfuscate", "sycophant", "paradigm", "juxtaposition", "idiosyncrasy", "onomatopoeia",
              "apocryphal", "cacophony", "esoteric", "labyrinthine", "magnanimous", "nefarious",
              "obsequious", "pulchritude", "recalcitrant", "superfluous", "tintinnabulation", "vicissitude"]

HETERONYM_SENTENCES = """I like to read books before bed.
I read that book last year.
She has read every one of his novels.
Lead the way, and we will follow.
The pipes were made of lead.
He will lead the team next season.
The lead singer has a cold.
They live in a small flat.
The band played a live concert.
We watched the match live on television.
Please record the meeting.
She broke the world record.
The record was released in 1975.
They record every episode in one take.
I want to present my findings.
She bought him a birthday present.
All members were present at the meeting.
The present situation is difficult.
I object to that remark.
He threw an object across the room.
The object of the game is simple.
Wind the clock before you go to sleep.
The wind was blowing from the north.
The road starts to wind through the hills.
A tear rolled down her cheek.
Don't tear the paper.
He plays the bass guitar.
We caught a bass in the lake.
Please close the window.
We live close to the station.
He is a close friend of mine.
What's the use of complaining?
We use this tool every day.
I used to live there.
The car was used.
He used the hammer.
Does she permit smoking? She has a permit.
The project is due next week.
We project a rise in sales.
They will produce a new album.
The farm sells fresh produce.
The content of the report is confidential.
She was content with the result.
The desert is hot and dry.
Soldiers who desert will be punished.
Please refuse the offer. Take out the refuse.
Let me contract the builder. He signed the contract.
The conduct of the staff was excellent. They conduct research.
Our invalid passes were rejected. The invalid rested in bed.
A minute later the minute details were checked.
The dove flew away. He dove into the water.
The bow of the ship was damaged. Take a bow.
She tied a bow in her hair.
The sow fed her piglets. Farmers sow seeds in spring.
They row the boat across the lake. We had a row about money.
The wound was deep. He wound the rope around the post.
I will subject you to tests. The subject is closed.
He will increase the price. There was an increase in price.
The records show an increase. She records songs at home.
The leaders lead by example. He was leading the race.
Does anyone live here? Does he live here?
They desert their posts. He walked across the desert.
The estimate was too high. We estimate the cost.
Separate the eggs. They live in separate houses.
We must attribute it to chance. Patience is an attribute.
Graduate students graduate in June.
I will perfect my technique. It is a perfect day.
Please excuse me. That is no excuse.
Do not abuse your power. The abuse was reported.
The house is big. We house refugees.
He is an advocate for change. They advocate reform.
The insult hurt. Don't insult him.
They will rebel. He was a rebel.
She delivered an address. Please address the letter.
Can I close now? The close of the day.
Lives were lost. She lives nearby.
The winds are strong. She winds the yarn.
Tears fell. She tears the page.
Readers read. I have read it.
They reread it. I read it yesterday and I read it every day.
The invalid argument failed.
Moped riders moped around.
Polish the Polish silverware.
The present is a gift. Time to present the award.
""".strip().splitlines()

TECH = [
    "Visit https://www.example.com for more information.",
    "Send your questions to support@example.org.",
    "The file is stored at /usr/local/bin/warble.",
    "Run the command with the --verbose flag.",
    "The API returns JSON over HTTP.",
    "Our servers use TLS 1.3 and IPv6.",
    "Press Ctrl+C to stop the program.",
    "Version 2.0.1 fixes several bugs.",
    "The CPU runs at 3.5 GHz with 16 GB of RAM.",
    "The function returns a std::vector of integers.",
    "Set x = 5 and y = 10.",
    "Download it from github.com/example/repo.",
    "The USB-C port supports 100 W charging.",
    "Our website is www.warble.io.",
    "Write to info@warble-tts.com for details.",
    "The model has 82M parameters.",
    "It uses a 24 kHz sample rate.",
    "Machine learning models need lots of data.",
    "The neural network was trained on GPUs.",
    "The database query took 350 ms.",
    "Wi-Fi and Bluetooth are both enabled.",
    "The e-mail arrived at 9:15 a.m.",
    "Install it with pip install misaki.",
    "The HTML page loads a CSS file and a JS bundle.",
    "The SQL injection attack was blocked.",
    "Open source software powers the internet.",
    "The iPhone and the iPad were updated.",
    "He uses macOS, but she prefers Linux.",
    "The startup raised funding from venture capitalists.",
    "Cloud computing has changed how companies work.",
]


def num_sentences():
    out = []
    r = rng
    for _ in range(60):
        n = r.choice([r.randint(0, 20), r.randint(21, 99), r.randint(100, 999), r.randint(1000, 9999),
                      r.randint(10000, 999999), r.randint(1000000, 999999999)])
        fmt = r.choice(["{}", "{:,}"])
        s = fmt.format(n)
        out.append(r.choice([f"There were {s} people at the event.", f"The village has {s} inhabitants.",
                             f"We counted {s} birds.", f"The total came to {s}.", f"She scored {s} points."]))
    for _ in range(30):
        n = r.randint(1, 120)
        suf = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        out.append(r.choice([f"He finished {n}{suf} in the race.", f"It is the {n}{suf} anniversary.",
                             f"She lives on the {n}{suf} floor.", f"This is our {n}{suf} attempt."]))
    for _ in range(30):
        d = f"{r.randint(0, 99)}.{r.randint(0, 99)}"
        out.append(r.choice([f"The value is {d}.", f"It measured {d} metres.", f"Pi is about 3.14159.",
                             f"The rate fell to {d} points.", f"Add 0.5 cups of sugar."]))
    for _ in range(20):
        n = r.randint(1, 50)
        out.append(r.choice([f"The temperature dropped to -{n} degrees.", f"The account showed -{n}.",
                             f"It was minus {n} outside."]))
    for _ in range(25):
        a = r.randint(1, 50)
        b = a + r.randint(1, 30)
        out.append(r.choice([f"Read pages {a}-{b} for homework.", f"The shop is open {a} to {b} days a year.",
                             f"Children aged {a}–{b} may attend.", f"Expect {a} to {b} centimetres of snow."]))
    for _ in range(50):
        y = r.choice([r.randint(1000, 1999), r.randint(2000, 2030), r.randint(1900, 1999)])
        out.append(r.choice([f"She was born in {y}.", f"The war ended in {y}.", f"In {y}, everything changed.",
                             f"The building dates from {y}.", f"By {y} the city had grown."]))
    for _ in range(20):
        dec = r.choice([1920, 1950, 1960, 1970, 1980, 1990, 1800, 2000, 2010])
        out.append(r.choice([f"Music in the {dec}s was different.", f"The {dec}s were a time of change.",
                             f"She grew up in the '{str(dec)[2:]}s.", f"It was popular in the {dec}s."]))
    for _ in range(60):
        cur = r.choice(["$", "€", "£"])
        amt = r.choice([str(r.randint(1, 999)), f"{r.randint(1, 999)}.{r.randint(0, 99):02d}",
                        f"{r.randint(1000, 99999):,}", "1", "0.99", "1.01", "1.50"])
        big = r.choice(["", "", " million", " billion"])
        out.append(r.choice([f"The ticket costs {cur}{amt}.", f"They paid {cur}{amt}{big} for it.",
                             f"Prices start at {cur}{amt}.", f"He owes me {cur}{amt}."]))
    for _ in range(30):
        p = r.choice([str(r.randint(1, 100)), f"{r.randint(0, 99)}.{r.randint(1, 9)}"])
        out.append(r.choice([f"Unemployment rose to {p}%.", f"About {p}% of voters agreed.",
                             f"The battery is at {p}%.", f"Sales grew by {p} percent."]))
    for _ in range(40):
        h = r.randint(1, 12)
        m = r.choice(["00", "15", "30", "45", f"{r.randint(1, 59):02d}"])
        ap = r.choice(["am", "pm", "a.m.", "p.m.", "AM", "PM", ""])
        out.append(r.choice([f"The train leaves at {h}:{m} {ap}.".replace(" .", "."),
                             f"Meet me at {h}:{m}.", f"The show starts at {h} {ap}.".replace(" .", "."),
                             f"We open at {h}:{m} {ap} on weekdays.".replace("  ", " ")]))
    months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December"]
    for _ in range(40):
        mo = r.choice(months)
        d = r.randint(1, 28)
        y = r.randint(1950, 2030)
        out.append(r.choice([f"The deadline is {mo} {d}, {y}.", f"She arrived on {d} {mo} {y}.",
                             f"The concert is on {mo} {d}th.", f"It happened on {r.randint(1, 12)}/{d}/{y}.",
                             f"Born {y}-{r.randint(1, 12):02d}-{d:02d}.", f"On the {d}th of {mo} we left."]))
    for _ in range(20):
        ph = r.choice([f"555-{r.randint(1000, 9999)}", f"({r.randint(200, 999)}) {r.randint(200, 999)}-{r.randint(1000, 9999)}",
                       f"+44 20 {r.randint(1000, 9999)} {r.randint(1000, 9999)}", f"1-800-{r.randint(200, 999)}-{r.randint(1000, 9999)}"])
        out.append(r.choice([f"Call us at {ph}.", f"My number is {ph}.", f"For help, dial {ph}."]))
    units = ["km", "kg", "cm", "mm", "m", "g", "mg", "ml", "l", "mph", "km/h", "°C", "°F", "ft", "in", "lb", "oz", "kHz", "MB", "GB"]
    for _ in range(50):
        u = r.choice(units)
        n = r.choice([str(r.randint(1, 500)), f"{r.randint(1, 99)}.{r.randint(1, 9)}"])
        out.append(r.choice([f"The distance is {n} {u}.", f"It weighs {n}{u}.", f"The limit is {n} {u} here.",
                             f"Add {n} {u} of water."]))
    for _ in range(20):
        a, b = r.randint(1, 20), r.randint(1, 20)
        out.append(r.choice([f"{a} + {b} = {a + b}.", f"{a} x {b} is {a * b}.", f"The score was {a}-{b}.",
                             f"A ratio of {a}:{b}.", f"Room {r.randint(100, 999)} is on the left.",
                             f"Flight BA{r.randint(10, 999)} is delayed.", f"Call 911 now!",
                             f"Agent 007 arrived.", f"Route 66 is famous.", f"The 747 landed safely."]))
    romans = ["Henry VIII", "Louis XIV", "Elizabeth II", "World War II", "Chapter IV", "Super Bowl LVII",
              "Pope John XXIII", "Rocky III", "Part IX", "George III", "Apollo XI", "Star Wars Episode VI"]
    for rn in romans:
        out.append(f"We talked about {rn} for hours.")
    out += ["The 1st, 2nd and 3rd place winners were announced.", "It happened in the 21st century.",
            "He was 6'2\" tall.", "Mix 1/2 cup of flour with 3/4 cup of milk.", "The 100m sprint.",
            "A 3-year-old child.", "The 24/7 service.", "In 2020s technology...", "He's in his 30s.",
            "The 90's were great.", "Boeing 737s were grounded.", "Q3 2024 results.", "COVID-19 cases rose.",
            "The M25 was closed.", "Windows 11 is out.", "A 50-50 chance.", "Page 3 of 10.",
            "1,000,000 dollars.", "0.001 seconds.", "Over 9000!", "Call me at 10.", "Number 42.",
            "She turned 18 in 2019.", "He ran 5 km in 20 minutes.", "The 2nd of May, 2001.",
            "It costs $5 and 50 cents.", "€20 or £15, your choice.", "£1.50 for a coffee.", "$0.50 each.",
            "A $2.5 billion deal.", "$100,000 a year.", "€1,234.56 in total.", "The 1960s and 70s.",
            "Yes, 12 of them!", "Between 1914 and 1918.", "From 9 to 5.", "1984 by George Orwell."]
    return out


def templated(n):
    out = []
    r = rng
    for _ in range(n):
        k = r.randrange(10)
        if k < 4:
            s = f"{r.choice(SUBJECTS)} {r.choice(VERBS_PAST)} {r.choice(OBJECTS)} {r.choice(ADVERBS)}."
        elif k == 4:
            s = f"It was a {r.choice(ADJS)} {r.choice(NOUNS)}, and {r.choice(SUBJECTS).lower()} {r.choice(VERBS_PAST)} it."
        elif k == 5:
            s = f"{r.choice(NAMES_FIRST)} {r.choice(NAMES_LAST)} flew from {r.choice(PLACES)} to {r.choice(PLACES)}."
        elif k == 6:
            s = f"{r.choice(SUBJECTS)} said the {r.choice(NOUNS)} was {r.choice(['very', 'rather', 'quite', 'not'])} {r.choice(ADJS)}."
        elif k == 7:
            s = f"The {r.choice(INVENTED + RARE_WORDS)} was {r.choice(ADJS)}, said {r.choice(NAMES_FIRST)}."
        elif k == 8:
            w = r.sample(MORPH_WORDS, 3)
            s = f"{r.choice(SUBJECTS)} mentioned {w[0]}, {w[1]} and {w[2]}."
        else:
            s = f"{r.choice(['Why', 'How', 'When', 'Where'])} did {r.choice(SUBJECTS).lower()} visit {r.choice(PLACES)}?"
        out.append(s)
    return out


def main():
    lines = []
    lines += PROSE
    lines += DIALOGUE
    lines += HETERONYM_SENTENCES
    lines += TECH
    lines += num_sentences()
    lines += [f"{w.capitalize()} is a word that {r} like." for w, r in zip(INVENTED + RARE_WORDS, ["few people"] * 200)]
    lines += [w for w in (f"Capitals: {x.upper()} and Titles: {x.title()}." for x in rng.sample(OBJECTS, 20))]
    lines += templated(2600)
    seen = set()
    for l in lines:
        if l not in seen:
            seen.add(l)
            print(l)


if __name__ == "__main__":
    main()
