#!/usr/bin/env python3
"""Checks a labelled evaluation set (JSON lines) and prints its counts.

Usage: validate.py [dev.jsonl] [--table]
Exit status 1 when any line violates the format described in README.md.
"""
import datetime as dt
import json
import re
import sys
from collections import Counter
from zoneinfo import ZoneInfo

AGENTS = ["meter_reading", "bank_data_agent", "deposit_agent", "due_date_agent",
          "credit_balance_agent", "cancel_contract", "sepa_revocation", "master_data_agent",
          "tariff_consulting", "switch_agent", "marketing_consent", "revocation_agent"]
TRAITS = ["multi_intent", "negation", "signature_iban", "forwarded", "no_intent",
          "relative_date", "typo", "informal", "long"]
CHANNELS = {"email", "chat", "letter", "phone", "portal"}
KEYS = {"meterReading", "meterNumber", "readingDate", "newIban", "accountHolder", "newDeposit",
        "effectiveDate", "cancellationDate", "moveDate", "newAddress", "contractNumber",
        "customerNumber"}
DATE_KEYS = {"readingDate", "effectiveDate", "cancellationDate", "moveDate"}
ADDRESS_KEYS = {"street", "houseNumber", "postalCode", "city"}
IBAN_LEN = {"DE": 22, "AT": 20, "NL": 18, "CH": 21, "LU": 20, "FR": 27, "BE": 16}
NUMBER = re.compile(r"^(0|[1-9][0-9]*)(\.[0-9]+)?$")
BERLIN = ZoneInfo("Europe/Berlin")


def iban_ok(iban):
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]+", iban) or IBAN_LEN.get(iban[:2]) != len(iban):
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def date_ok(value):
    try:
        return dt.date.fromisoformat(value).isoformat() == value
    except (TypeError, ValueError):
        return False


def check(row):
    errs = []
    need = ["id", "lang", "channel", "receivedAt", "subject", "body", "intents", "params", "traits"]
    for k in need:
        if k not in row:
            errs.append(f"missing {k}")
    if errs:
        return errs
    if set(row) - set(need):
        errs.append(f"unknown fields {sorted(set(row) - set(need))}")
    if row["lang"] not in ("de", "en") or not re.fullmatch(rf"{row['lang']}-\d{{4}}", row["id"]):
        errs.append("bad id/lang")
    if row["channel"] not in CHANNELS:
        errs.append("bad channel")
    try:
        at = dt.datetime.fromisoformat(row["receivedAt"])
        if at.utcoffset() != at.astimezone(BERLIN).utcoffset():
            errs.append("receivedAt offset is not Europe/Berlin's")
    except ValueError:
        errs.append("bad receivedAt")
    if not isinstance(row["body"], str) or not row["body"].strip():
        errs.append("empty body")
    intents, params, traits = row["intents"], row["params"], row["traits"]
    if len(set(intents)) != len(intents) or not set(intents) <= set(AGENTS):
        errs.append(f"bad intents {intents}")
    if not set(params) <= set(intents):
        errs.append("params for an intent that is not labelled")
    if not set(traits) <= set(TRAITS) or len(set(traits)) != len(traits):
        errs.append(f"bad traits {traits}")
    if ("multi_intent" in traits) != (len(intents) > 1):
        errs.append("multi_intent trait disagrees with intents")
    if ("no_intent" in traits) != (not intents):
        errs.append("no_intent trait disagrees with intents")
    for agent, values in params.items():
        if not isinstance(values, dict):
            errs.append(f"{agent}: params not an object")
            continue
        for k, v in values.items():
            if k not in KEYS:
                errs.append(f"{agent}: unknown key {k}")
            elif k == "newAddress":
                if not isinstance(v, dict) or set(v) != ADDRESS_KEYS or not all(
                        isinstance(x, str) and x for x in v.values()):
                    errs.append(f"{agent}: newAddress needs {sorted(ADDRESS_KEYS)}")
                elif not re.fullmatch(r"\d{5}", v["postalCode"]):
                    errs.append(f"{agent}: postalCode {v['postalCode']}")
            elif not isinstance(v, str) or not v:
                errs.append(f"{agent}.{k}: not a string")
            elif k in DATE_KEYS and not date_ok(v):
                errs.append(f"{agent}.{k}: bad date {v}")
            elif k in ("meterReading", "newDeposit") and not NUMBER.match(v):
                errs.append(f"{agent}.{k}: bad number {v}")
            elif k == "newDeposit" and "." in v and not re.search(r"\.\d\d$", v):
                errs.append(f"{agent}.{k}: cents need two digits")
            elif k == "newIban" and not iban_ok(v):
                errs.append(f"{agent}.{k}: bad IBAN {v}")
    return errs


def unstated(row):
    """Labelled values that cannot be found in the body (labels must be stated, see README)."""
    body = row["body"]
    flat = re.sub(r"\s", "", body).upper()
    digits = re.sub(r"\D", "", body)
    out = []
    for agent, values in row["params"].items():
        for k, v in values.items():
            if k in DATE_KEYS or not isinstance(v, (str, dict)):
                continue
            if k == "newAddress":
                out += [f"{agent}.newAddress.{f}={x!r}" for f, x in v.items() if x not in body]
            elif k in ("meterReading", "newDeposit"):
                d = re.sub(r"\D", "", v.rstrip("0").rstrip(".") if "." in v else v)
                if d not in digits:
                    out.append(f"{agent}.{k}={v!r}")
            elif k == "accountHolder":
                if v not in body:
                    out.append(f"{agent}.{k}={v!r}")
            elif re.sub(r"\s", "", v).upper() not in flat:
                out.append(f"{agent}.{k}={v!r}")
    return out


def table(rows):
    by_lang = Counter(r["lang"] for r in rows)
    agents = Counter(a for r in rows for a in r["intents"])
    traits = Counter(t for r in rows for t in r["traits"])
    chans = Counter(r["channel"] for r in rows)
    pkeys = Counter(k for r in rows for p in r["params"].values() for k in p)
    out = [f"messages: {len(rows)} (de {by_lang['de']}, en {by_lang['en']})", "",
           "| agent | labels | de | en |", "|---|---:|---:|---:|"]
    for a in AGENTS:
        de = sum(a in r["intents"] for r in rows if r["lang"] == "de")
        out.append(f"| {a} | {agents[a]} | {de} | {agents[a] - de} |")
    out += ["", "| trait | messages |", "|---|---:|"]
    out += [f"| {t} | {traits[t]} |" for t in TRAITS]
    out += ["", "| channel | messages |", "|---|---:|"]
    out += [f"| {c} | {n} |" for c, n in chans.most_common()]
    out += ["", "| parameter | labelled values |", "|---|---:|"]
    out += [f"| {k} | {n} |" for k, n in pkeys.most_common()]
    return "\n".join(out)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    path = args[0] if args else __file__.rsplit("/", 1)[0] + "/dev.jsonl"
    rows, bad, ids = [], 0, set()
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                print(f"line {n}: not JSON: {e}")
                bad += 1
                continue
            errs = check(row)
            if row.get("id") in ids:
                errs.append("duplicate id")
            ids.add(row.get("id"))
            for e in errs:
                print(f"line {n} ({row.get('id')}): {e}")
            if not errs:
                for w in unstated(row):
                    print(f"line {n} ({row.get('id')}): warning: not found in body: {w}")
            bad += bool(errs)
            rows.append(row)
    if "--table" in sys.argv:
        print(table(rows))
    print(f"{len(rows)} lines, {bad} with errors")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
