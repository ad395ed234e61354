#!/usr/bin/env python3
"""Provenance of ``pii_real_files.jsonl``: real files from installed packages, with planted and found PII labelled.

FROZEN: the benchmark reads ``pii_real_files.jsonl`` as it is checked in.  This script is kept as provenance
and to regenerate the same file from the same environment; it was written independently of the project's
detector (its rules, tests and benchmark were not read, and the detector was never run on this data).

What it does, deterministically (fixed seed, sorted paths, standard library only):

1. lists the regular text files of a site-packages directory (default: ``.venv/lib/python3.11/site-packages``
   of this repository), leaving out this project (``bigcode_release``, its ``__editable__`` hooks), the
   secret scanner it depends on (``detect_secrets``) and any file with ``pii`` in its path, so that no
   detector's own rules or fixtures end up in the evaluation data;
2. draws about 120 of them from strata (.py, tests, .pyi, METADATA, .md/.rst/.txt, .json, .yaml, .toml/.cfg/.ini,
   .js/.css/.html, other) with ``random.Random(SEED)``, and truncates each to at most 12,000 characters at a
   line boundary;
3. labels what the real text already holds: every email and public IP address a simple regex finds, decided
   one by one by the labelling policy of ``make_pii_frozen.py`` (the author read each candidate; the
   decisions that are not plain rules are the tables ``EMAIL_NOT_PII``, ``IP_LABEL`` / ``IP_NOT_PII`` and
   ``KEY_LABEL`` below), plus any real-looking credential the key candidates turned up;
4. plants 1-3 freshly random items (secrets from ``make_pii_frozen.G``) into about 70% of the files at
   realistic places (a module-level assignment, a docstring example, a comment, a JSON/YAML/INI value, a
   METADATA header, a README paragraph) and records the offsets after insertion.

Review at freezing: the real text of the 120 files held 40 candidates.  38 emails were labelled (authors and
maintainers in METADATA headers and descriptions, copyright lines in source headers and licenses, an SBOM's
author fields, ``pandas-dev@python.org`` in a pyproject); ``YOUREMAIL@domain.com`` (a template placeholder)
and ``1::2`` (a tensor slice the IPv6 regex matches) were not.  The key regexes found no real credential.

Regenerate (the JSONL changes if the installed packages change; the versions used are listed in
``pii_real_files.sources.txt``, written next to the JSONL, with each file's distribution)::

    .venv/bin/python benchmarks/data/make_pii_real_files.py
    .venv/bin/python benchmarks/data/make_pii_real_files.py --review   # print every candidate and its decision
"""

from __future__ import annotations

import argparse
import ast
import collections
import ipaddress
import json
import random
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_pii_frozen import DNS_RESOLVERS, ORG_DOMAINS, PROJ, Doc, G, check_jsonl, stats  # noqa: E402

SEED = 1729
MAX_CHARS = 12_000
P_PLANT = 0.70
OUT = HERE / "pii_real_files.jsonl"
SOURCES = HERE / "pii_real_files.sources.txt"
DEFAULT_SITE = HERE.parent.parent / ".venv" / "lib" / "python3.11" / "site-packages"

EXCLUDE = re.compile(r"(^|/)(bigcode_release|detect_secrets)|__editable__|pii|(^|/)__pycache__/", re.I)

STRATA = [  # name, how many, test on the relative path
    ("py", 44, lambda p: p.endswith(".py") and not _is_test(p)),
    ("py_test", 12, lambda p: p.endswith(".py") and _is_test(p)),
    ("pyi", 3, lambda p: p.endswith(".pyi")),
    ("metadata", 14, lambda p: p.endswith(".dist-info/METADATA")),
    ("md", 7, lambda p: p.endswith(".md")),
    ("rst", 5, lambda p: p.endswith(".rst")),
    (
        "txt",
        6,
        lambda p: p.endswith(".txt") or p.rsplit("/", 1)[-1].startswith(("LICENSE", "AUTHORS", "NOTICE", "COPYING")),
    ),
    ("json", 8, lambda p: p.endswith(".json")),
    ("yaml", 7, lambda p: p.endswith((".yaml", ".yml"))),
    ("conf", 5, lambda p: p.endswith((".toml", ".cfg", ".ini", ".tmpl", ".conf"))),
    ("web", 5, lambda p: p.endswith((".js", ".css", ".html"))),
    ("other", 4, lambda p: p.endswith((".pem", ".c", ".h", ".csv")) or p.endswith(".dist-info/RECORD")),
]


def _is_test(p: str) -> bool:
    parts = p.split("/")
    return (
        any(x in ("tests", "test", "testing") for x in parts[:-1])
        or parts[-1].startswith("test_")
        or parts[-1] == "conftest.py"
    )


# ----------------------------------------------------------------------------------------------------
# choosing and reading files


def stratum_of(rel: str):
    for name, _, test in STRATA:
        if test(rel):
            return name
    return None


def read_text(path: Path):
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    if b"\x00" in raw[: MAX_CHARS * 4]:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\r" in text:
        return None
    return text


def truncate(text: str) -> str:
    if len(text) <= MAX_CHARS:
        return text
    cut = text.rfind("\n", 0, MAX_CHARS)
    return text[: cut + 1]


def choose(site: Path, rng: random.Random):
    by = collections.defaultdict(list)
    for path in sorted(site.rglob("*")):
        rel = path.relative_to(site).as_posix()
        if EXCLUDE.search(rel) or not path.is_file() or path.is_symlink():
            continue
        st = stratum_of(rel)
        if st is None:
            continue
        size = path.stat().st_size
        if 400 <= size <= 4_000_000:
            by[st].append(rel)
    chosen = []
    for name, n, _ in STRATA:
        pool = by[name]
        picked = []
        per_pkg = collections.Counter()
        cap = 3 if name == "py" else 2
        for rel in rng.sample(pool, min(len(pool), n * 12)):
            pkg = rel.split("/", 1)[0].split("-", 1)[0].lower()
            if per_pkg[pkg] >= cap:
                continue
            text = read_text(site / rel)
            if text is None:
                continue
            t = truncate(text)
            if len(t) < 300 or max(len(lname) for lname in t.splitlines()) > 3000:  # minified or one-line data
                continue
            picked.append((rel, name, text, t))
            per_pkg[pkg] += 1
            if len(picked) == n:
                break
        chosen.extend(picked)
    return chosen


# ----------------------------------------------------------------------------------------------------
# what the real text already holds

EMAIL_RE = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}(?![\w-])"
)
IPV4_RE = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]|\.\d)")
IPV6_RE = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{1,4}:){1,7}(?::|(?::[0-9A-Fa-f]{1,4}){1,6}|[0-9A-Fa-f]{1,4})(?![\w:.])"
)
KEY_RES = {
    "aws_access_key_id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "jwt": re.compile(r"\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}"),
    "hf_token": re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"),
    "github_token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_\w{40,})"),
    "slack_token": re.compile(r"\bxox[abposr]-[\w-]{10,}"),
    "openai_key": re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{32,}"),
    "google_api_key": re.compile(r"\bAIza[\w-]{35}"),
    "private_key": re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"),
    "assigned_secret": re.compile(
        r"(?i)\b(?:password|passwd|secret|token|api_?key|secret_?key|access_?key)\w*['\"]?\s*[:=]\s*['\"]([^'\"\s]{12,})['\"]"
    ),
}

DECOY_EMAIL_DOMAINS = re.compile(
    r"(^|\.)(example\.(com|org|net)|[^.]+\.(test|invalid|example|localhost)|localhost|domain\.com|"
    r"yourdomain\.com|email\.com|host\.com|company\.com|server\.com|mail\.com)$",
    re.I,
)
FILE_TLDS = {
    "png",
    "jpg",
    "jpeg",
    "gif",
    "svg",
    "webp",
    "css",
    "js",
    "py",
    "txt",
    "html",
    "json",
    "md",
    "so",
    "whl",
    "gz",
}

# emails a rule does not catch that are still not PII under the policy (placeholders, code, syntax that looks like an email)
EMAIL_NOT_PII: set[tuple[str, str]] = set()
# public-looking IPv4/IPv6 strings: every one the regex finds must be decided here (path, value)
IP_LABEL: set[tuple[str, str]] = set()  # the frozen draw holds no public address in its real text
IP_NOT_PII: set[tuple[str, str]] = {
    ("transformers/models/mpt/modeling_mpt.py", "1::2"),  # a tensor slice, slopes[:, 1::2, ...]
}
# key candidates: (path, value) -> secret_kind for real-looking credentials; everything else found is not PII
KEY_LABEL: dict[tuple[str, str], str] = {}


def email_decision(rel, text, m):
    v = m.group(0)
    local, _, domain = v.rpartition("@")
    after = text[m.end() : m.end() + 1]
    if domain.rsplit(".", 1)[-1].lower() in FILE_TLDS:
        return False, "file name"
    if DECOY_EMAIL_DOMAINS.search(domain):
        return False, "documentation domain"
    if local.lower() == "git" and after == ":":
        return False, "git remote"
    if (rel, v) in EMAIL_NOT_PII:
        return False, "table"
    return True, "email"


def ip_candidates(text):
    for m in IPV4_RE.finditer(text):
        try:
            a = ipaddress.IPv4Address(m.group(0))
        except ValueError:
            continue
        yield m, a, "ipv4"
    for m in IPV6_RE.finditer(text):
        try:
            a = ipaddress.IPv6Address(m.group(0))
        except ValueError:
            continue
        yield m, a, "ipv6"


RESOLVERS = {ipaddress.ip_address(x) for x in DNS_RESOLVERS}


def ip_decision(rel, a):
    if not a.is_global or a.is_multicast or a in RESOLVERS:
        return None, "not public"
    v = str(a)
    if (rel, v) in IP_LABEL:
        return True, "table"
    if (rel, v) in IP_NOT_PII:
        return False, "table"
    return None, "UNDECIDED"


def existing_labels(rel, text, review=False):
    labels, log = [], []
    for m in EMAIL_RE.finditer(text):
        ok, why = email_decision(rel, text, m)
        log.append(("EMAIL", m.group(0), ok, why, m.start()))
        if ok:
            labels.append([m.start(), m.end(), "EMAIL", "email"])
    for m, a, sk in ip_candidates(text):
        ok, why = ip_decision(rel, a)
        if why == "not public":
            continue
        log.append(("IP", m.group(0), ok, why, m.start()))
        if ok:
            labels.append([m.start(), m.end(), "IP_ADDRESS", sk])
    for sk, rx in KEY_RES.items():
        for m in rx.finditer(text):
            v = m.group(1) if m.groups() else m.group(0)
            start = m.start(1) if m.groups() else m.start()
            lab_sk = KEY_LABEL.get((rel, v))
            log.append(("KEY?" + sk, v, lab_sk is not None, "table" if lab_sk else "not a credential", start))
            if lab_sk:
                kind = "PASSWORD" if "password" in lab_sk else "KEY"
                labels.append([start, start + len(v), kind, lab_sk])
    # an email inside a matched span or two overlapping candidates: keep the first, longest
    labels.sort(key=lambda lname: (lname[0], -lname[1]))
    out, end = [], -1
    for lname in labels:
        if lname[0] >= end:
            out.append(lname)
            end = lname[1]
    return out, log


# ----------------------------------------------------------------------------------------------------
# planting


class Planter:
    def __init__(self, seed):
        self.g = G(seed)
        self.g.start_file(clean=False)
        self.r = self.g.r

    def person(self):
        return self.g.person()

    def start_file(self):
        self.used = set()

    def variant(self, flavour, kind, n):
        """A variant index not used yet in this file for (flavour, kind); None when all are used."""
        free = [k for k in range(n) if (flavour, kind, k) not in self.used]
        if not free:
            return None
        k = self.r.choice(free)
        self.used.add((flavour, kind, k))
        return k

    # one planted item as a Doc snippet, in a flavour: py / py_comment / doc_line / prose_md / prose_rst / json / yaml / ini / header / c_comment / hash_comment
    def item(self, flavour, indent="", kind=None):
        g, r = self.g, self.r
        d = Doc()
        kind = kind or r.choices(["KEY", "EMAIL", "PASSWORD", "IP_ADDRESS"], [45, 20, 20, 15])[0]
        f, lname, full = g.person()
        dom = g.choice(ORG_DOMAINS)
        if flavour.startswith("header:") or flavour == "license":
            kind = "EMAIL"
        if flavour == "py":
            if kind == "KEY":
                k = self.variant(flavour, kind, 8)
                if k is None:
                    kind = "EMAIL"
                if k == 0:
                    d.fmt('«i»HF_TOKEN = "«t»"\n', i=indent, t=g.hf(force=True))
                elif k == 1:
                    d.fmt(
                        '«i»AWS_ACCESS_KEY_ID = "«a»"\n«i»AWS_SECRET_ACCESS_KEY = "«s»"\n',
                        i=indent,
                        a=g.akid(force=True),
                        s=g.aws_secret(force=True),
                    )
                elif k == 2:
                    d.fmt('«i»_TEST_JWT = (\n«i»    "«j»"\n«i»)\n', i=indent, j=g.jwt(force=True))
                elif k == 3:
                    d.fmt('«i»GITHUB_TOKEN = "«t»"  # TODO: read from env\n', i=indent, t=g.github(force=True))
                elif k == 4:
                    d.fmt(
                        '«i»SLACK_WEBHOOK_URL = "https://hooks.slack.com/services/«w»"\n',
                        i=indent,
                        w=g.slack_webhook_path(force=True),
                    )
                elif k == 5:
                    d.fmt('«i»OPENAI_API_KEY = "«t»"\n', i=indent, t=g.openai(force=True))
                elif k == 6:
                    d.fmt('«i»_API_KEY = "«t»"\n', i=indent, t=g.generic_key(force=True))
                else:
                    d.fmt('«i»STRIPE_SECRET_KEY = "«t»"\n', i=indent, t=g.stripe(force=True))
            elif kind == "EMAIL":
                d.fmt('«i»__maintainer_email__ = "«e»"\n', i=indent, e=g.email(f, lname, force=True))
            elif kind == "PASSWORD":
                if r.random() < 0.5:
                    d.fmt(
                        '«i»DEFAULT_DSN = "postgresql://«u»:«pw»@«h»:5432/«db»"\n',
                        i=indent,
                        u=g.username(),
                        pw=g.url_password(force=True),
                        h=g.host(),
                        db=g.choice(PROJ).replace("-", "_"),
                    )
                else:
                    d.fmt(
                        '«i»SMTP_PASSWORD = "«pw»"\n',
                        i=indent,
                        pw=g.password("code_password", safe="!#%*-_.+=?~^", force=True),
                    )
            else:
                d.fmt(
                    '«i»_STAGING_HOST = "«ip»"\n',
                    i=indent,
                    ip=g.ip6(force=True) if r.random() < 0.25 else g.ip(force=True),
                )
        elif flavour.startswith(("py_comment", "hash_comment", "c_comment", "html_comment", "line_comment")):
            o, c = {
                "py_comment": ("# ", ""),
                "hash_comment": ("# ", ""),
                "c_comment": ("/* ", " */"),
                "html_comment": ("<!-- ", " -->"),
            }.get(flavour, ("", ""))
            if flavour.startswith("line_comment:"):
                o = flavour.split(":", 1)[1] + " "
            elif flavour == "c_comment" and r.random() < 0.5:
                o, c = "// ", ""
            if kind == "KEY":
                k = self.variant(flavour, kind, 3)
                if k == 0:
                    d.fmt("«i»«o»deploy token: «t»«c»\n", i=indent, o=o, c=c, t=g.hf(force=True))
                elif k == 1:
                    d.fmt(
                        "«i»«o»curl -H 'Authorization: Bearer «j»' https://api.«dom»/v1/status«c»\n",
                        i=indent,
                        o=o,
                        c=c,
                        j=g.jwt(force=True),
                        dom=dom,
                    )
                else:
                    d.fmt(
                        "«i»«o»staging key «t» (rotate after release)«c»\n",
                        i=indent,
                        o=o,
                        c=c,
                        t=g.google(force=True) if r.random() < 0.5 else g.npm(force=True),
                    )
            elif kind == "EMAIL":
                d.fmt(
                    "«i»«o»Maintainer: «full» <«e»>«c»\n",
                    i=indent,
                    o=o,
                    c=c,
                    full=full,
                    e=g.email(f, lname, force=True),
                )
            elif kind == "PASSWORD":
                d.fmt(
                    "«i»«o»test db: postgres://«u»:«pw»@«h»/«db»«c»\n",
                    i=indent,
                    o=o,
                    c=c,
                    u=g.username(),
                    pw=g.url_password(force=True),
                    h=g.host(),
                    db="ci",
                )
            else:
                d.fmt("«i»«o»mirror: «ip» (see ops runbook)«c»\n", i=indent, o=o, c=c, ip=g.ip(force=True))
        elif flavour == "doc_line":
            if kind == "KEY":
                k = self.variant(flavour, kind, 3)
                if k == 0:
                    d.fmt('«i»>>> api = HfApi(token="«t»")\n', i=indent, t=g.hf(force=True))
                elif k == 1:
                    d.fmt(
                        '«i»>>> requests.get(url, headers={"Authorization": "Bearer «j»"})\n',
                        i=indent,
                        j=g.jwt(force=True),
                    )
                else:
                    d.fmt('«i»Example: ``client = Client(api_key="«t»")``\n', i=indent, t=g.generic_key(force=True))
            elif kind == "EMAIL":
                d.fmt("«i»Contact «full» <«e»> for access.\n", i=indent, full=full, e=g.email(f, lname, force=True))
            elif kind == "PASSWORD":
                d.fmt(
                    '«i»>>> connect("mysql://«u»:«pw»@«h»:3306/app")\n',
                    i=indent,
                    u=g.username(),
                    pw=g.url_password(force=True),
                    h=g.host(),
                )
            else:
                d.fmt('«i»>>> ping("«ip»")\n', i=indent, ip=g.ip(force=True))
        elif flavour in ("prose_md", "prose_rst"):
            md = flavour == "prose_md"
            lit = "`" if md else "``"
            if kind == "KEY":
                k = self.variant(flavour, kind, 4)
                if k == 0:
                    if md:
                        d.fmt(
                            "```bash\nexport AWS_ACCESS_KEY_ID=«a»\nexport AWS_SECRET_ACCESS_KEY=«s»\n```\n",
                            a=g.akid(force=True),
                            s=g.aws_secret(force=True),
                        )
                    else:
                        d.fmt(
                            "For example::\n\n    export AWS_ACCESS_KEY_ID=«a»\n    export AWS_SECRET_ACCESS_KEY=«s»\n",
                            a=g.akid(force=True),
                            s=g.aws_secret(force=True),
                        )
                elif k == 1:
                    d.fmt("Log in first with «q»huggingface-cli login --token «t»«q».\n", q=lit, t=g.hf(force=True))
                elif k == 2:
                    if md:
                        d.fmt(
                            '```\ncurl -H "Authorization: Bearer «j»" https://api.«dom»/v1/me\n```\n',
                            j=g.jwt(force=True),
                            dom=dom,
                        )
                    else:
                        d.fmt(
                            'A request against staging::\n\n    curl -H "Authorization: Bearer «j»" https://api.«dom»/v1/me\n',
                            j=g.jwt(force=True),
                            dom=dom,
                        )
                else:
                    d.fmt("Set «q»OPENAI_API_KEY=«t»«q» to run the examples.\n", q=lit, t=g.openai(force=True))
            elif kind == "EMAIL":
                d.fmt("Questions and bug reports: «full» <«e»>.\n", full=full, e=g.email(f, lname, force=True))
            elif kind == "PASSWORD":
                d.fmt(
                    "The demo database is «q»postgresql://«u»:«pw»@«h»/demo«q».\n",
                    q=lit,
                    u=g.username(),
                    pw=g.url_password(force=True),
                    h=g.host(),
                )
            else:
                d.fmt(
                    "A public mirror runs at «q»«ip»«q».\n",
                    q=lit,
                    ip=g.ip6(force=True) if r.random() < 0.3 else g.ip(force=True),
                )
        elif flavour == "json":
            if kind == "KEY":
                k = self.variant(flavour, kind, 3)
                key, val = [
                    ("apiKey", g.generic_key(force=True)),
                    ("token", g.jwt(force=True)),
                    ("hf_token", g.hf(force=True)),
                ][k]
            elif kind == "EMAIL":
                key, val = "contact_email", g.email(f, lname, force=True)
            elif kind == "PASSWORD":
                key, val = "password", g.password("json_password", safe="!#%*-_.+=?~^", force=True)
            else:
                key, val = "server_ip", g.ip(force=True)
            d.add(indent, f'"{key}": ')
            d.jstr(val)
            d.add(",\n")
        elif flavour == "yaml":
            if kind == "KEY":
                if r.random() < 0.5:
                    d.fmt(
                        "«i»aws_access_key_id: «a»\n«i»aws_secret_access_key: «s»\n",
                        i=indent,
                        a=g.akid(force=True),
                        s=g.aws_secret(force=True),
                    )
                else:
                    d.fmt("«i»hf_token: «t»\n", i=indent, t=g.hf(force=True))
            elif kind == "EMAIL":
                d.fmt("«i»maintainer_email: «e»\n", i=indent, e=g.email(f, lname, force=True))
            elif kind == "PASSWORD":
                d.fmt("«i»password: «pw»\n", i=indent, pw=g.password("yaml_password", safe="-_.+=~^", force=True))
            else:
                d.fmt("«i»host: «ip»\n", i=indent, ip=g.ip(force=True))
        elif flavour == "ini":
            if kind == "KEY":
                d.fmt(
                    "«i»token = «t»\n",
                    i=indent,
                    t=g.generic_key(force=True) if r.random() < 0.5 else g.pypi(force=True),
                )
            elif kind == "EMAIL":
                d.fmt("«i»maintainer_email = «e»\n", i=indent, e=g.email(f, lname, force=True))
            elif kind == "PASSWORD":
                d.fmt("«i»password = «pw»\n", i=indent, pw=g.password("ini_password", safe="!*-_.+=?~^", force=True))
            else:
                d.fmt("«i»host = «ip»\n", i=indent, ip=g.ip(force=True))
        elif flavour == "toml":
            if kind == "KEY":
                d.fmt(
                    '«i»token = "«t»"\n',
                    i=indent,
                    t=g.generic_key(force=True) if r.random() < 0.5 else g.hf(force=True),
                )
            elif kind == "EMAIL":
                d.fmt('«i»maintainer_email = "«e»"\n', i=indent, e=g.email(f, lname, force=True))
            elif kind == "PASSWORD":
                d.fmt(
                    '«i»password = "«pw»"\n', i=indent, pw=g.password("toml_password", safe="!#%*-_.+=?~^", force=True)
                )
            else:
                d.fmt('«i»host = "«ip»"\n', i=indent, ip=g.ip(force=True))
        elif flavour.startswith("header:"):
            d.fmt("«h»: «full» <«e»>\n", h=flavour.split(":", 1)[1], full=full, e=g.email(f, lname, force=True))
        elif flavour == "license":
            d.fmt(
                "Copyright (c) «y» «full» <«e»>\n",
                y=r.randrange(2005, 2025),
                full=full,
                e=g.email(f, lname, force=True),
            )
        elif flavour == "pem":
            d.add(g.pem(force=True), "\n")
        else:
            raise ValueError(flavour)
        return d


def _line_offsets(text):
    lines = text.splitlines(keepends=True)
    offs = [0]
    for ln in lines:
        offs.append(offs[-1] + len(ln))
    return lines, offs


def py_points(full_text, text):
    """(offset, flavour, indent, suffix): places in a Python file where lines can go without breaking it.

    After the leading import block (a module-level constant), before a top-level def/class (a constant or a
    comment, followed by the blank lines PEP 8 wants), and as the last line of a docstring (an example)."""
    lines, offs = _line_offsets(text)
    n = len(lines)
    try:
        tree = ast.parse(full_text)
    except (SyntaxError, ValueError):
        i = 0
        while i < n and lines[i].startswith("#"):
            i += 1
        return [(offs[i], "py_comment", "", "")]
    pts = []
    body = tree.body
    i = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        i = 1
    while i < len(body) and isinstance(body[i], ast.ImportFrom) and body[i].module == "__future__":
        i += 1
    saw_import = False
    while i < len(body) and isinstance(body[i], (ast.Import, ast.ImportFrom)):
        i += 1
        saw_import = True

    def start(node):
        return min([node.lineno] + [dd.lineno for dd in getattr(node, "decorator_list", [])])

    def is_def(node):
        return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))

    if saw_import and i < len(body):
        ln = start(body[i])
        if ln - 1 < n and not lines[ln - 1][:1].isspace():
            pts.append((offs[ln - 1], "py", "", "\n\n" if is_def(body[i]) else "\n"))
    defs = [node for node in body[i:] if is_def(node) and start(node) - 1 < n]
    for node in defs[:6]:
        ln = start(node)
        if not lines[ln - 1][:1].isspace() and ln >= 3 and not lines[ln - 2].strip() and not lines[ln - 3].strip():
            pts.append((offs[ln - 1], "py" if len(pts) % 2 == 0 else "py_comment", "", "\n\n"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            ds = node.body[0]
            if isinstance(ds, ast.Expr) and isinstance(ds.value, ast.Constant) and isinstance(ds.value.value, str):
                end = ds.end_lineno
                if end is None or end > n or end == ds.lineno:
                    continue
                closing = lines[end - 1]
                if closing.strip() in ('"' * 3, "'" * 3):
                    opener = lines[ds.lineno - 1].lstrip()
                    if opener[:1] in "rRbBuUfF":
                        continue
                    indent = closing[: len(closing) - len(closing.lstrip())]
                    pts.append((offs[end - 1], "doc_line", indent, ""))
    return pts


def blank_line_points(text, flavour):
    """After a blank line, outside code fences, between two unindented lines: a new paragraph goes there."""
    lines, offs = _line_offsets(text)
    pts, fence = [], False
    for i, ln in enumerate(lines):
        if ln.lstrip().startswith(("```", "~~~")):
            fence = not fence
        if fence or i == 0 or i + 1 >= len(lines):
            continue
        if (
            ln.strip() == ""
            and lines[i - 1].strip()
            and lines[i + 1].strip()
            and not lines[i + 1][:1].isspace()
            and not lines[i - 1][:1].isspace()
            and not lines[i - 1].rstrip().endswith("::")
            and not lines[i + 1].lstrip().startswith(("```", "..", "|", "+", "=", "-", "*"))
        ):
            pts.append((offs[i + 1], flavour, "", "\n"))
    return pts


def json_points(text):
    rx = re.compile(r'^(\s+)"[^"\\]+": (?:"[^"\\]*"|-?\d+(?:\.\d+)?|true|false|null),?\n', re.M)
    return [(m.start(), "json", m.group(1), "") for m in rx.finditer(text)]


def yaml_points(text):
    lines, offs = _line_offsets(text)
    pts = []
    rx = re.compile(r"^(\s*)[A-Za-z_][\w-]*: [^\s|>&*!][^#\n]*\n$")
    for i, ln in enumerate(lines):
        m = rx.match(ln)
        if not m or i == 0:
            continue
        pm = re.match(r"^(\s*)[A-Za-z_][\w-]*:", lines[i - 1])  # same mapping, not a block scalar
        if pm and pm.group(1) == m.group(1):
            pts.append((offs[i], "yaml", m.group(1), ""))
    return pts


def ini_points(text, toml=False):
    return [(m.end(), "toml" if toml else "ini", "", "") for m in re.finditer(r"^\[[^\]\n]+\]\n", text, re.M)]


def comment_prefix(text):
    """The line-comment marker a file already uses, if any."""
    counts = collections.Counter()
    for ln in text.splitlines():
        st = ln.lstrip()
        for pre in ("#", "//", "--", ";"):
            if st.startswith(pre) and not st.startswith(("#include", "#if", "#define", "#pragma", "#endif", "#else")):
                counts[pre] += 1
                break
    return counts.most_common(1)[0][0] if counts else None


def header_points(text):
    """METADATA: a missing Maintainer-email/Author-email header, or a paragraph of the description."""
    end = text.find("\n\n")
    head = text[: end if end > 0 else len(text)]
    pts = []
    for hdr in ("Maintainer-email", "Author-email"):
        if not re.search(rf"^{hdr}:", head, re.M):
            m = re.search(r"^(Author|Author-email|Maintainer|Home-page|Version): .*\n", head, re.M)
            if m:
                pts.append((m.end(), "header:" + hdr, "", ""))
            break
    if end > 0:
        flav = "prose_md" if "text/markdown" in head else "prose_rst"
        for off, f, ind, suf in blank_line_points(text[end + 2 :], flav):
            pts.append((end + 2 + off, f, ind, suf))
    return pts


def is_license(rel):
    base = rel.rsplit("/", 1)[-1].upper()
    return base.startswith(("LICENSE", "LICENCE", "COPYING", "NOTICE")) or "/LICENSES/" in rel.upper()


def points_for(rel, stratum, full_text, text):
    if is_license(rel):
        # a license names its copyright holders: an added holder line is what fits there
        m = re.search(r"^Copyright.*\n", text, re.M)
        return [(m.end(), "license", "", "")] if m else []
    if stratum in ("py", "py_test", "pyi"):
        return py_points(full_text, text)
    if stratum == "metadata":
        return header_points(text)
    if stratum == "md":
        return blank_line_points(text, "prose_md")
    if stratum in ("rst", "txt"):
        return blank_line_points(text, "prose_rst")
    if stratum == "json":
        return json_points(text)
    if stratum == "yaml":
        return yaml_points(text)
    if stratum == "conf" and re.search(r"^\[[^\]\n]+\]\n", text, re.M):
        return ini_points(text, toml=rel.endswith(".toml"))
    if rel.endswith(".html"):
        return [(o, "html_comment", "", "") for o, *_ in blank_line_points(text, "x")] or [(0, "html_comment", "", "")]
    if rel.endswith((".js", ".css", ".c", ".h")):
        return [(0, "c_comment", "", "")]
    if rel.endswith(".pem"):
        return [(o, "pem", "", "\n") for o, *_ in blank_line_points(text, "x")]
    pre = comment_prefix(text)
    if stratum == "conf" and pre:
        lines, offs = _line_offsets(text)
        # at the top of a comment block, so that no sentence of the file's own comments is split
        return [
            (offs[i], "line_comment:" + pre, lines[i][: len(lines[i]) - len(lines[i].lstrip())], "")
            for i, ln in enumerate(lines)
            if ln.lstrip().startswith(pre) and (i == 0 or not lines[i - 1].lstrip().startswith(pre))
        ][:8]
    return []  # RECORD / csv / anything without a comment syntax: left as they are (decoys only)


def plant(planter, rel, stratum, full_text, text, existing):
    r = planter.r
    planter.start_file()
    pts = points_for(rel, stratum, full_text, text)
    # never insert inside a span that is already labelled; one insertion per offset
    uniq = {}
    for p in pts:
        if not any(s < p[0] < e for s, e, *_ in existing):
            uniq.setdefault(p[0], p)
    pts = list(uniq.values())
    if not pts:
        return text, existing, []
    k = r.choice([1, 1, 2, 2, 3])
    chosen = sorted(r.sample(pts, min(k, len(pts))), key=lambda p: p[0])
    kinds = r.sample(["KEY", "KEY", "KEY", "EMAIL", "PASSWORD", "IP_ADDRESS"], len(chosen))
    budget = 3
    inserts = []
    for (off, flavour, indent, suffix), kind in zip(chosen, kinds):
        d = planter.item(flavour, indent, kind=kind)
        if len(d.labels) > budget:
            continue
        budget -= len(d.labels)
        d.add(suffix)
        inserts.append((off, d))
        if budget == 0:
            break
    new_text = text
    for off, d in sorted(inserts, key=lambda x: -x[0]):  # from the end, so earlier offsets stay valid
        new_text = new_text[:off] + d.text + new_text[off:]
    shift_at = sorted((off, len(d.text)) for off, d in inserts)

    def shift(pos):
        return pos + sum(n for o, n in shift_at if o <= pos)

    ex = [[shift(s), shift(s) + (e - s), k_, sk] for s, e, k_, sk in existing]
    planted = []
    for off, d in inserts:
        base = shift(off) - len(d.text)  # where this insertion starts once all are made
        for s, e, k_, sk in d.labels:
            planted.append([base + s, base + e, k_, sk])
    issued = {str(x) for x in planter.g.issued}
    for s, e, _k, _sk in planted:
        assert new_text[s:e] in issued, (rel, new_text[s:e])
    for (s, e, *_), (s0, e0, *_) in zip(ex, existing):
        assert new_text[s:e] == text[s0:e0], rel
    return new_text, ex, planted


# ----------------------------------------------------------------------------------------------------


def dist_versions(site: Path):
    """relative path -> 'name==version' from each dist-info's RECORD."""
    owner = {}
    for di in sorted(site.glob("*.dist-info")):
        meta = di / "METADATA"
        if not meta.exists():
            continue
        name = version = None
        for line in meta.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("Name: ") and name is None:
                name = line[6:].strip()
            elif line.startswith("Version: ") and version is None:
                version = line[9:].strip()
            elif not line:
                break
        rec = di / "RECORD"
        entries = rec.read_text(encoding="utf-8", errors="replace").splitlines() if rec.exists() else []
        for row in entries:
            path = row.split(",", 1)[0]
            owner[path] = f"{name}=={version}"
        for f in di.iterdir():
            owner.setdefault(f.relative_to(site).as_posix(), f"{name}=={version}")
    return owner


def build(site: Path, review=False):
    rng = random.Random(SEED)
    chosen = choose(site, rng)
    planter = Planter(SEED + 1)
    records, undecided, logs = [], [], []
    for rel, stratum, full_text, text in chosen:
        existing, log = existing_labels(rel, text)
        for entry in log:
            logs.append((rel, entry, text))
            if entry[3] == "UNDECIDED":
                undecided.append((rel, entry[1]))
        if rng.random() < P_PLANT:
            text2, ex2, planted = plant(planter, rel, stratum, full_text, text, existing)
        else:
            text2, ex2, planted = text, existing, []
        labels = sorted(ex2 + planted)
        records.append(
            {
                "name": rel,
                "text": text2,
                "labels": labels,
                "_stratum": stratum,
                "_planted": len(planted),
                "_existing": len(ex2),
            }
        )
    return records, undecided, logs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site-packages", type=Path, default=DEFAULT_SITE)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--review", action="store_true", help="print every candidate with its context and decision")
    args = ap.parse_args(argv)
    site = args.site_packages.resolve()
    records, undecided, logs = build(site, args.review)
    if args.review:
        for rel, (kind, v, ok, why, pos), text in logs:
            ctx = text[max(0, pos - 70) : pos + len(v) + 50].replace("\n", "⏎")
            print(f"{'LABEL' if ok else 'skip ':5} {kind:18} {why:20} {rel} :: {v!r}\n        {ctx}")
    if undecided:
        print("UNDECIDED:", len(undecided))
        for u in undecided:
            print("   ", u)
        if not args.review:
            sys.exit("undecided candidates: add them to IP_LABEL or IP_NOT_PII")
    if args.review:
        return
    owner = dist_versions(site)
    with open(args.out, "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(
                json.dumps({"name": rec["name"], "text": rec["text"], "labels": rec["labels"]}, ensure_ascii=False)
                + "\n"
            )
    used = sorted({owner.get(rec["name"], "?") for rec in records})
    per_file = [
        f"{rec['name']}\t{owner.get(rec['name'], '?')}\t{rec['_stratum']}\texisting={rec['_existing']}\tplanted={rec['_planted']}"
        for rec in records
    ]
    SOURCES.write_text(
        "# Sources of pii_real_files.jsonl (frozen), written by make_pii_real_files.py\n"
        f"# site-packages: {site}\n# python: {sys.version.split()[0]}\n#\n# distributions the files came from (pip freeze style):\n"
        + "".join(f"{u}\n" for u in used)
        + "#\n# file\tdistribution\tstratum\tlabels found in the real text\tlabels planted\n"
        + "".join(f"# {line}\n" for line in per_file),
        encoding="utf-8",
    )
    recs = check_jsonl(args.out, max_labels=None)
    st = stats(recs)
    st.pop("aws_secret_in_yaml_next_to_key_id", None)
    st["files_with_planted"] = sum(1 for r in records if r["_planted"])
    st["labels_planted"] = sum(r["_planted"] for r in records)
    st["labels_found_in_real_text"] = sum(r["_existing"] for r in records)
    st["per_stratum"] = dict(collections.Counter(r["_stratum"] for r in records))
    print(json.dumps(st, indent=1))
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes) and {SOURCES}")


if __name__ == "__main__":
    main(sys.argv[1:])
