#!/usr/bin/env python3
"""Checks the default agent catalogue: python3 agent-svc/defaults/validate.py

Exits non-zero and names every problem found; prints lexical-coverage warnings that do not fail.
The rules are the ones README.md in this folder describes.
"""
import json
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SLUGS = ["meter_reading", "bank_data_agent", "deposit_agent", "due_date_agent", "credit_balance_agent",
         "cancel_contract", "sepa_revocation", "master_data_agent", "tariff_consulting", "switch_agent",
         "marketing_consent", "revocation_agent"]
CHANNELS = {"email", "letter", "chat", "phone", "portal", "system", "walkIn"}
KEYS = {"meterReading", "meterNumber", "readingDate", "newIban", "accountHolder", "newDeposit", "effectiveDate",
        "cancellationDate", "moveDate", "newAddress", "contractNumber", "customerNumber"}
ADDRESS_FIELDS = ["street", "houseNumber", "postalCode", "city"]
TYPES = {"str", "int", "float", "bool", "date", "datetime", "enum", "list", "dict"}
SOURCES = {"ticket", "customer", "contract", "tag", "message", "manual", "executor"}
EXTRACTORS = {"iban", "meterNumber", "meterReading", "amount", "date", "address", "personName",
              "contractNumber", "customerNumber"}
OPERATORS = {"Equal", "NotEqual", "Like", "NotLike", "In", "NotIn", "GreaterThan", "GreaterThanEqual",
             "LessThan", "LessThanEqual", "IsNull", "IsNotNull", "RegEx", "Executor"}
OUTPUTS = {"interaction", "textTemplate", "llm", "textTemplateAndClose", "closeTicket"}
INFO_TYPES = {"success", "warning", "danger", "neutral"}
HELPERS = {"contains", "compare", "gt", "lt", "and", "or", "not", "formatDateDE", "formatDateEN", "addDays",
           "extractFirstName", "extractLastName", "last4digits"}
NAMESPACES = {"in", "contract", "customer", "profile", "intent", "this"}
ACTION = {"id": 1698862629088, "key": "_action", "name": "_action", "type": "str", "value": "null",
          "source": "manual", "visibility": "hidden"}
MIN_EXAMPLES = 35
MIN_BACKGROUND = 80
FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})

errors, warnings = [], []


def err(where, msg):
    errors.append(f"{where}: {msg}")


def words_match(text, phrase):
    """A keyword matches at a word start: 'kündig' matches 'Kündigung', not 'ankündigen'.

    Umlauts and ß are folded on both sides, so 'kündig' also matches a transliterated 'kuendigen'.
    """
    return re.search(r"(?<![\w])" + re.escape(fold(phrase)), fold(text)) is not None


def fold(text):
    """Lower case, umlauts transliterated, whitespace collapsed: the form texts are compared in."""
    return " ".join(text.lower().translate(FOLD).split())


def check_template(where, text, keys):
    opened = re.findall(r"{{#(if|unless|each|with)\b", text)
    closed = re.findall(r"{{/(if|unless|each|with)}}", text)
    if sorted(opened) != sorted(closed):
        err(where, f"unbalanced block helpers in {text!r}")
    for expr in re.findall(r"{{([^}]*)}}", text):
        expr = expr.strip()
        if not expr or expr[0] in "/!" or expr == "else":
            continue
        tokens = expr.lstrip("#").split()
        if tokens[0] in {"if", "unless", "each", "with"} or tokens[0] in HELPERS:
            tokens = tokens[1:]
        elif expr.startswith("#"):
            err(where, f"unknown block helper {tokens[0]!r}")
        for tok in tokens:
            if tok.startswith('"'):
                continue
            root = tok.split(".")[0]
            if root not in keys and root not in NAMESPACES:
                err(where, f"template names unknown parameter {tok!r}")


def check_localised(where, obj, field):
    if not isinstance(obj.get(field), str) or not isinstance(obj.get(field + "En"), str):
        err(where, f"needs string fields {field!r} (German) and {field + 'En'!r} (English)")


def check_agent(name, a, default=True):
    where = name
    for f in ("name", "slug", "channels", "intelligence", "settings"):
        if f not in a:
            err(where, f"missing {f!r}")
            return
    check_localised(where, a, "description")
    check_localised(where, a, "name")
    if default:
        if a["intelligence"] != "rulebased":
            err(where, "intelligence must be rulebased")
        if set(a["channels"]) != CHANNELS:
            err(where, "default agents serve all channels")
    elif not set(a["channels"]) <= CHANNELS:
        err(where, "unknown channel")
    s = a["settings"]
    if s.get("responseCaseFormatVersion") != 1:
        err(where, "responseCaseFormatVersion must be 1")
    if not isinstance(s.get("personality", {}).get("style"), int) or not isinstance(s["personality"].get("formality"), int):
        err(where, "personality needs int style and formality")

    # Parameters
    params = s.get("parameters", [])
    ids = [p.get("id") for p in params]
    if len(ids) != len(set(ids)) or not all(isinstance(i, int) and i > 10**11 for i in ids if i is not None):
        err(where, "parameter ids must be unique ms-timestamp-like integers")
    by_id = {p["id"]: p for p in params}
    keys = {p["key"] for p in params}
    if len(keys) != len(params):
        err(where, "parameter keys must be unique")
    if ACTION not in params:
        err(where, "the mandatory _action parameter is missing or altered")
    for p in params:
        pw = f"{where} parameter {p.get('key')}"
        if p.get("type") not in TYPES:
            err(pw, f"bad type {p.get('type')!r}")
        if p.get("source") not in SOURCES:
            err(pw, f"bad source {p.get('source')!r}")
        if p["key"] == "_action":
            continue
        if default and p["key"] not in KEYS:
            err(pw, "key is not one of the integrator keys")
        if p.get("source") == "message":
            check_localised(pw, p, "description")
            ex = p.get("extraction", {})
            if ex.get("extractor") not in EXTRACTORS:
                err(pw, f"extraction.extractor {ex.get('extractor')!r} is not a built-in extractor")
            for f in ("context", "exclude"):
                if f in ex and not (isinstance(ex[f], list) and all(isinstance(c, str) for c in ex[f])):
                    err(pw, f"extraction.{f} must be a list of strings")
        if p["key"] == "newAddress" and (p.get("type") != "dict" or [f["key"] for f in p.get("fields", [])] != ADDRESS_FIELDS):
            err(pw, f"newAddress must be a dict with fields {ADDRESS_FIELDS}")

    # Response cases
    all_ids = list(ids)
    option_types, action_values = set(), set()
    for c in s.get("responseCases", []):
        cw = f"{where} case {c.get('id')}"
        all_ids.append(c.get("id"))
        check_localised(cw, c, "description")
        cond = c.get("condition", {})
        if cond.get("operator") not in ("And", "Or") or not cond.get("operands"):
            err(cw, "condition needs operator And/Or and operands")
        phase_one = False
        for o in cond.get("operands", []):
            all_ids.append(o.get("id"))
            if o.get("operand") not in by_id:
                err(cw, f"operand {o.get('operand')} is not a parameter id")
            if o.get("operator") not in OPERATORS:
                err(cw, f"unknown operator {o.get('operator')!r}")
            if o.get("operator") in ("In", "NotIn") and not isinstance(o.get("value"), list):
                err(cw, "In/NotIn values are arrays")
            if o.get("operator") == "RegEx":
                try:
                    re.compile(o["value"])
                except re.error as e:
                    err(cw, f"bad RegEx: {e}")
            if by_id.get(o.get("operand"), {}).get("key") == "_action":
                if o["operator"] == "Equal":
                    action_values.add(o["value"])
                elif o["operator"] == "In":
                    action_values.update(o["value"])
                elif o["operator"] == "IsNull":
                    phase_one = True
        out = c.get("output", {})
        if out.get("type") not in OUTPUTS:
            err(cw, f"bad output type {out.get('type')!r}")
        for pid in out.get("parameters", []):
            if pid not in by_id:
                err(cw, f"output parameter {pid} is not a parameter id")
        if out.get("type") in ("textTemplate", "textTemplateAndClose"):
            check_localised(cw, out, "text")
            for f in ("text", "textEn"):
                check_template(f"{cw} output.{f}", out.get(f, ""), keys)
        if out.get("type") == "interaction":
            opts = out.get("options")
            if default and opts is None:
                err(cw, "default agents have no executor: interaction cases declare options")
            for i in out.get("infos", []):
                if i.get("type") not in INFO_TYPES:
                    err(cw, f"bad info type {i.get('type')!r}")
                check_localised(cw, i, "message")
                for f in ("message", "messageEn", "extraInfo", "extraInfoEn"):
                    check_template(f"{cw} info.{f}", i.get(f, ""), keys)
            if opts:
                if sum(1 for o in opts if o.get("recommended") is True) != 1:
                    err(cw, "exactly one option must be recommended")
                for o in opts:
                    if not {"type", "name", "icon", "recommended", "order"} <= o.keys():
                        err(cw, f"option {o} lacks type/name/icon/recommended/order")
                    check_localised(cw, o, "name")
                    option_types.add(o["type"])
            if opts and not phase_one:
                err(cw, "only phase-one cases (_action IsNull) offer options")
    if len(all_ids) != len(set(all_ids)):
        err(where, "ids of parameters, cases and operands must be unique within the agent")
    if default:
        if option_types - action_values:
            err(where, f"options without a response case: {sorted(option_types - action_values)}")
        if action_values - option_types:
            err(where, f"response cases for actions never offered: {sorted(action_values - option_types)}")

    # Detection
    d = s.get("detectionDetails", {})
    if d.get("type") not in ("manualAssignment", "aiDetection", "conditionDetection", "aiAndConditionDetection",
                             "aiOrConditionDetection"):
        err(where, f"bad detection type {d.get('type')!r}")
    for o in d.get("conditions", {}).get("operands", []):
        if o.get("operand") not in d.get("parameters", []) or o.get("operand") not in by_id:
            err(where, "detection condition operand must be a listed parameter")
        if by_id.get(o.get("operand"), {}).get("source") == "message":
            err(where, "message parameters cannot be used in detection conditions")
    if not default:
        return
    ai = d.get("aiDetection", {})
    if d.get("type") != "aiDetection":
        err(where, "default agents use aiDetection")
    check_localised(where + " aiDetection", ai, "detectionPrompt")
    for lang in ("de", "en"):
        ex = ai.get("examples", {}).get(lang, [])
        kw = ai.get("keywords", {}).get(lang, [])
        neg = ai.get("negativeKeywords", {}).get(lang, [])
        if len(ex) < MIN_EXAMPLES or len(set(ex)) != len(ex):
            err(where, f"needs >= {MIN_EXAMPLES} distinct {lang} examples")
        if not kw or not neg:
            err(where, f"needs {lang} keywords and negativeKeywords")
        for e in ex:
            if not any(words_match(e, k) for k in kw):
                warnings.append(f"{where}: {lang} example has no own keyword: {e!r}")
            hit = [n for n in neg if words_match(e, n)]
            if hit:
                err(where, f"{lang} example {e!r} contains own negative keyword {hit}")


def check_corpus(agents, background):
    """Examples are unique across agents, and background sentences are no agent's example."""
    owner = {}
    for slug, a in agents.items():
        examples = a["settings"]["detectionDetails"].get("aiDetection", {}).get("examples", {})
        for lang in ("de", "en"):
            for e in examples.get(lang, []):
                other = owner.setdefault((lang, fold(e)), slug)
                if other != slug:
                    err(slug, f"{lang} example {e!r} is also an example of {other}")
    if set(background) != {"de", "en"}:
        err("background", "needs exactly the lists de and en")
    for lang in ("de", "en"):
        sentences = background.get(lang, [])
        if not all(isinstance(b, str) and b.strip() for b in sentences):
            err("background", f"{lang} entries must be non-empty strings")
            continue
        if len(sentences) < MIN_BACKGROUND or len({fold(b) for b in sentences}) != len(sentences):
            err("background", f"needs >= {MIN_BACKGROUND} distinct {lang} sentences")
        for b in sentences:
            if (lang, fold(b)) in owner:
                err("background", f"{lang} sentence {b!r} is an example of {owner[(lang, fold(b))]}")


def run_executor(where, agent):
    """Runs a sample's python executor in both phases and checks it prints one Interaction."""
    for ex in agent["settings"]["executor"]:
        option_types = []
        for action in [None, "__first_option__"]:
            inp = {"_action": option_types[0] if action and option_types else None,
                   "_metadata": {"ticketId": "1", "contractId": "715559", "channel": "email",
                                 "aiSupportLevel": "human", "userIdOfRequester": "1", "inputParameters": []},
                   "newIban": "DE89370400440532013000", "cancellationDate": "2099-12-31", "subject": "Test"}
            r = subprocess.run([sys.executable, "-c", ex["code"]], input=json.dumps(inp), capture_output=True,
                               text=True, timeout=20)
            if r.returncode != 0:
                err(where, f"executor failed: {r.stderr.strip()}")
                return
            out = json.loads(r.stdout)
            if not {"infos", "options"} <= out.keys():
                err(where, "executor output lacks infos/options")
            if action is None:
                option_types = [o["type"] for o in out["options"] if o.get("recommended")]
                if len(option_types) != 1:
                    err(where, "executor phase one must recommend exactly one option")
                    return


def main():
    catalogue = json.loads((HERE / "catalogue.json").read_text(encoding="utf-8"))
    files = {p.stem for p in HERE.glob("*.json")} - {"catalogue", "background"}
    if files != set(SLUGS):
        err("defaults", f"agent files {sorted(files)} differ from the catalogue slugs")
    agents = {}
    for slug in SLUGS:
        path = HERE / f"{slug}.json"
        if path.exists():
            agents[slug] = json.loads(path.read_text(encoding="utf-8"))
            if agents[slug].get("slug") != slug:
                err(slug, "slug differs from the file name")
            check_agent(slug, agents[slug])
    background_path = HERE / "background.json"
    if background_path.exists():
        check_corpus(agents, json.loads(background_path.read_text(encoding="utf-8")))
    else:
        err("defaults", "background.json is missing")
    listed = catalogue.get("availableDefaults", [])
    if [d["slug"] for d in listed] != SLUGS:
        err("catalogue", "availableDefaults must list the 12 slugs in catalogue order")
    for d in listed:
        a = agents.get(d["slug"], {})
        for f in ("name", "description", "intelligence"):
            if d.get(f) != a.get(f):
                err("catalogue", f"{d['slug']}.{f} differs from the agent file")
    samples = catalogue.get("samples", [])
    if {s.get("name") for s in samples} != {"Contract Termination", "Change Bank Data", "Auto Reply"}:
        err("catalogue", "samples must be Contract Termination, Change Bank Data, Auto Reply")
    if len({s.get("id") for s in samples}) != len(samples):
        err("catalogue", "sample ids must be unique")
    for s in samples:
        sw = f"sample {s.get('name')}"
        if not {"id", "name", "description", "category", "includedInSeeds", "definition"} <= s.keys():
            err(sw, "needs id, name, description, category, includedInSeeds, definition")
            continue
        check_agent(sw, s["definition"], default=False)
        run_executor(sw, s["definition"])

    for w in warnings:
        print("warning:", w)
    for e in errors:
        print("error:", e)
    print(f"{len(agents)} agents, {len(samples)} samples: {len(errors)} errors, {len(warnings)} warnings")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
