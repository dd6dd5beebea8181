"""Word lists and text templates for the benchmark seed: support mail that reads like support mail.

Everything here draws from a ``random.Random`` passed in, so a seed gives the same text.
Lengths matter more than literary quality: messages of a few hundred characters, subjects of
three to ten words, as in a real mailbox.
"""

from __future__ import annotations

import random

FIRST_NAMES = [
    "Maria", "John", "Aiko", "Peter", "Fatima", "Lucas", "Emma", "Noah", "Olivia", "Liam",
    "Sofia", "Mateo", "Amelia", "Hugo", "Chloe", "Arjun", "Priya", "Wei", "Mei", "Kenji",
    "Yuki", "Omar", "Layla", "Ivan", "Anna", "Jakub", "Zofia", "Lars", "Ingrid", "Sven",
    "Elena", "Marco", "Giulia", "Pierre", "Camille", "Lena", "Felix", "Mila", "Diego", "Lucia",
    "Kwame", "Amara", "Tomás", "Ines", "Rahul", "Sara", "David", "Hannah", "Samuel", "Grace",
    "Ali", "Zara", "Nina", "Oscar", "Ruth", "Jonas", "Clara", "Ahmed", "Leila", "Victor",
]
LAST_NAMES = [
    "Lopez", "Smith", "Tanaka", "Novak", "Khan", "Martin", "Garcia", "Müller", "Rossi", "Dubois",
    "Kowalski", "Johansson", "Nielsen", "Ivanova", "Chen", "Wang", "Kim", "Park", "Singh", "Patel",
    "Silva", "Santos", "Costa", "Fernandez", "Moreau", "Bernard", "Schmidt", "Weber", "Fischer",
    "Jensen", "Hansen", "Okafor", "Mensah", "Haddad", "Nasser", "Cohen", "Levi", "O'Brien",
    "Murphy", "Walsh", "Brown", "Taylor", "Wilson", "Evans", "Thomas", "Roberts", "Nguyen", "Tran",
    "Yamamoto", "Sato", "Suzuki", "Horvat", "Kovač", "Popescu", "Nagy", "Papadopoulos", "Yilmaz",
    "Demir", "Andersen", "Virtanen",
]
# (locale, time zone): a customer's locale and zone travel together.
LOCALES = [
    ("en", "America/New_York"), ("en", "Europe/London"), ("en", "America/Los_Angeles"),
    ("de", "Europe/Berlin"), ("fr", "Europe/Paris"), ("es", "Europe/Madrid"),
    ("ja", "Asia/Tokyo"), ("pt", "America/Sao_Paulo"), ("nl", "Europe/Amsterdam"),
    ("en", "Australia/Sydney"), ("it", "Europe/Rome"), ("pl", "Europe/Warsaw"),
]
PLANS = ["Free", "Standard", "Standard", "Standard", "Premium", "Premium", "Enterprise"]
MAIL_DOMAINS = ["example.com", "example.org", "example.net", "mail.example", "inbox.example"]

ORG_ADJECTIVES = [
    "Blue", "Northern", "Bright", "Silver", "Rapid", "Green", "Quiet", "Golden", "Urban",
    "Coastal", "Summit", "Prime", "Atlas", "Nova", "Cedar", "Harbor", "Iron", "Lunar",
]
ORG_NOUNS = [
    "Logistics", "Travel", "Foods", "Labs", "Studios", "Health", "Energy", "Retail", "Media",
    "Systems", "Robotics", "Bakery", "Outfitters", "Clinic", "Ventures", "Analytics", "Motors",
]
ORG_SUFFIXES = ["Ltd", "GmbH", "Inc", "SAS", "BV", "AB", "Co", "Group", "SA", "KK"]

TAGS = [
    "billing", "refund", "invoice", "cancellation", "upgrade", "downgrade", "bug", "crash",
    "ios", "android", "web", "login", "password", "2fa", "shipping", "delivery", "return",
    "damaged", "feature-request", "feedback", "vip", "churn-risk", "outage", "api", "webhook",
    "integration", "export", "import", "onboarding", "training", "gdpr", "security", "spam",
    "warranty", "repair", "address-change", "payment-failed", "duplicate-charge", "slow",
    "translation",
]

PRODUCTS = [
    "mobile app", "web dashboard", "desktop app", "router", "smart thermostat", "tablet",
    "headphones", "subscription", "account", "order", "invoice", "API", "webhook", "CSV export",
    "Slack integration", "calendar sync", "printer", "camera", "payment page", "checkout",
]
SYMPTOMS = [
    "crashes on startup", "keeps logging me out", "is very slow", "shows an error",
    "does not sync", "stopped working", "won't turn on", "charges the wrong amount",
    "is missing data", "freezes after the update", "sends duplicate emails",
    "rejects my card", "shows the wrong language", "times out", "loses my settings",
]
TASKS = [
    "change my delivery address", "cancel my subscription", "export my data",
    "add a second user", "change the billing email", "reset two-factor login",
    "get a copy of my invoice", "return a damaged item", "upgrade my plan",
    "connect the Slack integration", "delete my account", "change my password",
    "transfer my licence", "set up single sign-on", "update my payment card",
]
WHENS = [
    "yesterday", "this morning", "the last update", "last week", "Monday", "the weekend",
    "the migration", "I changed my password", "the outage", "version 4.2",
]
SUBJECT_TEMPLATES = [
    "{Product} {symptom}",
    "{Product} {symptom} since {when}",
    "How do I {task}?",
    "Can't {task}",
    "Question about my {product}",
    "Charged twice for order #{number}",
    "Refund for order #{number}",
    "Urgent: {product} {symptom}",
    "Re: {Product} {symptom}",
    "Where is my order #{number}?",
    "Request to {task}",
    "Problem with invoice {number}",
    "Feature request: better {product}",
    "Fwd: {product} {symptom}",
]
GREETINGS = ["Hi,", "Hello,", "Hi there,", "Good morning,", "Dear support team,", "Hey,"]
CONTEXTS = [
    "I have been a customer for {years} years and never had this problem before.",
    "We use the {product} every day across our team of {number} people.",
    "Since {when} my {product} {symptom}.",
    "I tried restarting and reinstalling, but nothing changed.",
    "My order number is #{number}, placed {when}.",
    "This is the second time I write about this.",
    "I'm on the {plan} plan, if that matters.",
]
ASKS = [
    "Could you please look into it?",
    "Can you tell me how to {task}?",
    "Please refund the extra charge.",
    "What are my options here?",
    "I need this fixed before the end of the week.",
    "Is this a known issue?",
    "Please let me know what information you need.",
]
SIGNOFFS = ["Thanks,", "Best regards,", "Cheers,", "Kind regards,", "Thank you,", "Regards,"]
AGENT_OPENERS = [
    "Thanks for reaching out, {name}.",
    "Sorry about the trouble, {name}!",
    "Thank you for your patience, {name}.",
    "Hi {name}, thanks for the details.",
]
AGENT_ACTIONS = [
    "I have checked your account and can see what happened with the {product}.",
    "I reproduced the problem: our engineers are already working on a fix.",
    "I have issued a refund; it will show on your statement in 3-5 business days.",
    "You can {task} under Settings, then Account; I have done it for you this time.",
    "I have escalated this to our technical team with your logs attached.",
    "The update released today should fix it; please install it and try again.",
    "I've reset the {product} on our side.",
]
AGENT_NEXT = [
    "Could you confirm that it works now?",
    "I'll keep this ticket open until you confirm.",
    "Let me know if anything else comes up.",
    "We will update you as soon as we hear back.",
    "Please reply with a screenshot if it happens again.",
]
CUSTOMER_FOLLOW_UPS = [
    "Thanks, that worked!",
    "It still {symptom}, unfortunately.",
    "I tried that but the {product} still {symptom}.",
    "Here is the screenshot you asked for.",
    "Any news on this? It has been {number} days.",
    "Perfect, thank you for the quick help.",
    "Sorry, I forgot to mention my order number: #{number}.",
]
NOTES = [
    "Checked the logs: the {product} errors started {when}.",
    "Known issue, linked to ENG-{number}.",
    "Customer is on {plan}; goodwill credit approved by the team lead.",
    "Refund of {number}.00 EUR issued in the billing system.",
    "Escalating: needs someone with database access.",
    "Duplicate of an earlier ticket; keeping this one as the main thread.",
    "Called the customer back, no answer; left a voicemail.",
]


class Writer:
    """Fills the templates above from one random generator."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def _fill(self, template: str) -> str:
        rng = self.rng
        product = rng.choice(PRODUCTS)
        return template.format(
            product=product, Product=product[0].upper() + product[1:],
            symptom=rng.choice(SYMPTOMS), task=rng.choice(TASKS), when=rng.choice(WHENS),
            number=rng.randint(2, 99999), years=rng.randint(2, 12), plan=rng.choice(PLANS),
        )

    def subject(self) -> str:
        return self._fill(self.rng.choice(SUBJECT_TEMPLATES))

    def customer_first_message(self, *, first_name: str) -> str:
        rng = self.rng
        context = " ".join(self._fill(t) for t in rng.sample(CONTEXTS, rng.randint(1, 3)))
        ask = self._fill(rng.choice(ASKS))
        return f"{rng.choice(GREETINGS)}\n\n{context} {ask}\n\n{rng.choice(SIGNOFFS)}\n{first_name}"

    def customer_follow_up(self, *, first_name: str) -> str:
        rng = self.rng
        return f"{self._fill(rng.choice(CUSTOMER_FOLLOW_UPS))}\n\n{first_name}"

    def agent_reply(self, *, customer_first_name: str, agent_name: str) -> str:
        rng = self.rng
        opener = rng.choice(AGENT_OPENERS).format(name=customer_first_name)
        actions = " ".join(self._fill(t) for t in rng.sample(AGENT_ACTIONS, rng.randint(1, 2)))
        closing = rng.choice(AGENT_NEXT)
        return f"{opener}\n\n{actions} {closing}\n\n{rng.choice(SIGNOFFS)}\n{agent_name}"

    def note(self) -> str:
        return self._fill(self.rng.choice(NOTES))
